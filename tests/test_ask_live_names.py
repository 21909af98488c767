"""`ask` fills arguments from live state: a repository with a one-word name, known only to the code service.

A real gateway process and the real code service (a temp workspace of git repositories), on loopback. LLM
off. The wiring under test: the gateway lists the repositories through its own pipeline and the plan's
step gets the name the request says, then runs.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import sophia.code.__main__ as code_entry_point
from sophia.kit.testing import KitServer
from tests.support.fleet import GatewayProcess


def git_repo(path: Path, readme: str) -> None:
    path.mkdir(parents=True)
    (path / "README.md").write_text(readme)
    for command in (["init", "-q", "-b", "main"], ["add", "README.md"],
                    ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "readme"]):  # fmt: skip
        subprocess.run(["git", *command], cwd=path, check=True)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    root = tmp_path_factory.mktemp("ask-live-names")
    git_repo(root / "data" / "code" / "orca", "Orca ships the billing exports.\n")
    git_repo(root / "data" / "code" / "quill", "Quill renders the invoices.\n")
    env = {"SOPHIA_DATA_DIR": str(root / "data"), "PYTHONSAFEPATH": "1"}
    with KitServer(Path(code_entry_point.__file__), "code", root / "logs", env=env) as code:
        fleet = GatewayProcess([code.grpc_address], root / "gateway").start()
        try:
            fleet.wait_for_tools({"code_list_repos", "code_read_file", "code_add_repo"}, timeout=60)
            for name in ("orca", "quill"):
                added = httpx.post(f"{fleet.url}/v1/tools/code_add_repo", json={"name": name}, timeout=30)
                assert added.status_code == 200, added.text
            yield fleet
        finally:
            fleet.stop()


def test_a_one_word_repository_name_is_found_and_the_step_runs(gateway: GatewayProcess) -> None:
    body = gateway.ask("show me README.md of orca")
    (step,) = [s for s in body["plan"]["steps"] if s["tool"] == "code_read_file"]
    assert step["arguments"]["repo"] == "orca" and step["missing"] == []
    assert body["steps"][step["id"]]["status"] == "ok"
    assert "Orca ships the billing exports." in body["answer"]


def test_a_name_no_service_knows_is_asked_for_not_guessed(gateway: GatewayProcess) -> None:
    body = gateway.ask("show me README.md of narwhal")
    (step,) = body["plan"]["steps"]
    assert step["tool"].startswith("code_") and "repo" not in step["arguments"] and step["missing"] == ["repo"]
    assert f"say which repo to use for {step['tool']}" in body["answer"]
