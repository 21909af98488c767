"""Tools that record and publish changes: create_branch, commit, push, open_pull_request, pr_status."""

from __future__ import annotations

import re
from typing import Annotated, Any

import anyio.to_thread
from mcp_types import CallToolResult
from pydantic import Field

from sophia.code import untrusted
from sophia.code.github import NOT_CONFIGURED, GitHubError
from sophia.code.paths import literal_specs
from sophia.code.refs import check_branch, check_revision, is_protected
from sophia.code.results import BranchResult, CommitResult, PullRequest, PullStatus, PushResult
from sophia.code.sandbox import git_env, git_error
from sophia.code.service import Branch, Clients, Ref, Remote, Repo, Settings, Work, audit, service
from sophia.code.settings import CodeSettings
from sophia.code.workspace import Workspace
from sophia.kit import Risk, ToolError

MAX_MESSAGE_CHARS = 20_000
_NAME = re.compile(r"^[^\x00-\x1f\x7f<>]{1,100}$")
_EMAIL = re.compile(r"^[^\s<>@,;\x00-\x1f\x7f]{1,64}@[^\s<>@,;\x00-\x1f\x7f]{1,190}$")
_PUSH_LINE = re.compile(r"^(?P<flag>[ +\-*!=])\t(?P<refs>[^\t]+)\t(?P<summary>.*)$")


@service.tool(idempotent=True, tags={"code", "git"}, produces=["branch"])
def create_branch(
    repo: Repo,
    name: Branch,
    from_ref: Ref = "HEAD",
    ws: Workspace = Work,
) -> BranchResult:
    """Create a local branch starting at a ref and check it out. Uncommitted changes come along when it starts
    at HEAD; from another ref the working tree must be clean. A branch that already exists at that commit is
    just checked out."""
    check_branch(name)
    start_rev = check_revision(from_ref, what="from_ref")
    with ws.change(repo) as git_repo:
        start = git_repo.resolve(start_rev, what="from_ref")
        head = git_repo.resolve("HEAD") if git_repo.has_commits() else None
        if git_repo.branch_exists(name):
            existing = git_repo.resolve(f"refs/heads/{name}")
            if existing != start:
                raise ToolError(f"branch {name!r} already exists at {existing[:12]}, not at {start[:12]}")
            if git_repo.current_branch() != name:
                if existing != head and git_repo.is_dirty():
                    raise _dirty(name)
                git_repo.run("switch", "--no-guess", "--end-of-options", name)
            return BranchResult(repo=repo, branch=name, commit=existing, created=False)
        if start != head and git_repo.is_dirty():
            raise _dirty(name)
        git_repo.run("switch", "--no-guess", "--no-track", "-c", name, start)
    audit.info("create_branch repo=%s branch=%s at=%s", repo, name, start)
    return BranchResult(repo=repo, branch=name, commit=start, created=True)


def _dirty(name: str) -> ToolError:
    return ToolError(
        f"the working tree has uncommitted changes; commit them first, or create {name!r} from HEAD so they come "
        "along. Nothing was changed."
    )


def _author(name: str | None, email: str | None, settings: CodeSettings) -> tuple[str, str]:
    author_name = settings.author_name if name is None else name.strip()
    author_email = settings.author_email if email is None else email.strip()
    if not _NAME.match(author_name):
        raise ToolError(f"invalid author_name {name!r}: 1-100 characters, no '<', '>' or control characters")
    if not _EMAIL.match(author_email):
        raise ToolError(f"invalid author_email {email!r}")
    return author_name, author_email


