"""STAND-IN for the Slack Web API (not Slack): auth.test, conversations.list/info/history/replies,
search.messages (user tokens only, as Slack), chat.postMessage. Failures as Slack sends them: HTTP 200
``{"ok": false, "error": ...}``, 429 with ``Retry-After``; cursors in ``response_metadata.next_cursor``."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sophia.business.standins._base import Handler, Standin, cursor_of, json_body, offset_of
from sophia.business.standins.data import Dataset


class SlackStandin(Standin):
    system = "slack"

    def __init__(self, data: Dataset, token: str, user_token: str | None = None, page_size: int = 2) -> None:
        super().__init__(token, page_size)
        self.data = data
        self.user_token = user_token

    def authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") in (f"Bearer {self.token}", f"Bearer {self.user_token}")

    def refused(self) -> Response:
        return JSONResponse({"ok": False, "error": "invalid_auth"})

    def expired(self) -> Response:
        return JSONResponse({"ok": False, "error": "token_expired"})

    def rate_limited(self, retry_after: str | None) -> Response:
        headers = {"retry-after": retry_after} if retry_after is not None else {}
        return JSONResponse({"ok": False, "error": "ratelimited"}, status_code=429, headers=headers)

    def routes(self) -> list[tuple[str, Handler, list[str]]]:
        return [
            ("/auth.test", self.auth_test, ["GET", "POST"]),
            ("/conversations.list", self.conversations_list, ["GET"]),
            ("/conversations.info", self.conversations_info, ["GET"]),
            ("/conversations.history", self.conversations_history, ["GET"]),
            ("/conversations.replies", self.conversations_history, ["GET"]),
            ("/search.messages", self.search_messages, ["GET"]),
            ("/chat.postMessage", self.post_message, ["POST"]),
        ]

    def _page(self, items: list[Any], request: Request, key: str) -> Response:
        start = offset_of(request.query_params.get("cursor"))
        if start < 0:
            return JSONResponse({"ok": False, "error": "invalid_cursor"})
        size = min(self.page_size, int(request.query_params.get("limit", self.page_size)))
        page = items[start : start + size]
        more = start + size < len(items)
        return JSONResponse(
            {
                "ok": True,
                key: page,
                "has_more": more,
                "response_metadata": {"next_cursor": cursor_of(start + size) if more else ""},
            }
        )

    def _channel(self, request: Request) -> dict[str, Any] | None:
        wanted = request.query_params.get("channel")
        return next((c for c in self.data.slack_channels if c["id"] == wanted), None)

    async def auth_test(self, request: Request) -> Response:
        return JSONResponse({"ok": True, "team": "Demo", "user": "sophia", "user_id": "U0SOPHIA", "team_id": "T0DEMO"})

    async def conversations_list(self, request: Request) -> Response:
        """Slack's filters: `types` (public_channel, private_channel; public only when unset) and
        `exclude_archived`."""
        types = set((request.query_params.get("types") or "public_channel").split(","))
        unknown = types - {"public_channel", "private_channel", "mpim", "im"}
        if unknown:
            return JSONResponse({"ok": False, "error": "invalid_types"})
        archived = request.query_params.get("exclude_archived") not in ("true", "1")
        channels = [
            c
            for c in self.data.slack_channels
            if ("private_channel" if c.get("is_private") else "public_channel") in types
            and (archived or not c.get("is_archived"))
        ]
        return self._page(channels, request, "channels")

    async def conversations_info(self, request: Request) -> Response:
        channel = self._channel(request)
        if channel is None:
            return JSONResponse({"ok": False, "error": "channel_not_found"})
        return JSONResponse({"ok": True, "channel": channel})

    async def conversations_history(self, request: Request) -> Response:
        channel = self._channel(request)
        if channel is None:
            return JSONResponse({"ok": False, "error": "channel_not_found"})
        messages = self.data.slack_messages.get(channel["id"], [])
        thread = request.query_params.get("ts")
        if request.url.path.endswith("conversations.replies"):
            messages = [m for m in messages if m["ts"] == thread or m.get("thread_ts") == thread]
        else:
            messages = [m for m in messages if m.get("thread_ts") in (None, m["ts"])]
        return self._page(messages, request, "messages")

    async def search_messages(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.user_token}":
            return JSONResponse({"ok": False, "error": "not_allowed_token_type"})
        words = request.query_params.get("query", "").lower().split()
        matches = []
        for channel in self.data.slack_channels:
            for message in self.data.slack_messages.get(channel["id"], []):
                if any(word in message["text"].lower() for word in words):
                    link = f"https://demo.slack.com/archives/{channel['id']}/p{message['ts'].replace('.', '')}"
                    matches.append(
                        {
                            **message,
                            "channel": {"id": channel["id"], "name": channel["name"]},
                            "permalink": link,
                        }
                    )
        count = int(request.query_params.get("count", 20))
        return JSONResponse(
            {
                "ok": True,
                "query": request.query_params.get("query"),
                "messages": {"total": len(matches), "matches": matches[:count]},
            }
        )

    async def post_message(self, request: Request) -> Response:
        body = await json_body(request)
        channel = next((c for c in self.data.slack_channels if c["id"] == body.get("channel")), None)
        if channel is None:
            return JSONResponse({"ok": False, "error": "channel_not_found"})
        if not body.get("text"):
            return JSONResponse({"ok": False, "error": "no_text"})
        message = {"type": "message", "user": "U0SOPHIA", "text": body["text"], "ts": f"{time.time():.6f}"}
        if body.get("thread_ts"):
            message["thread_ts"] = body["thread_ts"]
        self.data.slack_messages.setdefault(channel["id"], []).insert(0, message)
        return JSONResponse({"ok": True, "channel": channel["id"], "ts": message["ts"], "message": message})
