"""Edits as callers and models write them: unified diffs and search/replace blocks, applied to text.

Search/replace blocks (the format coding assistants such as aider use)::

    src/app.py
    <<<<<<< SEARCH
    def greet():
        return "hi"
    =======
    def greet(name):
        return f"hi {name}"
    >>>>>>> REPLACE

The path line before a block is optional when the tool's `path` argument names the file. Each SEARCH
must occur exactly once in the file (exactly, or else ignoring trailing whitespace); an empty SEARCH
creates the file, which must not exist yet.

Unified diffs (``git diff`` output or hand-written) may carry wrong line numbers, as model-written
ones often do: each hunk is located by its context and removed lines, nearest to the stated line,
and must match (exactly, or ignoring trailing whitespace). ``--- /dev/null`` creates a file,
``+++ /dev/null`` deletes one. Line endings (LF or CRLF), a UTF-8 BOM and a missing final newline are
kept as the file had them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sophia.code import paths
from sophia.code.sandbox import unquote
from sophia.kit import ToolError

_SEARCH = re.compile(r"^<{5,9} ?SEARCH\s*$")
_DIVIDER = re.compile(r"^={5,9}\s*$")
_REPLACE = re.compile(r"^>{5,9} ?REPLACE\s*$")
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_FENCE = re.compile(r"^\s*(```|~~~)")
BOM = "\ufeff"


@dataclass
class Block:
    search: str
    replace: str


@dataclass
class Hunk:
    old_start: int
    old: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    old_no_eol: bool = False
    new_no_eol: bool = False


@dataclass
class FileEdit:
    """The edits to one file, in order."""

    path: str
    blocks: list[Block] = field(default_factory=list)
    hunks: list[Hunk] = field(default_factory=list)
    create: bool = False
    delete: bool = False


def parse(patch: str, default_path: str | None) -> list[FileEdit]:
    """The file edits `patch` describes; `default_path` is the file for blocks or hunks that name none."""
    if not isinstance(patch, str) or not patch.strip():
        raise ToolError("the patch is empty")
    text = patch.replace("\r\n", "\n")
    lines = text.split("\n")
    if any(_SEARCH.match(line) for line in lines):
        return _parse_blocks(lines, default_path)
    if any(_HUNK.match(line) for line in lines):
        return _parse_unified(lines, default_path)
    raise ToolError(
        "the patch is neither a unified diff (with @@ hunks) nor search/replace blocks "
        "(<<<<<<< SEARCH / ======= / >>>>>>> REPLACE)"
    )


def _path_line(line: str) -> str | None:
    """A file path written on its own line before a block (`src/app.py`, **src/app.py**:); prose is not."""
    candidate = line.strip().strip("`*'\"").rstrip(":").strip()
    if not candidate or any(char.isspace() for char in candidate) or _FENCE.match(candidate):
        return None
    return candidate


def _parse_blocks(lines: list[str], default_path: str | None) -> list[FileEdit]:
    edits: list[FileEdit] = []
    index = 0
    number = 0
    while index < len(lines):
        if not _SEARCH.match(lines[index]):
            index += 1
            continue
        number += 1
        path = _block_path(lines, index) or default_path
        if path is None:
            raise ToolError(
                f"search/replace block {number} names no file: pass path, or put the file's path on the line "
                "before <<<<<<< SEARCH"
            )
        search, index = _collect(lines, index + 1, _DIVIDER, number, "=======")
        replace, index = _collect(lines, index + 1, _REPLACE, number, ">>>>>>> REPLACE")
        rel = paths.clean(path)
        block = Block(_joined(search), _joined(replace))
        if edits and edits[-1].path == rel:
            edits[-1].blocks.append(block)
        else:
            edits.append(FileEdit(rel, blocks=[block], create=not search))
        index += 1
    return edits


def _block_path(lines: list[str], index: int) -> str | None:
    back = index - 1
    if back >= 0 and _FENCE.match(lines[back]):
        back -= 1
    if back < 0 or _REPLACE.match(lines[back]):
        return None
    return _path_line(lines[back])


def _collect(lines: list[str], start: int, end: re.Pattern[str], number: int, marker: str) -> tuple[list[str], int]:
    index = start
    while index < len(lines) and not end.match(lines[index]):
        if _SEARCH.match(lines[index]):
            break
        index += 1
    if index >= len(lines) or not end.match(lines[index]):
        raise ToolError(f"search/replace block {number} is not closed: expected a {marker} line")
    return lines[start:index], index


def _joined(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def _diff_paths(old: str, new: str) -> tuple[str | None, str | None]:
    def bare(value: str) -> str:
        value = value.split("\t", 1)[0].rstrip()
        if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
            value = unquote(value)
        return value

    old, new = bare(old), bare(new)
    old_path = None if old == "/dev/null" else old
    new_path = None if new == "/dev/null" else new
    # git's a/ and b/ prefixes: strip them only when the diff uses them on both sides.
    prefixed = (old_path is None or old_path.startswith("a/")) and (new_path is None or new_path.startswith("b/"))
    if prefixed and (old_path or new_path):
        old_path = old_path[2:] if old_path else None
        new_path = new_path[2:] if new_path else None
    return old_path, new_path


def _parse_unified(lines: list[str], default_path: str | None) -> list[FileEdit]:
    edits: list[FileEdit] = []
    current: FileEdit | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("--- ") and index + 1 < len(lines) and lines[index + 1].startswith("+++ "):
            old, new = _diff_paths(line[4:], lines[index + 1][4:])
            if old is None and new is None:
                raise ToolError("a diff file header has /dev/null on both sides")
            target = paths.clean(new if new is not None else old or "")
            if old is not None and new is not None and paths.clean(old) != target:
                raise ToolError(f"renames are not supported by edits ({old!r} → {new!r}); create and delete instead")
            current = FileEdit(target, create=old is None, delete=new is None)
            edits.append(current)
            index += 2
            continue
        match = _HUNK.match(line)
        if match is None:
            index += 1
            continue
        if current is None:
            if default_path is None:
                raise ToolError("the diff has a hunk before any ---/+++ file header; add one or pass path")
            current = FileEdit(paths.clean(default_path))
            edits.append(current)
        hunk, index = _hunk(lines, index + 1, int(match[1]))
        current.hunks.append(hunk)
    if not any(edit.hunks for edit in edits):
        raise ToolError("the diff has no hunks")
    return edits


def _hunk(lines: list[str], index: int, old_start: int) -> tuple[Hunk, int]:
    hunk = Hunk(old_start)
    body: list[str] = []
    while index < len(lines):
        line = lines[index]
        if line.startswith("@@") or line.startswith("diff --git "):
            break
        if line.startswith("--- ") and index + 1 < len(lines) and lines[index + 1].startswith("+++ "):
            break
        if line == "" or line[0] in " -+\\":
            body.append(line)
            index += 1
            continue
        break
    while body and body[-1] == "":  # the patch's trailing newline, not a blank context line
        body.pop()
    last = ""
    for line in body:
        kind, content = (line[0], line[1:]) if line else (" ", "")
        if kind == "\\":
            if last in (" ", "-"):
                hunk.old_no_eol = True
            if last in (" ", "+"):
                hunk.new_no_eol = True
            continue
        if kind in " -":
            hunk.old.append(content)
        if kind in " +":
            hunk.new.append(content)
        last = kind
    return hunk, index


# -- applying -------------------------------------------------------------------------------------


def apply(edit: FileEdit, original: str | None) -> str | None:
    """The file's new text after `edit` (None: deleted); `original` is None when the file does not exist."""
    if edit.create and original is not None and (original != "" or edit.hunks):
        raise ToolError(f"{edit.path!r} already exists; edit it instead of creating it")
    if not edit.create and original is None:
        raise ToolError(f"no file {edit.path!r} to edit (to create it, use an empty SEARCH or a diff from /dev/null)")
    bom = original is not None and original.startswith(BOM)
    text = (original or "")[1 if bom else 0 :]
    crlf = "\r\n" in text and text.count("\r\n") == text.count("\n")
    if crlf:
        text = text.replace("\r\n", "\n")
    if edit.blocks:
        for number, block in enumerate(edit.blocks, 1):
            text = _apply_block(text, block, edit.path, number, exists=original is not None)
    else:
        result = _apply_hunks(text, edit.hunks, edit.path)
        if edit.delete:
            if result.strip():
                raise ToolError(f"the diff deletes {edit.path!r} but does not remove all of its lines")
            return None
        text = result
    if crlf:
        text = text.replace("\n", "\r\n")
    return (BOM if bom else "") + text


