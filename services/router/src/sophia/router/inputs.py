"""Tool definitions and images a `complete` call may carry: checked, bounded and normalised once, here.

Both arrive from callers and go to providers, so each is bounded (counts, sizes, name shapes) and
reduced to what every wire format can express: a tool is a name, a description and a JSON-schema object
for its parameters; an image is an http(s) URL or a base64 `data:` URI of a PNG, JPEG, GIF or WebP.
Tool calls coming back from a provider are untrusted too: `tool_call` checks one against the tools
the caller declared.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from sophia.kit import ToolError

MAX_TOOLS = 64
MAX_TOOL_CHARS = 16_000  # one tool's definition, as JSON
MAX_TOOLS_CHARS = 100_000  # all of them
MAX_IMAGES = 8
MAX_IMAGE_BYTES = 5 * 1024 * 1024  # Anthropic's limit per image; OpenAI's is larger
MAX_IMAGES_BYTES = 20 * 1024 * 1024  # all of one call's inline images together
MAX_URL_CHARS = 2048
MAX_TOOL_CALLS = 64  # in one reply
MAX_ARGUMENTS_CHARS = 100_000  # one tool call's arguments, as JSON
# Input tokens an image costs, for estimates and budget holds: about 1,600 at most for Anthropic (1.15
# megapixels) and about 1,100 for OpenAI's high detail; the hold uses the larger figure, with room.
IMAGE_TOKENS = 1_600
IMAGE_TOKENS_BOUND = 3_000

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DATA_URI = re.compile(r"^data:(image/(?:png|jpeg|gif|webp));base64,([A-Za-z0-9+/=\s]+)$")
TOOL_CHOICES = ("auto", "none", "required")


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class Image:
    url: str  # an http(s) URL, or empty for inline data
    media_type: str | None = None
    data: str | None = None  # base64

    @property
    def as_url(self) -> str:
        """The form OpenAI takes: the URL, or the data URI rebuilt."""
        return self.url or f"data:{self.media_type};base64,{self.data}"


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]

    def view(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "arguments": self.arguments}


def tools_of(raw: list[dict[str, Any]] | None) -> tuple[Tool, ...]:
    """Tool definitions in either shape callers use: `{"name", "description", "parameters"}` or OpenAI's
    `{"type": "function", "function": {...}}` (Anthropic's `input_schema` is accepted for `parameters`)."""
    if not raw:
        return ()
    if len(raw) > MAX_TOOLS:
        raise ToolError(f"too many tools: {len(raw)}, at most {MAX_TOOLS}")
    if len(json.dumps(raw)) > MAX_TOOLS_CHARS:
        raise ToolError(f"the tool definitions are too large: at most {MAX_TOOLS_CHARS:,} characters of JSON")
    tools: list[Tool] = []
    for i, entry in enumerate(raw):
        spec = entry.get("function") if entry.get("type") == "function" else entry
        if not isinstance(spec, dict):
            raise ToolError(f"tools[{i}]: expected an object with a name")
        name = spec.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ToolError(f"tools[{i}]: the name must be 1 to 64 letters, digits, '_' or '-'")
        if len(json.dumps(spec)) > MAX_TOOL_CHARS:
            raise ToolError(f"tools[{i}] ({name}): larger than {MAX_TOOL_CHARS:,} characters of JSON")
        description = spec.get("description") or ""
        if not isinstance(description, str):
            raise ToolError(f"tools[{i}] ({name}): description must be text")
        parameters = spec.get("parameters", spec.get("input_schema")) or {"type": "object", "properties": {}}
        if not isinstance(parameters, dict) or parameters.get("type") != "object":
            raise ToolError(f"tools[{i}] ({name}): parameters must be a JSON schema of type object")
        tools.append(Tool(name, description, parameters))
    names = [t.name for t in tools]
    if len(set(names)) != len(names):
        raise ToolError("tool names must be unique")
    return tuple(tools)


def tool_choice_of(choice: str | None, tools: tuple[Tool, ...]) -> str | None:
    """`auto`, `none`, `required`, or the name of one declared tool (that tool must be called)."""
    if choice is None:
        return None
    if not tools:
        raise ToolError("tool_choice needs tools")
    if choice not in TOOL_CHOICES and choice not in {t.name for t in tools}:
        raise ToolError(f"tool_choice must be auto, none, required or a declared tool's name, got {choice[:64]!r}")
    return choice


def images_of(raw: list[str] | None) -> tuple[Image, ...]:
    if not raw:
        return ()
    if len(raw) > MAX_IMAGES:
        raise ToolError(f"too many images: {len(raw)}, at most {MAX_IMAGES}")
    if sum(len(value) for value in raw) * 3 // 4 > MAX_IMAGES_BYTES:
        raise ToolError(f"the images are too large together: at most {MAX_IMAGES_BYTES // (1024 * 1024)} MB")
    return tuple(_image(i, value) for i, value in enumerate(raw))


def _image(i: int, value: str) -> Image:
    if value.startswith(("https://", "http://")):
        if len(value) > MAX_URL_CHARS or any(c.isspace() for c in value):
            raise ToolError(f"images[{i}]: a URL of at most {MAX_URL_CHARS} characters without spaces")
        return Image(url=value)
    match = _DATA_URI.match(value[:64] + value[64:].strip()) if value.startswith("data:") else None
    if match is None:
        raise ToolError(f"images[{i}]: an http(s) URL or a data:image/(png|jpeg|gif|webp);base64 URI")
    data = re.sub(r"\s+", "", match.group(2))
    if len(data) * 3 // 4 > MAX_IMAGE_BYTES:
        raise ToolError(f"images[{i}]: larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ToolError(f"images[{i}]: the base64 data is invalid") from exc
    return Image(url="", media_type=match.group(1), data=data)


def extra_input_tokens(tools: tuple[Tool, ...], images: tuple[Image, ...]) -> tuple[int, int]:
    """(expected, upper bound) input tokens the tool definitions and images add."""
    schema_chars = sum(len(json.dumps(t.parameters)) + len(t.name) + len(t.description) for t in tools)
    # Tool definitions are JSON: about 3 characters a token; never more tokens than UTF-8 bytes.
    return schema_chars // 3 + IMAGE_TOKENS * len(images), schema_chars * 2 + IMAGE_TOKENS_BOUND * len(images)


def tool_call(call_id: Any, name: Any, arguments: Any, declared: tuple[Tool, ...]) -> ToolCall:
    """One tool call from a provider's reply, checked; `arguments` may be a JSON string (OpenAI) or an
    object (Anthropic). Raises ValueError when the call is not one the caller could run."""
    if not isinstance(name, str) or name not in {t.name for t in declared}:
        raise ValueError("the model called a tool that was not declared")
    if isinstance(arguments, str):
        if len(arguments) > MAX_ARGUMENTS_CHARS:
            raise ValueError("tool call arguments too large")
        arguments = json.loads(arguments) if arguments.strip() else {}
    if not isinstance(arguments, dict) or len(json.dumps(arguments)) > MAX_ARGUMENTS_CHARS:
        raise ValueError("tool call arguments are not a JSON object of bounded size")
    ident = call_id if isinstance(call_id, str) and 0 < len(call_id) <= 128 else f"call_{name}"
    return ToolCall(ident, name, arguments)
