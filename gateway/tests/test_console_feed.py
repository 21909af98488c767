"""The console's live feed and panels in process, without a fleet: what each panel says when its source
is missing, how the feed is bounded (heartbeats, lifetime, a cap on open feeds), and that the page and
its assets answer without credentials while the feed needs them."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from sophia.gateway.app import Gateway, create_app
from sophia.gateway.security.principals import Principal, current, hash_key
from sophia.gateway.security.setup import LOCAL_USER
from sophia.gateway.settings import GatewaySettings
from sophia.gateway.ui import panels
from sophia.gateway.ui.stream import Streams, feed

VIEWER = Principal(name="vera", roles=("viewer",), namespace="team-b", via="api_key")


def offline_settings(**overrides: Any) -> GatewaySettings:
    """A gateway with no servers and no LLM; auth off unless overridden."""
    return GatewaySettings(**{"auth": "off", "llm": "off", "warm_up": False, "servers": [], **overrides})


async def collect(gateway: Gateway, principal: Principal, streams: Streams, **timing: float) -> list[tuple[str, Any]]:
    """Every event of one feed run to its end, as (name, data); heartbeats as ("heartbeat", None)."""
    events: list[tuple[str, Any]] = []
    token = current.set(principal)
    try:
        async for chunk in feed(gateway, principal, streams, **timing):
            text = chunk.decode()
            assert text.endswith("\n\n"), "every event ends with a blank line"
            if text.startswith(": heartbeat"):
                events.append(("heartbeat", None))
            elif text.startswith("event: "):
                name_line, data_line = text.strip().split("\n")
                events.append((name_line[len("event: ") :], json.loads(data_line[len("data: ") :])))
    finally:
        current.reset(token)
    return events


async def test_the_feed_sends_each_panel_once_then_heartbeats_and_ends_with_bye() -> None:
    gateway = Gateway(offline_settings())
    streams = Streams()
    events = await collect(gateway, LOCAL_USER, streams, lifetime_s=0.5, poll_s=0.05, heartbeat_s=0.1,
                           usage_every_s=60)  # fmt: skip
    names = [name for name, _ in events]
    assert names[:7] == ["identity", "fleet", "graph", "approvals", "calls", "usage", "heartbeat"]
    assert names.count("fleet") == 1, "an unchanged panel is not sent again"
    assert names[-1] == "bye" and names.count("heartbeat") >= 2
    assert streams.open == 0, "a finished feed no longer counts as open"
    data = dict(events)
    assert abs(data["identity"].pop("server_time") - time.time()) < 5
    assert data["identity"] == {"name": "local", "key": "anonymous:local", "roles": ["admin"], "auth": "off",
                                "may_approve": True, "may_audit": True}  # fmt: skip
    assert data["fleet"] == {"servers": []} and data["graph"] == {"services": [], "edges": []}
    assert data["approvals"] == {"unavailable": "no approval store: set SOPHIA_GATEWAY_REDIS_URL"}
    assert data["calls"] == {"unavailable": "no audit log: set SOPHIA_GATEWAY_REDIS_URL"}
    assert data["usage"] == {name: {"unavailable": f"{name} is not serving"} for name in ("router", "memory", "visual")}


async def test_a_feed_the_client_leaves_no_longer_counts_as_open() -> None:
    gateway = Gateway(offline_settings())
    streams = Streams()
    events = feed(gateway, LOCAL_USER, streams, lifetime_s=60, poll_s=0.05)
    token = current.set(LOCAL_USER)
    try:
        assert (await anext(events)).startswith(b"retry: ")
        assert (await anext(events)).startswith(b"event: identity")
        assert streams.open == 1
    finally:
        await events.aclose()  # what Starlette does when the client disconnects
        current.reset(token)
    assert streams.open == 0


async def test_a_feed_beyond_the_cap_says_so_and_ends() -> None:
    gateway = Gateway(offline_settings())
    streams = Streams(limit=1)
    streams.open = 1  # another feed is open
    events = await collect(gateway, LOCAL_USER, streams, lifetime_s=5)
    assert [name for name, _ in events] == ["bye"]
    assert "1 console feeds are open" in events[0][1]["reason"]
    assert streams.open == 1


async def test_a_non_auditor_is_told_why_there_are_no_calls(redis_url: str) -> None:
    gateway = Gateway(offline_settings(redis_url=redis_url))
    token = current.set(VIEWER)
    try:
        calls = await panels.calls(gateway, VIEWER)
        assert calls == {"unavailable": "vera may not read the audit log (it needs a role with audit: true)"}
        assert panels.identity(gateway, VIEWER)["may_approve"] is False
    finally:
        current.reset(token)
        if gateway.redis is not None:
            await gateway.redis.aclose()


async def test_approvals_show_others_requests_only_to_approvers(redis_url: str) -> None:
    gateway = Gateway(offline_settings(redis_url=redis_url))
    assert gateway.approvals is not None
    mine = await gateway.approvals.hold("sample_erase_note", {"key": "a"}, requester=VIEWER.key, reason="risky",
                                        source="call")  # fmt: skip
    theirs = await gateway.approvals.hold("sample_erase_note", {"key": "b"}, requester="api_key:other",
                                          reason="risky", source="call")  # fmt: skip
    try:
        seen_by_viewer = {a["id"] for a in (await panels.approvals(gateway, VIEWER))["pending"]}
        assert mine.id in seen_by_viewer and theirs.id not in seen_by_viewer
        seen_by_admin = (await panels.approvals(gateway, LOCAL_USER))["pending"]
        assert {mine.id, theirs.id} <= {a["id"] for a in seen_by_admin}
        assert all("arguments_mac" not in a for a in seen_by_admin), "the seal stays on the server"
    finally:
        if gateway.redis is not None:
            await gateway.redis.aclose()


async def test_the_page_is_open_but_the_feed_needs_credentials(tmp_path: Path, redis_url: str) -> None:
    key = "sk-sophia-console-test-0000000000000000"
    principals = {"principals": [{"name": "vera", "roles": ["viewer"], "key_sha256": hash_key(key)}]}
    (tmp_path / "principals.yaml").write_text(yaml.safe_dump(principals))
    app = create_app(offline_settings(auth="on", redis_url=redis_url, principals_file=tmp_path / "principals.yaml"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client:
        assert (await client.get("/ui")).status_code == 200
        assert (await client.get("/ui/static/console.js")).status_code == 200
        assert (await client.get("/docs")).status_code == 200
        refused = await client.get("/ui/api/events")
        assert refused.status_code == 401 and "www-authenticate" in refused.headers
        wrong = await client.get("/ui/api/events", headers={"authorization": "Bearer sk-sophia-wrong"})
        assert wrong.status_code == 401


async def raw_get(app: Any, path: str) -> int:
    """The status of a GET whose path reaches the app exactly as written (clients normalise `..` away)."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8080")], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8080),
    }  # fmt: skip
    sent: list[dict[str, Any]] = []
    requested, answered = asyncio.Event(), asyncio.Event()

    async def receive() -> dict[str, Any]:
        if not requested.is_set():
            requested.set()
            return {"type": "http.request", "body": b"", "more_body": False}
        await answered.wait()  # the client stays until the whole answer is sent
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            answered.set()

    await app(scope, receive, send)
    return int(sent[0]["status"])


async def test_a_path_that_climbs_out_of_the_assets_reaches_nothing() -> None:
    """`..` is never served from the assets (Starlette refuses it) and never skips authentication."""
    app = create_app(offline_settings())
    assert await raw_get(app, "/ui/static/console.js") == 200
    assert await raw_get(app, "/ui/static/nothing.js") == 404
    assert await raw_get(app, "/ui/static/../routes.py") == 404
    assert await raw_get(app, "/docs/static/../../../../etc/passwd") == 404


async def test_a_climbing_path_needs_credentials_when_auth_is_on(tmp_path: Path, redis_url: str) -> None:
    (tmp_path / "principals.yaml").write_text(yaml.safe_dump({"principals": []}))
    app = create_app(offline_settings(auth="on", redis_url=redis_url, principals_file=tmp_path / "principals.yaml"))
    assert await raw_get(app, "/ui/static/console.js") == 200
    assert await raw_get(app, "/ui/static/../api/events") == 401