def _apply_block(text: str, block: Block, path: str, number: int, *, exists: bool) -> str:
    if not block.search:
        if exists and text:
            raise ToolError(
                f"block {number}: SEARCH is empty but {path!r} already has content; quote the lines to change"
            )
        return block.replace
    no_eol = bool(text) and not text.endswith("\n")
    body = text + "\n" if no_eol else text
    count = body.count(block.search)
    if count == 1:
        body = body.replace(block.search, block.replace, 1)
    elif count > 1:
        raise ToolError(
            f"block {number}: SEARCH occurs {count} times in {path!r}; include more lines to make it unique"
        )
    else:
        body = _replace_loose(body, block, path, number)
    return body[:-1] if no_eol and body.endswith("\n") else body


def _replace_loose(body: str, block: Block, path: str, number: int) -> str:
    """The replacement done on lines compared without trailing whitespace."""
    lines = body.split("\n")[:-1]
    wanted = [line.rstrip() for line in block.search.split("\n")[:-1]]
    stripped = [line.rstrip() for line in lines]
    starts = [i for i in range(len(lines) - len(wanted) + 1) if stripped[i : i + len(wanted)] == wanted]
    if not starts:
        raise ToolError(f"block {number}: SEARCH does not occur in {path!r} (it must match the file's lines exactly)")
    if len(starts) > 1:
        raise ToolError(f"block {number}: SEARCH occurs {len(starts)} times in {path!r}; include more lines")
    start = starts[0]
    replacement = block.replace.split("\n")[:-1]
    lines[start : start + len(wanted)] = replacement
    return "".join(line + "\n" for line in lines)


