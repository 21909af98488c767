"""Tools that browse repositories: list_repos, add_repo, read_file, search_code, log, diff."""

from __future__ import annotations

from typing import Annotated

from mcp_types import CallToolResult
from pydantic import Field

from sophia.code import files, history, search, untrusted
from sophia.code.paths import clean, literal_specs
from sophia.code.refs import check_revision
from sophia.code.remotes import check_slug, redact
from sophia.code.results import (
    WORKING_TREE,
    Added,
    DiffResult,
    FileView,
    LogResult,
    RepoInfo,
    Repos,
    SearchResult,
)
from sophia.code.sandbox import GitRepo, decode
from sophia.code.service import Ref, Repo, Settings, Work, audit, service
from sophia.code.settings import CodeSettings
from sophia.code.workspace import Entry, Workspace
from sophia.kit import Risk, ToolError

READ = {"read_only": True, "tags": {"code", "git"}}


def _default_branch(repo: GitRepo, current: str | None) -> str | None:
    status, out = repo.run_bytes("symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD", ok_codes=(0, 1, 128))
    if status == 0:
        return decode(out).strip().removeprefix("origin/")
    for candidate in ("main", "master"):
        if candidate == current or repo.branch_exists(candidate):
            return candidate
    return current


def repo_info(ws: Workspace, entry: Entry) -> RepoInfo:
    try:
        repo = GitRepo(ws.path_of(entry), ws.settings.git_timeout_s)
    except ToolError:
        return RepoInfo(name=entry.name, path=entry.path, state="missing", github=entry.github)
    try:
        state = repo.status()
        origin = ws.origin_url(repo)
        return RepoInfo(
            name=entry.name,
            path=entry.path,
            state="ok",
            branch=state.branch,
            head=state.head,
            dirty=state.dirty,
            default_branch=_default_branch(repo, state.branch),
            remote=redact(origin) if origin else None,
            github=ws.github_slug(entry, origin),
            ahead=state.ahead,
            behind=state.behind,
        )
    finally:
        repo.close()


@service.tool(**READ, produces=["repo"])
def list_repos(ws: Workspace = Work) -> Repos:
    """List the git repositories in the sandboxed workspace with their current branch, head commit, whether the
    working tree has uncommitted changes, default branch, remote, GitHub repository and ahead/behind counts."""
    return Repos(repos=[repo_info(ws, entry) for entry in ws.entries().values()])


@service.tool(risk=Risk.MEDIUM, idempotent=True, tags={"code", "git"}, produces=["repo"])
def add_repo(
    name: str = Field(description="Name for the repository in this workspace (letters, digits, '.', '_', '-')."),
    url: str | None = Field(
        None,
        description="Clone from this remote (https://, ssh://, user@host:path or file:///path); it must be "
        "on the service's allow-list. Omit to register an existing repository instead.",
    ),
    path: str | None = Field(
        None,
        description="Register the existing repository at this path inside the workspace root (default: "
        "name). Ignored when url is given.",
    ),
    github: str | None = Field(
        None, description="Its GitHub repository as owner/name, when the remote does not say (for pull requests)."
    ),
    ws: Workspace = Work,
) -> Added:
    """Add a repository to the workspace: clone it from an allow-listed remote, or register a git repository that
    already lies inside the workspace root. Adding the same repository again changes nothing."""
    if url is not None and path is not None:
        raise ToolError("give url (to clone) or path (to register an existing repository), not both")
    slug = check_slug(github) if github is not None else None
    entry, added = ws.clone(name, url, slug) if url is not None else ws.register(name, path, slug)
    if added:
        audit.info("add_repo name=%s path=%s remote=%s", entry.name, entry.path, entry.remote)
    return Added(repo=repo_info(ws, entry), added=added)


@service.tool(**READ, produces=["code", "history"])
def read_file(
    repo: Repo,
    path: str = Field(
        "",
        description="File path relative to the repository root (e.g. 'src/app.py'); a folder, or '' for the "
        "root, lists the files under it.",
    ),
    ref: Ref | None = Field(
        None,
        description="Read the file as it is at this branch, tag or commit; omitted: the "
        "working tree, uncommitted changes included.",
    ),
    start_line: int | None = Field(None, ge=1, description="First line to return (1-based); the file's start."),
    end_line: int | None = Field(None, ge=1, description="Last line to return, inclusive; the file's end."),
    blame: bool = Field(False, description="Give each line the commit, author and date that last changed it."),
    ws: Workspace = Work,
    settings: CodeSettings = Settings,
) -> Annotated[CallToolResult, FileView]:
    """Read a file of a repository, whole or a range of lines, from the working tree or at a ref; large files come
    in windows (see truncated and total_lines). A folder path lists the files under it (the repository's tree).
    With blame, every line comes with the commit, author and date that last changed it."""
    rel = clean(path, allow_root=True)
    revision = check_revision(ref) if ref is not None else None
    with ws.open(repo) as git_repo:
        commit = git_repo.resolve(revision) if revision is not None else None
        loaded = files.load(git_repo, rel, commit, settings)
        shown = commit or WORKING_TREE
        if isinstance(loaded, list):
            if blame:
                raise ToolError(f"{rel or '.'!r} is a folder; blame needs a file")
            entries = loaded[: settings.max_tree_entries]
            view = FileView(
                repo=repo, path=rel, ref=shown, kind="directory", entries=entries, total_entries=len(loaded),
                truncated=len(loaded) > len(entries),
            )  # fmt: skip
            return untrusted.wrap(view, f"repo:{repo}")
        text = files.decode_text(loaded.data, rel)
        lines = files.window(text, start_line, end_line, settings.max_read_lines, settings.max_output_bytes)
        annotated = None
        if blame and lines.end >= lines.start:
            annotated = files.blame(git_repo, rel, commit, lines.start, lines.end)
    view = FileView(
        repo=repo,
        path=rel,
        ref=shown,
        kind="file",
        text=None if annotated is not None else lines.text,
        start_line=lines.start,
        end_line=lines.end,
        total_lines=lines.total,
        sha256=files.sha256(loaded.data),
        blame=annotated,
        truncated=lines.truncated,
    )
    return untrusted.wrap(view, f"repo:{repo}")


