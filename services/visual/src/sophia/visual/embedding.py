"""The active embedder: what an image becomes before it is stored, and what a query becomes.

The default needs no download: OCR text (RapidOCR) embedded with the kit's local text model, the OCR
lines kept for keyword scoring, and a perceptual signature. A learned embedder (CLIP, ColPali), when
configured and loadable, adds its own vector(s) next to these.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from sophia.kit.embeddings import Batcher, Vectors, local_model
from sophia.visual import learned, signature
from sophia.visual.learned import Array, LearnedEmbedder
from sophia.visual.ocr import Ocr, Reading
from sophia.visual.settings import VisualSettings

TEXT_DIMENSIONS = 384  # all-MiniLM-L6-v2
OCR_ENGINE = "rapidocr-onnxruntime (PP-OCRv4, bundled ONNX models)"
TEXT_MODEL = "all-MiniLM-L6-v2 (local, int8 ONNX)"


Progress = Callable[[int, int], Awaitable[None]]


@dataclass(frozen=True)
class Features:
    reading: Reading
    text: str  # what was embedded: labels and OCR text
    text_vector: Array
    layout: Array
    phash: str
    learned: Array | None


class Embedder:
    def __init__(self, ocr: Ocr, text: Batcher, learned_embedder: LearnedEmbedder | None, status: str) -> None:
        self._ocr = ocr
        self._text = text
        self.learned = learned_embedder
        self.learned_status = status

    @property
    def name(self) -> str:
        return self.learned.name if self.learned else "default (ocr + minilm + signature)"

    def describe(self) -> dict[str, str]:
        return {
            "active": self.name,
            "learned": self.learned_status,
            "ocr": OCR_ENGINE,
            "text_model": TEXT_MODEL,
            "signature": "pHash + 16x16 layout + RGB histogram",
        }

    async def read(self, image: Image.Image) -> Reading:
        return await asyncio.to_thread(self._ocr.read, image)

    async def features(
        self, images: list[Image.Image], labels: list[str], progress: Progress | None = None
    ) -> list[Features]:
        """Everything stored for `images` (labels: title and tags of each, embedded with its text).
        `progress(done, total)` is awaited as each image has been read (OCR is most of the time)."""
        done = 0

        async def read(image: Image.Image) -> Reading:
            nonlocal done
            reading = await self.read(image)
            done += 1
            if progress is not None:
                await progress(done, len(images))
            return reading

        readings = await asyncio.gather(*(read(image) for image in images))
        texts = [f"{label}\n{reading.text}".strip() for label, reading in zip(labels, readings, strict=True)]
        vectors = await self.embed_texts(texts)
        learned_vectors: list[Array | None] = [None] * len(images)
        if self.learned is not None:
            learned_vectors = list(await asyncio.to_thread(self.learned.embed_images, images))
        return [
            Features(
                reading=reading,
                text=text,
                text_vector=vector,
                layout=signature.layout_vector(image),
                phash=signature.phash(image),
                learned=learned_vector,
            )
            for image, reading, text, vector, learned_vector in zip(
                images, readings, texts, vectors, learned_vectors, strict=True
            )
        ]

    async def embed_texts(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, TEXT_DIMENSIONS), dtype=np.float32)
        # An image with no text at all embeds as an empty string: a fixed vector, so give it none.
        return await self._text.embed([text or " " for text in texts])

    async def embed_learned_query(self, query: str) -> Array | None:
        if self.learned is None:
            return None
        return await asyncio.to_thread(self.learned.embed_query, query)


async def open_embedder(settings: VisualSettings) -> AsyncIterator[Embedder]:
    """The process's one embedder (a kit dependency: built at start)."""
    ocr = await asyncio.to_thread(Ocr, settings.ocr_workers, settings.ocr_threads, settings.ocr_min_confidence)
    text_model = await asyncio.to_thread(local_model, settings.text_threads)
    loaded = await asyncio.to_thread(
        learned.load,
        settings.embedder,
        settings.learned_model_path,
        settings.learned_model_name,
        settings.learned_device,
    )
    # The OCR pool bounds how many images are read at once (ocr_workers); the batcher shares text model runs.
    yield Embedder(ocr, Batcher(text_model, 64), loaded.embedder, loaded.status)