@service.tool(risk=Risk.MEDIUM, tags={"code", "git"}, consumes=["change", "branch"], produces=["commit"])
def commit(
    repo: Repo,
    message: str = Field(description="Commit message: a summary line, then an optional body."),
    branch: Branch = Field(description="The checked-out branch to commit to (a guard against committing elsewhere)."),
    paths: list[str] | None = Field(None, description="Commit only these files or folders; omitted: every change."),
    author_name: str | None = Field(None, description="The author (the calling user); omitted: the service's."),
    author_email: str | None = Field(None, description="The author's e-mail address."),
    ws: Workspace = Work,
    settings: CodeSettings = Settings,
) -> CommitResult:
    """Commit the working tree's changes (new, modified and deleted files; git-ignored ones excluded) to the
    checked-out local branch. The author is the caller (author_name/author_email, which the gateway fills from
    the caller's identity); the service is the committer. Nothing is pushed."""
    check_branch(branch)
    if not message.strip():
        raise ToolError("message is empty")
    if len(message) > MAX_MESSAGE_CHARS or "\0" in message:
        raise ToolError(f"message must be text of at most {MAX_MESSAGE_CHARS} characters")
    name, email = _author(author_name, author_email, settings)
    spec = literal_specs(paths)
    with ws.change(repo) as git_repo:
        current = git_repo.current_branch()
        if current is None:
            raise ToolError("HEAD is detached; create a branch with create_branch first")
        if current != branch:
            if not git_repo.branch_exists(branch):
                raise ToolError(f"no branch {branch!r} in {repo!r}; create it with create_branch")
            raise ToolError(f"the working tree is on {current!r}, not {branch!r}; nothing was committed")
        index = git_repo.run("write-tree").strip()  # the index as it was, to restore if the commit fails
        try:
            git_repo.run("add", "--all", "--", *spec)
            staged = git_repo.run("diff", "--cached", "--name-only", "-z", "--no-ext-diff", "--", *spec)
            if not staged.strip("\0"):
                raise ToolError("nothing to commit: the working tree has no changes" + (" there" if spec else ""))
            env = {
                "GIT_AUTHOR_NAME": name,
                "GIT_AUTHOR_EMAIL": email,
                "GIT_COMMITTER_NAME": settings.author_name,
                "GIT_COMMITTER_EMAIL": settings.author_email,
            }
            only = ["--only", "--", *spec] if spec else []
            git_repo.run("commit", "--quiet", "--no-verify", "--no-gpg-sign", f"--message={message}", *only, env=env)
        except BaseException:
            git_repo.run_bytes("read-tree", index, ok_codes=(0, 128))
            raise
        sha = git_repo.resolve("HEAD")
        changed = git_repo.run("diff-tree", "--no-commit-id", "--name-only", "-r", "-z", "--root", sha)
    audit.info("commit repo=%s branch=%s commit=%s author=%s", repo, branch, sha, email)
    return CommitResult(
        repo=repo,
        branch=branch,
        commit=sha,
        author=f"{name} <{email}>",
        committer=f"{settings.author_name} <{settings.author_email}>",
        files=[f for f in changed.split("\0") if f],
    )


def push_to_protected_branch(args: dict[str, Any]) -> str | None:
    """The approval check of `push`: a push to a protected branch waits for an approver; others run."""
    settings: CodeSettings = args["settings"]
    branch = args["branch"]
    if is_protected(branch, settings.protected_branches):
        return f"push to protected branch {branch!r} of {args['repo']!r}"
    return None


@service.tool(risk=Risk.MEDIUM, idempotent=True, tags={"code", "git", "github"}, consumes=["commit"],
              produces=["remote_branch"], approval=push_to_protected_branch,
              approval_reads=["branch"])  # the check asks only which branch, never which repository  # fmt: skip
def push(repo: Repo, branch: Branch, ws: Workspace = Work, settings: CodeSettings = Settings) -> PushResult:
    """Push a local branch to the repository's origin remote (GitHub or any git server), publishing its commits.
    Never forces: a remote branch with commits the local one lacks is left alone and the push fails. A push to a
    protected branch (main, master, release/*) waits for an approver; a feature branch is pushed at once."""
    check_branch(branch)
    with ws.change(repo) as git_repo:
        if not git_repo.branch_exists(branch):
            raise ToolError(f"no branch {branch!r} in {repo!r}")
        url = ws.origin_url(git_repo)
        if url is None:
            raise ToolError(f"{repo!r} has no remote named origin to push to")
        sha = git_repo.resolve(f"refs/heads/{branch}")
        refspec = f"refs/heads/{branch}:refs/heads/{branch}"
        status, out, err = git_repo.execute(
            "push", "--porcelain", "--set-upstream", "--end-of-options", "origin", refspec,
            env=git_env(ws.auth_config(url)), timeout=settings.network_timeout_s,
        )  # fmt: skip
    outcome = _push_outcome(out.decode(errors="replace"), refspec)
    if outcome is not None and outcome[0] == "!":
        if "non-fast-forward" in outcome[1] or "fetch first" in outcome[1]:
            raise ToolError(
                f"the remote's {branch!r} has commits this branch lacks; nothing was pushed (this service never "
                "force-pushes)"
            )
        raise ToolError(f"the remote rejected the push: {outcome[1]}")
    if outcome is None or status != 0:
        raise git_error("push", err)
    result = {"*": "new branch", "=": "up to date"}.get(outcome[0], "fast-forward")
    protected = is_protected(branch, settings.protected_branches)
    audit.info("push repo=%s branch=%s commit=%s result=%s protected=%s", repo, branch, sha, outcome[1], protected)
    return PushResult(repo=repo, branch=branch, remote="origin", commit=sha, result=result, protected=protected)