@service.tool(**READ, produces=["code"])
def search_code(
    repo: Repo,
    query: str = Field(description="Text to look for, or a regular expression when regex is true."),
    regex: bool = Field(False, description="Treat query as a Perl-compatible regular expression."),
    glob: str | None = Field(
        None, description="Only files matching this glob: '*.py' matches at any depth, 'src/**/*.ts' from the root."
    ),
    ignore_case: bool = Field(False, description="Match regardless of case."),
    ref: Ref | None = Field(None, description="Search the files as they are at this ref; omitted: the working tree."),
    limit: int | None = Field(None, ge=1, description="Most matching lines to return (the server caps it)."),
    ws: Workspace = Work,
    settings: CodeSettings = Settings,
) -> Annotated[CallToolResult, SearchResult]:
    """Search a repository's files for text or a regular expression and return the matching lines with their
    paths, line and column numbers. Binary and git-ignored files are skipped."""
    revision = check_revision(ref) if ref is not None else None
    cap = min(limit or settings.max_search_results, settings.max_search_results)
    with ws.open(repo) as git_repo:
        commit = git_repo.resolve(revision) if revision is not None else None
        found = search.search(
            git_repo, query, regex=regex, ignore_case=ignore_case, glob=glob, commit=commit, limit=cap,
            timeout_s=settings.search_timeout_s,
        )  # fmt: skip
    result = SearchResult(repo=repo, ref=commit or WORKING_TREE, matches=found.matches, truncated=found.truncated)
    return untrusted.wrap(result, f"repo:{repo}")


@service.tool(**READ, produces=["history"])
def log(
    repo: Repo,
    ref: Ref = "HEAD",
    path: str | None = Field(None, description="Only commits that changed this file or folder."),
    limit: int = Field(20, ge=1, description="How many commits to return at most (the server caps it)."),
    ws: Workspace = Work,
    settings: CodeSettings = Settings,
) -> Annotated[CallToolResult, LogResult]:
    """List the latest commits reachable from a ref, newest first, with id, author, date, subject and body."""
    revision = check_revision(ref)
    spec = literal_specs([path]) if path is not None else []
    with ws.open(repo) as git_repo:
        commit = git_repo.resolve(revision)
        commits = history.log(git_repo, commit, spec, min(limit, settings.max_log_commits))
    return untrusted.wrap(LogResult(repo=repo, ref=commit, commits=commits), f"repo:{repo}")


@service.tool(**READ, produces=["diff"])
def diff(
    repo: Repo,
    base: Ref | None = Field(
        None, description="Compare from this ref (e.g. 'main'). Omitted: HEAD for the working tree, else head's parent."
    ),
    head: Ref | None = Field(
        None,
        description="Compare to this ref (e.g. a feature branch). Omitted: the working tree, uncommitted and "
        "untracked files included.",
    ),
    paths: list[str] | None = Field(None, description="Only these files or folders."),
    ws: Workspace = Work,
    settings: CodeSettings = Settings,
) -> Annotated[CallToolResult, DiffResult]:
    """Show the unified diff of a change with per-file line counts: the working tree's uncommitted changes by
    default, or what head introduces since it diverged from base (as a pull request would show it)."""
    base_rev = check_revision(base, what="base") if base is not None else None
    head_rev = check_revision(head, what="head") if head is not None else None
    spec = literal_specs(paths)
    with ws.open(repo) as git_repo:
        span = history.resolve_range(git_repo, base_rev, head_rev)
        found = history.diff(git_repo, span, spec, settings.max_output_bytes, settings.max_file_bytes)
    result = DiffResult(
        repo=repo, base=span.base, head=span.head or WORKING_TREE, files=found.files, patch=found.patch,
        truncated=found.truncated, omitted=found.omitted,
    )  # fmt: skip
    return untrusted.wrap(result, f"repo:{repo}")
