"""The Figma REST API: a file's top-level frames (`GET /v1/files/:key`) and their renders
(`GET /v1/images/:key?ids=...`), authenticated with the `X-Figma-Token` header.

Nothing Figma answers is trusted: names are clipped, ids checked, render URLs must be https (or on the
configured API host, for a stand-in), and each render goes through the same bounded download and image
checks as any other image.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

FILE_KEY = re.compile(r"^[A-Za-z0-9]{10,64}$")
NODE_ID = re.compile(r"^[0-9]+[:-][0-9]+$")
FRAME_TYPES = frozenset({"FRAME", "COMPONENT", "COMPONENT_SET", "SECTION"})
IDS_PER_RENDER_CALL = 50


class FigmaError(RuntimeError):
    """A Figma call failed; the message is safe to show (never the token)."""


@dataclass(frozen=True)
class Frame:
    id: str
    name: str
    page: str


class Figma:
    def __init__(self, client: httpx.AsyncClient, base_url: str, token: str) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._headers = {"X-Figma-Token": token}

    async def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        try:
            response = await self._client.get(f"{self._base}{path}", params=params, headers=self._headers)
        except httpx.HTTPError as exc:
            raise FigmaError(f"the Figma API could not be reached ({type(exc).__name__})") from exc
        if response.status_code == 429:
            wait = response.headers.get("retry-after", "")
            raise FigmaError(f"Figma rate limit reached; retry after {wait or 'a while'} s")
        if response.status_code in (401, 403):
            raise FigmaError("Figma refused the token (check SOPHIA_VISUAL_FIGMA_TOKEN and its file access)")
        if response.status_code == 404:
            raise FigmaError("no such Figma file (or the token cannot see it)")
        if response.status_code != 200:
            raise FigmaError(f"the Figma API answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise FigmaError("the Figma API answered something that is not JSON") from exc
        if not isinstance(body, dict):
            raise FigmaError("the Figma API answered an unexpected shape")
        return body

    async def frames(self, file_key: str) -> tuple[str, list[Frame]]:
        """The file's name and its top-level frames, page by page."""
        body = await self._get(f"/v1/files/{file_key}", {"depth": "2"})
        document = body.get("document")
        frames: list[Frame] = []
        for page in _children(document):
            for node in _children(page):
                node_id = str(node.get("id", ""))
                if node.get("type") in FRAME_TYPES and NODE_ID.match(node_id):
                    frames.append(Frame(node_id, _clip(node.get("name")), _clip(page.get("name"))))
        return _clip(body.get("name")) or file_key, frames

    async def render_urls(self, file_key: str, ids: list[str]) -> dict[str, str]:
        """PNG render URLs by node id (Figma answers null for a node it could not render)."""
        urls: dict[str, str] = {}
        for start in range(0, len(ids), IDS_PER_RENDER_CALL):
            chunk = ids[start : start + IDS_PER_RENDER_CALL]
            body = await self._get(f"/v1/images/{file_key}", {"ids": ",".join(chunk), "format": "png", "scale": "1"})
            if body.get("err"):
                raise FigmaError(f"Figma could not render the frames: {_clip(body.get('err'))}")
            images = body.get("images")
            if not isinstance(images, dict):
                raise FigmaError("the Figma API answered an unexpected shape (no images)")
            urls.update({k: v for k, v in images.items() if k in chunk and isinstance(v, str)})
        return urls

    def render_url_allowed(self) -> Callable[[str], bool]:
        """Renders come from Figma's CDN over https; plain http only from the configured API host."""
        api = urlsplit(self._base)

        def allowed(url: str) -> bool:
            parts = urlsplit(url)
            if parts.username or parts.password:
                return False
            return parts.scheme == "https" or (parts.scheme == api.scheme and parts.netloc == api.netloc)

        return allowed


def _children(node: Any) -> list[dict[str, Any]]:
    children = node.get("children") if isinstance(node, dict) else None
    return [c for c in children if isinstance(c, dict)] if isinstance(children, list) else []


def _clip(value: Any, limit: int = 200) -> str:
    return str(value)[:limit] if value is not None else ""
