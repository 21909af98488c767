"""Memory service: recall quality (hybrid vs dense-only vs a BM25 baseline), bulk writes, recall latency.

1. Quality, in process, on the labelled sets of bench/data (made by `python -m bench.data.memory_make`):
   the service's own store, local index and ranking (`sophia.memory.ranking.recall`, exactly what the
   recall tool runs), with the relevance floor applied as a caller sees it. The dev split is what weights
   and floors were tuned on; the blind split (other people, systems, wordings) never was: both are printed
   side by side and the targets are judged on blind. The BM25 baseline is bm25s (English stop words,
   Snowball stemming) over the same texts per namespace.
2. Bulk writes over MCP/HTTP: the service as `sophia up` runs it (own process, Qdrant local mode on disk,
   the local embedding model, real Redis); `remember_many` of 1,000 memories per call, end to end
   (embedding included; the bulk target is judged on this), then sequential recalls over HTTP at that
   size. Beside it, the two halves apart: the model alone (the same texts, batches of 64, sorted by
   length as remember_many sends them: what a slower or faster model would change) and the write path
   alone (add_many with precomputed vectors).
3. Recall at 100k memories, in process (a bench-only run, bounded to about a minute of loading):
   100,000 memories in one namespace, of which 2,000 distinct texts were embedded by the model and the
   rest are those vectors with noise (search cost does not depend on vector content; embedding 100k texts
   on this machine would take an hour). Each recall embeds its query with the model, as the tool does;
   the row splits its time into the query's embedding and the search. The same 100k memories spread
   over 50 namespaces (one team's or user's each) show what one namespace's recall costs in a shared
   collection.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import random
import tempfile
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import aiohttp
import bm25s
import numpy as np
import Stemmer
from qdrant_client import QdrantClient

import sophia.memory.__main__ as entry_point
from bench._report import RESULTS, percentile, table, targets, write
from sophia.kit.embeddings import Vectors, local_model
from sophia.kit.testing import KitServer, redis_server
from sophia.kit.testing._mcp import mcp_body, mcp_headers
from sophia.kit.wire import reply_in_event_stream
from sophia.memory import lexical, service
from sophia.memory.index import Filter, LocalIndex
from sophia.memory.ranking import focus_text, recall
from sophia.memory.records import Record, new_id
from sophia.memory.settings import MemorySettings
from sophia.memory.store import Store, open_store

DATA = Path(__file__).resolve().parent / "data"
CACHE = RESULTS / "memory-embedding-cache.npz"
# As the service multiplies: its settings, read from the environment with its prefix, as it reads them.
ARITHMETIC = cast(MemorySettings, service.load_settings()).embedding_arithmetic
SPLITS = ("dev", "blind")
BULK_CALLS = 2
BULK_SIZE = 1000
HTTP_RECALLS = 200
LARGE = 100_000
LARGE_DISTINCT = 2_000
LARGE_RECALLS = 300
LARGE_NAMESPACES = 50
STORE_ONLY = 1_024
TARGETS = {
    "paraphrase recall@1": 0.85,
    "paraphrase recall@5": 0.97,
    "conversation turn recall@10": 0.80,
    "conversation gain over bm25": 0.15,
    "bulk memories/s": 500.0,
    "recall p95 ms at 100k": 20.0,
    "cross-namespace leaks": 0.0,
}
AT_LEAST = frozenset(
    {
        "paraphrase recall@1",
        "paraphrase recall@5",
        "conversation turn recall@10",
        "conversation gain over bm25",
        "bulk memories/s",
    }
)

PEOPLE = ["Maria", "Tomasz", "Aisha", "Raj", "Lena", "Carla", "Ahmed", "Noor", "Jonas", "Mei", "Diego", "Sven"]
THINGS = ["the billing service", "the deploy pipeline", "the staging cluster", "the search index", "the mobile app",
          "the data warehouse", "the pricing page", "the onboarding flow", "the on-call rota", "the release train",
          "the Kafka topics", "the VPN", "the design system", "the customer portal", "the invoice job"]  # fmt: skip
FACTS = ["{p} owns {t}", "{p} wants {t} reviewed every {d}", "{t} was migrated by {p} on {d}",
         "{p} prefers to hear about {t} in writing", "{t} breaks when traffic doubles, according to {p}",
         "{p} decided to freeze {t} until {d}", "{p} will present {t} at the {d} all-hands"]  # fmt: skip
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "March 3rd", "June 14th", "October 1st"]
QUESTIONS = ["who is responsible for {t}?", "what did {p} decide about {t}?", "when was {t} migrated?",
             "how does {p} like to get updates on {t}?", "what is the problem with {t}?"]  # fmt: skip


def memory_text(rng: random.Random, i: int) -> str:
    fact = rng.choice(FACTS).format(p=rng.choice(PEOPLE), t=rng.choice(THINGS), d=rng.choice(DAYS))
    return f"{fact} (note {i})"


# --- quality ------------------------------------------------------------------------------------------


class Embeddings:
    """The local model, multiplying as the service does (`embedding_arithmetic`), with a cache on disk
    (bench/results, ignored by git): a rerun embeds only new texts."""

    def __init__(self) -> None:
        self._vectors: dict[str, Vectors] = {}
        if CACHE.exists():
            with np.load(CACHE) as stored:
                self._vectors = {key: stored[key] for key in stored.files}

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(f"{ARITHMETIC}\0{text}".encode()).hexdigest()[:32]

    def embed(self, texts: list[str]) -> Vectors:
        missing = list(dict.fromkeys(t for t in texts if self.key(t) not in self._vectors))
        if missing:
            for text, vector in zip(missing, local_model(2, ARITHMETIC).embed_many(missing), strict=True):
                self._vectors[self.key(text)] = vector
            RESULTS.mkdir(exist_ok=True)
            np.savez(CACHE, **self._vectors)
        return np.stack([self._vectors[self.key(t)] for t in texts])


def focused(texts: list[str], settings: MemorySettings, embeddings: Embeddings) -> list[Vectors | None]:
    """Each question's name-free embedding, as the recall tool makes it (None where it has none)."""
    focus = [focus_text(text, settings) for text in texts]
    asked = [f for f in focus if f is not None]
    vectors = iter(embeddings.embed(asked)) if asked else iter(())
    return [next(vectors) if f is not None else None for f in focus]


