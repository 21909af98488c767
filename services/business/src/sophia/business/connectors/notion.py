"""Notion API (https://api.notion.com/v1): search, read a page as text, create a page from Markdown.

Auth: ``Authorization: Bearer <NOTION_API_KEY>`` and ``Notion-Version``. Search is ``POST /v1/search``;
block children are ``GET /v1/blocks/{id}/children``; both paginate with ``start_cursor`` / ``has_more`` /
``next_cursor``. Pages are created with ``POST /v1/pages`` (at most 100 blocks; the rest are appended with
``PATCH /v1/blocks/{id}/children``), each text run at most 2,000 characters. Notion answers 429
``rate_limited`` with ``Retry-After``; errors are ``{"object": "error", "code", "message"}``.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from sophia.business.connectors.base import Connector, Hit, Terms, clip, dicts, obj, require_dict
from sophia.business.http import NotConfigured, Rejected

PAGE_ID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
TEXT_RUN = 2_000
BLOCKS_PER_CALL = 100
MAX_BLOCKS_READ = 1_000
MAX_DEPTH = 3
TEXT_BLOCKS = {
    "paragraph": "",
    "heading_1": "# ",
    "heading_2": "## ",
    "heading_3": "### ",
    "bulleted_list_item": "- ",
    "numbered_list_item": "1. ",
    "quote": "> ",
    "callout": "> ",
    "toggle": "- ",
    "code": "    ",
}


def check_page_id(value: str) -> str:
    value = value.strip()
    if not PAGE_ID.match(value):
        raise Rejected("a Notion page id is 32 hexadecimal digits (dashes allowed)")
    return value


def _rich(text: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": {"content": text[i : i + TEXT_RUN]}} for i in range(0, len(text), TEXT_RUN)] or [
        {"type": "text", "text": {"content": ""}}
    ]


def markdown_blocks(markdown: str) -> list[dict[str, Any]]:
    """Notion blocks for Markdown: headings, bullets, numbered items, to-dos, quotes, code fences, paragraphs."""
    blocks: list[dict[str, Any]] = []
    paragraph: list[str] = []
    code: list[str] | None = None

    def block(kind: str, text: str, **extra: Any) -> None:
        blocks.append({"object": "block", "type": kind, kind: {"rich_text": _rich(text), **extra}})

    def flush() -> None:
        if paragraph:
            block("paragraph", " ".join(paragraph))
            paragraph.clear()

    for line in markdown.splitlines():
        stripped = line.strip()
        if code is not None:
            if stripped.startswith("```"):
                block("code", "\n".join(code), language="plain text")
                code = None
            else:
                code.append(line)
            continue
        if stripped.startswith("```"):
            flush()
            code = []
            continue
        patterns = [
            (r"^### (.*)", "heading_3"),
            (r"^## (.*)", "heading_2"),
            (r"^# (.*)", "heading_1"),
            (r"^[-*] \[( |x|X)\] (.*)", "to_do"),
            (r"^[-*] (.*)", "bulleted_list_item"),
            (r"^\d+[.)] (.*)", "numbered_list_item"),
            (r"^> ?(.*)", "quote"),
        ]
        for pattern, kind in patterns:
            match = re.match(pattern, stripped)
            if match:
                flush()
                if kind == "to_do":
                    block(kind, match.group(2), checked=match.group(1).lower() == "x")
                else:
                    block(kind, match.group(1))
                break
        else:
            if stripped:
                paragraph.append(stripped)
            else:
                flush()
    if code is not None:
        block("code", "\n".join(code), language="plain text")
    flush()
    return blocks


def plain_text(rich: Any) -> str:
    return "".join(str(run.get("plain_text") or (run.get("text") or {}).get("content", "")) for run in dicts(rich))


def page_title(page: dict[str, Any]) -> str:
    properties = obj(page.get("properties"))
    for value in properties.values():
        if isinstance(value, dict) and value.get("type") == "title":
            return plain_text(value.get("title"))
    return plain_text(page.get("title"))  # databases carry their title at the top


class Notion(Connector):
    name = "notion"
    title = "Notion"

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        idempotent: bool = True,
    ) -> dict[str, Any]:
        (key,) = await self.require("NOTION_API_KEY")
        headers = {
            "authorization": f"Bearer {key}",
            "notion-version": self.settings.notion_version,
            "content-type": "application/json",
        }
        _, data = await self.http.request(
            method,
            f"{self.settings.notion_url.rstrip('/')}/v1{path}",
            headers=headers,
            json=body,
            params=params,
            secrets=await self.secrets(),
            idempotent=idempotent,
            explain=_explain,
        )
        return require_dict(data, "Notion", path)

    async def ping(self) -> None:
        await self._call("GET", "/users/me")

    async def search_pages(self, query: str, limit: int) -> dict[str, Any]:
        pages: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(self.settings.max_pages):
            body: dict[str, Any] = {
                "query": query[:200],
                "page_size": min(100, limit),
                "sort": {"direction": "descending", "timestamp": "last_edited_time"},
            }
            if cursor:
                body["start_cursor"] = cursor
            data = await self._call("POST", "/search", body=body)  # a read despite the verb
            pages.extend(dicts(data.get("results")))
            cursor = data.get("next_cursor") if data.get("has_more") is True else None
            if not isinstance(cursor, str) or len(pages) >= limit:
                break
        items = [
            {
                "id": clip(p.get("id"), 40),
                "kind": clip(p.get("object"), 20),
                "title": clip(page_title(p), 300),
                "url": clip(p.get("url"), 500) or None,
                "edited": clip(p.get("last_edited_time"), 40) or None,
            }
            for p in pages[:limit]
        ]
        return {"pages": items, "more": bool(cursor) or len(pages) > limit}

    async def read_page(self, page_id: str, max_chars: int) -> dict[str, Any]:
        page_id = check_page_id(page_id)
        page = await self._call("GET", f"/pages/{page_id}")
        lines: list[str] = []
        budget = {"blocks": MAX_BLOCKS_READ, "chars": max_chars}
        truncated = await self._children(page_id, 0, lines, budget)
        return {
            "id": clip(page.get("id"), 40),
            "title": clip(page_title(page), 300),
            "url": clip(page.get("url"), 500) or None,
            "edited": clip(page.get("last_edited_time"), 40) or None,
            "text": "\n".join(lines),
            "truncated": truncated,
        }

    async def _children(self, block_id: str, depth: int, lines: list[str], budget: dict[str, int]) -> bool:
        """Append the text of `block_id`'s children to `lines`; True when a bound cut it short."""
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"page_size": BLOCKS_PER_CALL}
            if cursor:
                params["start_cursor"] = cursor
            data = await self._call("GET", f"/blocks/{check_page_id(block_id)}/children", params=params)
            for child in dicts(data.get("results")):
                budget["blocks"] -= 1
                line = _block_text(child, depth)
                if line is not None:
                    budget["chars"] -= len(line) + 1
                    if budget["chars"] < 0 or budget["blocks"] < 0:
                        return True
                    lines.append(line)
                nested = (
                    child.get("has_children") is True and depth + 1 < MAX_DEPTH and isinstance(child.get("id"), str)
                )
                if nested and await self._children(str(child["id"]), depth + 1, lines, budget):
                    return True
            cursor = data.get("next_cursor") if data.get("has_more") is True else None
            if not isinstance(cursor, str):
                return False

    async def create_page(self, title: str, body: str, parent: str | None) -> dict[str, Any]:
        parent = parent or self.settings.notion_default_parent
        if not parent:
            raise NotConfigured(
                "Notion needs a parent page for new pages (pass parent or set SOPHIA_BUSINESS_NOTION_DEFAULT_PARENT)"
            )
        blocks = markdown_blocks(body)
        payload = {
            "parent": {"page_id": check_page_id(parent)},
            "properties": {"title": {"title": _rich(title)}},
            "children": blocks[:BLOCKS_PER_CALL],
        }
        page = await self._call("POST", "/pages", body=payload, idempotent=False)
        page_id = str(page.get("id", ""))
        for start in range(BLOCKS_PER_CALL, len(blocks), BLOCKS_PER_CALL):
            await self._call(
                "PATCH",
                f"/blocks/{check_page_id(page_id)}/children",
                body={"children": blocks[start : start + BLOCKS_PER_CALL]},
                idempotent=False,
            )
        return {"id": clip(page_id, 40), "url": clip(page.get("url"), 500) or None, "blocks": len(blocks)}

    async def search(self, terms: Terms, limit: int) -> list[Hit]:
        found = await self.search_pages(terms.focus, limit)
        return [
            Hit("notion", p["kind"] or "page", p["id"], p["title"], "", p["url"], p["edited"]) for p in found["pages"]
        ]


def _block_text(block: dict[str, Any], depth: int) -> str | None:
    kind = block.get("type")
    if not isinstance(kind, str):
        return None
    content = obj(block.get(kind))
    indent = "  " * depth
    if kind == "to_do":
        mark = "x" if content.get("checked") is True else " "
        return f"{indent}- [{mark}] {plain_text(content.get('rich_text'))}"
    if kind == "divider":
        return f"{indent}---"
    if kind == "child_page":
        return f"{indent}[page] {clip(content.get('title'), 300)}"
    if kind in TEXT_BLOCKS:
        return f"{indent}{TEXT_BLOCKS[kind]}{plain_text(content.get('rich_text'))}"
    return None


def _explain(response: httpx.Response, body: Any) -> str | None:
    if isinstance(body, dict) and body.get("message"):
        return f"{clip(body.get('code'), 60)}: {clip(body.get('message'), 200)}"
    return None
