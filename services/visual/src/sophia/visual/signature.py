"""Perceptual signature for image-to-image search: a pHash plus a layout-and-colour vector.

The vector goes into Qdrant (cosine) to find candidates fast; the 64-bit pHash (imagehash) re-ranks
them. The vector is a 16x16 grey thumbnail with its mean removed (layout: where the dark and light
blocks are) next to a 4x4x4 RGB histogram under a square root (colour, robust to crops and
recompression), each part normalised so neither dominates.
"""

from __future__ import annotations

import imagehash
import numpy as np
import numpy.typing as npt
from PIL import Image

GRID = 16
BINS = 4
DIMENSIONS = GRID * GRID + BINS**3
COLOUR_WEIGHT = 0.5  # share of the colour histogram in the vector's squared norm

Vector = npt.NDArray[np.float32]


def layout_vector(image: Image.Image) -> Vector:
    grey = np.asarray(image.convert("L").resize((GRID, GRID), Image.Resampling.BOX), dtype=np.float32).ravel()
    grey -= grey.mean()
    small = np.asarray(image.resize((64, 64), Image.Resampling.BOX), dtype=np.int32).reshape(-1, 3) // (256 // BINS)
    counts = np.bincount(small[:, 0] * BINS * BINS + small[:, 1] * BINS + small[:, 2], minlength=BINS**3)
    colour = np.sqrt(counts.astype(np.float32))
    parts = [_unit(grey) * np.sqrt(1 - COLOUR_WEIGHT), _unit(colour) * np.sqrt(COLOUR_WEIGHT)]
    return np.concatenate(parts).astype(np.float32)


def phash(image: Image.Image) -> str:
    return str(imagehash.phash(image))


def phash_similarity(a: str, b: str) -> float:
    """1 for the same hash, about 0.5 for unrelated images, 0 for inverted ones."""
    distance = imagehash.hex_to_hash(a) - imagehash.hex_to_hash(b)
    return 1.0 - distance / 64.0


def _unit(vector: Vector) -> Vector:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 1e-9 else vector