def _push_outcome(output: str, refspec: str) -> tuple[str, str] | None:
    for line in output.splitlines():
        match = _PUSH_LINE.match(line)
        if match and match["refs"] == refspec:
            return match["flag"], match["summary"]
    return None


def _github(ws: Workspace, repo: str, clients: Clients, head: str | None) -> str:
    """The repository's GitHub owner/name; with `head`, also checks that branch was pushed."""
    if not clients.github.configured:
        raise ToolError(NOT_CONFIGURED)
    entry = ws.entry(repo)
    with ws.open(repo) as git_repo:
        slug = ws.github_slug(entry, ws.origin_url(git_repo))
        if slug is None:
            raise ToolError(
                f"{repo!r} is not known to be on GitHub ({ws.github_host}): its origin is elsewhere; add it again "
                "with github='owner/name'"
            )
        if head is not None:
            status, _ = git_repo.run_bytes(
                "show-ref", "--verify", "--quiet", f"refs/remotes/origin/{head}", ok_codes=(0, 1, 128)
            )
            if status != 0:
                raise ToolError(f"branch {head!r} has not been pushed to origin; push it first")
    return slug


@service.tool(risk=Risk.MEDIUM, tags={"code", "github"}, consumes=["remote_branch", "text"], produces=["pull_request"])
async def open_pull_request(
    repo: Repo,
    head: str = Field(description="The pushed branch with the changes."),
    base: str = Field(description="The branch to merge into (e.g. 'main')."),
    title: str = Field(description="Pull request title."),
    body: str = Field("", description="Pull request description, in Markdown."),
    draft: bool = Field(False, description="Open it as a draft."),
    ws: Workspace = Work,
    clients: Clients = Remote,
) -> PullRequest:
    """Open a GitHub pull request that proposes merging head into base, with a title and description; returns
    its number and URL."""
    check_branch(head, what="head")
    check_branch(base, what="base")
    if not title.strip() or len(title) > 256:
        raise ToolError("title must be 1 to 256 characters")
    if len(body) > 65_536:
        raise ToolError("body is longer than 65536 characters")
    slug = await anyio.to_thread.run_sync(_github, ws, repo, clients, head)
    try:
        data = await clients.github.open_pull(slug, head, base, title.strip(), body, draft)
    except GitHubError as exc:
        raise ToolError(str(exc)) from None
    audit.info("open_pull_request repo=%s github=%s number=%s head=%s base=%s", repo, slug, data["number"], head, base)
    return PullRequest(repo=repo, github=slug, **data)


@service.tool(read_only=True, tags={"code", "github"}, consumes=["pull_request"], produces=["status"])
async def pr_status(
    repo: Repo,
    number: int = Field(ge=1, description="The pull request's number."),
    ws: Workspace = Work,
    clients: Clients = Remote,
) -> Annotated[CallToolResult, PullStatus]:
    """Report a GitHub pull request's state (open, closed, merged), CI check results, review approvals and
    whether it can be merged."""
    slug = await anyio.to_thread.run_sync(_github, ws, repo, clients, None)
    try:
        status = await clients.github.pull_status(slug, number)
    except GitHubError as exc:
        raise ToolError(str(exc)) from None
    return untrusted.wrap(PullStatus(repo=repo, github=slug, status=status), f"github:{slug}#{number}")
