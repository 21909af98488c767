"""The memory service's one embedder: the kit's local model or an OpenAI-compatible API, batched."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from sophia.kit.embeddings import Batcher, Embedder, EmbeddingError, LocalEmbedder, RemoteEmbedder, local_model
from sophia.memory.settings import MemorySettings

__all__ = ["Batcher", "EmbeddingError", "open_embedder"]


async def open_embedder(settings: MemorySettings) -> AsyncIterator[Batcher]:
    """The process's one embedder (a kit dependency: built at start, closed at shutdown)."""
    embedder: Embedder
    if settings.embedding_url:
        key = settings.embedding_api_key.get_secret_value() if settings.embedding_api_key else None
        embedder = RemoteEmbedder(settings.embedding_url, settings.embedding_model, settings.embedding_dimensions, key)
    else:
        if settings.embedding_dimensions != LocalEmbedder.dimensions:
            raise ValueError(f"the local model makes {LocalEmbedder.dimensions}-dimensional vectors")
        embedder = await asyncio.to_thread(local_model, settings.embedding_threads, settings.embedding_arithmetic)
    try:
        yield Batcher(embedder, settings.embedding_batch_size)
    finally:
        await embedder.aclose()
