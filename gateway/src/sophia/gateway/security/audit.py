"""The audit log: every tool call and approval decision, in a Redis stream with bounded length.

Arguments are kept as a digest plus a redacted copy: values under secret-sounding keys, and values
that look like credentials wherever they are, are replaced before anything is written.

Entries are written by one background writer per process, in pipelined batches, so a call does not
wait a Redis round trip for its audit line (measured: the largest single cost the pipeline added to a
proxied call). A call only queues what it knows (who, what, when, the trace id); the writer redacts
and serialises, off the call's path. The writer lets a batch gather for `COALESCE_S` after its first
entry, so a steady stream of calls costs a few pipelined round trips per batch, not one per call (at one
call at a time, a round trip per call was a fifth of the gateway's CPU per call: measured); a batch goes
out in chunks of `WRITE_CHUNK`, so no write holds the event loop for long. The queue
is bounded: when Redis falls behind, callers wait rather than lines being dropped; a batch Redis
refuses is logged loudly with its size. `read` and `aclose` flush first, and a flush does not wait
out the gathering.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import time
from typing import Any, NamedTuple, cast

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


def _entry(pending: _Pending) -> dict[Any, Any]:
    """The stream entry of a pending line: arguments redacted, kept as a digest and a bounded copy."""
    redacted = redact(pending.arguments)
    return {
        "at": f"{pending.at:.3f}",
        "event": pending.event,
        "principal": pending.principal,
        "tool": pending.tool,
        "arguments_sha256": _digest_of_redacted(redacted),
        "arguments": json.dumps(redacted, ensure_ascii=False, default=str)[:MAX_ARGUMENTS_CHARS],
        "outcome": pending.outcome,
        "duration_ms": f"{pending.duration_ms:.2f}",
        "trace_id": format(pending.trace_id, "032x") if pending.trace_id else "",
        "detail": redact_text(pending.detail)[:500],
    }


class InvalidCursor(GatewayError):
    http_status = 400


BATCH = 256
QUEUE = 10_000
# How long a batch gathers after its first entry (redis-py spends ~0.1 ms of CPU per command, and each
# round trip wakes the process twice: measured). It bounds how late a line reaches Redis, and what a
# crash could lose, to this; readers in this process flush first.
COALESCE_S = 0.05
FLUSH_TIMEOUT_S = 2.0
# Entries serialised and sent per pipeline. Serialising and packing run on the event loop: a gathered
# batch of ~40 written at once held it 1 to 2 ms, and the calls that came meanwhile waited (added p99 at one
# call at a time 2.0 to 2.4 ms; in chunks of a few, 0.8 to 1.0 ms, the same CPU per call: measured).
WRITE_CHUNK = 8


class _Pending(NamedTuple):
    """An audit line as a call leaves it: redacted and serialised later, by the writer."""

    at: float
    event: str
    principal: str
    tool: str
    arguments: Any
    outcome: str
    duration_ms: float
    trace_id: int
    detail: str


class AuditLog:
    def __init__(self, client: redis.Redis, max_entries: int) -> None:
        self._redis = client
        self._max_entries = max_entries
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue(QUEUE)
        self._writer: asyncio.Task[None] | None = None
        #: Set while someone waits for the queue to drain: the writer stops gathering.
        self._hurry = asyncio.Event()
        self._flushing = 0

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
        trace_id = trace.get_current_span().get_span_context().trace_id
        # The arguments are the call's own: no stage changes them once the call is done.
        entry = _Pending(time.time(), event, principal, tool, arguments, outcome, duration_ms, trace_id, detail)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_forever(), name="audit-writer")
        try:
            self._queue.put_nowait(entry)
        except asyncio.QueueFull:
            await self._queue.put(entry)  # Redis is behind: the caller waits, the line is not dropped

    async def _write_forever(self) -> None:
        while True:
            batch = [await self._queue.get()]
            if self._queue.qsize() < BATCH - 1 and not self._hurry.is_set():
                with contextlib.suppress(TimeoutError):  # let the batch gather, unless someone is waiting
                    async with asyncio.timeout(COALESCE_S):
                        await self._hurry.wait()
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            written = 0
            try:
                for written in range(0, len(batch), WRITE_CHUNK):
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for pending in batch[written : written + WRITE_CHUNK]:
                            pipe.xadd(STREAM, _entry(pending), maxlen=self._max_entries, approximate=True)
                        await pipe.execute()  # the loop serves calls while this chunk is on its way
            except RedisError as exc:
                # The calls have happened; losing their audit lines is logged loudly, never silently. Redis
                # being down, the rest of the batch is not tried chunk by chunk (a timeout each).
                lost = len(batch) - written
                logger.error("%d audit entries lost (Redis unavailable: %s)", lost, type(exc).__name__)
            except Exception:  # an entry that cannot be serialised must not stop the writer for good
                logger.exception("%d audit entries lost (could not be written)", len(batch) - written)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def flush(self) -> None:
        """Wait until this process's pending entries are written (or `FLUSH_TIMEOUT_S` passed)."""
        if self._writer is None or self._writer.done():
            return
        self._flushing += 1
        self._hurry.set()
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(FLUSH_TIMEOUT_S):
                    await self._queue.join()
        finally:
            self._flushing -= 1
            if self._flushing == 0:
                self._hurry.clear()

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
