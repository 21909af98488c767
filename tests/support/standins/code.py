"""TEST STAND-IN for the code service (git repositories in a sandboxed workspace), not the real one.

It exposes the code service's tool contract and echoes each call (see `_common`).
Run as ``python -m tests.support.standins.code`` from the repository root.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from sophia.kit import Risk
from tests.support.standins._common import Standin

standin = Standin(
    "code",
    instructions="Git repositories in a sandboxed workspace: read, search, review, edit, branch, commit, push "
    "and open pull requests on GitHub.",
)
service = standin.service

Repo = Annotated[str, Field(description="Repository name, as list_repos returns it (e.g. 'sophia').")]
FilePath = Annotated[str, Field(description="File path relative to the repository root (e.g. 'src/app.py').")]
Ref = Annotated[str, Field(description="A branch, tag or commit id.")]
Branch = Annotated[str, Field(description="Branch name (e.g. 'feature/login-form').")]
Instruction = Annotated[str, Field(description="What to change or write, in plain words.")]

READ = {"read_only": True, "tags": {"code", "git"}}


@standin.tool(**READ, produces=["repo"])
def list_repos():
    """List the git repositories in the sandboxed workspace with their default branch, current branch and
    remote."""


@standin.tool(**READ, produces=["code"])
def read_file(
    repo: Repo,
    path: FilePath,
    start_line: int | None = Field(None, ge=1, description="First line to return (1-based); the file's start."),
    end_line: int | None = Field(None, ge=1, description="Last line to return, inclusive; the file's end."),
):
    """Read a file of a repository at its checked-out revision, whole or a range of lines."""


@standin.tool(**READ, produces=["code"])
def search_code(
    repo: Repo,
    query: str = Field(description="Text or regular expression to look for."),
    glob: str | None = Field(None, description="Only files whose path matches this glob (e.g. '*.py')."),
):
    """Search a repository's files for a text or regular-expression pattern and return the matching lines with
    their paths and line numbers."""


@standin.tool(**READ, produces=["history"])
def log(
    repo: Repo,
    ref: Ref = "HEAD",
    limit: int = Field(20, ge=1, le=500, description="How many commits to return at most."),
):
    """List the latest commits reachable from a ref, newest first, with id, author, date and message."""


@standin.tool(**READ, produces=["diff"])
def diff(
    repo: Repo,
    base: str = Field(description="The ref to compare from (e.g. 'main')."),
    head: str = Field(description="The ref to compare to (e.g. a feature branch)."),
):
    """Show the unified diff between two refs of a repository, with per-file change counts."""


@standin.tool(risk=Risk.MEDIUM, idempotent=True, tags={"code", "git"}, produces=["repo"])
def add_repo(
    name: str = Field(description="Name for the repository in this workspace."),
    url: str | None = Field(None, description="Clone from this allow-listed remote; omit to register one in place."),
):
    """Clone a repository from an allow-listed remote into the workspace, or register one already inside it."""


@standin.tool(**READ, consumes=["commit", "diff"], produces=["review"])
def review(
    repo: Repo,
    ref: Ref,
    paths: list[str] | None = Field(None, description="Only review these files; every changed file when omitted."),
):
    """Review the changes a ref introduces for bugs, security problems and unclear code, and return findings
    with file, line and severity."""


@standin.tool(**READ, consumes=["text"], produces=["patch"])
def propose_edit(repo: Repo, path: FilePath, instruction: Instruction):
    """Draft an edit to one existing file from an instruction and return the diff with a preview hash, without
    changing the file."""


@standin.tool(risk=Risk.MEDIUM, idempotent=True, tags={"code", "git"}, consumes=["patch"], produces=["change"])
def apply_edit(
    repo: Repo,
    preview_hash: str = Field(description="The hash propose_edit or generate returned for the edit."),
):
    """Apply a previously proposed edit, identified by its preview hash, to the repository's working tree."""


@standin.tool(**READ, consumes=["text"], produces=["patch"])
def generate(repo: Repo, instruction: Instruction):
    """Write new code (new files, functions or tests) for an instruction, following the repository's
    conventions, and return it as a proposed edit with a preview hash."""


@standin.tool(tags={"code", "git"}, produces=["branch"])
def create_branch(repo: Repo, name: Branch, from_ref: Ref = "HEAD"):
    """Create a local branch starting at a ref and check it out."""


@standin.tool(risk=Risk.MEDIUM, tags={"code", "git"}, consumes=["change", "branch"], produces=["commit"])
def commit(
    repo: Repo,
    message: Annotated[str, Field(description="Commit message: a summary line, then an optional body.")],
    branch: Branch,
):
    """Commit the working tree's changes to a local branch with a message."""


@standin.tool(risk=Risk.HIGH, tags={"code", "git", "github"}, consumes=["commit"], produces=["remote_branch"])
def push(repo: Repo, branch: Branch):
    """Push a local branch to the repository's GitHub remote, publishing its commits."""


@standin.tool(risk=Risk.MEDIUM, tags={"code", "github"}, consumes=["remote_branch", "text"], produces=["pull_request"])
def open_pull_request(
    repo: Repo,
    head: str = Field(description="The pushed branch with the changes."),
    base: str = Field(description="The branch to merge into (e.g. 'main')."),
    title: str = Field(description="Pull request title."),
    body: str = Field("", description="Pull request description, in Markdown."),
):
    """Open a GitHub pull request that proposes merging head into base, with a title and description."""


@standin.tool(read_only=True, tags={"code", "github"}, consumes=["pull_request"], produces=["status"])
def pr_status(repo: Repo, number: int = Field(ge=1, description="The pull request's number.")):
    """Report a GitHub pull request's state, CI check results, review approvals and whether it can be merged."""


if __name__ == "__main__":
    service.run()
