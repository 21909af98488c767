"""The router's LLM, as the gateway uses it: intent classification and answer writing.

The gateway owns no provider keys: it calls the `router` service's `complete` tool through the same
call pipeline as any other call, when a router is serving (and `llm` is not off). In `auto`, a router
that answers it has no provider configured is left alone for a while, so an unconfigured fleet does
not pay for a failing call on every request. Whatever the model answers is data: it is parsed,
validated, and never turned into a tool call.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from typing import Any, Literal

from sophia.gateway.catalog import Catalog
from sophia.gateway.errors import GatewayError
from sophia.gateway.pipeline import Call, Pipeline
from sophia.gateway.results import text_of

logger = logging.getLogger("sophia.gateway.llm")

COMPLETE_TOOL = "router_complete"
# How long `auto` leaves a router alone after it said it has no provider (a provider may be added later).
NOT_CONFIGURED_BACKOFF_S = 60.0
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


class RouterLLM:
    def __init__(
        self, pipeline: Pipeline, catalog: Catalog, mode: Literal["auto", "on", "off"], timeout_s: float
    ) -> None:
        self._pipeline = pipeline
        self._catalog = catalog
        self._mode = mode
        self.timeout_s = timeout_s
        self._resting_until = 0.0

    @property
    def available(self) -> bool:
        if self._mode == "off" or not self._catalog.has(COMPLETE_TOOL):
            return False
        return self._mode == "on" or time.monotonic() >= self._resting_until

    async def complete(self, prompt: str, system: str, max_tokens: int = 400) -> str | None:
        """The model's reply text, or None when no router is available or the call failed (logged)."""
        if not self.available:
            return None
        arguments = {"prompt": prompt, "system": system, "max_tokens": max_tokens}
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        try:
            outcome = await self._pipeline.run(Call(COMPLETE_TOOL, arguments, "llm", deadline=deadline))
        except GatewayError as exc:
            logger.warning("router completion failed: %s", exc)
            return None
        result = outcome.result
        if outcome.held is not None:  # a policy that holds the router: the gateway does without it
            logger.warning("router completion is held for approval (%s); using the offline paths", outcome.held.id)
            return None
        if result.get("isError"):
            message = text_of(result).strip()
            if self._mode == "auto" and "no LLM provider is configured" in message:
                self._resting_until = time.monotonic() + NOT_CONFIGURED_BACKOFF_S
                logger.info("the router has no LLM provider configured; using the offline paths")
                return None
            logger.warning("router completion failed: %s", message[:200])
            return None
        structured = result.get("structuredContent")
        if isinstance(structured, dict) and isinstance(structured.get("text"), str):
            return str(structured["text"])
        return text_of(result).strip() or None

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
