"""What a memory is, and the checks every input passes before anything is stored."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field

from sophia.kit import ToolError

Kind = Literal["fact", "preference", "decision", "event", "note"]
KINDS: tuple[str, ...] = get_args(Kind)

# Namespaces end up in Redis keys and Qdrant payloads: no separators, no spaces, bounded length.
NAMESPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$")


class Record(BaseModel):
    """One long-term memory, as stored in Qdrant's payload (plus its point id)."""

    id: str
    namespace: str
    text: str
    kind: Kind = "note"
    tags: list[str] = Field(default_factory=list)
    created_at: float = Field(default_factory=time.time, description="Unix seconds.")
    occurred_at: float | None = Field(None, description="When what it tells happened (a turn was said), Unix seconds.")
    supersedes: str | None = None
    superseded_by: str | None = None
    superseded_at: float | None = None

    @property
    def current(self) -> bool:
        return self.superseded_by is None

    def payload(self) -> dict[str, Any]:
        data = self.model_dump(exclude={"id"})
        # Stored flat so one boolean index answers "current only", the default of every recall.
        data["current"] = self.current
        # One time to filter and boost on: when it happened, or else when it was stored.
        data["event_at"] = self.event_at
        return data

    @property
    def event_at(self) -> float:
        return self.created_at if self.occurred_at is None else self.occurred_at

    @classmethod
    def from_payload(cls, point_id: str, payload: dict[str, Any]) -> Record:
        fields = {k: v for k, v in payload.items() if k in cls.model_fields}
        return cls(id=str(point_id), **fields)

    def view(self) -> dict[str, Any]:
        """The caller's view: times as ISO 8601, and whether it is superseded."""
        return {
            "id": self.id,
            "text": self.text,
            "kind": self.kind,
            "tags": self.tags,
            "namespace": self.namespace,
            "created_at": iso(self.created_at),
            "occurred_at": iso(self.occurred_at),
            "superseded": not self.current,
            "supersedes": self.supersedes,
            "superseded_by": self.superseded_by,
        }


def new_id() -> str:
    return str(uuid.uuid4())


def iso(seconds: float | None) -> str | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


def check_namespace(namespace: str) -> str:
    if not NAMESPACE.match(namespace):
        raise ToolError(
            f"invalid namespace {namespace[:80]!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return namespace


def check_text(text: str, max_bytes: int, what: str = "text") -> str:
    if not text.strip():
        raise ToolError(f"{what} is empty: there is nothing to remember")
    size = len(text.encode())
    if size > max_bytes:
        raise ToolError(f"{what} is {size} bytes; the limit is {max_bytes} bytes (split it into smaller memories)")
    return text.strip()


def check_tags(tags: list[str], max_tags: int) -> list[str]:
    unique = list(dict.fromkeys(tags))
    if len(unique) > max_tags:
        raise ToolError(f"{len(unique)} tags; at most {max_tags} are allowed")
    for tag in unique:
        if not TAG.match(tag):
            raise ToolError(f"invalid tag {tag[:80]!r}: use 1-64 letters, digits or . _ : / -")
    return unique


def check_id(memory_id: str) -> str:
    try:
        return str(uuid.UUID(memory_id))
    except ValueError:
        raise ToolError(f"invalid memory id {memory_id[:80]!r}: ids are UUIDs returned by remember") from None
