"""create_branch, commit and push against a local bare repository as the remote; open_pull_request and pr_status
against a local stand-in speaking GitHub's REST shapes (GitHub itself cannot be reached from here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from sophia.code import CodeSettings, service
from sophia.kit import Risk

from .conftest import Tools, approved, git, snapshot, started, write
from .github_standin import GitHubStandin


def spec(name: str):  # type: ignore[no-untyped-def]
    return next(t for t in service.tools if t.name == name)


def test_risks_and_annotations_are_declared() -> None:
    assert spec("push").risk is Risk.MEDIUM and not spec("push").destructive and spec("push").idempotent
    assert spec("commit").risk is Risk.MEDIUM and spec("apply_edit").risk is Risk.MEDIUM
    for name in ("list_repos", "read_file", "search_code", "log", "diff", "review", "propose_edit", "generate",
                 "pr_status"):  # fmt: skip
        assert spec(name).read_only, name
    assert len(service.tools) <= 15
    assert spec("commit").consumes == ("change", "branch") and spec("push").produces == ("remote_branch",)


async def test_create_branch_checks_it_out_and_carries_uncommitted_work(tools: Tools, repo: Path) -> None:
    write(repo, {"src/app.py": "changed\n"})
    created = await tools.ok("create_branch", repo="widgets", name="feature/login")
    assert created["created"] and created["commit"] == git(repo, "rev-parse", "main").strip()
    assert git(repo, "branch", "--show-current").strip() == "feature/login"
    assert (repo / "src/app.py").read_text() == "changed\n"
    again = await tools.ok("create_branch", repo="widgets", name="feature/login")
    assert again["created"] is False


async def test_create_branch_elsewhere_needs_a_clean_tree(tools: Tools, repo: Path) -> None:
    write(repo, {"README.md": "v2\n"})
    git(repo, "commit", "-qam", "v2")
    write(repo, {"src/app.py": "uncommitted\n"})
    before = snapshot(repo)
    message = await tools.error("create_branch", repo="widgets", name="hotfix", from_ref="HEAD~1")
    assert "uncommitted changes" in message and "Nothing was changed" in message
    assert snapshot(repo) == before and git(repo, "branch", "--list", "hotfix") == ""
    assert "no from_ref 'nope'" in await tools.error("create_branch", repo="widgets", name="x", from_ref="nope")
    assert "already exists" in await tools.error("create_branch", repo="widgets", name="main", from_ref="HEAD~1")


async def test_commit_uses_the_callers_identity_and_the_service_as_committer(tools: Tools, repo: Path) -> None:
    await tools.ok("create_branch", repo="widgets", name="feature/x")
    write(repo, {"src/new.py": "X = 1\n", "src/app.py": "changed\n"})
    (repo / "docs/guide.md").unlink()
    done = await tools.ok(
        "commit", repo="widgets", message="Rework the app\n\nWith details.", branch="feature/x",
        author_name="Grace Hopper", author_email="grace@example.com",
    )  # fmt: skip
    assert done["author"] == "Grace Hopper <grace@example.com>" and done["committer"] == "Sophia Bot <bot@sophia.test>"
    assert sorted(done["files"]) == ["docs/guide.md", "src/app.py", "src/new.py"]
    shown = git(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%B")
    assert shown.startswith(
        "Grace Hopper <grace@example.com>|Sophia Bot <bot@sophia.test>|Rework the app\n\nWith details."
    )
    assert git(repo, "status", "--porcelain") == ""


async def test_commit_of_selected_paths_leaves_the_rest(tools: Tools, repo: Path) -> None:
    write(repo, {"src/app.py": "one\n", "src/util.py": "two\n"})
    done = await tools.ok("commit", repo="widgets", message="only app", branch="main", paths=["src/app.py"])
    assert done["files"] == ["src/app.py"] and done["author"] == "Sophia Bot <bot@sophia.test>"
    assert git(repo, "status", "--porcelain").strip() == "M src/util.py"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"branch": "main"}, "nothing to commit"),
        ({"branch": "feature/absent"}, "no branch 'feature/absent'"),
        ({"branch": "--force"}, "invalid branch name"),
        ({"branch": "main", "message": "  "}, "message is empty"),
        ({"branch": "main", "author_name": "Eve <eve@x>"}, "invalid author_name"),
        ({"branch": "main", "author_email": "not-an-email"}, "invalid author_email"),
        ({"branch": "main", "author_email": "a@b\nInjected: header"}, "invalid author_email"),
    ],
)
async def test_bad_commits_are_refused_and_change_nothing(
    tools: Tools, repo: Path, arguments: dict, message: str
) -> None:
    if arguments.get("message") is None and message != "nothing to commit":
        write(repo, {"src/app.py": "changed\n"})
    before, head = snapshot(repo), git(repo, "rev-parse", "HEAD")
    index = git(repo, "ls-files", "--stage")
    found = await tools.error("commit", repo="widgets", **{"message": "m", **arguments})
    assert message in found
    assert snapshot(repo) == before and git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "ls-files", "--stage") == index


async def test_commit_on_another_branch_than_the_checked_out_one_is_refused(tools: Tools, repo: Path) -> None:
    git(repo, "branch", "other")
    write(repo, {"src/app.py": "changed\n"})
    assert "is on 'main', not 'other'" in await tools.error("commit", repo="widgets", message="m", branch="other")


async def test_push_publishes_a_new_branch_then_is_a_no_op(tools: Tools, repo: Path, origin: Path) -> None:
    await tools.ok("create_branch", repo="widgets", name="feature/x")
    write(repo, {"src/app.py": "changed\n"})
    done = await tools.ok("commit", repo="widgets", message="m", branch="feature/x")
    pushed = await tools.ok("push", repo="widgets", branch="feature/x")
    assert pushed == {
        "repo": "widgets", "branch": "feature/x", "remote": "origin", "commit": done["commit"], "result": "new branch",
        "protected": False,
    }  # fmt: skip
    assert git(origin, "rev-parse", "refs/heads/feature/x").strip() == done["commit"]
    assert (await tools.ok("push", repo="widgets", branch="feature/x"))["result"] == "up to date"
    listed = (await tools.ok("list_repos"))["repos"][0]
    assert listed["ahead"] == 0 and listed["behind"] == 0


async def test_push_to_a_protected_branch_waits_for_an_approver_then_fast_forwards(
    tools: Tools, repo: Path, origin: Path
) -> None:
    write(repo, {"README.md": "v2\n"})
    await tools.ok("commit", repo="widgets", message="v2", branch="main")
    before = git(origin, "rev-parse", "main")
    held = await tools.call("push", repo="widgets", branch="main")
    assert held.is_error and held.structured_content["status"] == "approval_required"
    assert "protected branch 'main'" in held.structured_content["reason"]
    assert git(origin, "rev-parse", "main") == before, "nothing is pushed before approval"
    pushed = await approved(tools, "push", repo="widgets", branch="main")
    assert pushed.structured_content["protected"] and pushed.structured_content["result"] == "fast-forward"
    assert git(origin, "rev-parse", "main") != before


async def test_push_never_forces_over_remote_commits(tools: Tools, repo: Path, origin: Path, tmp_path: Path) -> None:
    other = tmp_path / "other-clone"
    git(tmp_path, "clone", "-q", str(origin), str(other))
    write(other, {"README.md": "theirs\n"})
    git(other, "commit", "-qam", "theirs")
    git(other, "push", "-q", "origin", "main")
    remote_head = git(origin, "rev-parse", "main")
    write(repo, {"README.md": "ours\n"})
    await tools.ok("commit", repo="widgets", message="ours", branch="main")
    rejected = await approved(tools, "push", repo="widgets", branch="main")
    assert rejected.is_error
    message = rejected.content[0].text
    assert "has commits this branch lacks" in message and "never force-pushes" in message
    assert git(origin, "rev-parse", "main") == remote_head


async def test_push_of_a_missing_branch_or_without_a_remote(tools: Tools, repo: Path, settings: CodeSettings) -> None:
    assert "no branch 'nope'" in await tools.error("push", repo="widgets", branch="nope")
    local = settings.workspace_root / "local"
    git(settings.workspace_root, "init", "-q", "-b", "main", str(local))
    await tools.ok("add_repo", name="local")
    write(local, {"a": "a"})
    await tools.ok("commit", repo="local", message="first", branch="main")
    assert "no remote named origin" in (await approved(tools, "push", repo="local", branch="main")).content[0].text


# -- GitHub ---------------------------------------------------------------------------------------


async def pushed_branch(tools: Tools, repo: Path, name: str = "feature/x") -> str:
    await tools.ok("create_branch", repo="widgets", name=name)
    write(repo, {"src/app.py": "changed\n"})
    done = await tools.ok("commit", repo="widgets", message="m", branch=name)
    await tools.ok("push", repo="widgets", branch=name)
    return str(done["commit"])


async def test_open_pull_request_and_read_its_status(github: GitHubStandin, tools: Tools, repo: Path) -> None:
    head_sha = await pushed_branch(tools, repo)
    opened = await tools.ok(
        "open_pull_request", repo="widgets", head="feature/x", base="main", title="Swap", body="Why: tests.", draft=True
    )
    assert opened["number"] == 1 and opened["github"] == "acme/widgets" and opened["draft"] is True
    assert opened["url"] == "https://github.example.com/acme/widgets/pull/1" and opened["head"] == "feature/x"
    method, path, body = github.requests[-1]
    assert (method, path) == ("POST", "/api/v3/repos/acme/widgets/pulls")
    assert body == {"title": "Swap", "head": "feature/x", "base": "main", "body": "Why: tests.", "draft": True}
    github.check_runs[head_sha] = [
        {"name": "tests", "status": "completed", "conclusion": "success"},
        {"name": "lint", "status": "in_progress", "conclusion": None},
    ]
    github.statuses[head_sha] = [{"context": "ci/legacy", "state": "failure"}]
    github.reviews[("acme/widgets", 1)] = [
        {"user": {"login": "ana"}, "state": "CHANGES_REQUESTED"},
        {"user": {"login": "bo"}, "state": "APPROVED"},
        {"user": {"login": "ana"}, "state": "APPROVED"},
        {"user": {"login": "cy"}, "state": "COMMENTED"},
    ]
    status = (await tools.ok("pr_status", repo="widgets", number=1))["status"]
    assert status["state"] == "open" and status["head_sha"] == head_sha and status["mergeable"] is True
    assert status["checks_summary"] == {"passed": 1, "failed": 1, "pending": 1, "other": 0}
    assert status["approved_by"] == ["ana", "bo"] and status["changes_requested_by"] == []


async def test_github_errors_are_explained(github: GitHubStandin, tools: Tools, repo: Path) -> None:
    await pushed_branch(tools, repo)
    await tools.ok("open_pull_request", repo="widgets", head="feature/x", base="main", title="t")
    duplicate = await tools.error("open_pull_request", repo="widgets", head="feature/x", base="main", title="t")
    assert "422" in duplicate and "A pull request already exists for acme:feature/x" in duplicate
    missing = await tools.error("open_pull_request", repo="widgets", head="feature/x", base="nope", title="t")
    assert "base invalid" in missing
    assert "404" in await tools.error("pr_status", repo="widgets", number=99)
    assert "has not been pushed" in await tools.error(
        "open_pull_request", repo="widgets", head="never-pushed", base="main", title="t"
    )


async def test_a_wrong_token_is_reported_not_leaked(
    github: GitHubStandin, settings: CodeSettings, origin: Path
) -> None:
    settings.github_token = SecretStr("ghp_wrong_token_value")
    async with started(settings) as tools:
        await tools.ok("add_repo", name="widgets", url=f"file://{origin}", github="acme/widgets")
        message = await tools.error("pr_status", repo="widgets", number=1)
    assert "refused the token (401)" in message and "ghp_wrong" not in message


async def test_pull_requests_without_github_configured(tools: Tools, repo: Path) -> None:
    message = await tools.error("open_pull_request", repo="widgets", head="main", base="main", title="t")
    assert "GitHub is not configured" in message


async def test_a_repository_not_on_github_is_named_as_such(
    github: GitHubStandin, tools: Tools, settings: CodeSettings
) -> None:
    local = settings.workspace_root / "local"
    git(settings.workspace_root, "init", "-q", "-b", "main", str(local))
    await tools.ok("add_repo", name="local")
    assert "not known to be on GitHub" in await tools.error("pr_status", repo="local", number=1)
