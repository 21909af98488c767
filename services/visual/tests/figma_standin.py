"""TEST STAND-IN for the Figma REST API (the calls index_figma makes), not Figma.

Figma cannot be reached from here, so this Starlette app answers `GET /v1/files/:key` (the document
tree: pages, their top-level frames) and `GET /v1/images/:key?ids=...&format=png` (render URLs) in
Figma's shapes, checks the `X-Figma-Token` header (403 with Figma's body otherwise), answers 404 for an
unknown file and 429 with Retry-After when told to, and serves the PNG renders it points to from
`/renders/...` (Figma points to its CDN). Every request is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOKEN = "figd_test_token_not_a_secret"


@dataclass
class FigmaStandin:
    file_key: str
    name: str
    pages: dict[str, list[tuple[str, str, bytes]]]  # page name -> [(node id, frame name, rendered PNG)]
    rate_limited: bool = False
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    base_url: str = ""

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/files/{key}", self.file),
                Route("/v1/images/{key}", self.images),
                Route("/renders/{node}", self.render),
            ]
        )

    def _check(self, request: Request) -> JSONResponse | None:
        self.requests.append((request.url.path, dict(request.headers)))
        if self.rate_limited:
            return JSONResponse({"status": 429, "err": "Rate limit exceeded"}, 429, headers={"Retry-After": "30"})
        if request.headers.get("x-figma-token") != TOKEN:
            return JSONResponse({"status": 403, "err": "Invalid token"}, status_code=403)
        if request.path_params["key"] != self.file_key:
            return JSONResponse({"status": 404, "err": "Not found"}, status_code=404)
        return None

    async def file(self, request: Request) -> JSONResponse:
        if (refused := self._check(request)) is not None:
            return refused
        pages = [
            {
                "id": f"{p}:0",
                "name": page,
                "type": "CANVAS",
                "children": [
                    {"id": node, "name": name, "type": "FRAME", "absoluteBoundingBox": {}} for node, name, _ in frames
                ]
                + [{"id": f"{p}:999", "name": "a loose vector", "type": "VECTOR"}],
            }
            for p, (page, frames) in enumerate(self.pages.items())
        ]
        document: dict[str, Any] = {"id": "0:0", "name": "Document", "type": "DOCUMENT", "children": pages}
        return JSONResponse({"name": self.name, "document": document, "schemaVersion": 0, "version": "1"})

    async def images(self, request: Request) -> JSONResponse:
        if (refused := self._check(request)) is not None:
            return refused
        known = {node for frames in self.pages.values() for node, _, _ in frames}
        ids = request.query_params.get("ids", "").split(",")
        urls = {i: (f"{self.base_url}/renders/{i.replace(':', '-')}" if i in known else None) for i in ids}
        return JSONResponse({"err": None, "images": urls})

    async def render(self, request: Request) -> Response:
        node = request.path_params["node"].replace("-", ":")
        for frames in self.pages.values():
            for node_id, _, png in frames:
                if node_id == node:
                    return Response(png, media_type="image/png")
        return Response(status_code=404)
