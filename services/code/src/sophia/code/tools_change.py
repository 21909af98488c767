"""Tools that judge and change code: review, propose_edit, apply_edit, generate."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from mcp_types import CallToolResult
from pydantic import Field

from sophia.code import edits, previews, untrusted
from sophia.code import generate as generating
from sophia.code import review as reviewing
from sophia.code.linters import Finding
from sophia.code.llm import NOT_CONFIGURED, LLMError
from sophia.code.paths import clean
from sophia.code.refs import check_revision
from sophia.code.results import WORKING_TREE, Applied, PreviewResult, ReviewResult
from sophia.code.service import Clients, Ref, Remote, Repo, Settings, Work, audit, service
from sophia.code.settings import CodeSettings
from sophia.code.workspace import Workspace
from sophia.kit import Risk, ToolError


@service.tool(read_only=True, tags={"code", "git", "review"}, consumes=["commit", "diff"], produces=["review"])
async def review(
    repo: Repo,
    base: Ref | None = Field(
        None,
        description="Review the change since this ref (e.g. 'main'); omitted: HEAD for "
        "the working tree, else head's parent.",
    ),
    head: Ref | None = Field(
        None, description="Review this ref (e.g. a feature branch); omitted: the working tree's uncommitted changes."
    ),
    paths: list[str] | None = Field(
        None, description="Only these files or folders; a named file the change does not touch is reviewed in full."
    ),
    llm: bool = Field(True, description="Also ask the LLM (through the router) for a review, when configured."),
    ws: Workspace = Work,
    settings: CodeSettings = Settings,
    clients: Clients = Remote,
) -> Annotated[CallToolResult, ReviewResult]:
    """Review a change for bugs, security problems and unclear code: findings with file, line, severity (error,
    warning, info) and message, from linters (ruff for Python, conflict markers, committed secrets, JSON/TOML
    syntax) and an LLM review when the router is configured. By default the working tree's uncommitted changes
    are reviewed; with head, what head introduces since base."""
    base_rev = check_revision(base, what="base") if base is not None else None
    head_rev = check_revision(head, what="head") if head is not None else None
    ask_llm = llm and clients.router.configured

    def collect() -> tuple[reviewing.ChangeSet, tuple[list[Finding], int, dict[str, str]], tuple[str, bool] | None]:
        with ws.open(repo) as git_repo:
            changes = reviewing.collect(git_repo, base_rev, head_rev, paths, settings)
            linted = reviewing.lint(changes, settings)
            patch = reviewing.llm_diff(git_repo, changes, paths, settings) if ask_llm and changes.contents else None
        return changes, linted, patch

    changes, (found, elsewhere, statuses), patch = await anyio.to_thread.run_sync(collect)
    if not llm:
        llm_status: dict[str, Any] = {"status": "off", "detail": "not requested"}
    elif not clients.router.configured:
        llm_status = {"status": "off", "detail": "the LLM review is off: SOPHIA_CODE_ROUTER_URL is not set"}
    elif patch is None:
        llm_status = {"status": "skipped", "detail": "nothing to review"}
    else:
        text = reviewing.prompt(repo, *patch)
        llm_found, llm_status = await reviewing.llm_findings(clients.router, text, changes)
        found = found + llm_found
    ordered = reviewing.ordered(found)
    kept = ordered[: settings.max_review_findings]
    summary = {level: sum(1 for f in kept if f.severity == level) for level in ("error", "warning", "info")}
    result = ReviewResult(
        repo=repo,
        base=changes.span.base,
        head=changes.span.head or WORKING_TREE,
        reviewed=sorted(changes.contents),
        skipped=changes.skipped,
        findings=kept,
        summary=summary,
        pre_existing=elsewhere,
        linters=statuses,
        llm=llm_status,
        truncated=len(ordered) > len(kept),
    )
    return untrusted.wrap(result, f"repo:{repo}")


def _preview_result(repo: str, preview: previews.Preview, notes: str | None = None) -> CallToolResult:
    actions = [
        {
            "path": change.path,
            "action": "create" if change.before_sha256 is None else "delete" if change.after is None else "modify",
        }
        for change in preview.changes
    ]
    result = PreviewResult(repo=repo, preview_hash=preview.id, files=actions, diff=preview.diff, notes=notes)
    return untrusted.wrap(result, f"repo:{repo}")


def _propose(ws: Workspace, repo: str, found: list[edits.FileEdit], settings: CodeSettings) -> previews.Preview:
    with ws.open(repo) as git_repo:
        preview = previews.build(repo, git_repo.path, found, settings.max_file_bytes)
    ws.previews.save(preview)
    return preview


@service.tool(read_only=True, tags={"code", "edit"}, consumes=["text"], produces=["patch"])
def propose_edit(
    repo: Repo,
    patch: str = Field(
        description="The change: a unified diff (as git diff prints it; line numbers may be approximate), or "
        "search/replace blocks: optional file path line, '<<<<<<< SEARCH', lines copied exactly from the file, "
        "'=======', the new lines, '>>>>>>> REPLACE'. An empty SEARCH creates a new file."
    ),
    path: str | None = Field(None, description="The file the blocks or hunks apply to when the patch names none."),
    ws: Workspace = Work,
    settings: CodeSettings = Settings,
) -> Annotated[CallToolResult, PreviewResult]:
    """Preview an edit without changing any file: returns the resulting diff and a preview hash. Nothing is written
    until apply_edit is called with that hash, and it then writes exactly this change."""
    if len(patch) > 4 * settings.max_file_bytes:
        raise ToolError(f"the patch is longer than {4 * settings.max_file_bytes} characters")
    found = edits.parse(patch, clean(path) if path is not None else None)
    return _preview_result(repo, _propose(ws, repo, found, settings))


@service.tool(risk=Risk.MEDIUM, idempotent=True, tags={"code", "edit"}, consumes=["patch"], produces=["change"])
def apply_edit(
    repo: Repo,
    preview_hash: str = Field(description="The hash propose_edit or generate returned for the edit."),
    ws: Workspace = Work,
    settings: CodeSettings = Settings,
) -> Applied:
    """Apply a previewed edit, identified by its preview hash, to the repository's working tree: exactly the
    previewed content is written. If any file changed since the preview, nothing is written."""
    preview = ws.previews.load(preview_hash)
    if preview.repo != repo:
        raise ToolError(f"preview {preview_hash} belongs to repository {preview.repo!r}, not {repo!r}")
    with ws.change(repo) as git_repo:
        written, already = previews.apply(preview, git_repo.path, settings.max_file_bytes)
    audit.info("apply_edit repo=%s preview=%s written=%s", repo, preview.id, written)
    return Applied(repo=repo, preview_hash=preview.id, written=written, already_applied=already)


@service.tool(read_only=True, tags={"code", "edit", "llm"}, consumes=["text"], produces=["patch"])
async def generate(
    repo: Repo,
    instruction: str = Field(description="What to write or change, in plain words."),
    path: str | None = Field(None, description="The file to create or change; omitted: the model chooses."),
    context_paths: list[str] | None = Field(
        None, description="Other files the model should read first (conventions, interfaces it must use)."
    ),
    ws: Workspace = Work,
    settings: CodeSettings = Settings,
    clients: Clients = Remote,
) -> Annotated[CallToolResult, PreviewResult]:
    """Write code for an instruction with an LLM (through the router), following the repository's conventions,
    and return it as a proposed edit with a diff and a preview hash. Nothing is written until apply_edit."""
    if not clients.router.configured:
        raise ToolError(f"generate is not available: {NOT_CONFIGURED}")

    def prepare() -> generating.Context:
        with ws.open(repo) as git_repo:
            return generating.context(git_repo, repo, instruction, path, context_paths or [], settings)

    context = await anyio.to_thread.run_sync(prepare)
    try:
        reply = await clients.router.complete(context.prompt, system=generating.SYSTEM)
    except LLMError as exc:
        raise ToolError(str(exc)) from None
    found, notes = generating.edits_from(reply, context.default_path)
    try:
        preview = await anyio.to_thread.run_sync(_propose, ws, repo, found, settings)
    except ToolError as exc:
        raise ToolError(f"the model's edit cannot be applied: {exc}") from None
    return _preview_result(repo, preview, notes or None)
