"""STAND-IN for the Notion API (not Notion): search, pages, block children with ``start_cursor`` /
``has_more`` / ``next_cursor``, page creation and appending blocks. Requires ``Notion-Version`` as Notion
does; errors are ``{"object": "error", "status", "code", "message"}``; 429 ``rate_limited`` with
``Retry-After``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sophia.business.standins._base import Handler, Standin, json_body


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"object": "error", "status": status, "code": code, "message": message}, status_code=status)


def _norm(page_id: str) -> str:
    return page_id.replace("-", "")


class NotionStandin(Standin):
    system = "notion"

    def __init__(self, data: Any, token: str, page_size: int = 2) -> None:
        super().__init__(token, page_size)
        self.data = data

    def refused(self) -> Response:
        return _error(401, "unauthorized", "API token is invalid.")

    def rate_limited(self, retry_after: str | None) -> Response:
        response = _error(429, "rate_limited", "You have been rate limited. Please try again in a few minutes.")
        if retry_after is not None:
            response.headers["retry-after"] = retry_after
        return response

    def routes(self) -> list[tuple[str, Handler, list[str]]]:
        return [
            ("/v1/users/me", self.me, ["GET"]),
            ("/v1/search", self.search, ["POST"]),
            ("/v1/pages", self.create, ["POST"]),
            ("/v1/pages/{id}", self.page, ["GET"]),
            ("/v1/blocks/{id}/children", self.children, ["GET", "PATCH"]),
        ]

    def _versioned(self, request: Request) -> Response | None:
        if not request.headers.get("notion-version"):
            return _error(400, "missing_version", "Notion-Version header failed validation.")
        return None

    def _find(self, page_id: str) -> dict[str, Any] | None:
        return next((p for p in self.data.notion_pages if _norm(p["id"]) == _norm(page_id)), None)

    def _list(self, items: list[Any], start_cursor: str | None, size: int) -> JSONResponse:
        start = int(start_cursor) if start_cursor and start_cursor.isdigit() else 0
        page = items[start : start + size]
        more = start + size < len(items)
        return JSONResponse(
            {
                "object": "list",
                "results": page,
                "next_cursor": str(start + size) if more else None,
                "has_more": more,
                "type": "page_or_database",
            }
        )

    async def me(self, request: Request) -> Response:
        return self._versioned(request) or JSONResponse(
            {"object": "user", "id": "demo-bot", "type": "bot", "name": "Sophia"}
        )

    async def search(self, request: Request) -> Response:
        if (refused := self._versioned(request)) is not None:
            return refused
        body = await json_body(request)
        query = str(body.get("query") or "").lower()
        pages = [
            p for p in self.data.notion_pages if query in p["properties"]["title"]["title"][0]["plain_text"].lower()
        ]
        return self._list(pages, body.get("start_cursor"), min(self.page_size, int(body.get("page_size") or 100)))

    async def page(self, request: Request) -> Response:
        if (refused := self._versioned(request)) is not None:
            return refused
        found = self._find(request.path_params["id"])
        if found is None:
            return _error(404, "object_not_found", "Could not find page with that ID.")
        return JSONResponse(found)

    async def children(self, request: Request) -> Response:
        if (refused := self._versioned(request)) is not None:
            return refused
        key = next((k for k in self.data.notion_blocks if _norm(k) == _norm(request.path_params["id"])), None)
        if key is None:
            return _error(404, "object_not_found", "Could not find block with that ID.")
        if request.method == "PATCH":
            children = (await json_body(request)).get("children") or []
            if len(children) > 100:
                return _error(400, "validation_error", "body.children.length should be ≤ 100")
            self.data.notion_blocks[key].extend(children)
            return JSONResponse({"object": "list", "results": children, "next_cursor": None, "has_more": False})
        size = min(self.page_size, int(request.query_params.get("page_size", 100)))
        return self._list(self.data.notion_blocks[key], request.query_params.get("start_cursor"), size)

    async def create(self, request: Request) -> Response:
        if (refused := self._versioned(request)) is not None:
            return refused
        body = await json_body(request)
        parent = body.get("parent") or {}
        if not parent.get("page_id") or self._find(parent["page_id"]) is None:
            return _error(404, "object_not_found", "Could not find page with that ID.")
        children = body.get("children") or []
        if len(children) > 100:
            return _error(400, "validation_error", "body.children.length should be ≤ 100")
        for child in children:
            for run in child.get(child.get("type"), {}).get("rich_text", []):
                if len(run["text"]["content"]) > 2000:
                    return _error(400, "validation_error", "text.content.length should be ≤ 2000")
        page_id = str(uuid.uuid4())
        title = body.get("properties", {}).get("title", {}).get("title", [])
        text = "".join(r["text"]["content"] for r in title)
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        page = {
            "object": "page",
            "id": page_id,
            "created_time": now,
            "last_edited_time": now,
            "url": f"https://www.notion.so/{_norm(page_id)}",
            "parent": {"type": "page_id", "page_id": parent["page_id"]},
            "properties": {
                "title": {
                    "id": "title",
                    "type": "title",
                    "title": [{"type": "text", "text": {"content": text}, "plain_text": text}],
                }
            },
        }
        self.data.notion_pages.append(page)
        self.data.notion_blocks[page_id] = [
            {
                **c,
                "id": str(uuid.uuid4()),
                "has_children": False,
                c["type"]: {
                    **c[c["type"]],
                    "rich_text": [{**r, "plain_text": r["text"]["content"]} for r in c[c["type"]]["rich_text"]],
                },
            }
            for c in children
        ]
        return JSONResponse(page)
