"""History: commits (log) and changes between two states of a repository (diff).

A change is described by a *base* commit and a *head* that is a commit or the working tree. With
two commits, the base is their merge base (what GitHub's compare and pull requests show: the
changes the head introduces). The working tree side includes untracked files that are not ignored,
as new files, so edits applied but not yet committed are all visible.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from sophia.code import paths
from sophia.code.files import decode_text, iso
from sophia.code.sandbox import GitRepo, decode, unquote
from sophia.kit import ToolError

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
_DIFF_FLAGS = ("--no-color", "--no-ext-diff", "--no-textconv", "-M")
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
_FIELD, _RECORD = "\x1f", "\x1e"
MAX_BODY_CHARS = 2000


class Commit(BaseModel):
    sha: str
    author: str
    email: str
    date: str
    subject: str
    body: str = ""


def log(repo: GitRepo, commit: str, spec: list[str], limit: int) -> list[Commit]:
    fmt = _FIELD.join(["%H", "%an", "%ae", "%at", "%s", "%b"]) + _RECORD
    out = repo.run("log", f"--format={fmt}", "--no-color", f"--max-count={limit}", commit, "--", *spec)
    commits = []
    for record in out.split(_RECORD):
        record = record.strip("\n")
        if not record:
            continue
        sha, author, email, epoch, subject, body = record.split(_FIELD, 5)
        body = body.strip()
        if len(body) > MAX_BODY_CHARS:
            body = body[:MAX_BODY_CHARS] + "…"
        commits.append(Commit(sha=sha, author=author, email=email, date=iso(int(epoch)), subject=subject, body=body))
    return commits


@dataclass
class Range:
    """What a diff compares: base commit → head commit, or → the working tree when head is None."""

    base: str
    head: str | None
    merge_base: bool = False

    def args(self) -> list[str]:
        return [self.base] if self.head is None else [self.base, self.head]


def resolve_range(repo: GitRepo, base: str | None, head: str | None) -> Range:
    """Defaults: no head = the working tree; no base = HEAD for the working tree, head's parent otherwise."""
    head_id = repo.resolve(head, what="head") if head is not None else None
    if base is not None:
        base_id = repo.resolve(base, what="base")
        if head_id is None:
            return Range(base_id, None)
        status, out = repo.run_bytes("merge-base", base_id, head_id, ok_codes=(0, 1))
        if status != 0:
            raise ToolError(f"{base!r} and {head!r} share no history; nothing to compare")
        return Range(decode(out).strip(), head_id, merge_base=True)
    if head_id is None:
        if not repo.has_commits():
            return Range(EMPTY_TREE, None)
        return Range(repo.resolve("HEAD"), None)
    status, out = repo.run_bytes("rev-parse", "--verify", "--quiet", f"{head_id}^1^{{commit}}", ok_codes=(0, 1, 128))
    return Range(decode(out).strip() if status == 0 else EMPTY_TREE, head_id)


class FileChange(BaseModel):
    path: str
    old_path: str | None = None
    status: str = Field(description="added, modified, deleted, renamed, copied or type-changed.")
    additions: int | None = Field(None, description="Lines added; None for binary files.")
    deletions: int | None = None
    binary: bool = False


_STATUS = {"A": "added", "M": "modified", "D": "deleted", "R": "renamed", "C": "copied", "T": "type-changed"}


def changed_files(repo: GitRepo, span: Range, spec: list[str]) -> list[FileChange]:
    out = decode(repo.run_bytes("diff", "--name-status", "-z", *_DIFF_FLAGS, *span.args(), "--", *spec)[1])
    fields = out.split("\0")
    changes: dict[str, FileChange] = {}
    index = 0
    while index < len(fields) - 1:
        code = fields[index]
        if not code:
            break
        if code[0] in "RC":
            old, new = fields[index + 1], fields[index + 2]
            changes[new] = FileChange(path=new, old_path=old, status=_STATUS[code[0]])
            index += 3
        else:
            changes[fields[index + 1]] = FileChange(path=fields[index + 1], status=_STATUS.get(code[0], "modified"))
            index += 2
    numstat = decode(repo.run_bytes("diff", "--numstat", "-z", *_DIFF_FLAGS, *span.args(), "--", *spec)[1])
    parts = numstat.split("\0")
    index = 0
    while index < len(parts):
        head = parts[index]
        if not head:
            index += 1
            continue
        added, deleted, name = head.split("\t", 2)
        if not name:  # a rename: the old and new paths follow
            name = parts[index + 2]
            index += 2
        index += 1
        if name in changes:
            binary = added == "-"
            changes[name].binary = binary
            changes[name].additions = None if binary else int(added)
            changes[name].deletions = None if binary else int(deleted)
    return list(changes.values())


