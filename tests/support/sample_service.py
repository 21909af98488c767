"""A real capability server built with the kit, defined by the tests (not shipped with Sophia).

Run as ``python tests/support/sample_service.py``; settings come from ``SOPHIA_SAMPLE_*``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from opentelemetry import trace
from pydantic import BaseModel, Field

from sophia.kit import Depends, Risk, Service, ToolError

service = Service("sample", version="1.2.3")


class Notebook:
    """Per-process state injected into tools, so the tests can see dependencies built once."""

    def __init__(self) -> None:
        self.notes: dict[str, str] = {}


async def open_notebook() -> AsyncIterator[Notebook]:
    notebook = Notebook()
    yield notebook
    notebook.notes.clear()  # cleanup after the yield runs at shutdown


class Sum(BaseModel):
    total: float = Field(description="a + b")


@service.tool(read_only=True, tags={"text"}, consumes=["text"], produces=["text"])
async def echo(text: str) -> str:
    """Return `text` unchanged."""
    return text


@service.tool(read_only=True, tags={"math"})
def add(a: float, b: float) -> Sum:
    """Add two numbers; runs as a sync tool in a worker thread."""
    return Sum(total=a + b)


@service.tool(tags={"notes"}, idempotent=True, produces=["note"])
async def write_note(key: str, text: str, notebook: Notebook = Depends(open_notebook)) -> dict[str, int]:
    """Store `text` under `key` in the server's notebook and return how many notes it holds."""
    notebook.notes[key] = text
    return {"count": len(notebook.notes)}


@service.tool(risk=Risk.HIGH, destructive=True, tags={"notes"}, consumes=["note"])
async def erase_note(key: str, notebook: Notebook = Depends(open_notebook)) -> dict[str, bool]:
    """Erase the note stored under `key`."""
    return {"erased": notebook.notes.pop(key, None) is not None}


@service.tool(read_only=True)
async def fail(message: str) -> str:
    """Fail on purpose with `message` as an anticipated tool error."""
    raise ToolError(message)


@service.tool(read_only=True)
async def crash() -> str:
    """Raise an unexpected exception whose text must not reach the caller."""
    raise RuntimeError("secret internal detail: password=hunter2")


@service.tool(read_only=True)
async def sleep(seconds: float = Field(ge=0, le=30)) -> float:
    """Wait `seconds` seconds, then return them."""
    await asyncio.sleep(seconds)
    return seconds


@service.tool(read_only=True)
async def trace_id() -> str:
    """Return the id of the trace this call runs in, as 32 hex digits."""
    return format(trace.get_current_span().get_span_context().trace_id, "032x")


@service.resource("notes://{key}", mime_type="text/plain")
async def note(key: str, notebook: Notebook = Depends(open_notebook)) -> str:
    """A note of the notebook, by key."""
    if key not in notebook.notes:
        raise ValueError(f"no note {key!r}")
    return notebook.notes[key]


@service.prompt
def summarize(topic: str) -> str:
    """Ask for a summary of `topic` in three sentences."""
    return f"Summarize {topic} in three sentences."


if __name__ == "__main__":
    service.run()
