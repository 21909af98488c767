"""What the tools return (their MCP output schemas)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from sophia.code.files import Entry
from sophia.code.history import Commit, FileChange
from sophia.code.linters import Finding
from sophia.code.search import Match

# The `ref` or `head` of a result about uncommitted files rather than a commit.
WORKING_TREE = "working tree"


class Untrusted(BaseModel):
    """A result that carries repository content; see `sophia.code.untrusted`."""

    untrusted: bool = Field(True, description="Always true: the content came from a repository or a model.")
    untrusted_source: str = Field("", description="Where it came from: repo:<name>, or github:<owner/name>#<n>.")


class RepoInfo(BaseModel):
    name: str
    path: str = Field(description="Relative to the workspace root.")
    state: str = Field(description="ok, or missing when its directory is gone.")
    branch: str | None = Field(None, description="The checked-out branch; None when HEAD is detached or missing.")
    head: str | None = Field(None, description="Commit id of HEAD; None in a repository without commits.")
    dirty: bool | None = Field(None, description="Whether the working tree has uncommitted changes.")
    default_branch: str | None = None
    remote: str | None = Field(None, description="URL of origin, credentials removed.")
    github: str | None = Field(None, description="owner/name on GitHub, when known.")
    ahead: int | None = Field(None, description="Commits on the branch not on its upstream.")
    behind: int | None = Field(None, description="Commits on the upstream not on the branch.")


class Repos(BaseModel):
    repos: list[RepoInfo]


class Added(BaseModel):
    repo: RepoInfo
    added: bool = Field(description="False when it was already registered exactly so (nothing changed).")


class FileView(Untrusted):
    repo: str
    path: str
    ref: str = Field(description="Commit id read, or 'working tree'.")
    kind: str = Field(description="file, or directory (then `entries` lists its files).")
    text: str | None = Field(None, description="The lines start_line..end_line, newlines included.")
    start_line: int | None = None
    end_line: int | None = None
    total_lines: int | None = None
    sha256: str | None = Field(None, description="Hash of the whole file (working tree edits check it).")
    blame: list[dict[str, Any]] | None = Field(
        None, description="Per line: line, commit (None: not committed yet), author, date, summary, text."
    )
    entries: list[Entry] | None = None
    total_entries: int | None = None
    truncated: bool = Field(False, description="True when lines or entries were cut at the limits.")


class SearchResult(Untrusted):
    repo: str
    ref: str
    matches: list[Match]
    truncated: bool = Field(description="True when more lines matched than were returned.")


class LogResult(Untrusted):
    repo: str
    ref: str
    commits: list[Commit]


class DiffResult(Untrusted):
    repo: str
    base: str = Field(description="Commit id compared from (the merge base when both refs were given).")
    head: str = Field(description="Commit id compared to, or 'working tree'.")
    files: list[FileChange]
    patch: str
    truncated: bool
    omitted: list[str] = Field(default_factory=list, description="Files whose patch did not fit.")


class ReviewResult(Untrusted):
    repo: str
    base: str
    head: str
    reviewed: list[str]
    skipped: dict[str, str] = Field(description="Files not reviewed, with the reason.")
    findings: list[Finding]
    summary: dict[str, int] = Field(description="Findings per severity.")
    pre_existing: int = Field(description="Linter findings on lines the change did not touch (not listed).")
    linters: dict[str, str]
    llm: dict[str, Any]
    truncated: bool


class PreviewResult(Untrusted):
    repo: str
    preview_hash: str = Field(description="Pass to apply_edit to write exactly this change.")
    files: list[dict[str, Any]] = Field(description="Per file: path and action (create, modify, delete).")
    diff: str
    notes: str | None = Field(None, description="generate: the model's words outside its edit.")


class Applied(BaseModel):
    repo: str
    preview_hash: str
    written: list[str]
    already_applied: bool


class BranchResult(BaseModel):
    repo: str
    branch: str
    commit: str
    created: bool


class CommitResult(BaseModel):
    repo: str
    branch: str
    commit: str
    author: str
    committer: str
    files: list[str]


class PushResult(BaseModel):
    repo: str
    branch: str
    remote: str
    commit: str
    result: str = Field(description="new branch, fast-forward or up to date.")
    protected: bool


class PullRequest(BaseModel):
    repo: str
    github: str
    number: int | None
    url: str | None
    state: str | None
    draft: bool | None
    head: str | None
    base: str | None


class PullStatus(Untrusted):
    repo: str
    github: str
    status: dict[str, Any]
