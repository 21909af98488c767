"""Bulk writes through the MCP client: remember_many and import_conversation, per-item results, the
all-or-nothing option, progress, and what recall then finds (real Redis, Qdrant local mode)."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
from mcp.client import Client

from sophia.kit import ToolError
from sophia.kit.embeddings import Batcher, EmbeddingError
from sophia.memory import MemorySettings, server, service
from sophia.memory.records import Record, new_id
from sophia.memory.server import _write_many

from .conftest import Tools


async def test_remember_many_stores_the_valid_items_and_says_why_not_for_the_rest(tools: Tools, namespace: str) -> None:
    items = [
        {"text": "Maria owns the billing service", "kind": "fact", "tags": ["team-a"]},
        {"text": "   "},
        {"text": "Tomasz prefers green tea", "kind": "preference"},
        {"text": "bad tags", "tags": ["no spaces allowed"]},
        {"text": "The launch happened", "occurred_at": "2023-05-14T10:00:00"},  # no time zone
    ]
    result = await tools.ok("remember_many", items=items, namespace=namespace)
    assert (result["stored"], result["refused"]) == (2, 3)
    assert [r["index"] for r in result["results"]] == [0, 1, 2, 3, 4]
    assert "id" in result["results"][0] and "id" in result["results"][2]
    assert "nothing to remember" in result["results"][1]["error"]
    assert "invalid tag" in result["results"][3]["error"]
    assert "needs a time zone" in result["results"][4]["error"]
    assert (await tools.ok("stats", namespace=namespace))["memories"] == 2
    found = await tools.ok("recall", query="who is responsible for billing?", namespace=namespace, k=1)
    assert found["items"][0]["id"] == result["results"][0]["id"] and found["items"][0]["tags"] == ["team-a"]


async def test_all_or_nothing_stores_nothing_when_one_item_is_bad(tools: Tools, namespace: str) -> None:
    items = [{"text": "fine"}, {"text": ""}, {"text": "also fine"}]
    message = await tools.error("remember_many", items=items, namespace=namespace, all_or_nothing=True)
    assert "1 of 3 items are invalid, nothing was stored: item 1:" in message
    assert (await tools.ok("stats", namespace=namespace))["memories"] == 0


async def test_bulk_size_is_bounded(tools: Tools, namespace: str) -> None:
    assert "takes 1 to 1000 items, got 0" in await tools.error("remember_many", items=[], namespace=namespace)
    many = [{"text": f"m{i}"} for i in range(1001)]
    assert "got 1001" in await tools.error("remember_many", items=many, namespace=namespace)


async def test_import_conversation_keeps_speaker_time_and_session_and_reports_progress(
    tools: Tools, namespace: str
) -> None:
    turns = [
        {"speaker": "Ana", "text": "Hi! How was your week?", "at": "2023-04-28T18:00:00Z", "session": "s1"},
        {"speaker": "Ben", "text": "Busy. I started pottery classes.", "at": "2023-04-28T18:02:00Z", "session": "s1"},
        {"speaker": "Ana", "text": "We adopted a cat called Pepper!", "at": "2023-05-14T19:00:00Z", "session": "s2"},
        {"speaker": "Ben", "text": "Lovely, send photos.", "at": "2023-05-14T19:03:00Z", "session": "s2"},
    ] * 80  # 320 turns: two write chunks, so two progress reports
    seen: list[tuple[float, float | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total))

    async with Client(service.mcp) as client:
        result = await client.call_tool(
            "import_conversation",
            {"turns": turns, "conversation": "chat-1", "namespace": namespace},
            progress_callback=progress,
        )
    assert not result.is_error and result.structured_content is not None
    assert result.structured_content["stored"] == 320
    assert seen == [(256, 320), (320, 320)]
    found = await tools.ok("recall", query="What pet did Ana get in May 2023?", namespace=namespace, k=3)
    top = found["items"][0]
    assert top["text"] == "Ana: We adopted a cat called Pepper!"
    assert top["occurred_at"] == "2023-05-14T19:00:00+00:00" and top["kind"] == "event"
    assert set(top["tags"]) == {"conversation:chat-1", "session:s2"}
    session = await tools.ok("recall", query="pottery", namespace=namespace, tags=["session:s1"], k=50)
    first_session = {"Ana: Hi! How was your week?", "Ben: Busy. I started pottery classes."}
    assert session["items"] and {i["text"] for i in session["items"]} <= first_session


async def test_import_conversation_refuses_a_bad_transcript_whole(tools: Tools, namespace: str) -> None:
    turns = [
        {"speaker": "Ana", "text": "hello", "at": "2023-04-28T18:00:00Z"},
        {"speaker": "", "text": "who am I", "at": "2023-04-28T18:01:00Z"},
    ]
    message = await tools.error("import_conversation", turns=turns, conversation="c", namespace=namespace)
    assert "item 1: speaker must be 1-64 characters" in message
    assert "invalid tag" in await tools.error(
        "import_conversation", turns=turns[:1], conversation="has space", namespace=namespace
    )
    assert (await tools.ok("stats", namespace=namespace))["memories"] == 0


# --- the write pipeline, without the model or Qdrant --------------------------------------------------------


class ChunkModel:
    """Stands in for the model: one vector per text; fails on texts containing 'poison'; logs what it ran."""

    dimensions = 2

    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def embed(self, texts: list[str]) -> np.ndarray:
        self.log.append(f"embed {texts[0][0]}")
        await asyncio.sleep(0.01)
        if any("poison" in text for text in texts):
            raise EmbeddingError("the model failed")
        self.log.append(f"embedded {texts[0][0]}")
        return np.array([[len(text), 1.0] for text in texts], dtype=np.float32)

    async def aclose(self) -> None:
        return None


class ChunkStore:
    """Stands in for the store: keeps what it is given; fails on a chunk holding a text with 'disk'."""

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.kept: dict[str, np.ndarray] = {}
        self.writes = asyncio.Lock()

    async def add_many(self, records: list[Record], vectors: np.ndarray) -> None:
        self.log.append(f"write {records[0].text[0]}")
        await asyncio.sleep(0.02)
        if any("disk" in record.text for record in records):
            raise OSError("disk full")
        self.kept.update({record.id: vector for record, vector in zip(records, vectors, strict=True)})
        self.log.append(f"written {records[0].text[0]}")

    async def remove(self, records: list[Record], _: list[Record]) -> None:
        for record in records:
            self.kept.pop(record.id, None)


def chunks(*texts: str) -> list[Record | str]:
    return [Record(id=new_id(), namespace="n", text=text) for text in texts]


async def write(prepared: list[Record | str], store: ChunkStore, log: list[str], all_or_nothing: bool) -> Any:
    batcher = Batcher(ChunkModel(log), batch_size=64)
    return await _write_many(prepared, "n", all_or_nothing, store, batcher, MemorySettings(), None)  # type: ignore[arg-type]


async def test_the_next_chunk_is_embedded_while_this_one_is_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "WRITE_CHUNK", 2)
    log: list[str] = []
    store = ChunkStore(log)
    records = chunks("a1 a longer text", "a2 short", "b1", "b2", "c1")  # a is run shortest first
    result = await write(records, store, log, all_or_nothing=False)
    assert result["stored"] == 5
    # Each chunk's vectors belong to its own records, in the order given (the model ran them sorted by length).
    for record in records:
        assert isinstance(record, Record) and store.kept[record.id][0] == len(record.text)
    # b's embedding starts before a's write ends; never more than one chunk ahead (c waits for b's vectors).
    assert log.index("embed b") < log.index("written a") and log.index("embed c") > log.index("embedded b")


async def test_a_chunk_that_fails_is_reported_and_the_others_are_stored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "WRITE_CHUNK", 2)
    log: list[str] = []
    store = ChunkStore(log)
    result = await write(chunks("a1", "a2", "b1 poison", "b2", "c1 disk", "c2", "d1"), store, log, False)
    assert (result["stored"], result["refused"]) == (3, 4)
    errors = [r.get("error", "") for r in result["results"]]
    assert errors[2] == errors[3] == "not stored: embedding failed: the model failed"
    assert errors[4] == errors[5] == "not stored: storage failed: OSError"
    assert [bool("id" in r) for r in result["results"]] == [True, True, False, False, False, False, True]


async def test_all_or_nothing_takes_back_the_written_chunks_and_leaves_nothing_running(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(server, "WRITE_CHUNK", 2)
    log: list[str] = []
    store = ChunkStore(log)
    before = asyncio.all_tasks()
    with pytest.raises(ToolError, match="storage failed: OSError; nothing was stored"):
        await write(chunks("a1", "a2", "b1 disk", "b2", "c1", "c2"), store, log, all_or_nothing=True)
    assert store.kept == {}
    await asyncio.sleep(0.05)
    assert asyncio.all_tasks() - before == set(), "the chunk embedded ahead was left running"