def load(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


async def fresh_store(settings: MemorySettings) -> Store:
    index = LocalIndex(384)
    store = Store(QdrantClient(location=":memory:"), "bench", 384, index, avg_length=settings.lexical_avg_length)
    await store.ensure_collection()
    return store


def bm25_top(corpus: list[str], queries: list[str], k: int) -> list[list[int]]:
    """The BM25 baseline: bm25s with English stop words and Snowball stemming (PyStemmer)."""
    stemmer = Stemmer.Stemmer("english")
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(corpus, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False)
    tokens = bm25s.tokenize(queries, stopwords="en", stemmer=stemmer, show_progress=False)
    found, _ = retriever.retrieve(tokens, k=min(k, len(corpus)), show_progress=False)
    return [[int(i) for i in row] for row in found]


async def paraphrase(split: str, settings: MemorySettings, embeddings: Embeddings) -> dict[str, float]:
    rows = load(f"memory_paraphrase_{split}.jsonl")
    facts = [r for r in rows if r["type"] == "fact"]
    questions = [r for r in rows if r["type"] == "question"]
    vectors = embeddings.embed([f["text"] for f in facts])
    question_vectors = embeddings.embed([q["text"] for q in questions])
    store = await fresh_store(settings)
    records: dict[str, Record] = {}
    for fact, vector in zip(facts, vectors, strict=True):  # file order: an update comes after its original
        old = records.get(fact.get("supersedes", ""))
        record = Record(id=new_id(), namespace=fact["namespace"], text=fact["text"], supersedes=old.id if old else None)
        await store.add(record, vector, supersedes=old)
        records[fact["key"]] = record
    key_of = {r.id: key for key, r in records.items()}
    hits1 = hits5 = answered = leaks = stale = false_recall = unanswerable = 0
    focus = focused([q["text"] for q in questions], settings, embeddings)
    for question, vector, name_free in zip(questions, question_vectors, focus, strict=True):
        where = Filter(question["namespace"])
        answer = await recall(store, settings, question["text"], vector, where, 5, name_free)
        found = [] if answer.nothing_relevant else [hit.record for hit, _ in answer.hits]
        leaks += sum(r.namespace != question["namespace"] for r in found)
        stale += sum(not r.current for r in found)
        if question["answer"] is None:
            unanswerable += 1
            false_recall += bool(found)
            continue
        answered += 1
        keys = [key_of.get(r.id) for r in found]
        hits1 += keys[:1] == [question["answer"]]
        hits5 += question["answer"] in keys
    bm1 = bm5 = 0
    superseded = {f["supersedes"] for f in facts if "supersedes" in f}
    for namespace in sorted({f["namespace"] for f in facts}):
        current = [f for f in facts if f["namespace"] == namespace and f["key"] not in superseded]
        asked = [q for q in questions if q["namespace"] == namespace and q["answer"]]
        tops = bm25_top([f["text"] for f in current], [q["text"] for q in asked], 5)
        for question, top in zip(asked, tops, strict=True):
            keys = [current[i]["key"] for i in top]
            bm1 += keys[:1] == [question["answer"]]
            bm5 += question["answer"] in keys
    return {
        "recall@1": hits1 / answered,
        "recall@5": hits5 / answered,
        "bm25 recall@1": bm1 / answered,
        "bm25 recall@5": bm5 / answered,
        "false recall": false_recall / unanswerable,
        "leaks": leaks,
        "stale": stale,
        "questions": answered,
        "unanswerable": unanswerable,
    }


async def conversations(split: str, settings: MemorySettings, embeddings: Embeddings) -> dict[str, float]:
    """Each chat in its own namespace, one memory per turn ("<speaker>: <text>", with its time), as
    import_conversation stores them. Turn recall@10: the share of a question's evidence turns in the top 10."""
    store = await fresh_store(settings)
    by_type: dict[str, list[float]] = defaultdict(list)
    baseline: list[float] = []
    adversarial = false_recall = 0
    for chat in load(f"memory_conversations_{split}.jsonl"):
        namespace = f"conv-{chat['conversation']}"
        texts = [f"{t['speaker']}: {t['text']}" for t in chat["turns"]]
        records = [
            Record(
                id=new_id(),
                namespace=namespace,
                text=text,
                kind="event",
                occurred_at=datetime.fromisoformat(turn["at"]).timestamp(),
            )
            for text, turn in zip(texts, chat["turns"], strict=True)
        ]
        await store.add_many(records, embeddings.embed(texts))
        turn_of = {r.id: t["id"] for r, t in zip(records, chat["turns"], strict=True)}
        questions = chat["questions"]
        answerable = [q for q in questions if q["evidence"]]
        for question, top in zip(answerable, bm25_top(texts, [q["text"] for q in answerable], 10), strict=True):
            got = {chat["turns"][i]["id"] for i in top}
            baseline.append(len(got & set(question["evidence"])) / len(question["evidence"]))
        asked = [q["text"] for q in questions]
        focus = focused(asked, settings, embeddings)
        for question, vector, name_free in zip(questions, embeddings.embed(asked), focus, strict=True):
            answer = await recall(store, settings, question["text"], vector, Filter(namespace), 10, name_free)
            got = set() if answer.nothing_relevant else {turn_of[hit.record.id] for hit, _ in answer.hits}
            if not question["evidence"]:
                adversarial += 1
                false_recall += bool(got)
                continue
            by_type[question["type"]].append(len(got & set(question["evidence"])) / len(question["evidence"]))
    everything = [s for scores in by_type.values() for s in scores]
    return {
        "turn recall@10": float(np.mean(everything)),
        "bm25 turn recall@10": float(np.mean(baseline)),
        **{f"{kind} recall@10": float(np.mean(scores)) for kind, scores in sorted(by_type.items())},
        "false recall (adversarial)": false_recall / adversarial,
        "questions": len(everything),
        "adversarial": adversarial,
    }


def quality() -> tuple[list[dict[str, Any]], dict[str, float]]:
    embeddings = Embeddings()
    configs = {
        "hybrid": MemorySettings(),
        "dense only": MemorySettings(lexical_weight=0, time_weight=0, generic_penalty=0, focus_weight=0),  # cosine
    }
    results: dict[tuple[str, str], dict[str, float]] = {}
    for name, settings in configs.items():
        for split in SPLITS:
            p = asyncio.run(paraphrase(split, settings, embeddings))
            c = asyncio.run(conversations(split, settings, embeddings))
            results[(name, split)] = {
                **{f"paraphrase {k}": v for k, v in p.items()},
                **{f"conversation {k}": v for k, v in c.items()},
            }
    measures = list(results[("hybrid", "dev")])
    rows = []
    for measure in measures:
        row: dict[str, Any] = {"measure": measure}
        for name in configs:
            for split in SPLITS:
                row[f"{name} {split}"] = results[(name, split)][measure]
        rows.append(row)
    blind = results[("hybrid", "blind")]
    measured = {
        "paraphrase recall@1": blind["paraphrase recall@1"],
        "paraphrase recall@5": blind["paraphrase recall@5"],
        "conversation turn recall@10": blind["conversation turn recall@10"],
        "conversation gain over bm25": blind["conversation turn recall@10"] - blind["conversation bm25 turn recall@10"],
        "cross-namespace leaks": blind["paraphrase leaks"] + results[("hybrid", "dev")]["paraphrase leaks"],
    }
    return rows, measured


# --- bulk writes and recall over HTTP -------------------------------------------------------------------


async def call(session: aiohttp.ClientSession, url: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """A tools/call; the memory service answers as an event stream (its bulk tools report progress)."""
    body = json.dumps(mcp_body("tools/call", {"name": tool, "arguments": arguments})).encode()
    async with session.post(url, data=body, headers=mcp_headers("tools/call", tool)) as response:
        text = await response.text()
        reply = reply_in_event_stream(text, 1) if response.content_type == "text/event-stream" else json.loads(text)
    result = reply.get("result", {})
    if response.status != 200 or result.get("isError", True):
        raise RuntimeError(f"{tool} failed: {response.status} {text[:300]}")
    return dict(result["structuredContent"])


async def over_http(server: KitServer) -> tuple[list[dict[str, Any]], float]:
    rng = random.Random(5)
    kinds = ["fact", "preference", "decision", "event", "note"]
    async with aiohttp.ClientSession() as session:
        url = server.mcp_url
        await call(session, url, "recall", {"query": "warm-up", "namespace": "bench"})  # loads the model
        started = time.perf_counter()
        for c in range(BULK_CALLS):
            items = [{"text": memory_text(rng, c * BULK_SIZE + i), "kind": kinds[i % 5], "tags": [f"team{i % 8}"]}
                     for i in range(BULK_SIZE)]  # fmt: skip
            result = await call(session, url, "remember_many", {"items": items, "namespace": "bench"})
            assert result["stored"] == BULK_SIZE, result["refused"]
        elapsed = time.perf_counter() - started
        latencies = []
        for _ in range(HTTP_RECALLS):
            query = rng.choice(QUESTIONS).format(p=rng.choice(PEOPLE), t=rng.choice(THINGS))
            begun = time.perf_counter()
            await call(session, url, "recall", {"query": query, "namespace": "bench", "k": 5})
            latencies.append(time.perf_counter() - begun)
    latencies.sort()
    per_s = BULK_CALLS * BULK_SIZE / elapsed
    rows = [
        {"operation": f"remember_many x{BULK_SIZE}", "calls": BULK_CALLS, "p50_ms": elapsed / BULK_CALLS * 1e3,
         "p95_ms": float("nan"), "per_s": per_s, "memories": BULK_CALLS * BULK_SIZE},
        {"operation": "recall over HTTP", "calls": len(latencies), "p50_ms": percentile(latencies, 50) * 1e3,
         "p95_ms": percentile(latencies, 95) * 1e3, "per_s": len(latencies) / sum(latencies),
         "memories": BULK_CALLS * BULK_SIZE},
    ]  # fmt: skip
    return rows, per_s


async def store_only(base: Vectors) -> dict[str, Any]:
    """The write path without the model: add_many into Qdrant local mode on disk plus the local index, in
    chunks of 256 as remember_many writes them (vectors precomputed)."""
    rng = random.Random(9)
    with tempfile.TemporaryDirectory(prefix="sophia-bench-") as tmp:
        settings = MemorySettings(data_dir=Path(tmp))
        async with contextlib.asynccontextmanager(open_store)(settings) as store:
            records = [Record(id=new_id(), namespace="w", text=memory_text(rng, i)) for i in range(STORE_ONLY)]
            vectors = base[np.arange(STORE_ONLY) % len(base)]
            started = time.perf_counter()
            for i in range(0, STORE_ONLY, 256):
                await store.add_many(records[i : i + 256], vectors[i : i + 256])
            elapsed = time.perf_counter() - started
    return {"operation": "add_many, store only (no embedding)", "calls": -(-STORE_ONLY // 256),
            "p50_ms": elapsed / -(-STORE_ONLY // 256) * 1e3, "p95_ms": float("nan"), "per_s": STORE_ONLY / elapsed,
            "memories": STORE_ONLY}  # fmt: skip


def model_only() -> dict[str, Any]:
    """The embedding half of remember_many: the bulk bench's texts through the local model, 64 at a time
    sorted by length (as _write_many batches them), CPU time beside wall time (the machine is shared)."""
    rng = random.Random(5)
    texts = sorted((memory_text(rng, i) for i in range(STORE_ONLY)), key=len)
    model = local_model(2, ARITHMETIC)
    model.embed_sync(texts[:8])
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(texts), 64):
        model.embed_sync(texts[i : i + 64])
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"operation": "embedding alone (local model, batches of 64)", "calls": -(-len(texts) // 64),
            "p50_ms": elapsed / -(-len(texts) // 64) * 1e3, "p95_ms": float("nan"), "per_s": len(texts) / elapsed,
            "memories": len(texts), "cpu_ms_per_memory": cpu / len(texts) * 1e3}  # fmt: skip


# --- recall at 100k -------------------------------------------------------------------------------------


async def large() -> tuple[list[dict[str, Any]], float]:
    rng = random.Random(7)
    settings = MemorySettings()
    model = local_model(2, ARITHMETIC)
    distinct = [memory_text(rng, i) for i in range(LARGE_DISTINCT)]
    base = Embeddings().embed(distinct)
    noise = np.random.default_rng(7)
    one, spread = LocalIndex(384), LocalIndex(384)
    stores = {index: Store(QdrantClient(location=":memory:"), "bench", 384, index) for index in (one, spread)}
    started = time.perf_counter()
    for i in range(LARGE):
        text = distinct[i] if i < LARGE_DISTINCT else memory_text(rng, i)
        vector = base[i % LARGE_DISTINCT] + noise.normal(scale=0.02, size=384).astype(np.float32)
        vector /= np.linalg.norm(vector)
        terms = lexical.document(text, settings.lexical_avg_length)
        # Straight into the index: search in local mode reads only the index (Qdrant holds the same rows).
        one.put(Record(id=new_id(), namespace="big", text=text, kind="fact"), vector, terms)
        spread.put(Record(id=new_id(), namespace=f"team{i % LARGE_NAMESPACES}", text=text, kind="fact"), vector, terms)
    loaded = time.perf_counter() - started
    rows: list[dict[str, Any]] = []
    for index, namespaces in ((one, ["big"]), (spread, [f"team{i}" for i in range(LARGE_NAMESPACES)])):
        latencies: list[float] = []
        embedding: list[float] = []
        searching: list[float] = []
        cpu = time.process_time()
        for n in range(LARGE_RECALLS):
            query = rng.choice(QUESTIONS).format(p=rng.choice(PEOPLE), t=rng.choice(THINGS))
            begun = time.perf_counter()
            focus = focus_text(query, settings)  # embedded with the question in one run, as the tool does
            vectors = await asyncio.to_thread(model.embed_sync, [query] if focus is None else [query, focus])
            embedded = time.perf_counter()
            scope = Filter(namespaces[n % len(namespaces)])
            answer = await recall(stores[index], settings, query, vectors[0], scope, 5, vectors[1] if focus else None)
            done = time.perf_counter()
            latencies.append(done - begun)
            embedding.append(embedded - begun)
            searching.append(done - embedded)
            assert answer.hits
        cpu = time.process_time() - cpu
        for values in (latencies, embedding, searching):
            values.sort()
        where = "one namespace" if len(namespaces) == 1 else f"{len(namespaces)} namespaces"
        rows.append({"operation": f"recall in process at {LARGE // 1000}k, {where}", "calls": len(latencies),
                     "p50_ms": percentile(latencies, 50) * 1e3, "p95_ms": percentile(latencies, 95) * 1e3,
                     "per_s": len(latencies) / sum(latencies), "memories": LARGE, "load_s": loaded,
                     "embed_p50_ms": percentile(embedding, 50) * 1e3, "embed_p95_ms": percentile(embedding, 95) * 1e3,
                     "search_p50_ms": percentile(searching, 50) * 1e3,
                     "search_p95_ms": percentile(searching, 95) * 1e3,
                     "cpu_ms_per_recall": cpu / len(latencies) * 1e3})  # fmt: skip
    return rows, float(rows[0]["p95_ms"])


def main() -> None:
    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG
    rows, measured = quality()
    print("\nmemory: recall quality on bench/data (targets judged on blind; dev is what was tuned on)")
    print(table(rows), end="\n\n")
    with tempfile.TemporaryDirectory(prefix="sophia-bench-") as tmp, redis_server(use_env=False) as redis_url:
        server = KitServer(
            Path(entry_point.__file__),
            "memory",
            Path(tmp) / "logs",
            env={"REDIS_URL": redis_url, "SOPHIA_DATA_DIR": str(Path(tmp) / "data")},
            settings={"log_level": "WARNING"},
        ).start(timeout=60)
        try:
            speed, measured["bulk memories/s"] = asyncio.run(over_http(server))
        finally:
            server.stop()
    speed.append(model_only())
    speed.append(asyncio.run(store_only(Embeddings().embed([memory_text(random.Random(7), i) for i in range(2000)]))))
    print(table(speed), end="\n\n")
    big, measured["recall p95 ms at 100k"] = asyncio.run(large())
    print(table(big), end="\n\n")  # its own table: the split into embedding and search has its own columns
    speed.extend(big)
    checks = targets("memory", measured, TARGETS, AT_LEAST)
    print(f"wrote {write('memory', [*rows, *speed, *checks], TARGETS)}")


if __name__ == "__main__":
    main()