def _apply_hunks(text: str, hunks: list[Hunk], path: str) -> str:
    lines = text.split("\n")
    eol = text.endswith("\n") or not text
    if text.endswith("\n"):
        lines.pop()
    elif not text:
        lines = []
    offset, cursor = 0, 0
    for number, hunk in enumerate(hunks, 1):
        before = len(lines)
        if not hunk.old:
            position = min(max(hunk.old_start + offset, cursor), len(lines))
        else:
            position = _locate(lines, hunk.old, hunk.old_start - 1 + offset, cursor, path, number)
        touches_end = position + len(hunk.old) == before
        lines[position : position + len(hunk.old)] = hunk.new
        offset += len(hunk.new) - len(hunk.old)
        cursor = position + len(hunk.new)
        if touches_end:
            if hunk.new_no_eol:
                eol = False
            elif hunk.old_no_eol or not eol:
                eol = True
    return "\n".join(lines) + ("\n" if eol and lines else "")


def _locate(lines: list[str], old: list[str], expected: int, cursor: int, path: str, number: int) -> int:
    for compare in (lambda s: s, str.rstrip):
        wanted = [compare(line) for line in old]
        found = [
            i
            for i in range(cursor, len(lines) - len(old) + 1)
            if [compare(line) for line in lines[i : i + len(old)]] == wanted
        ]
        if found:
            return min(found, key=lambda i: abs(i - expected))
    raise ToolError(
        f"hunk {number} of {path!r} does not match the file: its context and removed lines are not there "
        "(read the file again and rebuild the diff)"
    )
