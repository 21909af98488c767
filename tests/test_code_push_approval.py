"""Server-declared approvals end to end: the code service decides per push, the gateway holds exactly the
pushes it declines, and the approved re-run carries a grant the service verifies.

Real processes: the code service and the gateway on loopback sharing the fleet's internal token, a bare
git repository in a temp dir as the remote (GitHub itself cannot be reached from here).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx

import sophia.code.__main__ as code_entry_point
from sophia.kit.testing import KitServer
from tests.support.fleet import GatewayProcess

TOKEN = "fleet-internal-token-for-push-tests"
GIT_ENV = {"GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@x.test", "GIT_COMMITTER_NAME": "T",
           "GIT_COMMITTER_EMAIL": "t@x.test"}  # fmt: skip


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True, check=True)
    return done.stdout.decode().strip()


def test_a_feature_push_runs_and_a_push_to_main_waits_then_runs_once_approved(tmp_path: Path, redis_url: str) -> None:
    remote = tmp_path / "remotes" / "widgets.git"
    remote.parent.mkdir()
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    workspace = tmp_path / "data" / "code"
    clone = workspace / "widgets"
    clone.parent.mkdir(parents=True)
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    (clone / "README.md").write_text("v1\n")
    git(clone, "add", "-A")
    git(clone, "commit", "-qm", "v1")
    git(clone, "push", "-q", "origin", "main")
    git(clone, "checkout", "-qb", "feature/x")
    (clone / "README.md").write_text("v2\n")
    git(clone, "commit", "-qam", "v2")
    git(clone, "checkout", "-q", "main")
    git(clone, "merge", "-q", "feature/x")

    env = {"SOPHIA_INTERNAL_TOKEN": TOKEN, "SOPHIA_DATA_DIR": str(tmp_path / "data"), "PYTHONSAFEPATH": "1"}
    code = KitServer(Path(code_entry_point.__file__), "code", tmp_path / "logs", env=env,
                     settings={"allowed_remotes": f"file://{tmp_path}/remotes/"}).start(timeout=60)  # fmt: skip
    gateway = GatewayProcess(
        [code.grpc_address],
        tmp_path / "gateway",
        extra_env={"SOPHIA_INTERNAL_TOKEN": TOKEN, "SOPHIA_GATEWAY_REDIS_URL": redis_url},
    )
    gateway.start()
    try:
        gateway.wait_for_tools({"code_push"})
        api = f"{gateway.url}/v1"
        added = httpx.post(f"{api}/tools/code_add_repo", json={"name": "widgets", "path": "widgets"}, timeout=30)
        assert added.status_code == 200 and not added.json()["isError"], added.text

        feature = httpx.post(f"{api}/tools/code_push", json={"repo": "widgets", "branch": "feature/x"}, timeout=30)
        assert feature.status_code == 200 and feature.json()["structuredContent"]["result"] == "new branch"

        before = git(remote, "rev-parse", "main")
        held = httpx.post(f"{api}/tools/code_push", json={"repo": "widgets", "branch": "main"}, timeout=30)
        assert held.status_code == 202, held.text
        approval = held.json()["structuredContent"]["approval"]
        assert "protected branch 'main'" in approval["reason"]
        assert git(remote, "rev-parse", "main") == before, "nothing pushed while it waits"

        done = httpx.post(f"{api}/approvals/{approval['id']}/approve", timeout=30).json()
        assert done["status"] == "executed", done
        assert done["result"]["structuredContent"]["protected"] is True
        assert git(remote, "rev-parse", "main") == git(clone, "rev-parse", "main")

        again = httpx.post(f"{api}/approvals/{approval['id']}/approve", timeout=30)
        assert again.status_code == 409  # decided once, run once

        plan = httpx.post(f"{api}/ask", json={"query": "push the main branch of the widgets repo", "dry_run": True},
                          timeout=60).json()  # fmt: skip
        (push,) = [s for s in plan["plan"]["steps"] if s["tool"] == "code_push"]
        assert push["requires_approval"] and plan["intent"]["requires_approval"]
    finally:
        gateway.stop()
        code.stop()
