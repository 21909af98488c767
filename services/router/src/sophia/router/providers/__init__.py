"""Provider accounts as callables: one pooled httpx client per configured provider.

A provider whose key variable is unset is not configured: it is listed with the reason and never
called. Keys go in request headers only; they are never logged or returned.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from sophia.router.providers.anthropic import VERSION as ANTHROPIC_VERSION
from sophia.router.providers.anthropic import AnthropicAdapter
from sophia.router.providers.base import Adapter, Call, ErrorKind, OnDelta, ProviderError, Reply
from sophia.router.providers.openai import OpenAIAdapter
from sophia.router.settings import Provider, RouterSettings

__all__ = ["Adapter", "Call", "ErrorKind", "OnDelta", "ProviderError", "Providers", "Reply"]


@dataclass
class Account:
    config: Provider
    client: httpx.AsyncClient
    call: Adapter


class Providers:
    def __init__(self, settings: RouterSettings) -> None:
        self.accounts: dict[str, Account] = {}
        self.unconfigured: dict[str, str] = {}
        for config in settings.providers:
            if (why := config.missing()) is not None:
                self.unconfigured[config.name] = why
                continue
            headers = {key: value.get_secret_value() for key, value in config.headers.items()}
            key = config.key()
            if config.wire == "anthropic":
                headers["anthropic-version"] = ANTHROPIC_VERSION
                if key:
                    headers["x-api-key"] = key
            elif key:
                headers["authorization"] = f"Bearer {key}"
            client = httpx.AsyncClient(
                base_url=config.url + "/",
                headers=headers,
                timeout=httpx.Timeout(settings.request_timeout_s, connect=settings.connect_timeout_s),
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
            )
            adapter: Adapter = AnthropicAdapter(client) if config.wire == "anthropic" else OpenAIAdapter(client)
            self.accounts[config.name] = Account(config, client, adapter)

    @property
    def configured(self) -> bool:
        return bool(self.accounts)

    def has(self, name: str) -> bool:
        return name in self.accounts

    def view(self) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = [
            {"name": name, "kind": a.config.wire, "base_url": a.config.url, "configured": True}
            for name, a in self.accounts.items()
        ]
        rows += [{"name": name, "configured": False, "why": why} for name, why in self.unconfigured.items()]
        return rows

    async def aclose(self) -> None:
        for account in self.accounts.values():
            await account.client.aclose()
