"""Checks on what callers send (labels, namespaces, ids, times) and the shape of a stored image."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sophia.kit import ToolError
from sophia.visual.embedding import Features
from sophia.visual.images import Decoded

NAMESPACE = re.compile(r"^[a-zA-Z0-9_.-]{1,64}$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_OCR_LINES = 500
MAX_OCR_CHARS = 20_000
SNIPPET_CHARS = 200
# Point ids are derived from namespace and content, so indexing the same image twice updates it.
ID_SPACE = uuid.UUID("6f1b8a52-7e0c-4c1e-9d0e-5b7f2a9c3d41")


def check_namespace(namespace: str) -> str:
    if not NAMESPACE.match(namespace):
        raise ToolError("namespace must be 1-64 letters, digits, '.', '_' or '-'")
    return namespace


def check_label(value: str | None, what: str, limit: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > limit or CONTROL.search(value):
        raise ToolError(f"{what} must be 1-{limit} printable characters")
    return value


def check_tags(tags: list[str], max_tags: int, limit: int) -> list[str]:
    if len(tags) > max_tags:
        raise ToolError(f"at most {max_tags} tags, got {len(tags)}")
    return list(dict.fromkeys(str(check_label(tag, "a tag", limit)) for tag in tags))


def check_id(image_id: str) -> str:
    try:
        return str(uuid.UUID(image_id))
    except (ValueError, AttributeError, TypeError):
        raise ToolError(f"{image_id[:80]!r} is not an image id") from None


def seconds(moment: datetime | None, name: str) -> float | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ToolError(f"{name} needs a time zone (for example 2026-01-31T00:00:00Z)")
    return moment.timestamp()


def iso(moment: float | None) -> str | None:
    return None if moment is None else datetime.fromtimestamp(moment, UTC).isoformat()


def point_id(namespace: str, sha256: str) -> str:
    return str(uuid.uuid5(ID_SPACE, f"{namespace}\n{sha256}"))


def payload(
    decoded: Decoded,
    features: Features,
    *,
    namespace: str,
    title: str | None,
    origin: str,
    source: str | None,
    project: str | None,
    tags: list[str],
    thumbnail: str,
    embedder: str,
) -> dict[str, Any]:
    lines = [{"text": line.text, "box": list(line.box)} for line in features.reading.lines[:MAX_OCR_LINES]]
    return {
        "namespace": namespace,
        "title": title,
        "origin": origin,
        "source": source,
        "project": project,
        "tags": tags,
        "sha256": decoded.sha256,
        "format": decoded.format,
        "width": decoded.width,
        "height": decoded.height,
        "bytes": decoded.byte_size,
        "indexed_at": time.time(),
        "ocr_text": features.reading.text[:MAX_OCR_CHARS],
        "ocr_lines": lines,
        "ocr_rotation": features.reading.rotation,
        "phash": features.phash,
        "thumbnail": thumbnail,
        "embedder": embedder,
    }


def summary(point_id: str, stored: dict[str, Any]) -> dict[str, Any]:
    """What search results show of an image (no thumbnail, a snippet of its text)."""
    text = str(stored.get("ocr_text") or "")
    return {
        "id": point_id,
        "title": stored.get("title"),
        "origin": stored.get("origin"),
        "source": stored.get("source"),
        "project": stored.get("project"),
        "tags": stored.get("tags") or [],
        "width": stored.get("width"),
        "height": stored.get("height"),
        "indexed_at": iso(stored.get("indexed_at")),
        "snippet": text[:SNIPPET_CHARS].replace("\n", " | "),
    }


def detail(point_id: str, stored: dict[str, Any], with_thumbnail: bool) -> dict[str, Any]:
    """Everything `get` shows of an image."""
    shown = {
        **summary(point_id, stored),
        "namespace": stored.get("namespace"),
        "format": stored.get("format"),
        "bytes": stored.get("bytes"),
        "sha256": stored.get("sha256"),
        "ocr_text": stored.get("ocr_text"),
        "ocr_lines": stored.get("ocr_lines") or [],
        "ocr_rotation": stored.get("ocr_rotation", 0),
        "phash": stored.get("phash"),
        "embedder": stored.get("embedder"),
    }
    if with_thumbnail:
        shown["thumbnail"] = {"format": "webp", "base64": stored.get("thumbnail")}
    return shown
