"""Slack Web API (https://slack.com/api): list channels, search messages, channel history and threads, post
a message.

Auth: ``Authorization: Bearer <SLACK_BOT_TOKEN>``; ``search.messages`` accepts only a user token
(``SLACK_USER_TOKEN``). Slack answers HTTP 200 with ``{"ok": false, "error": "..."}`` for most failures,
and 429 with ``Retry-After`` when rate limited. Lists paginate with ``response_metadata.next_cursor``.
Channel names are resolved through ``conversations.list``; whether a channel reaches another company
(Slack Connect: ``is_ext_shared``/``is_shared``) comes from ``conversations.info``.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from sophia.business.connectors.base import Connector, Hit, Terms, clip, dicts, obj, require_dict
from sophia.business.http import AuthFailed, NotConfigured, RateLimited, Rejected, collect

CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,20}$")
AUTH_ERRORS = frozenset({"invalid_auth", "not_authed", "token_expired", "token_revoked", "account_inactive"})
CHANNEL_CACHE_S = 300.0
# Names of credentials, not secrets.
BOT_TOKEN = "SLACK_BOT_TOKEN"  # noqa: S105
USER_TOKEN = "SLACK_USER_TOKEN"  # noqa: S105


class Slack(Connector):
    name = "slack"
    title = "Slack"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ids: dict[str, str] = {}
        self._ids_expire = 0.0

    async def _call(
        self,
        method: str,
        token_name: str = BOT_TOKEN,
        *,
        post: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        if token_name == USER_TOKEN and not await self.credentials.get(token_name):
            raise NotConfigured("Slack search needs a user token (set SLACK_USER_TOKEN); Slack refuses bot tokens")
        (token,) = await self.require(token_name)
        headers = {"authorization": f"Bearer {token}"}
        url = f"{self.settings.slack_url.rstrip('/')}/{method}"
        if post is not None:
            headers["content-type"] = "application/json; charset=utf-8"
        _, body = await self.http.request(
            "POST" if post is not None else "GET",
            url,
            headers=headers,
            secrets=await self.secrets(),
            idempotent=post is None,
            params=params,
            json=post,
            explain=_explain,
        )
        data = require_dict(body, "Slack", method)
        if data.get("ok") is not True:
            error = clip(data.get("error") or "unknown_error", 80)
            if error in AUTH_ERRORS:
                raise AuthFailed(f"Slack refused the token ({error}: expired, revoked or wrong)")
            if error == "ratelimited":
                raise RateLimited("Slack is rate limiting this service")
            raise Rejected(f"Slack refused {method}: {error}")
        return data

    async def ping(self) -> None:
        await self._call("auth.test")

    async def channel_id(self, channel: str) -> str:
        """The id of a channel given as id, name or #name."""
        name = channel.strip().lstrip("#")
        if CHANNEL_ID.match(name):
            return name
        if time.monotonic() > self._ids_expire:
            self._ids = {}

        if name.lower() not in self._ids:
            channels, _ = await self._conversations(10_000, self.settings.max_pages * 5)
            self._ids = {str(c.get("name", "")).lower(): str(c.get("id")) for c in channels if c.get("id")}
            self._ids_expire = time.monotonic() + CHANNEL_CACHE_S
        found = self._ids.get(name.lower())
        if found is None:
            raise Rejected(f"Slack has no channel named #{clip(name, 80)} that the bot can see")
        return found

    async def _conversations(self, most: int, max_pages: int) -> tuple[list[dict[str, Any]], bool]:
        """The channels the bot can see (public and private, archived left out), following cursors."""

        async def page(cursor: str | None) -> tuple[list[Any], str | None]:
            params = {"types": "public_channel,private_channel", "limit": 200, "exclude_archived": "true"}
            if cursor:
                params["cursor"] = cursor
            data = await self._call("conversations.list", params=params)
            return dicts(data.get("channels")), _cursor(data)

        return await collect(page, most, max_pages)

    async def channels(self, query: str | None, limit: int) -> dict[str, Any]:
        """The channels the bot can see, by name, each saying whether it reaches another company (Slack
        Connect) — a post there waits for approval; optionally only those whose name or topic holds `query`."""
        wanted = limit if not query else 10_000  # a filter looks through every page it may read
        channels, more = await self._conversations(wanted, self.settings.max_pages * 5)
        if query:
            lowered = query.lower()
            channels = [
                c for c in channels if lowered in f"{c.get('name', '')} {obj(c.get('topic')).get('value', '')}".lower()
            ]
        return {
            "channels": [self._channel(c) for c in channels[:limit]],
            "more": more or len(channels) > limit,
        }

    def _channel(self, channel: dict[str, Any]) -> dict[str, Any]:
        external = channel.get("is_ext_shared") is True or channel.get("is_shared") is True
        return {
            "id": clip(channel.get("id"), 40),
            "name": clip(channel.get("name"), 80),
            "private": channel.get("is_private") is True,
            "shared_externally": external,
            "members": channel.get("num_members") if isinstance(channel.get("num_members"), int) else None,
            "topic": clip(obj(channel.get("topic")).get("value"), 300) or None,
        }

    async def channel_info(self, channel: str) -> dict[str, Any]:
        data = await self._call("conversations.info", params={"channel": await self.channel_id(channel)})
        return require_dict(data.get("channel"), "Slack", "conversations.info")

    async def history(self, channel: str, query: str | None, thread_ts: str | None, limit: int) -> dict[str, Any]:
        channel_id = await self.channel_id(channel)
        method = "conversations.replies" if thread_ts else "conversations.history"

        async def page(cursor: str | None) -> tuple[list[Any], str | None]:
            params: dict[str, Any] = {"channel": channel_id, "limit": min(200, max(limit, 15))}
            if thread_ts:
                params["ts"] = thread_ts
            if cursor:
                params["cursor"] = cursor
            data = await self._call(method, params=params)
            return dicts(data.get("messages")), _cursor(data)

        wanted = limit if not query else limit * 20  # a filter reads further back
        messages, more = await collect(page, wanted, self.settings.max_pages)
        if query:
            lowered = query.lower()
            messages = [m for m in messages if lowered in str(m.get("text", "")).lower()]
        return {
            "channel": channel_id,
            "messages": [self._message(m) for m in messages[:limit]],
            "more": more or len(messages) > limit,
        }

    async def search_messages(self, query: str, limit: int) -> list[Hit]:
        data = await self._call(
            "search.messages",
            USER_TOKEN,
            params={"query": query[:500], "count": min(100, limit), "sort": "timestamp"},
        )
        matches = dicts(require_dict(data.get("messages") or {}, "Slack", "search.messages").get("matches"))
        hits = []
        for match in matches[:limit]:
            channel = obj(match.get("channel"))
            hits.append(
                Hit(
                    "slack",
                    "message",
                    clip(match.get("ts"), 40),
                    f"#{clip(channel.get('name'), 80)}",
                    self.text(match.get("text")),
                    clip(match.get("permalink"), 500) or None,
                    _when(match.get("ts")),
                )
            )
        return hits

    async def search(self, terms: Terms, limit: int) -> list[Hit]:
        return await self.search_messages(" ".join(terms.keywords) or terms.focus, limit)

    async def post(self, channel: str, text: str, thread_ts: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"channel": await self.channel_id(channel), "text": text}
        if thread_ts:
            body["thread_ts"] = thread_ts
        data = await self._call("chat.postMessage", post=body)
        return {"channel": clip(data.get("channel"), 40), "ts": clip(data.get("ts"), 40), "posted": True}

    def _message(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "ts": clip(message.get("ts"), 40),
            "user": clip(message.get("user") or message.get("username") or message.get("bot_id"), 80),
            "text": self.text(message.get("text")),
            "when": _when(message.get("ts")),
            "thread_ts": clip(message.get("thread_ts"), 40) or None,
            "replies": message.get("reply_count") if isinstance(message.get("reply_count"), int) else 0,
        }


def _cursor(data: dict[str, Any]) -> str | None:
    meta = data.get("response_metadata")
    cursor = meta.get("next_cursor") if isinstance(meta, dict) else None
    return cursor if isinstance(cursor, str) and cursor else None


def _when(ts: Any) -> str | None:
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(ts)))
    except (TypeError, ValueError, OverflowError):
        return None


def _explain(response: httpx.Response, body: Any) -> str | None:
    return str(body.get("error")) if isinstance(body, dict) and body.get("error") else None
