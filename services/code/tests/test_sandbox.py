"""Git hardening: a repository's own config and hooks never make the service run a program, even when they are
changed after the repository was registered."""

from __future__ import annotations

from pathlib import Path

from sophia.code import CodeSettings
from sophia.code.sandbox import audit_config, git_error

from .conftest import Tools, git, write


def canaries(folder: Path) -> list[Path]:
    return list(folder.glob("ran*"))


async def test_hooks_and_fsmonitor_set_after_registration_never_run(tools: Tools, repo: Path, tmp_path: Path) -> None:
    canary = tmp_path / "ran"
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text(f"#!/bin/sh\ntouch {canary}-hook\n")
    hook.chmod(0o755)
    monitor = tmp_path / "monitor.sh"
    monitor.write_text(f"#!/bin/sh\ntouch {canary}-fsmonitor\n")
    monitor.chmod(0o755)
    git(repo, "config", "core.fsmonitor", str(monitor))
    git(repo, "config", "core.hooksPath", str(repo / ".git" / "hooks"))
    git(repo, "config", "commit.gpgSign", "true")
    git(repo, "config", "gpg.program", str(monitor))
    write(repo, {"src/app.py": "changed\n"})
    await tools.ok("list_repos")
    await tools.ok("diff", repo="widgets")
    await tools.ok("review", repo="widgets")
    await tools.ok("create_branch", repo="widgets", name="feature/hooks")
    await tools.ok("commit", repo="widgets", message="no hooks please", branch="feature/hooks")
    await tools.ok("push", repo="widgets", branch="feature/hooks")
    assert canaries(tmp_path) == []


def test_audit_names_every_key_that_could_run_a_program(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "r")
    repo = tmp_path / "r"
    for key, value in {
        "core.sshCommand": "x",
        "core.worktree": "/etc",
        "remote.origin.uploadpack": "x",
        "diff.pdf.textconv": "x",
        "credential.helper": "x",
        "include.path": "/tmp/other",
        "url.https://evil/.insteadOf": "https://github.com/",
        "user.name": "harmless",
    }.items():
        git(repo, "config", key, value)
    assert audit_config(repo / ".git") == [
        "core.sshcommand", "core.worktree", "credential.helper", "diff.pdf.textconv", "include.path",
        "remote.origin.uploadpack", "url.https://evil/.insteadof",
    ]  # fmt: skip


async def test_a_registered_repository_cannot_be_a_link_out(
    tools: Tools, settings: CodeSettings, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    git(tmp_path, "init", "-q", str(elsewhere))
    (settings.workspace_root / "linked").symlink_to(elsewhere)
    assert "points outside" in await tools.error("add_repo", name="linked")
    assert "service's own state" in await tools.error("add_repo", name="state", path=".sophia-code")


def test_git_errors_carry_gits_reason_without_credentials() -> None:
    error = git_error("push", b"hint: try this\nfatal: unable to access 'https://x:s3cret@host/r': 403\n")
    assert str(error) == "git push failed: fatal: unable to access 'https://***@host/r': 403"
