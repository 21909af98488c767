"""The operator console end to end: a real gateway (auth off, as `sophia up` runs it) with real Redis
and the sample kit server, read over HTTP and in headless Chromium (Debian's, through Selenium).

One fleet serves the whole module; the browser tests skip, saying why, only when no chromium is
installed. The usage panel's router, memory and visual figures are not in this fleet: the panel must
say those services are not serving rather than show numbers (tested in gateway/tests/test_console_panels.py
with the figures present)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sophia.kit.testing import KitServer, wait_until
from tests.support.browser import chromium_or_skip, css, wait_for
from tests.support.console import read_events
from tests.support.fleet import GatewayProcess, sample_server

SCRIPT = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[tuple[GatewayProcess, KitServer]]:
    log_dir = Path(tmp_path_factory.mktemp("console"))
    sample = sample_server(log_dir).start()
    gateway = GatewayProcess([sample.grpc_address], log_dir, extra_env={"SOPHIA_GATEWAY_REDIS_URL": redis_url}).start()
    gateway.wait_for_tools({"sample_echo", "sample_erase_note"})
    yield gateway, sample
    gateway.stop()
    sample.stop()


def hold(url: str, key: str) -> dict[str, Any]:
    held = httpx.post(f"{url}/v1/tools/sample_erase_note", json={"key": key}, timeout=10)
    assert held.status_code == 202, held.text
    return held.json()["structuredContent"]["approval"]  # type: ignore[no-any-return]


# -- over HTTP ---------------------------------------------------------------------------------------------


def test_root_redirects_to_the_console_and_the_page_ships_its_own_assets(
    fleet: tuple[GatewayProcess, KitServer],
) -> None:
    gateway, _ = fleet
    root = httpx.get(gateway.url + "/", timeout=5)
    assert root.status_code == 302 and root.headers["location"] == "/ui"
    page = httpx.get(gateway.url + "/ui", timeout=5)
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    for asset in ("/ui/static/console.js", "/ui/static/graph.js", "/ui/static/console.css"):
        assert asset in page.text
        assert httpx.get(gateway.url + asset, timeout=5).status_code == 200
    assert "http" not in page.text.replace("http-equiv", ""), "the page loads nothing from another origin"


def test_docs_work_offline_from_packaged_assets(fleet: tuple[GatewayProcess, KitServer]) -> None:
    gateway, _ = fleet
    docs = httpx.get(gateway.url + "/docs", timeout=5)
    assert docs.status_code == 200
    assert "cdn" not in docs.text.lower() and "https://" not in docs.text
    bundle = httpx.get(gateway.url + "/docs/static/swagger-ui-bundle.js", timeout=5)
    assert bundle.status_code == 200 and len(bundle.content) > 100_000
    assert httpx.get(gateway.url + "/docs/static/swagger-ui.css", timeout=5).status_code == 200


def test_every_console_route_checks_host_and_origin(fleet: tuple[GatewayProcess, KitServer]) -> None:
    """DNS rebinding (a foreign Host) and another site's page (a foreign Origin) reach nothing."""
    gateway, _ = fleet
    for path in ("/", "/ui", "/ui/static/console.js", "/ui/api/events", "/docs"):
        assert httpx.get(gateway.url + path, headers={"host": "evil.example"}, timeout=5).status_code == 421
        assert httpx.get(gateway.url + path, headers={"origin": "http://evil.example"}, timeout=5).status_code == 403


def test_a_decision_from_another_site_is_refused_and_the_call_stays_held(
    fleet: tuple[GatewayProcess, KitServer],
) -> None:
    gateway, _ = fleet
    approval = hold(gateway.url, "cross-site")
    approve = f"{gateway.url}/v1/approvals/{approval['id']}/approve"
    assert httpx.post(approve, headers={"origin": "http://evil.example"}, timeout=5).status_code == 403
    assert httpx.post(approve, headers={"sec-fetch-site": "cross-site"}, timeout=5).status_code == 403
    assert httpx.get(f"{gateway.url}/v1/approvals/{approval['id']}", timeout=5).json()["status"] == "pending"
    assert httpx.post(f"{gateway.url}/v1/approvals/{approval['id']}/deny", timeout=10).json()["status"] == "denied"


