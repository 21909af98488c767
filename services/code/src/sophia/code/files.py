"""Reading a repository: file text (working tree or any commit), directory listings, blame.

Only text is shown: a file with a NUL byte in its first 8000 bytes is binary (git's own test), a
file that is not valid UTF-8 is refused with the offset of the first bad byte, and a file over
``MAX_FILE_BYTES`` is refused before it is read into memory. Results are bounded in lines and bytes.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import stat
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from sophia.code import paths
from sophia.code.sandbox import GitRepo, decode
from sophia.code.settings import CodeSettings
from sophia.kit import ToolError

BINARY_SNIFF_BYTES = 8000
LINK_MODE = 0o120000
BOM = "\ufeff"


def decode_text(data: bytes, rel: str) -> str:
    """`data` as text, or a ToolError for binary or non-UTF-8 content."""
    if b"\x00" in data[:BINARY_SNIFF_BYTES]:
        raise ToolError(f"{rel!r} is a binary file ({len(data)} bytes); it cannot be shown or edited as text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ToolError(
            f"{rel!r} is not UTF-8 text (invalid byte at offset {exc.start}); it cannot be shown or edited as text"
        ) from None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Blob:
    """A file's bytes and where they came from."""

    path: str
    data: bytes
    ref: str | None  # commit id, or None for the working tree


def load(repo: GitRepo, rel: str, commit: str | None, settings: CodeSettings) -> Blob | list[Entry]:
    """The file at `rel` (bytes) or, for a directory, its listing."""
    if commit is None:
        if rel == "" or paths.confine(repo.path, rel).is_dir():
            return listing(repo, rel, None, settings)
        return Blob(rel, paths.read_file(repo.path, rel, settings.max_file_bytes), None)
    tree = repo.repo.commit(commit).tree
    try:
        item = tree if rel == "" else tree / rel
    except KeyError:
        raise ToolError(f"no path {rel!r} at {commit[:12]}") from None
    if item.type == "tree":
        return listing(repo, rel, commit, settings)
    if item.type != "blob":
        raise ToolError(f"{rel!r} is a submodule, not a file")
    if item.mode == LINK_MODE:
        raise ToolError(f"{rel!r} is a symbolic link at {commit[:12]}; read the file it points to")
    if item.size > settings.max_file_bytes:
        raise ToolError(f"{rel!r} is {item.size} bytes; the limit is {settings.max_file_bytes} bytes")
    return Blob(rel, item.data_stream.read(), commit)


def blob_at(repo: GitRepo, rel: str, commit: str, limit: int) -> bytes | None:
    """The bytes of `rel` at `commit`, None when absent there; a ToolError when over `limit`."""
    try:
        item = repo.repo.commit(commit).tree / rel
    except KeyError:
        return None
    if item.type != "blob" or item.mode == LINK_MODE:
        return None
    if item.size > limit:
        raise ToolError(f"{rel!r} is {item.size} bytes at {commit[:12]}; the limit is {limit} bytes")
    data: bytes = item.data_stream.read()
    return data


def is_tree(repo: GitRepo, rel: str, commit: str) -> bool:
    try:
        return bool((repo.repo.commit(commit).tree / rel).type == "tree")
    except KeyError:
        return False


class Entry(BaseModel):
    path: str = Field(description="Relative to the repository root.")
    type: str = Field(description="file, link (symbolic link) or submodule.")
    size: int | None = Field(None, description="Bytes (files only).")


def listing(repo: GitRepo, rel: str, commit: str | None, settings: CodeSettings) -> list[Entry]:
    """Files under `rel` (recursively; what git tracks plus untracked files not ignored), sorted."""
    spec = [rel] if rel else []
    entries: list[Entry] = []
    if commit is None:
        out = repo.run_bytes("ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *spec)[1]
        seen: set[str] = set()
        for name in decode(out).split("\0"):
            if not name or name in seen:
                continue
            seen.add(name)
            try:
                info = os.lstat(repo.path / name)
            except OSError:
                continue  # tracked but deleted in the working tree
            kind = "link" if stat.S_ISLNK(info.st_mode) else "submodule" if stat.S_ISDIR(info.st_mode) else "file"
            entries.append(Entry(path=name, type=kind, size=info.st_size if kind == "file" else None))
    else:
        out = repo.run_bytes("ls-tree", "-r", "-z", "--long", "--full-tree", commit, "--", *spec)[1]
        for record in decode(out).split("\0"):
            if not record:
                continue
            meta, _, name = record.partition("\t")
            mode, kind, _, size = meta.split(None, 3)
            if kind == "commit":
                entries.append(Entry(path=name, type="submodule"))
            else:
                link = mode == "120000"
                entries.append(Entry(path=name, type="link" if link else "file", size=None if link else int(size)))
    entries.sort(key=lambda e: e.path)
    return entries


@dataclass
class Lines:
    """A window of a text file."""

    text: str
    start: int
    end: int
    total: int
    truncated: bool


def window(text: str, start: int | None, end: int | None, max_lines: int, max_bytes: int) -> Lines:
    """Lines `start`..`end` (1-based, inclusive) of `text`, cut at `max_lines` lines and `max_bytes` bytes."""
    lines = text.splitlines(keepends=True)
    total = len(lines)
    first = start or 1
    if first > max(total, 1):
        raise ToolError(f"start_line {first} is past the end of the file ({total} lines)")
    last = min(end or total, total)
    if last < first and total:
        raise ToolError(f"end_line {end} is before start_line {first}")
    truncated = False
    if last - first + 1 > max_lines:
        last, truncated = first + max_lines - 1, True
    chosen: list[str] = []
    size = 0
    for index in range(first - 1, last):
        size += len(lines[index].encode())
        if size > max_bytes and chosen:
            last, truncated = index, True
            break
        chosen.append(lines[index])
    return Lines("".join(chosen), first, first + len(chosen) - 1 if chosen else first - 1, total, truncated)


def blame(repo: GitRepo, rel: str, commit: str | None, first: int, last: int) -> list[dict[str, Any]]:
    """Who last changed each line of `first`..`last`: commit, author, date (ISO) and the line's text."""
    revision = [commit] if commit else []
    out = repo.run("blame", "--no-textconv", "--line-porcelain", "-L", f"{first},{last}", *revision, "--", rel)
    lines: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for raw in out.split("\n"):
        if raw.startswith("\t"):
            lines.append({**current, "text": raw[1:]})
            current = {}
        elif not current and raw:
            sha, _, final, *_ = raw.split(" ")
            uncommitted = set(sha) == {"0"}
            current = {"line": int(final), "commit": None if uncommitted else sha}
        elif raw.startswith("author "):
            current["author"] = raw[len("author ") :]
        elif raw.startswith("author-time "):
            current["date"] = iso(int(raw.split(" ")[1]))
        elif raw.startswith("summary "):
            current["summary"] = raw[len("summary ") :]
    return lines


def iso(epoch: int) -> str:
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC).isoformat().replace("+00:00", "Z")
