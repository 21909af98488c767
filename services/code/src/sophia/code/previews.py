"""Proposed edits: computed once, stored, applied later exactly as previewed — or not at all.

A preview holds, per file, the SHA-256 of the content it was computed from (None: the file did not
exist) and the complete new content (None: delete). Its id is a content hash over the repository,
and each file's path, original hash and new-content hash, so proposing the same edit twice gives the
same id, and an id can never name different content.

Previews are JSON files under ``<workspace>/.sophia-code/previews/``: on the same volume as the
repositories they refer to, so they survive restarts and are seen by every process serving this
workspace, and a preview never outlives its repository's volume. (Redis would add a dependency
to a service that needs none, for data meaningless without the workspace.) They expire after
``PREVIEW_TTL_S``.

Applying re-reads every file and compares its hash with the preview's: any difference refuses the
whole preview and writes nothing. Files are written one by one, each atomically; if a write fails,
the files already written are restored, so the working tree is as it was.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import os
import re
import secrets
import stat
import time
from pathlib import Path

from pydantic import BaseModel, Field

from sophia.code import edits, paths
from sophia.code.files import decode_text, sha256
from sophia.kit import ToolError

PREVIEW_ID = re.compile(r"^[0-9a-f]{32}$")


class Change(BaseModel):
    path: str
    before_sha256: str | None = Field(description="Hash of the content the edit was computed from; None: new file.")
    after: str | None = Field(description="The file's complete new content; None: the file is deleted.")
    after_sha256: str | None


class Preview(BaseModel):
    id: str
    repo: str
    changes: list[Change]
    diff: str
    created_at: float


def preview_id(repo: str, changes: list[Change]) -> str:
    canonical = json.dumps(
        {"repo": repo, "changes": [[c.path, c.before_sha256, c.after_sha256] for c in changes]},
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _current(root: Path, rel: str, limit: int) -> bytes | None:
    """The file's bytes now, None if it does not exist; refuses links anywhere on the path and non-files."""
    paths.check_writable(root, rel)
    if paths.lexical_kind(root, rel) == "missing":
        return None
    return paths.read_file(root, rel, limit)


def build(repo: str, root: Path, file_edits: list[edits.FileEdit], max_file_bytes: int) -> Preview:
    """Compute the new content of every file `file_edits` touch; nothing is written."""
    originals: dict[str, bytes | None] = {}
    texts: dict[str, str | None] = {}
    for edit in file_edits:
        if edit.path not in originals:
            data = _current(root, edit.path, max_file_bytes)
            originals[edit.path] = data
            texts[edit.path] = None if data is None else decode_text(data, edit.path)
        texts[edit.path] = edits.apply(edit, texts[edit.path])
    changes: list[Change] = []
    diff_parts: list[str] = []
    for rel, new_text in texts.items():
        before = originals[rel]
        new_bytes = None if new_text is None else new_text.encode()
        if new_bytes is not None and len(new_bytes) > max_file_bytes:
            raise ToolError(f"the edit makes {rel!r} {len(new_bytes)} bytes; the limit is {max_file_bytes} bytes")
        if before == new_bytes:
            continue
        changes.append(
            Change(
                path=rel,
                before_sha256=None if before is None else sha256(before),
                after=new_text,
                after_sha256=None if new_bytes is None else sha256(new_bytes),
            )
        )
        diff_parts.append(unified(rel, None if before is None else before.decode(), new_text))
    if not changes:
        raise ToolError("the edit changes nothing: every file would stay as it is")
    return Preview(
        id=preview_id(repo, changes), repo=repo, changes=changes, diff="".join(diff_parts), created_at=time.time()
    )


def unified(rel: str, before: str | None, after: str | None) -> str:
    old = [] if before is None else before.splitlines(keepends=True)
    new = [] if after is None else after.splitlines(keepends=True)
    lines = list(
        difflib.unified_diff(
            old, new, "/dev/null" if before is None else f"a/{rel}", "/dev/null" if after is None else f"b/{rel}"
        )
    )
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


class Store:
    """Previews on disk, one JSON file each."""

    def __init__(self, folder: Path, ttl_s: int) -> None:
        self.folder = folder
        self.ttl_s = ttl_s

    def save(self, preview: Preview) -> None:
        self.purge()
        target = self.folder / f"{preview.id}.json"
        temp = self.folder / f".{preview.id}.{secrets.token_hex(4)}.tmp"
        temp.write_text(preview.model_dump_json())
        os.replace(temp, target)

    def load(self, preview: str) -> Preview:
        if not isinstance(preview, str) or not PREVIEW_ID.match(preview):
            raise ToolError(f"invalid preview hash {preview!r}: expected the 32 hex digits propose_edit returned")
        try:
            found = Preview.model_validate_json((self.folder / f"{preview}.json").read_text())
        except FileNotFoundError:
            raise ToolError(f"no preview {preview} (never proposed, or expired); propose the edit again") from None
        if time.time() - found.created_at > self.ttl_s:
            raise ToolError(f"preview {preview} expired; propose the edit again")
        return found

    def purge(self) -> None:
        cutoff = time.time() - self.ttl_s
        for path in self.folder.glob("*.json"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()


def apply(preview: Preview, root: Path, max_file_bytes: int) -> tuple[list[str], bool]:
    """Write the preview's changes; returns (paths written, whether all had already been applied)."""
    pending: list[tuple[Change, bytes | None, int | None]] = []
    for change in preview.changes:
        current = _current(root, change.path, max(max_file_bytes, len((change.after or "").encode())))
        now = None if current is None else sha256(current)
        if now == change.after_sha256:
            continue  # applied already (a retry, or a crash half-way through a previous apply)
        if now != change.before_sha256:
            raise ToolError(
                f"{change.path!r} changed since the preview was made (expected "
                f"{_short(change.before_sha256)}, found {_short(now)}); nothing was written. Propose the edit again."
            )
        mode = None if current is None else stat.S_IMODE(os.lstat(root / change.path).st_mode)
        pending.append((change, current, mode))
    if not pending:
        return [], True
    done: list[tuple[Change, bytes | None, int | None, list[str]]] = []
    try:
        for change, original, mode in pending:
            if change.after is None:
                paths.remove_file(root, change.path)
                created: list[str] = []
            else:
                created = paths.write_file(root, change.path, change.after.encode(), mode)
            done.append((change, original, mode, created))
    except BaseException as exc:
        _undo(root, done)
        if isinstance(exc, ToolError):
            raise
        raise ToolError(f"applying the edit failed ({exc}); every file was restored") from exc
    return [change.path for change, *_ in done], False


def _undo(root: Path, done: list[tuple[Change, bytes | None, int | None, list[str]]]) -> None:
    for change, original, mode, created in reversed(done):
        with contextlib.suppress(OSError, ToolError):
            if original is None:
                paths.remove_file(root, change.path)
            else:
                paths.write_file(root, change.path, original, mode)
        paths.remove_empty_dirs(root, created)


def _short(digest: str | None) -> str:
    return "no file" if digest is None else f"sha256 {digest[:12]}"