def test_the_feed_carries_every_panel(fleet: tuple[GatewayProcess, KitServer]) -> None:
    gateway, _ = fleet
    httpx.post(f"{gateway.url}/v1/tools/sample_echo", json={"text": "hello console"}, timeout=10)
    events = read_events(gateway.url, {"identity", "fleet", "graph", "approvals", "calls", "usage"})
    assert events["identity"]["name"] == "local" and events["identity"]["may_approve"] is True
    assert [(s["name"], s["status"]) for s in events["fleet"]["servers"]] == [("sample", "serving")]
    (column,) = events["graph"]["services"]
    assert column["status"] == "serving" and "sample_echo" in {t["name"] for t in column["tools"]}
    assert any(
        e["tool"] == "sample_echo" and e["outcome"] == "ok" and e["trace_id"] for e in events["calls"]["entries"]
    )
    assert events["usage"]["router"] == {"unavailable": "router is not serving"}
    assert "pending" in events["approvals"]


# -- in the browser ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    driver = chromium_or_skip()
    yield driver
    driver.quit()


def test_the_page_shows_each_panel(fleet: tuple[GatewayProcess, KitServer], browser: Any, tmp_path: Path) -> None:
    gateway, _ = fleet
    browser.get(gateway.url + "/")
    assert browser.current_url.endswith("/ui")
    wait_for(browser, css('#fleet tr[data-server="sample"][data-status="serving"]'))
    wait_for(browser, css('#graph svg.graph g.node[aria-label^="sample_echo"]'))
    wait_for(browser, css("#calls table, #calls .muted"))
    wait_for(browser, css('#usage [data-figure="router"] .unavailable'))
    assert "router is not serving" in browser.find_element("css selector", "#usage").text
    assert "Signed in as local" in browser.find_element("id", "identity").text
    assert browser.find_element("id", "connection").text == "live"
    shot = Path(os.environ.get("SOPHIA_CONSOLE_SCREENSHOT", tmp_path / "console.png"))
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000


def test_approve_a_held_call_from_the_page_and_see_it_run(
    fleet: tuple[GatewayProcess, KitServer], browser: Any
) -> None:
    """The held arguments are shown exactly, as text: a `<script>` in them never runs."""
    from selenium.webdriver.common.keys import Keys

    gateway, _ = fleet
    approval = hold(gateway.url, SCRIPT)
    browser.get(gateway.url + "/ui")
    card = wait_for(browser, css(f'#approvals article[data-approval="{approval["id"]}"]'))
    assert json.loads(card.find_element("css selector", "pre.arguments").text) == {"key": SCRIPT}
    assert browser.execute_script("return window.__pwned") is None
    assert not browser.find_elements("css selector", "#approvals script, #approvals img")
    # Keyboard-operable: focus the button and press Enter, as someone without a mouse would.
    card.find_element("css selector", 'button[data-action="approve"]').send_keys(Keys.ENTER)
    wait_for(browser, css(f'#approvals article[data-approval="{approval["id"]}"] .badge.executed'))
    wait_for(browser, lambda d: d.find_element("id", "announce").text == "sample_erase_note executed")
    done = httpx.get(f"{gateway.url}/v1/approvals/{approval['id']}", timeout=5).json()
    assert done["status"] == "executed" and done["decided_by"] == "local"
    assert done["result"]["structuredContent"] == {"erased": False}
    wait_for(browser, lambda d: f"approval {approval['id']}" in d.find_element("id", "calls").text)
    assert browser.execute_script("return window.__pwned") is None


def test_a_killed_server_turns_red_and_green_again(fleet: tuple[GatewayProcess, KitServer], browser: Any) -> None:
    gateway, sample = fleet
    browser.get(gateway.url + "/ui")
    wait_for(browser, css('#fleet tr[data-server="sample"][data-status="serving"]'))
    sample.kill()
    try:
        wait_for(browser, css('#fleet tr[data-server="sample"][data-status="down"]'))
        wait_for(browser, css("#graph svg.graph rect.column.down"))
    finally:
        sample.start()
    wait_for(browser, css('#fleet tr[data-server="sample"][data-status="serving"]'), timeout=30)
    wait_until(lambda: "sample_echo" in gateway.tool_names(), 15, "sample back in the catalog")
