"""Learned image embedders (CLIP, ColPali), loaded only from a local path, never downloaded.

torch, open_clip and colpali_engine are not dependencies of this package (they would pull gigabytes
into every install): an operator who wants a learned embedder installs them into the image and points
``SOPHIA_VISUAL_LEARNED_MODEL_PATH`` at the weights. Everything is imported lazily; when the library or
the weights are missing, `load` says which, and the service keeps the default embedder.

CLIP gives one vector per image (cosine). ColPali gives one vector per image patch and per query
token, compared by late interaction (MaxSim): Qdrant stores those as a multivector.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from PIL import Image

Array = npt.NDArray[np.float32]


class LearnedEmbedder(Protocol):
    name: str
    dimensions: int
    multivector: bool  # True: each image/query is a (n, dimensions) matrix compared by MaxSim

    def embed_images(self, images: list[Image.Image]) -> list[Array]: ...

    def embed_query(self, text: str) -> Array: ...


@dataclass(frozen=True)
class Loaded:
    embedder: LearnedEmbedder | None
    status: str  # what the service reports: active, or why not


def load(kind: str, path: Path | None, model_name: str, device: str) -> Loaded:
    """The configured learned embedder, or None with the reason (library missing, weights missing)."""
    if kind == "default":
        return Loaded(None, "default embedder configured")
    if path is None:
        return Loaded(None, f"{kind}: weights not found (set SOPHIA_VISUAL_LEARNED_MODEL_PATH); using the default")
    if not path.exists():
        return Loaded(None, f"{kind}: weights not found at {path}; using the default")
    # Nothing may reach a model hub: the libraries below honour these.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    try:
        import torch
    except ImportError:
        return Loaded(None, f"{kind}: library not installed (torch); using the default")
    chosen = "cuda" if device == "cuda" or (device == "auto" and torch.cuda.is_available()) else "cpu"
    try:
        if kind == "clip":
            return Loaded(ClipEmbedder(path, model_name, chosen), f"clip {model_name} on {chosen}")
        return Loaded(ColPaliEmbedder(path, chosen), f"colpali on {chosen}")
    except ImportError as exc:
        return Loaded(None, f"{kind}: library not installed ({exc.name}); using the default")
    except (OSError, RuntimeError, ValueError) as exc:
        return Loaded(None, f"{kind}: could not load the weights at {path} ({type(exc).__name__}); using the default")


class ClipEmbedder:
    """An open_clip model from a local checkpoint file: one unit vector per image and per query."""

    multivector = False

    def __init__(self, checkpoint: Path, model_name: str, device: str) -> None:
        import open_clip
        import torch

        self._torch = torch
        self._device = device
        # `pretrained` as a file path loads that checkpoint; nothing is fetched.
        model, _, preprocess = open_clip.create_model_and_transforms(model_name, pretrained=str(checkpoint))
        self._model: Any = model.to(device).eval()
        self._preprocess = preprocess
        self._tokenizer = open_clip.get_tokenizer(model_name)
        self.name = f"clip:{model_name}"
        self.dimensions = int(self._model.text_projection.shape[1])

    def embed_images(self, images: list[Image.Image]) -> list[Array]:
        with self._torch.no_grad():
            batch = self._torch.stack([self._preprocess(image) for image in images]).to(self._device)
            features = self._model.encode_image(batch)
            features = features / features.norm(dim=-1, keepdim=True)
        return [row for row in features.float().cpu().numpy()]

    def embed_query(self, text: str) -> Array:
        with self._torch.no_grad():
            features = self._model.encode_text(self._tokenizer([text]).to(self._device))
            features = features / features.norm(dim=-1, keepdim=True)
        return np.asarray(features.float().cpu().numpy()[0])


class ColPaliEmbedder:
    """A ColPali-family model (colpali_engine) from a local directory: patch and token multivectors."""

    multivector = True

    def __init__(self, directory: Path, device: str) -> None:
        import torch
        from colpali_engine.models import ColPali, ColPaliProcessor

        self._torch = torch
        dtype = torch.bfloat16 if device == "cuda" else torch.float32
        self._model: Any = ColPali.from_pretrained(
            str(directory), torch_dtype=dtype, device_map=device, local_files_only=True
        ).eval()
        self._processor: Any = ColPaliProcessor.from_pretrained(str(directory), local_files_only=True)
        self.name = f"colpali:{directory.name}"
        self.dimensions = int(getattr(self._model, "dim", 128))

    def embed_images(self, images: list[Image.Image]) -> list[Array]:
        with self._torch.no_grad():
            batch = self._processor.process_images(images).to(self._model.device)
            out = self._model(**batch)
        return [m.float().cpu().numpy() for m in out]

    def embed_query(self, text: str) -> Array:
        with self._torch.no_grad():
            batch = self._processor.process_queries([text]).to(self._model.device)
            out = self._model(**batch)
        return np.asarray(out[0].float().cpu().numpy())