def untracked(repo: GitRepo, spec: list[str]) -> list[str]:
    out = decode(repo.run_bytes("ls-files", "-z", "--others", "--exclude-standard", "--", *spec)[1])
    return [name for name in out.split("\0") if name]


def new_file_patch(rel: str, data: bytes) -> tuple[str, int | None]:
    """A git-style patch adding `rel` with content `data`, and its line count (None when binary)."""
    header = f"diff --git a/{rel} b/{rel}\nnew file mode 100644\n"
    try:
        text = decode_text(data, rel)
    except ToolError:
        return header + f"Binary files /dev/null and b/{rel} differ\n", None
    lines = text.splitlines(keepends=True)
    body = "".join(difflib.unified_diff([], lines, "/dev/null", f"b/{rel}", lineterm="\n"))
    if lines and not lines[-1].endswith("\n"):
        body += "\n\\ No newline at end of file\n"
    return header + body, len(lines)


@dataclass
class Diff:
    span: Range
    files: list[FileChange]
    patch: str
    truncated: bool
    omitted: list[str] = field(default_factory=list)


def diff(repo: GitRepo, span: Range, spec: list[str], max_bytes: int, max_file_bytes: int) -> Diff:
    files = changed_files(repo, span, spec)
    patch = decode(repo.run_bytes("diff", "-p", *_DIFF_FLAGS, *span.args(), "--", *spec)[1])
    if span.head is None:
        for rel in untracked(repo, spec):
            try:
                data = paths.read_file(repo.path, paths.clean(rel), max_file_bytes)
            except ToolError:
                continue  # a link out of the repository, or too large: listed nowhere rather than read
            text, count = new_file_patch(rel, data)
            files.append(FileChange(path=rel, status="added", additions=count, deletions=0, binary=count is None))
            patch += text
    files.sort(key=lambda f: f.path)
    truncated, omitted = False, list[str]()
    if len(patch.encode()) > max_bytes:
        patch, omitted = _cut(patch, max_bytes)
        truncated = True
    return Diff(span, files, patch, truncated, omitted)


def _cut(patch: str, max_bytes: int) -> tuple[str, list[str]]:
    """Whole files' patches up to `max_bytes`; the names of the files left out."""
    pieces = re.split(r"(?m)^(?=diff --git )", patch)
    kept, size, omitted = [], 0, []
    for piece in pieces:
        if not piece:
            continue
        length = len(piece.encode())
        if size + length > max_bytes:
            first = piece.split("\n", 1)[0]
            omitted.append(first.removeprefix("diff --git a/").split(" b/", 1)[0])
            continue
        kept.append(piece)
        size += length
    return "".join(kept), omitted


def added_lines(repo: GitRepo, span: Range, spec: list[str]) -> dict[str, set[int]]:
    """For each changed file (new path), the line numbers the head side added or modified."""
    out = decode(repo.run_bytes("diff", "-U0", "--dst-prefix=b/", *_DIFF_FLAGS, *span.args(), "--", *spec)[1])
    result: dict[str, set[int]] = {}
    current: set[int] | None = None
    for line in out.split("\n"):
        if line.startswith("+++ "):
            target = line[4:]
            current = None if target == "/dev/null" else result.setdefault(unquote(target).removeprefix("b/"), set())
        elif current is not None and (match := _HUNK.match(line)):
            start, count = int(match[1]), int(match[2]) if match[2] is not None else 1
            current.update(range(start, start + count))
    return result
