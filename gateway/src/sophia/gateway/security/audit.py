"""The audit log: every tool call and approval decision, in a Redis stream with bounded length.

Arguments are kept as a digest plus a redacted copy: values under secret-sounding keys, and values
that look like credentials wherever they are, are replaced before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from typing import Any, cast

import redis.asyncio as redis
from opentelemetry import trace
from redis.exceptions import RedisError, ResponseError

from sophia.gateway.errors import GatewayError

logger = logging.getLogger("sophia.gateway.audit")

STREAM = "sophia:audit"
REDACTED = "[REDACTED]"
MAX_ARGUMENTS_CHARS = 2000
_SECRET_KEY = re.compile(
    r"pass(word|phrase)?|secret|token|api[_-]?key|authori[sz]ation|credential|private[_-]?key|cookie|session[_-]?id",
    re.IGNORECASE,
)
_SECRET_VALUE = re.compile(
    r"(?:sk-[A-Za-z0-9_-]{16,}|Bearer\s+\S{8,}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+|"
    r"AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|-----BEGIN [A-Z ]*PRIVATE KEY-----)"
)


# A secret named inside free text: `token=abc`, `password: hunter2`, `"api_key": "..."`, `secret is x`.
_SECRET_ASSIGNMENT = re.compile(
    r"(?P<name>\b(?:pass(?:word|phrase|wd)?|pwd|secret|client[_-]?secret|token|access[_-]?token|refresh[_-]?token|"
    r"api[_-]?key|access[_-]?key|auth(?:orization)?|credentials?|private[_-]?key|cookie)\b[\"']?)"
    r"(?P<sep>\s*(?:[:=]|\bis\b)\s*)(?P<value>\"[^\"]*\"|'[^']*'|[^\s,;&]+)",
    re.IGNORECASE,
)


def redact_text(text: str) -> str:
    """Free text with credential-shaped values and named secrets (`token=…`, `password: …`) replaced."""
    text = _SECRET_VALUE.sub(REDACTED, text)
    return _SECRET_ASSIGNMENT.sub(lambda m: f"{m['name']}{m['sep']}{REDACTED}", text)


def redact(value: Any, key: str = "") -> Any:
    """`value` with anything that looks secret replaced."""
    if key and _SECRET_KEY.search(key):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def digest(arguments: Any) -> str:
    canonical = json.dumps(redact(arguments), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class InvalidCursor(GatewayError):
    http_status = 400


class AuditLog:
    def __init__(self, client: redis.Redis, max_entries: int) -> None:
        self._redis = client
        self._max_entries = max_entries

    async def record(
        self,
        event: str,
        *,
        principal: str,
        tool: str,
        arguments: Any,
        outcome: str,
        duration_ms: float = 0.0,
        detail: str = "",
    ) -> None:
        context = trace.get_current_span().get_span_context()
        shown = json.dumps(redact(arguments), ensure_ascii=False, default=str)
        entry: dict[Any, Any] = {
            "at": f"{time.time():.3f}",
            "event": event,
            "principal": principal,
            "tool": tool,
            "arguments_sha256": digest(arguments),
            "arguments": shown[:MAX_ARGUMENTS_CHARS],
            "outcome": outcome,
            "duration_ms": f"{duration_ms:.2f}",
            "trace_id": format(context.trace_id, "032x") if context.trace_id else "",
            "detail": redact_text(detail)[:500],
        }
        try:
            await self._redis.xadd(STREAM, entry, maxlen=self._max_entries, approximate=True)
        except RedisError as exc:
            # The call has happened; losing its audit line is logged loudly, never silently.
            logger.error("audit entry lost (Redis unavailable: %s): %s %s %s", type(exc).__name__, event, tool, outcome)

    async def read(
        self, *, limit: int, principal: str | None = None, tool: str | None = None, before: str | None = None
    ) -> list[dict[str, Any]]:
        """Newest first; `before` pages with the last entry id of the previous page."""
        entries: list[dict[str, Any]] = []
        end = f"({before}" if before else "+"
        while len(entries) < limit:
            try:
                batch = await self._redis.xrevrange(STREAM, max=end, min="-", count=max(limit * 2, 100))
            except ResponseError as exc:  # a cursor Redis cannot use (0-0, beyond 64 bits)
                raise InvalidCursor(f"`before` is not a usable audit entry id: {before}") from exc
            if not batch:
                break
            # The gateway's Redis client decodes responses: ids, keys and values are str.
            for entry_id, fields in cast(list[tuple[str, dict[str, str]]], batch):
                item: dict[str, Any] = {**fields, "id": entry_id}
                if (principal is None or item.get("principal") == principal) and (
                    tool is None or item.get("tool") == tool
                ):
                    entries.append(item)
            end = f"({cast(str, batch[-1][0])}"
        return entries[:limit]
