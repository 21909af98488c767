"""MCP `CallToolResult`s as the gateway builds and reads them (plain dicts: the hot path never
validates them into models)."""

from __future__ import annotations

import json
from typing import Any


def ok_result(structured: dict[str, Any], text: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "structuredContent": structured, "isError": False}


def error_result(message: str) -> dict[str, Any]:
    """A result that reports a failure to the model instead of failing the request."""
    return {"content": [{"type": "text", "text": message}], "isError": True}


def text_of(result: dict[str, Any] | None) -> str:
    """The readable part of a result: its text blocks, else its structured content as JSON."""
    if not result:
        return ""
    texts = [str(b.get("text", "")) for b in result.get("content") or [] if isinstance(b, dict) and "text" in b]
    if texts:
        return "\n".join(texts)
    return json.dumps(result.get("structuredContent", {}), ensure_ascii=False)
