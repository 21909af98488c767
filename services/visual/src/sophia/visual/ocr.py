"""OCR with RapidOCR (PP-OCRv4 detection + recognition, ONNX models inside the `rapidocr-onnxruntime` wheel).

Why this engine: its models ship in the PyPI package (nothing downloads, no system package, CI needs
nothing extra) and it runs on the onnxruntime already in the lock; see the README for the measured
comparison. A page with little text upright is tried again at 90 and 270 degrees (rotated scans,
sideways slides), and the reading with the most confident text wins.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

# Below this many confidently read characters upright, a page is worth trying sideways.
SIDEWAYS_BELOW_CHARS = 12


@dataclass(frozen=True)
class Line:
    """One line of text and where it is: box (x0, y0, x1, y1) as fractions of the image turned as read."""

    text: str
    box: tuple[float, float, float, float]
    confidence: float


@dataclass(frozen=True)
class Reading:
    lines: list[Line]
    rotation: int  # degrees counter-clockwise the image was turned to read it

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


class Ocr:
    """A small pool of RapidOCR engines (one per concurrent worker); `read` is blocking, call it in a thread."""

    def __init__(self, workers: int = 1, threads: int = 2, min_confidence: float = 0.5) -> None:
        from rapidocr_onnxruntime import RapidOCR  # heavy import, only when the service starts

        self._min_confidence = min_confidence
        self._engines: queue.Queue[Any] = queue.Queue()
        for _ in range(workers):
            self._engines.put(RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1, text_score=min_confidence))
        self._lock = threading.Lock()

    def read(self, image: Image.Image) -> Reading:
        best = self._read_at(image, 0)
        if _weight(best) >= SIDEWAYS_BELOW_CHARS:
            return best
        for rotation in (90, 270):
            other = self._read_at(image, rotation)
            if _weight(other) > _weight(best):
                best = other
        return best

    def _read_at(self, image: Image.Image, rotation: int) -> Reading:
        turned = image.rotate(rotation, expand=True) if rotation else image
        engine = self._engines.get()
        try:
            found, _ = engine(np.asarray(turned))
        finally:
            self._engines.put(engine)
        width, height = turned.size
        lines = []
        for points, text, score in found or []:
            confidence = float(score)
            text = str(text).strip()
            if not text or confidence < self._min_confidence:
                continue
            xs = [p[0] / width for p in points]
            ys = [p[1] / height for p in points]
            x0, y0, x1, y1 = (round(min(max(v, 0.0), 1.0), 4) for v in (min(xs), min(ys), max(xs), max(ys)))
            lines.append(Line(text=text, box=(x0, y0, x1, y1), confidence=confidence))
        # Reading order: top to bottom, then left to right.
        lines.sort(key=lambda line: (round(line.box[1], 2), line.box[0]))
        return Reading(lines=lines, rotation=rotation)


def _weight(reading: Reading) -> float:
    return sum(len(line.text) * line.confidence for line in reading.lines)
