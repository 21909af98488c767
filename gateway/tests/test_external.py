"""External MCP servers (not built with the kit) are federated like our own."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import httpx

from sophia.kit.testing import KitServer
from tests.support.fleet import STDIO_SERVER, GatewayProcess, sample_server


def call(gateway: GatewayProcess, tool: str, arguments: dict[str, object]) -> dict[str, object]:
    response = httpx.post(f"{gateway.url}/v1/tools/{tool}", json=arguments, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_stdio_server_is_federated_supervised_and_restarted(tmp_path: Path) -> None:
    """The gateway starts a stdio server, exposes its tools, and restarts it when it dies."""
    external = [{"name": "notes", "command": [sys.executable, str(STDIO_SERVER)]}]
    gateway = GatewayProcess([], tmp_path, external=external).start()
    try:
        gateway.wait_for_tools({"notes_shout", "notes_wipe", "notes_pid"})
        assert call(gateway, "notes_shout", {"text": "quiet"})["structuredContent"] == {"result": "QUIET"}
        tools = {t["name"]: t for t in gateway.capabilities()["tools"]}
        assert (tools["notes_shout"]["risk"], tools["notes_shout"]["read_only"]) == ("low", True)
        assert (tools["notes_wipe"]["risk"], tools["notes_wipe"]["destructive"]) == ("high", True)

        first_pid = call(gateway, "notes_pid", {})["structuredContent"]["result"]  # type: ignore[index]
        os.kill(first_pid, signal.SIGKILL)
        gateway.wait_for_tools(absent={"notes_pid"}, timeout=20)
        gateway.wait_for_tools({"notes_pid"}, timeout=20)
        second_pid = call(gateway, "notes_pid", {})["structuredContent"]["result"]  # type: ignore[index]
        assert second_pid != first_pid
    finally:
        gateway.stop()


def test_url_server_is_federated_over_streamable_http(sample: KitServer, tmp_path: Path) -> None:
    external = [{"name": "remote", "url": sample.mcp_url, "risk": "high"}]
    gateway = GatewayProcess([], tmp_path, external=external).start()
    try:
        gateway.wait_for_tools({"remote_echo", "remote_write_note"})
        assert call(gateway, "remote_echo", {"text": "far"})["structuredContent"] == {"result": "far"}
        tools = {t["name"]: t for t in gateway.capabilities()["tools"]}
        assert tools["remote_write_note"]["risk"] == "high"  # not read-only: the configured risk applies
        assert tools["remote_echo"]["risk"] == "low"
    finally:
        gateway.stop()


def test_url_server_that_dies_is_dropped_and_returns_when_back(tmp_path: Path) -> None:
    """A call to a dead external server is a tool error, and the gateway reconnects once it is back."""
    server = sample_server(tmp_path / "remote").start()
    gateway = GatewayProcess([], tmp_path, external=[{"name": "remote", "url": server.mcp_url}]).start()
    try:
        gateway.wait_for_tools({"remote_echo"})
        server.kill()
        response = httpx.post(f"{gateway.url}/v1/tools/remote_echo", json={"text": "anyone?"}, timeout=20)
        assert response.status_code in (404, 503), response.text  # dropped already, or unavailable
        gateway.wait_for_tools(absent={"remote_echo"}, timeout=20)
        assert httpx.get(f"{gateway.url}/healthz").status_code == 200

        server.start()
        gateway.wait_for_tools({"remote_echo"}, timeout=20)
        assert call(gateway, "remote_echo", {"text": "back"})["structuredContent"] == {"result": "back"}
    finally:
        gateway.stop()
        server.stop()
