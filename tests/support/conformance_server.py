"""An MCP server, built with the MCP Python SDK's low-level `Server`, that implements every server scenario of
the official conformance suite (npm `@modelcontextprotocol/conformance`): the tools, resources, templates,
subscriptions, prompts, completion and logging the suite's scenarios call by name. The conformance test runs
the suite against it directly and through the gateway federating it (`tests/test_conformance.py`).

Run: `python tests/support/conformance_server.py PORT` (Streamable HTTP at /mcp, /healthz for readiness).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import mcp_types as t
import uvicorn
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler
from mcp.shared.exceptions import MCPError
from mcp.shared.message import ServerMessageMetadata
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

_Answer = TypeVar("_Answer", t.CreateMessageResult, t.ElicitResult)

#: A 1x1 red PNG and a 44-byte silent WAV: the smallest real media of each kind.
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc000"
        "00030101001825dd560000000049454e44ae426082"
    )
).decode()
WAV = base64.b64encode(
    b"RIFF$\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00D\xac\x00\x00\x88X\x01\x00"
    b"\x02\x00\x10\x00data\x00\x00\x00\x00"
).decode()
SCHEMA_2020_12 = "https://json-schema.org/draft/2020-12/schema"

Ctx = ServerRequestContext[Any]


def _tool(
    name: str, description: str, properties: dict[str, Any] | None = None, required: list[str] | None = None
) -> t.Tool:
    schema: dict[str, Any] = {"type": "object", "properties": properties or {}}
    if required:
        schema["required"] = required
    return t.Tool(name=name, description=description, input_schema=schema)


TOOLS = [
    _tool("test_simple_text", "Returns a simple text."),
    _tool("test_image_content", "Returns an image."),
    _tool("test_audio_content", "Returns audio."),
    _tool("test_embedded_resource", "Returns an embedded resource."),
    _tool("test_multiple_content_types", "Returns text, an image and a resource."),
    _tool("test_tool_with_logging", "Logs three lines while it runs."),
    _tool("test_error_handling", "Always fails."),
    _tool("test_tool_with_progress", "Reports progress 0, 50, 100 of 100."),
    _tool("test_sampling", "Asks the client's model.", {"prompt": {"type": "string"}}, ["prompt"]),
    _tool("test_elicitation", "Asks the user.", {"message": {"type": "string"}}, ["message"]),
    _tool("test_elicitation_sep1034_defaults", "Asks the user, with defaults."),
    _tool("test_elicitation_sep1330_enums", "Asks the user, with every enum form."),
    t.Tool(
        name="json_schema_2020_12_tool",
        description="Tool with JSON Schema 2020-12 features",
        input_schema={
            "$schema": SCHEMA_2020_12,
            "type": "object",
            "$defs": {
                "address": {"type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}
            },
            "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"}},
            "additionalProperties": False,
        },
    ),
]


def _text(text: str) -> t.CallToolResult:
    return t.CallToolResult(content=[t.TextContent(type="text", text=text)])


class _Asking(Exception):
    """A 2026-07-28 client is asked by answering the call with `input_required`; it calls again with the answer."""

    def __init__(self, result: t.InputRequiredResult) -> None:
        self.result = result


async def _ask(ctx: Ctx, params: t.CallToolRequestParams, request: Any, answer: type[_Answer]) -> _Answer:
    """Ask the client (sampling, elicitation) the way its protocol era does: a request on the call's stream at
    2025-11-25; at 2026-07-28 an `input_required` result first, then the answer in the retried call."""
    if ctx.session.protocol_version not in MODERN_PROTOCOL_VERSIONS:
        return await ctx.session.send_request(
            request, answer, metadata=ServerMessageMetadata(related_request_id=ctx.request_id)
        )
    given = (params.input_responses or {}).get("ask")
    if given is None:
        raise _Asking(t.InputRequiredResult(input_requests={"ask": request}))
    return answer.model_validate(given.model_dump(mode="json", by_alias=True, exclude_none=True), by_name=False)


async def _elicit(ctx: Ctx, params: t.CallToolRequestParams, message: str, schema: dict[str, Any]) -> t.ElicitResult:
    request = t.ElicitRequest(params=t.ElicitRequestFormParams(message=message, requested_schema=schema))  # type: ignore[arg-type]
    return await _ask(ctx, params, request, t.ElicitResult)


async def call_tool(ctx: Ctx, params: t.CallToolRequestParams) -> t.CallToolResult | t.InputRequiredResult:
    try:
        return await _call_tool(ctx, params)
    except _Asking as asking:
        return asking.result


async def _call_tool(ctx: Ctx, params: t.CallToolRequestParams) -> t.CallToolResult:
    name, args = params.name, params.arguments or {}
    if name == "test_simple_text":
        return _text("This is a simple text response for testing.")
    if name == "test_image_content":
        return t.CallToolResult(content=[t.ImageContent(type="image", data=PNG, mime_type="image/png")])
    if name == "test_audio_content":
        return t.CallToolResult(content=[t.AudioContent(type="audio", data=WAV, mime_type="audio/wav")])
    if name == "test_embedded_resource":
        resource = t.TextResourceContents(
            uri="test://embedded-resource", mime_type="text/plain", text="This is an embedded resource content."
        )
        return t.CallToolResult(content=[t.EmbeddedResource(type="resource", resource=resource)])
    if name == "test_multiple_content_types":
        resource = t.TextResourceContents(
            uri="test://mixed-content-resource", mime_type="application/json", text='{"test":"data","value":123}'
        )
        return t.CallToolResult(
            content=[
                t.TextContent(type="text", text="Multiple content types test:"),
                t.ImageContent(type="image", data=PNG, mime_type="image/png"),
                t.EmbeddedResource(type="resource", resource=resource),
            ]
        )
    if name == "test_tool_with_logging":
        for i, line in enumerate(["Tool execution started", "Tool processing data", "Tool execution completed"]):
            if i:
                await asyncio.sleep(0.05)
            await ctx.session.send_log_message("info", line, related_request_id=ctx.request_id)
        return _text("Tool with logging executed successfully")
    if name == "test_error_handling":
        return t.CallToolResult(
            content=[t.TextContent(type="text", text="This tool intentionally returns an error for testing")],
            is_error=True,
        )
    if name == "test_tool_with_progress":
        for done in (0, 50, 100):
            await ctx.session.report_progress(done, 100)
            if done < 100:
                await asyncio.sleep(0.05)
        return _text("Tool with progress executed successfully")
    if name == "test_sampling":
        prompt = t.TextContent(type="text", text=str(args.get("prompt", "")))
        request = t.CreateMessageRequest(
            params=t.CreateMessageRequestParams(
                messages=[t.SamplingMessage(role="user", content=prompt)], max_tokens=100
            )
        )
        result = await _ask(ctx, params, request, t.CreateMessageResult)
        content = result.content
        text = content.text if isinstance(content, t.TextContent) else str(content)
        return _text(f"LLM response: {text}")
    if name == "test_elicitation":
        schema = {
            "type": "object",
            "properties": {
                "username": {"type": "string", "description": "User's response"},
                "email": {"type": "string", "description": "User's email address"},
            },
            "required": ["username", "email"],
        }
        answer = await _elicit(ctx, params, str(args.get("message", "")), schema)
        return _text(f"User response: action={answer.action}, content={answer.content}")
    if name == "test_elicitation_sep1034_defaults":
        schema = {
            "type": "object",
            "properties": {
                "name": {"type": "string", "default": "John Doe"},
                "age": {"type": "integer", "default": 30},
                "score": {"type": "number", "default": 95.5},
                "status": {"type": "string", "enum": ["active", "inactive", "pending"], "default": "active"},
                "verified": {"type": "boolean", "default": True},
            },
        }
        answer = await _elicit(ctx, params, "Please review and update the form fields with defaults", schema)
        return _text(f"Elicitation completed: action={answer.action}, content={answer.content}")
    if name == "test_elicitation_sep1330_enums":
        schema = {
            "type": "object",
            "properties": {
                "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
                "titledSingle": {
                    "type": "string",
                    "oneOf": [
                        {"const": "value1", "title": "First Option"},
                        {"const": "value2", "title": "Second Option"},
                        {"const": "value3", "title": "Third Option"},
                    ],
                },
                "legacyEnum": {
                    "type": "string",
                    "enum": ["opt1", "opt2", "opt3"],
                    "enumNames": ["Option One", "Option Two", "Option Three"],
                },
                "untitledMulti": {
                    "type": "array",
                    "items": {"type": "string", "enum": ["option1", "option2", "option3"]},
                },
                "titledMulti": {
                    "type": "array",
                    "items": {
                        "anyOf": [
                            {"const": "value1", "title": "First Choice"},
                            {"const": "value2", "title": "Second Choice"},
                            {"const": "value3", "title": "Third Choice"},
                        ]
                    },
                },
            },
        }
        answer = await _elicit(ctx, params, "Please select options from the enum fields", schema)
        return _text(f"Elicitation completed: action={answer.action}, content={answer.content}")
    if name == "json_schema_2020_12_tool":
        return _text(f"Received: {args}")
    raise MCPError(t.INVALID_PARAMS, f"Unknown tool: {name}")


async def list_tools(ctx: Ctx, params: t.PaginatedRequestParams | None) -> t.ListToolsResult:
    return t.ListToolsResult(tools=TOOLS)


RESOURCES = [
    t.Resource(
        uri="test://static-text", name="static-text", description="A static text resource.", mime_type="text/plain"
    ),
    t.Resource(uri="test://static-binary", name="static-binary", description="A static PNG.", mime_type="image/png"),
    t.Resource(
        uri="test://watched-resource",
        name="watched-resource",
        description="A resource to subscribe to.",
        mime_type="text/plain",
    ),
]
TEMPLATE = t.ResourceTemplate(
    uri_template="test://template/{id}/data",
    name="template",
    description="Data for an id.",
    mime_type="application/json",
)
SUBSCRIBED: set[str] = set()


async def list_resources(ctx: Ctx, params: t.PaginatedRequestParams | None) -> t.ListResourcesResult:
    return t.ListResourcesResult(resources=RESOURCES)


async def list_templates(ctx: Ctx, params: t.PaginatedRequestParams | None) -> t.ListResourceTemplatesResult:
    return t.ListResourceTemplatesResult(resource_templates=[TEMPLATE])


async def read_resource(ctx: Ctx, params: t.ReadResourceRequestParams) -> t.ReadResourceResult:
    uri = str(params.uri)
    contents: list[t.TextResourceContents | t.BlobResourceContents]
    if uri == "test://static-text":
        contents = [
            t.TextResourceContents(
                uri=uri, mime_type="text/plain", text="This is the content of the static text resource."
            )
        ]
    elif uri == "test://static-binary":
        contents = [t.BlobResourceContents(uri=uri, mime_type="image/png", blob=PNG)]
    elif uri == "test://watched-resource":
        contents = [t.TextResourceContents(uri=uri, mime_type="text/plain", text="Watched resource content.")]
    elif uri.startswith("test://template/") and uri.endswith("/data"):
        item = uri.removeprefix("test://template/").removesuffix("/data")
        text = f'{{"id":"{item}","templateTest":true,"data":"Data for ID: {item}"}}'
        contents = [t.TextResourceContents(uri=uri, mime_type="application/json", text=text)]
    else:
        raise MCPError(-32002, f"Resource not found: {uri}")
    return t.ReadResourceResult(contents=contents)


async def subscribe(ctx: Ctx, params: t.SubscribeRequestParams) -> t.EmptyResult:
    SUBSCRIBED.add(str(params.uri))
    return t.EmptyResult()


async def unsubscribe(ctx: Ctx, params: t.UnsubscribeRequestParams) -> t.EmptyResult:
    SUBSCRIBED.discard(str(params.uri))
    return t.EmptyResult()


PROMPTS = [
    t.Prompt(name="test_simple_prompt", description="A simple prompt."),
    t.Prompt(
        name="test_prompt_with_arguments",
        description="A prompt with arguments.",
        arguments=[
            t.PromptArgument(name="arg1", description="First test argument", required=True),
            t.PromptArgument(name="arg2", description="Second test argument", required=True),
        ],
    ),
    t.Prompt(
        name="test_prompt_with_embedded_resource",
        description="A prompt with an embedded resource.",
        arguments=[t.PromptArgument(name="resourceUri", description="URI of the resource to embed", required=True)],
    ),
    t.Prompt(name="test_prompt_with_image", description="A prompt with an image."),
]


async def list_prompts(ctx: Ctx, params: t.PaginatedRequestParams | None) -> t.ListPromptsResult:
    return t.ListPromptsResult(prompts=PROMPTS)


async def get_prompt(ctx: Ctx, params: t.GetPromptRequestParams) -> t.GetPromptResult:
    args = params.arguments or {}
    if params.name == "test_simple_prompt":
        messages = [
            t.PromptMessage(
                role="user", content=t.TextContent(type="text", text="This is a simple prompt for testing.")
            )
        ]
    elif params.name == "test_prompt_with_arguments":
        text = f"Prompt with arguments: arg1='{args.get('arg1', '')}', arg2='{args.get('arg2', '')}'"
        messages = [t.PromptMessage(role="user", content=t.TextContent(type="text", text=text))]
    elif params.name == "test_prompt_with_embedded_resource":
        resource = t.TextResourceContents(
            uri=args.get("resourceUri", "test://example-resource"),
            mime_type="text/plain",
            text="Embedded resource content for testing.",
        )
        messages = [
            t.PromptMessage(role="user", content=t.EmbeddedResource(type="resource", resource=resource)),
            t.PromptMessage(
                role="user", content=t.TextContent(type="text", text="Please process the embedded resource above.")
            ),
        ]
    elif params.name == "test_prompt_with_image":
        messages = [
            t.PromptMessage(role="user", content=t.ImageContent(type="image", data=PNG, mime_type="image/png")),
            t.PromptMessage(role="user", content=t.TextContent(type="text", text="Please analyze the image above.")),
        ]
    else:
        raise MCPError(t.INVALID_PARAMS, f"Unknown prompt: {params.name}")
    return t.GetPromptResult(messages=messages)


async def complete(ctx: Ctx, params: t.CompleteRequestParams) -> t.CompleteResult:
    words = ["paris", "park", "party"] if params.argument.name == "arg1" else []
    values = [w for w in words if w.startswith(params.argument.value)]
    return t.CompleteResult(completion=t.Completion(values=values, total=len(values), has_more=False))


async def set_level(ctx: Ctx, params: t.SetLevelRequestParams) -> t.EmptyResult:
    return t.EmptyResult()


def build() -> Server[Any]:
    return Server(
        "conformance",
        version="1.0.0",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
        on_subscribe_resource=subscribe,
        on_unsubscribe_resource=unsubscribe,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
        on_completion=complete,
        on_set_logging_level=set_level,
        on_subscriptions_listen=ListenHandler(InMemorySubscriptionBus()),  # 2026-07-28's way to subscribe
    )


async def _healthz(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


@contextlib.contextmanager
def reference_server(log_dir: Path) -> Iterator[str]:
    """This server as its own process on a free loopback port; yields its MCP URL."""
    from sophia.kit.testing import ManagedProcess, free_port

    root = Path(__file__).parents[2]
    port = free_port()
    process = ManagedProcess(
        [sys.executable, __file__, str(port)],
        env={"PYTHONPATH": str(root)},
        log_path=log_dir / "server.log",
        health_url=f"http://127.0.0.1:{port}/healthz",
        cwd=root,
    ).start()
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.stop()


if __name__ == "__main__":
    app = build().streamable_http_app(custom_starlette_routes=[Route("/healthz", _healthz)])
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
