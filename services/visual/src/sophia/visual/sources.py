"""Where image bytes come from: base64, a file under the allowed root, or a URL on the allow-list.

Files: the path is resolved (symbolic links followed) and must stay under the root; `..` is refused
outright. URLs: only http(s) prefixes on the list, every redirect hop checked against the list again,
the download bounded in bytes and in time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from urllib.parse import urljoin, urlsplit

import httpx

from sophia.visual.images import ImageRejected

MAX_REDIRECTS = 3


def read_file(root: Path | None, path: str, max_bytes: int) -> bytes:
    """The bytes of `path` (relative to `root`, or absolute inside it)."""
    if root is None:
        raise ImageRejected("indexing files by path is not configured (set SOPHIA_VISUAL_ALLOWED_ROOT)")
    if not path or "\x00" in path or len(path) > 4096:
        raise ImageRejected("the path is empty or invalid")
    if ".." in PurePosixPath(path).parts:
        raise ImageRejected("the path may not contain '..'")
    base = root.resolve()
    candidate = Path(path) if Path(path).is_absolute() else base / path
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise ImageRejected(f"no file {path!r} under the allowed root") from exc
    if not resolved.is_relative_to(base):
        # Answered like a missing file: the caller learns nothing about what lies outside the root.
        raise ImageRejected(f"no file {path!r} under the allowed root")
    if not resolved.is_file():
        raise ImageRejected(f"{path!r} is not a regular file")
    size = resolved.stat().st_size
    if size > max_bytes:
        raise ImageRejected(f"{path!r} is {size} bytes; the limit is {max_bytes}")
    with resolved.open("rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ImageRejected(f"{path!r} is larger than {max_bytes} bytes")
    return data


def on_allow_list(prefixes: list[str]) -> Callable[[str], bool]:
    """A check that a URL starts with one of `prefixes` (scheme and host compared case-insensitively)."""

    def normal(url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path or '/'}" + (
            f"?{parts.query}" if parts.query else ""
        )

    normal_prefixes = [normal(p) for p in prefixes]

    def allowed(url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.username or parts.password:
            return False
        return any(normal(url).startswith(prefix) for prefix in normal_prefixes)

    return allowed


async def download(
    client: httpx.AsyncClient, url: str, allowed: Callable[[str], bool], max_bytes: int, timeout_s: float
) -> bytes:
    """GET `url` (redirects followed only onto allowed URLs), at most `max_bytes`, within `timeout_s`."""
    try:
        async with asyncio.timeout(timeout_s):
            return await _download(client, url, allowed, max_bytes)
    except TimeoutError as exc:
        raise ImageRejected(f"downloading the image took longer than {timeout_s:g} s") from exc
    except httpx.HTTPError as exc:
        raise ImageRejected(f"downloading the image failed ({type(exc).__name__})") from exc


async def _download(client: httpx.AsyncClient, url: str, allowed: Callable[[str], bool], max_bytes: int) -> bytes:
    for _ in range(MAX_REDIRECTS + 1):
        if not allowed(url):
            raise ImageRejected(f"the URL {shown(url)} is not on the allow-list")
        async with client.stream("GET", url, follow_redirects=False) as response:
            if response.is_redirect:
                url = urljoin(url, response.headers.get("location", ""))
                continue
            if response.status_code != 200:
                raise ImageRejected(f"the image URL answered HTTP {response.status_code}")
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise ImageRejected(f"the image is {declared} bytes; the limit is {max_bytes}")
            chunks: list[bytes] = []
            received = 0
            async for chunk in response.aiter_bytes():
                received += len(chunk)
                if received > max_bytes:
                    raise ImageRejected(f"the image is larger than {max_bytes} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
    raise ImageRejected(f"more than {MAX_REDIRECTS} redirects")


def shown(url: str) -> str:
    """The URL without query or credentials (either may carry a secret)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{parts.path}"[:200]
