"""The memory service's tools. Checks happen here, at the edge; storage lives in the domain modules."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from sophia.kit import Context, Depends, Risk, Service, ToolError
from sophia.kit.embeddings import shortest_first
from sophia.memory import pruning, ranking
from sophia.memory.embeddings import Batcher, EmbeddingError, open_embedder
from sophia.memory.index import Filter
from sophia.memory.records import (
    KINDS,
    Kind,
    Record,
    check_id,
    check_namespace,
    check_tags,
    check_text,
    iso,
    new_id,
)
from sophia.memory.session import Role, check_session_id
from sophia.memory.settings import MemorySettings
from sophia.memory.shortterm import ShortTerm, open_shortterm
from sophia.memory.store import Store, open_store
from sophia.memory.writelock import WriteLocks

service = Service(
    "memory",
    settings=MemorySettings,
    instructions="Long-term semantic memory per namespace (remember, recall, forget, prune) and the recent "
    "turns of conversations.",
    stream_responses=True,  # bulk writes report progress before their result
)


def memory_settings(settings: MemorySettings) -> MemorySettings:
    return settings


Embedder = Depends(open_embedder)
Memories = Depends(open_store)
Shortterm = Depends(open_shortterm)
Settings = Depends(memory_settings)


async def _embed(embedder: Batcher, texts: list[str]) -> Any:
    try:
        return await embedder.embed(texts)
    except EmbeddingError as exc:
        raise ToolError(f"embedding failed: {exc}") from exc


async def add_version(store: Store, locks: WriteLocks, record: Record, vector: Any, old_id: str) -> None:
    """Store `record` as the new version of `old_id`: checked and written under the namespace's lock, so of
    two replicas superseding the same memory at once, one wins and the other is told it is superseded."""
    async with locks.hold(record.namespace), store.writes:
        old = await _existing(store, record.namespace, old_id)
        if not old.current:
            raise ToolError(f"memory {old.id} is already superseded by {old.superseded_by}; supersede that one instead")
        await store.add(record, vector, supersedes=old)


def _nothing_stored(namespace: str) -> str:
    return f"nothing stored yet in namespace {namespace!r}"


async def _existing(store: Store, namespace: str, memory_id: str) -> Record:
    record = await store.get(namespace, check_id(memory_id))
    if record is None:
        raise ToolError(f"no memory {memory_id} in namespace {namespace!r}")
    return record


@service.tool(tags={"memory"}, produces=["memory"])
async def remember(
    text: str = Field(description="The memory, one self-contained statement."),
    namespace: str = Field("default", description="Whose memory this is (a team or user); recall stays inside it."),
    kind: Kind = Field("note", description="fact, preference, decision, event or note."),
    tags: list[str] = Field(default_factory=list, description="Labels recall can filter on."),
    supersedes: str | None = Field(
        None, description="Id of an older memory in the same namespace that this one updates; it is kept as history."
    ),
    store: Store = Memories,
    embedder: Batcher = Embedder,
    shortterm: ShortTerm = Shortterm,
    settings: MemorySettings = Settings,
) -> dict[str, Any]:
    """Store a long-term memory and return its id. To update a memory, pass the old id as `supersedes`:
    the new one then outranks it, and the old one is hidden from recall unless history is asked for."""
    check_namespace(namespace)
    text = check_text(text, settings.max_text_bytes)
    tags = check_tags(tags, settings.max_tags)
    old_id = check_id(supersedes) if supersedes else None
    vector = (await _embed(embedder, [text]))[0]
    record = Record(id=new_id(), namespace=namespace, text=text, kind=kind, tags=tags, supersedes=old_id)
    if old_id is None:
        async with store.writes:
            await store.add(record, vector)
    else:
        await add_version(store, shortterm.locks, record, vector, old_id)
    return {"id": record.id, "namespace": namespace, "supersedes": old_id}


class MemoryItem(BaseModel):
    """One memory of a bulk write."""

    text: str = Field(description="The memory, one self-contained statement.")
    kind: Kind = Field("note", description="fact, preference, decision, event or note.")
    tags: list[str] = Field(default_factory=list, description="Labels recall can filter on.")
    occurred_at: datetime | None = Field(None, description="When it happened (ISO 8601 with a time zone), if known.")


class Turn(BaseModel):
    """One turn of a chat transcript."""

    speaker: str = Field(description="Who said it (a name, 1-64 characters).")
    text: str = Field(description="What was said.")
    at: datetime = Field(description="When it was said (ISO 8601 with a time zone).")
    session: str | None = Field(None, description="The chat session it belongs to, if the transcript has several.")


@service.tool(tags={"memory"}, produces=["memory"])
async def remember_many(
    items: list[MemoryItem] = Field(description="The memories to store (at most the server's max_batch, 1000)."),
    namespace: str = Field("default", description="Whose memories these are."),
    all_or_nothing: bool = Field(
        False, description="True: if any item is invalid or a write fails, store none of them."
    ),
    store: Store = Memories,
    embedder: Batcher = Embedder,
    settings: MemorySettings = Settings,
    ctx: Context | None = None,
) -> dict[str, Any]:
    """Store many memories in one call (embedded in batches, written in one request per batch), far faster
    than one remember per memory. Returns one result per item, in order: its id, or why it was refused.
    Updates of existing memories (supersedes) go through remember."""
    check_namespace(namespace)
    _check_batch(len(items), settings)
    prepared: list[Record | str] = []
    for item in items:
        try:
            prepared.append(
                Record(
                    id=new_id(),
                    namespace=namespace,
                    text=check_text(item.text, settings.max_text_bytes),
                    kind=item.kind,
                    tags=check_tags(item.tags, settings.max_tags),
                    occurred_at=_seconds(item.occurred_at, "occurred_at"),
                )
            )
        except ToolError as exc:
            prepared.append(str(exc))
    return await _write_many(prepared, namespace, all_or_nothing, store, embedder, settings, ctx)


@service.tool(tags={"memory", "session"}, produces=["memory"])
async def import_conversation(
    turns: list[Turn] = Field(description="The transcript's turns, oldest first (at most max_batch, 1000)."),
    conversation: str = Field(description="The transcript's id; each turn is tagged conversation:<id>."),
    namespace: str = Field("default", description="Whose conversation this is."),
    all_or_nothing: bool = Field(True, description="True: if any turn is invalid, import none of them."),
    store: Store = Memories,
    embedder: Batcher = Embedder,
    settings: MemorySettings = Settings,
    ctx: Context | None = None,
) -> dict[str, Any]:
    """Import a chat transcript into long-term memory, one memory per turn ("<speaker>: <text>", kind
    event, with the time it was said), so recall can find what was said and when ("what did Ana say about
    her trip in May 2023?"). Tags: conversation:<id> and session:<session>. Reports progress."""
    check_namespace(namespace)
    _check_batch(len(turns), settings)
    conversation_tag = check_tags([f"conversation:{conversation}"], 1)[0]
    prepared: list[Record | str] = []
    for turn in turns:
        try:
            speaker = " ".join(turn.speaker.split())
            if not 1 <= len(speaker) <= 64:
                raise ToolError("speaker must be 1-64 characters")
            tags = [conversation_tag] + ([f"session:{turn.session}"] if turn.session else [])
            text = check_text(turn.text, settings.max_text_bytes)
            prepared.append(
                Record(
                    id=new_id(),
                    namespace=namespace,
                    text=f"{speaker}: {text}",
                    kind="event",
                    tags=check_tags(tags, settings.max_tags),
                    occurred_at=_seconds(turn.at, "at"),
                )
            )
        except ToolError as exc:
            prepared.append(str(exc))
    result = await _write_many(prepared, namespace, all_or_nothing, store, embedder, settings, ctx)
    return {"conversation": conversation, **result}


def _check_batch(size: int, settings: MemorySettings) -> None:
    if not 1 <= size <= settings.max_batch:
        raise ToolError(f"a bulk write takes 1 to {settings.max_batch} items, got {size} (split it into calls)")


WRITE_CHUNK = 256  # memories embedded and upserted together; progress is reported after each


async def _embedded_chunks(
    embedder: Batcher, records: list[tuple[int, Record]]
) -> AsyncGenerator[tuple[int, Any | Exception]]:
    """(start, vectors) for each chunk records[start : start + WRITE_CHUNK], vectors in the records' order or
    the exception embedding them raised. The next chunk is embedded while the caller writes this one: the
    model runs outside the GIL on its own threads, the write mostly in Python. One chunk ahead only, so a
    recall arriving meanwhile waits behind one chunk's texts, not the whole call's."""

    def embed(start: int) -> asyncio.Task[Any]:
        texts = [record.text for _, record in records[start : start + WRITE_CHUNK]]
        order = shortest_first(texts)

        async def vectors() -> Any:
            embedded = await _embed(embedder, [texts[j] for j in order])
            in_order = np.empty_like(embedded)
            in_order[order] = embedded
            return in_order

        return asyncio.create_task(vectors())

    ahead: asyncio.Task[Any] | None = None
    try:
        for start in range(0, len(records), WRITE_CHUNK):
            current = ahead or embed(start)
            try:
                vectors: Any | Exception = await current
            except Exception as exc:
                vectors = exc
            ahead = embed(start + WRITE_CHUNK) if start + WRITE_CHUNK < len(records) else None
            yield start, vectors
    finally:
        if ahead is not None:
            ahead.cancel()  # the caller stopped (a failed all-or-nothing write, a cancelled call)


async def _write_many(
    prepared: list[Record | str],
    namespace: str,
    all_or_nothing: bool,
    store: Store,
    embedder: Batcher,
    settings: MemorySettings,
    ctx: Context | None,
) -> dict[str, Any]:
    """Embed and store the valid records chunk by chunk. Each chunk is one upsert (all of it or none); with
    all_or_nothing an invalid item refuses the call up front, and a failed chunk takes the earlier ones back."""
    refused = [(i, item) for i, item in enumerate(prepared) if isinstance(item, str)]
    if all_or_nothing and refused:
        first = "; ".join(f"item {i}: {why}" for i, why in refused[:5])
        raise ToolError(f"{len(refused)} of {len(prepared)} items are invalid, nothing was stored: {first}")
    records = [(i, item) for i, item in enumerate(prepared) if isinstance(item, Record)]
    results: list[dict[str, Any]] = [
        {"index": i, "error": item} if isinstance(item, str) else {"index": i} for i, item in enumerate(prepared)
    ]
    written: list[Record] = []
    async with contextlib.aclosing(_embedded_chunks(embedder, records)) as chunks:
        async for start, vectors in chunks:
            chunk = [record for _, record in records[start : start + WRITE_CHUNK]]
            try:
                if isinstance(vectors, Exception):
                    raise vectors
                async with store.writes:
                    await store.add_many(chunk, vectors)
            except Exception as exc:
                reason = str(exc) if isinstance(exc, ToolError) else f"storage failed: {type(exc).__name__}"
                if all_or_nothing:
                    if written:
                        async with store.writes:
                            await store.remove(written, [])
                    raise ToolError(f"{reason}; nothing was stored") from exc
                for i, _ in records[start : start + WRITE_CHUNK]:
                    results[i]["error"] = f"not stored: {reason}"
                continue
            written.extend(chunk)
            for i, record in records[start : start + WRITE_CHUNK]:
                results[i]["id"] = record.id
            if ctx is not None:
                done = min(start + WRITE_CHUNK, len(records))
                await ctx.report_progress(done, len(records), f"stored {len(written)} of {len(records)}")
    return {
        "namespace": namespace,
        "stored": len(written),
        "refused": len(prepared) - len(written),
        "results": results,
    }


@service.tool(read_only=True, tags={"memory"}, consumes=["memory"], produces=["memory"])
async def recall(
    query: str = Field(description="What to look for, in plain words; matched by meaning and by rare words."),
    namespace: str = Field("default", description="The namespace to search; nothing outside it is returned."),
    k: int = Field(5, description="How many memories to return (1 to the server's max_k, 50 by default)."),
    kinds: list[Kind] | None = Field(None, description="Only these kinds."),
    tags: list[str] | None = Field(None, description="Only memories carrying at least one of these tags."),
    since: datetime | None = Field(None, description="Only memories created at or after this ISO 8601 time."),
    until: datetime | None = Field(None, description="Only memories created at or before this ISO 8601 time."),
    include_superseded: bool = Field(False, description="Also return older versions that were updated (history)."),
    store: Store = Memories,
    embedder: Batcher = Embedder,
    shortterm: ShortTerm = Shortterm,
    settings: MemorySettings = Settings,
) -> dict[str, Any]:
    """Search what we know: the k memories of a namespace that best answer query ("what did we decide
    about pricing?", "who owns billing?"), best first. Ranking fuses closeness in meaning, shared rare words
    (names, dates) and, when the query names a date or month, what happened then. score is that fused score
    (higher is better), similarity the cosine in meaning. When nothing is close enough the answer
    is empty with nothing_relevant true. Updated memories replace their older versions."""
    query = check_text(query, settings.max_text_bytes, what="query")
    if not 1 <= k <= settings.max_k:
        raise ToolError(f"k must be between 1 and {settings.max_k}, got {k}")
    where = Filter(
        namespace=namespace,
        kinds=frozenset(kinds or ()),
        tags=frozenset(check_tags(tags or [], settings.max_tags)),
        since=_seconds(since, "since"),
        until=_seconds(until, "until"),
        include_superseded=include_superseded,
    )
    if where.since is not None and where.until is not None and where.since > where.until:
        raise ToolError(f"since ({since}) is after until ({until}): no memory can match")
    check_namespace(namespace)
    if not await store.has_namespace(namespace):
        return {"namespace": namespace, "items": [], "nothing_relevant": True, "note": _nothing_stored(namespace)}
    # The name-free question goes in the same model run as the question: a second run would cost more.
    focus = ranking.focus_text(query, settings)
    vectors = await _embed(embedder, [query] if focus is None else [query, focus])
    answer = await ranking.recall(store, settings, query, vectors[0], where, k, vectors[1] if focus else None)
    if answer.nothing_relevant:
        if answer.unmentioned:
            best = f" (no memory there mentions {', '.join(sorted(answer.unmentioned))})"
        else:
            best = f" (closest similarity {answer.best_similarity:.2f})" if answer.hits else ""
        return {
            "namespace": namespace,
            "items": [],
            "nothing_relevant": True,
            "note": f"nothing relevant to the query in namespace {namespace!r}{best}",
        }
    shortterm.activity.note(namespace, [(hit.record.id, hit.similarity) for hit, _ in answer.hits])
    return {
        "namespace": namespace,
        "nothing_relevant": False,
        "items": [
            {
                **hit.record.view(),
                "score": round(score, 4),
                "similarity": round(hit.similarity, 4),
                "lexical": round(hit.lexical, 4),
            }
            for hit, score in answer.hits
        ],
    }


def _seconds(moment: datetime | None, name: str) -> float | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ToolError(f"{name} needs a time zone (for example 2026-01-31T00:00:00Z)")
    return moment.timestamp()


@service.tool(read_only=True, tags={"memory"}, consumes=["memory"], produces=["memory"])
async def get(
    id: str = Field(description="The memory's id, as remember or recall returned it."),
    namespace: str = Field("default", description="The namespace the memory belongs to."),
    store: Store = Memories,
    shortterm: ShortTerm = Shortterm,
) -> dict[str, Any]:
    """Return one memory by id, with how often recall has returned it."""
    check_namespace(namespace)
    record = await _existing(store, namespace, id)
    usage = (await shortterm.activity.usage(namespace, [record.id]))[record.id]
    return {**record.view(), "recalls": usage.hits, "last_recalled_at": iso(usage.last_access)}


@service.tool(read_only=True, tags={"memory"}, consumes=["memory"], produces=["memory"])
async def history(
    id: str = Field(description="Id of any version of the memory."),
    namespace: str = Field("default", description="The namespace the memory belongs to."),
    store: Store = Memories,
) -> dict[str, Any]:
    """Return every version of a memory that was updated with `supersedes`, newest first."""
    check_namespace(namespace)
    record = await _existing(store, namespace, id)
    while record.superseded_by and (newer := await store.get(namespace, record.superseded_by)):
        record = newer
    versions = [record]
    while record.supersedes and (older := await store.get(namespace, record.supersedes)):
        versions.append(older)
        record = older
    return {"namespace": namespace, "versions": [v.view() for v in versions]}


async def _unlink(store: Store, record: Record) -> list[Record]:
    """Neighbours to rewrite when `record` goes: its successor inherits its predecessor, or the
    predecessor becomes current again when the newest version is forgotten."""
    older = await store.get(record.namespace, record.supersedes) if record.supersedes else None
    newer = await store.get(record.namespace, record.superseded_by) if record.superseded_by else None
    updates: list[Record] = []
    if newer is not None:
        updates.append(newer.model_copy(update={"supersedes": older.id if older else None}))
        if older is not None:
            updates.append(older.model_copy(update={"superseded_by": newer.id}))
    elif older is not None and older.superseded_by == record.id:
        updates.append(older.model_copy(update={"superseded_by": None, "superseded_at": None}))
    return updates


@service.tool(risk=Risk.HIGH, destructive=True, idempotent=True, tags={"memory"}, consumes=["memory"])
async def forget(
    id: str = Field(description="The memory to delete."),
    namespace: str = Field("default", description="The namespace the memory belongs to."),
    store: Store = Memories,
    shortterm: ShortTerm = Shortterm,
) -> dict[str, Any]:
    """Delete one memory for good. If it had updated an older version, that version becomes current again."""
    check_namespace(namespace)
    async with shortterm.locks.hold(namespace), store.writes:
        record = await _existing(store, namespace, id)
        updates = await _unlink(store, record)
        await store.remove([record], updates)
    await shortterm.activity.forget(namespace, [record.id])
    restored = next((r.id for r in updates if r.current and r.id == record.supersedes), None)
    return {"forgotten": record.id, "restored": restored}


@service.tool(tags={"session"}, produces=["turn"])
async def append_turn(
    session_id: str = Field(description="The conversation's id, chosen by the caller."),
    text: str = Field(description="What was said."),
    role: Role = Field("user", description="user, assistant, system or tool."),
    namespace: str = Field("default", description="Whose conversation this is."),
    shortterm: ShortTerm = Shortterm,
    settings: MemorySettings = Settings,
) -> dict[str, Any]:
    """Add a turn to a conversation's short-term memory. Only the most recent turns are kept, and an idle
    conversation expires."""
    check_namespace(namespace)
    check_session_id(session_id)
    text = check_text(text, settings.max_text_bytes)
    kept = await shortterm.sessions.append(namespace, session_id, role, text)
    return {
        "session_id": session_id,
        "turns": kept,
        "max_turns": settings.session_max_turns,
        "ttl_s": settings.session_ttl_s,
    }


@service.tool(read_only=True, tags={"session"}, consumes=["turn"], produces=["turn"])
async def recent_turns(
    session_id: str = Field(description="The conversation's id."),
    namespace: str = Field("default", description="Whose conversation this is."),
    n: int = Field(10, description="How many of the latest turns to return."),
    shortterm: ShortTerm = Shortterm,
    settings: MemorySettings = Settings,
) -> dict[str, Any]:
    """Return the latest n turns of a conversation, oldest first; none if it never started or expired."""
    check_namespace(namespace)
    check_session_id(session_id)
    if not 1 <= n <= settings.session_max_turns:
        raise ToolError(f"n must be between 1 and {settings.session_max_turns}, got {n}")
    turns = await shortterm.sessions.recent(namespace, session_id, n)
    return {"session_id": session_id, "turns": [{**t, "at": iso(t["at"])} for t in turns]}


async def _candidates(store: Store, shortterm: ShortTerm, settings: MemorySettings, namespace: str) -> list[Any]:
    records, vectors = await store.with_vectors(Filter(namespace, include_superseded=True))
    usage = await shortterm.activity.usage(namespace, [r.id for r in records])
    return pruning.candidates(records, vectors, usage, settings, time.time())


@service.tool(read_only=True, tags={"memory"}, consumes=["memory"])
async def prune(
    namespace: str = Field("default", description="The namespace to inspect."),
    store: Store = Memories,
    shortterm: ShortTerm = Shortterm,
    settings: MemorySettings = Settings,
) -> dict[str, Any]:
    """Dry run: list memories worth deleting (stale, rarely recalled, low relevance, near-duplicates, old
    history), each with its reasons. Deletes nothing; pass the ids you agree with to prune_apply."""
    check_namespace(namespace)
    found = await _candidates(store, shortterm, settings, namespace)
    return {"namespace": namespace, "dry_run": True, "candidates": [c.view() for c in found]}


@service.tool(risk=Risk.HIGH, destructive=True, idempotent=True, tags={"memory"}, consumes=["memory"])
async def prune_apply(
    ids: list[str] = Field(description="Candidate ids from prune to delete."),
    namespace: str = Field("default", description="The namespace they belong to."),
    store: Store = Memories,
    shortterm: ShortTerm = Shortterm,
    settings: MemorySettings = Settings,
) -> dict[str, Any]:
    """Delete the given prune candidates. Each id is checked again: one that is no longer a candidate is
    skipped, with the reason."""
    check_namespace(namespace)
    wanted = list(dict.fromkeys(check_id(i) for i in ids))
    deleted: list[str] = []
    skipped: dict[str, str] = {}
    async with shortterm.locks.hold(namespace), store.writes:
        current = {c.record.id: c for c in await _candidates(store, shortterm, settings, namespace)}
        for memory_id in wanted:
            if memory_id not in current:
                skipped[memory_id] = "not a prune candidate (now) in this namespace"
                continue
            record = await store.get(namespace, memory_id)
            if record is None:
                skipped[memory_id] = "already deleted"
                continue
            await store.remove([record], await _unlink(store, record))
            deleted.append(memory_id)
    await shortterm.activity.forget(namespace, deleted)
    return {"namespace": namespace, "deleted": deleted, "skipped": skipped}


@service.tool(read_only=True, tags={"memory"})
async def stats(
    namespace: str = Field("default", description="The namespace to describe."),
    store: Store = Memories,
    settings: MemorySettings = Settings,
) -> dict[str, Any]:
    """Return how many memories a namespace holds, by kind, and how many are superseded history. A namespace
    never written to holds nothing yet (it is not an error)."""
    check_namespace(namespace)
    everything = Filter(namespace, include_superseded=True)
    by_kind = {kind: await store.count(Filter(namespace, kinds=frozenset({kind}))) for kind in KINDS}
    total = await store.count(everything)
    return {
        "namespace": namespace,
        "memories": total,
        "current": sum(by_kind.values()),
        "superseded": total - sum(by_kind.values()),
        "by_kind": by_kind,
        "embedding": settings.embedding_model if settings.embedding_url else "all-MiniLM-L6-v2 (local, int8 ONNX)",
        "storage": "qdrant server" if settings.qdrant_url else "qdrant local mode",
        **({"note": _nothing_stored(namespace)} if total == 0 else {}),
    }


MAX_NAMESPACES = 200


@service.tool(read_only=True, tags={"memory", "directory"})
async def namespaces(
    namespace: str | None = Field(
        None,
        description="Only this namespace (a gateway with auth on sets the caller's own); every namespace that "
        "holds memories when unset.",
    ),
    store: Store = Memories,
) -> dict[str, Any]:
    """List the memory spaces in use, by name (names only, each with a count), to choose where to look.
    Through a gateway with auth on, a caller sees only its own."""
    if namespace is not None:
        check_namespace(namespace)
    names = [namespace] if namespace is not None else await store.namespaces(MAX_NAMESPACES + 1)
    shown = names[:MAX_NAMESPACES]
    # One count per namespace, asked together: on a Qdrant server each is a round trip.
    counts = await asyncio.gather(*(store.count(Filter(name)) for name in shown))
    listed = [{"name": name, "memories": count} for name, count in zip(shown, counts, strict=True)]
    listed = [entry for entry in listed if entry["memories"] or namespace is None]
    return {
        "namespaces": listed,
        "more": len(names) > MAX_NAMESPACES,
        **({"note": "nothing stored yet" if namespace is None else _nothing_stored(namespace)} if not listed else {}),
    }


@service.resource("memory://{namespace}/stats")
async def namespace_stats(
    namespace: str, store: Store = Memories, settings: MemorySettings = Settings
) -> dict[str, Any]:
    """How many memories a namespace holds, by kind: the `stats` tool as a resource a client can attach."""
    return await stats(namespace=namespace, store=store, settings=settings)
