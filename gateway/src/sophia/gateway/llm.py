"""The router's LLM, as the gateway uses it: intent classification and answer writing.

The gateway owns no provider keys: it calls the `router` service's `complete` tool through the same
`ToolCaller` as any other call, and only when `llm` is on in the settings and a router is serving.
Whatever the model answers is data: it is parsed, validated, and never turned into a tool call.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from sophia.gateway.calls import ToolCaller
from sophia.gateway.errors import GatewayError

logger = logging.getLogger("sophia.gateway.llm")

COMPLETE_TOOL = "router_complete"
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


class RouterLLM:
    def __init__(self, caller: ToolCaller, enabled: bool, timeout_s: float) -> None:
        self._caller = caller
        self._enabled = enabled
        self.timeout_s = timeout_s

    @property
    def available(self) -> bool:
        return self._enabled and self._caller.catalog.has(COMPLETE_TOOL)

    async def complete(self, prompt: str, system: str, max_tokens: int = 400) -> str | None:
        """The model's reply text, or None when no router is available or the call failed (logged)."""
        if not self.available:
            return None
        arguments = {"prompt": prompt, "system": system, "max_tokens": max_tokens}
        try:
            result = await self._caller.call(COMPLETE_TOOL, arguments, timeout=self.timeout_s)
        except GatewayError as exc:
            logger.warning("router completion failed: %s", exc)
            return None
        if result.get("isError"):
            logger.warning("router completion failed: %s", _text(result)[:200])
            return None
        structured = result.get("structuredContent")
        if isinstance(structured, dict) and isinstance(structured.get("text"), str):
            return str(structured["text"])
        return _text(result) or None

    async def complete_json(self, prompt: str, system: str) -> dict[str, Any] | None:
        """The first JSON object in the model's reply, or None."""
        reply = await self.complete(prompt, system)
        match = _JSON_OBJECT.search(reply or "")
        if match is None:
            return None
        try:
            value = json.loads(match.group(0))
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None


def _text(result: dict[str, Any]) -> str:
    return "\n".join(
        str(block.get("text", "")) for block in result.get("content") or [] if isinstance(block, dict)
    ).strip()
