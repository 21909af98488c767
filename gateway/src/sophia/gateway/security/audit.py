"""The audit log: every tool call and approval decision, in a Redis stream with bounded length.

Arguments are kept as a digest plus a redacted copy: values under secret-sounding keys, and values
that look like credentials wherever they are, are replaced before anything is written.

Entries are written by one background writer per process, in pipelined batches, so a call does not
wait a Redis round trip for its audit line (measured: the largest single cost the pipeline added to a
proxied call). The queue is bounded: when Redis falls behind, callers wait rather than lines being
dropped; a batch Redis refuses is logged loudly with its size. `read` and `aclose` flush first.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from sophia.kit.approvals import canonical_json

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


def _digest_of_redacted(redacted: Any) -> str:
    return hashlib.sha256(canonical_json(redacted)).hexdigest()


class InvalidCursor(GatewayError):
    http_status = 400


BATCH = 256
QUEUE = 10_000
# After each write the writer lets entries gather this long, so a steady stream of calls costs one
# pipelined round trip per few milliseconds rather than one per call (redis-py spends ~0.1 ms of CPU
# per command: measured).
COALESCE_S = 0.005
FLUSH_TIMEOUT_S = 2.0


class AuditLog:
    def __init__(self, client: redis.Redis, max_entries: int) -> None:
        self._redis = client
        self._max_entries = max_entries
        self._queue: asyncio.Queue[dict[Any, Any]] = asyncio.Queue(QUEUE)
        self._writer: asyncio.Task[None] | None = None

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
        redacted = redact(arguments)
        shown = json.dumps(redacted, ensure_ascii=False, default=str)
        entry: dict[Any, Any] = {
            "at": f"{time.time():.3f}",
            "event": event,
            "principal": principal,
            "tool": tool,
            "arguments_sha256": _digest_of_redacted(redacted),
            "arguments": shown[:MAX_ARGUMENTS_CHARS],
            "outcome": outcome,
            "duration_ms": f"{duration_ms:.2f}",
            "trace_id": format(context.trace_id, "032x") if context.trace_id else "",
            "detail": redact_text(detail)[:500],
        }
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_forever(), name="audit-writer")
        try:
            self._queue.put_nowait(entry)
        except asyncio.QueueFull:
            await self._queue.put(entry)  # Redis is behind: the caller waits, the line is not dropped

    async def _write_forever(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for entry in batch:
                        pipe.xadd(STREAM, entry, maxlen=self._max_entries, approximate=True)
                    await pipe.execute()
            except RedisError as exc:
                # The calls have happened; losing their audit lines is logged loudly, never silently.
                logger.error("%d audit entries lost (Redis unavailable: %s)", len(batch), type(exc).__name__)
            finally:
                for _ in batch:
                    self._queue.task_done()
            await asyncio.sleep(COALESCE_S)

    async def flush(self) -> None:
        """Wait until this process's pending entries are written (or `FLUSH_TIMEOUT_S` passed)."""
        if self._writer is None or self._writer.done():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), FLUSH_TIMEOUT_S)

    async def aclose(self) -> None:
        await self.flush()
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    async def read(
        self, *, limit: int, principal: str | None = None, tool: str | None = None, before: str | None = None
    ) -> list[dict[str, Any]]:
        """Newest first; `before` pages with the last entry id of the previous page."""
        await self.flush()  # this process's own recent calls are in the answer
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
