"""The memory service's tools. Checks happen here, at the edge; storage lives in the domain modules."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from pydantic import Field

from sophia.kit import Depends, Risk, Service, ToolError
from sophia.memory import pruning
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

service = Service(
    "memory",
    settings=MemorySettings,
    instructions="Long-term semantic memory per namespace (remember, recall, forget, prune) and the recent "
    "turns of conversations.",
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


async def _known_namespace(store: Store, namespace: str) -> str:
    check_namespace(namespace)
    if not await store.has_namespace(namespace):
        raise ToolError(f"unknown namespace {namespace!r}: it holds no memories yet (remember something there first)")
    return namespace


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
    settings: MemorySettings = Settings,
) -> dict[str, Any]:
    """Store a long-term memory and return its id. To update a memory, pass the old id as `supersedes`:
    the new one then outranks it, and the old one is hidden from recall unless history is asked for."""
    check_namespace(namespace)
    text = check_text(text, settings.max_text_bytes)
    tags = check_tags(tags, settings.max_tags)
    old_id = check_id(supersedes) if supersedes else None
    vector = (await _embed(embedder, [text]))[0]
    async with store.writes:
        old = await _existing(store, namespace, old_id) if old_id else None
        if old is not None and not old.current:
            raise ToolError(f"memory {old.id} is already superseded by {old.superseded_by}; supersede that one instead")
        record = Record(id=new_id(), namespace=namespace, text=text, kind=kind, tags=tags, supersedes=old_id)
        await store.add(record, vector, supersedes=old)
    return {"id": record.id, "namespace": namespace, "supersedes": old_id}


@service.tool(read_only=True, tags={"memory"}, consumes=["memory"], produces=["memory"])
async def recall(
    query: str = Field(description="What to look for, in plain words; matched by meaning, not keywords."),
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
    """Search what we know: the k memories of a namespace closest in meaning to query ("what did we decide
    about pricing?", "who owns billing?"), best first, with a score (cosine similarity, higher is closer).
    Updated memories replace their older versions."""
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
    await _known_namespace(store, namespace)
    vector = (await _embed(embedder, [query]))[0]
    # History can push the newest versions down: fetch a few more before re-ranking.
    found = await store.search(vector, where, k * 2 if include_superseded else k)
    ranked = _rank(found, settings.superseded_penalty)[:k]
    shortterm.activity.note(namespace, [(record.id, raw) for record, _, raw in ranked])
    return {
        "namespace": namespace,
        "items": [{**record.view(), "score": round(score, 4)} for record, score, _ in ranked],
    }


def _seconds(moment: datetime | None, name: str) -> float | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ToolError(f"{name} needs a time zone (for example 2026-01-31T00:00:00Z)")
    return moment.timestamp()


def _rank(found: list[tuple[Record, float]], penalty: float) -> list[tuple[Record, float, float]]:
    """Order by score, superseded versions lowered by `penalty`, and never above their successor."""
    ranked = sorted(
        ((record, raw - (0 if record.current else penalty), raw) for record, raw in found), key=lambda item: -item[1]
    )
    position = {record.id: i for i, (record, _, _) in enumerate(ranked)}
    for record, _, _ in list(ranked):
        successor = record.superseded_by
        if successor in position and position[successor] > position[record.id]:
            item = ranked.pop(position[successor])
            ranked.insert(position[record.id], item)
            position = {r.id: i for i, (r, _, _) in enumerate(ranked)}
    return ranked


@service.tool(read_only=True, tags={"memory"}, consumes=["memory"], produces=["memory"])
async def get(
    id: str = Field(description="The memory's id, as remember or recall returned it."),
    namespace: str = Field("default", description="The namespace the memory belongs to."),
    store: Store = Memories,
    shortterm: ShortTerm = Shortterm,
) -> dict[str, Any]:
    """Return one memory by id, with how often recall has returned it."""
    await _known_namespace(store, namespace)
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
    await _known_namespace(store, namespace)
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
    async with store.writes:
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
    await _known_namespace(store, namespace)
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
    await _known_namespace(store, namespace)
    wanted = list(dict.fromkeys(check_id(i) for i in ids))
    deleted: list[str] = []
    skipped: dict[str, str] = {}
    async with store.writes:
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
    """Return how many memories a namespace holds, by kind, and how many are superseded history."""
    await _known_namespace(store, namespace)
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
    }


@service.resource("memory://{namespace}/stats")
async def namespace_stats(
    namespace: str, store: Store = Memories, settings: MemorySettings = Settings
) -> dict[str, Any]:
    """How many memories a namespace holds, by kind: the `stats` tool as a resource a client can attach."""
    return await stats(namespace=namespace, store=store, settings=settings)
