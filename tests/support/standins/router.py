"""TEST STAND-IN for the router service (the smart LLM router), not the real one.

It exposes the router's tool contract and echoes each call (see `_common`). `complete` answers from
a script instead of a model: ``SOPHIA_ROUTER_SCRIPT`` names a JSON object mapping substrings to reply
texts, read on every call; the first key (in file order) found in the prompt picks the reply. With
no script or no match it raises ``ToolError("no scripted response")``.

Run as ``python -m tests.support.standins.router`` from the repository root.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, TypeAdapter, ValidationError

from sophia.kit import ToolError
from tests.support.standins._common import Echo, Settings, Standin

NO_SCRIPTED_RESPONSE = "no scripted response"


class RouterSettings(Settings):
    """The stand-in's knobs plus the script that plays the LLM."""

    script: Path | None = Field(
        None, description="JSON file mapping prompt substrings to reply texts; the first key found wins."
    )


class Completion(Echo):
    """The echo of a `complete` call plus the reply the test scripted."""

    text: str = Field(description="The scripted reply.")


standin = Standin(
    "router",
    settings=RouterSettings,
    instructions="Smart LLM router: scores a prompt's complexity, picks a model tier within budget, calls it "
    "with fallbacks, and tracks cost and cache hits.",
)
service = standin.service

Prompt = Annotated[str, Field(description="The prompt, as the user or the planner wrote it.")]

_SCRIPT = TypeAdapter(dict[str, str])


@standin.tool(read_only=True, tags={"llm", "routing"}, consumes=["text"], produces=["route"])
def route(prompt: Prompt):
    """Choose the model tier (simple, balanced or premium) and the model for a prompt, with the reasons and the
    estimated cost, without calling any model."""


@service.tool(tags={"llm", "generation"}, consumes=["text"], produces=["text"])
async def complete(
    prompt: Prompt,
    system: str | None = Field(None, description="System instructions that frame the reply."),
    max_tokens: int | None = Field(None, ge=1, description="Upper bound on the reply's tokens; the model's default."),
    settings: RouterSettings = standin.settings,
) -> Completion:
    """Route a prompt to the best-fitting model within budget, call it (falling back on failure) and return its
    reply with the model used, token counts and cost."""
    arguments = {"prompt": prompt, "system": system, "max_tokens": max_tokens}
    echo = await standin.answer("complete", arguments, settings)
    return Completion(**echo.model_dump(), text=scripted_reply(settings.script, prompt))


@standin.tool(read_only=True, tags={"llm", "usage", "cost"}, produces=["usage"])
def stats():
    """Report LLM usage so far: calls and tokens per model and tier, spend against budget, and the semantic cache
    hit rate."""


def scripted_reply(script: Path | None, prompt: str) -> str:
    """The reply of the first script key found in `prompt`."""
    if script is None:
        raise ToolError(NO_SCRIPTED_RESPONSE)
    try:
        replies = _SCRIPT.validate_json(script.read_bytes())
    except (OSError, ValidationError) as exc:
        raise ToolError(f"router script {script} is unreadable: {exc}") from exc
    for key, text in replies.items():
        if key in prompt:
            return text
    raise ToolError(NO_SCRIPTED_RESPONSE)


if __name__ == "__main__":
    service.run()
