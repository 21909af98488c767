"""Branch names and revisions a caller may name, checked before git sees them.

Branch names follow `git check-ref-format --branch` (no `..`, no `@{`, no control characters, no
space, `~ ^ : ? * [ \\`, no component starting with `.` or ending in `.lock`, ...) and two rules of
ours: nothing that starts with `-`, so a name can never be read as an option; and only letters,
digits and `. _ - / +`, because git would accept `;`, `$`, `|`, backquotes and quotes, and branch names
end up interpolated into CI scripts and shell commands downstream. Revisions are a ref
name with at most a `~N`/`^N` suffix (`main`, `v1.2`, `HEAD~2`, a commit id); the service resolves
each to a commit id once, with `--end-of-options`, and passes only that id on.
"""

from __future__ import annotations

import fnmatch
import re

from sophia.kit import ToolError

MAX_REF_CHARS = 200
_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
_BRANCH_CHARS = re.compile(r"^[\w./+-]+$")
_HEX_ID = re.compile(r"^[0-9a-fA-F]{40}$|^[0-9a-fA-F]{64}$")
_SUFFIX = re.compile(r"(?:[~^][0-9]{0,4})*$")


def _problem(name: str) -> str | None:
    """Why `name` is not a valid ref name per git's rules (plus ours), or None."""
    if not name:
        return "it is empty"
    if len(name) > MAX_REF_CHARS:
        return f"it is longer than {MAX_REF_CHARS} characters"
    if name.startswith("-"):
        return "it starts with '-'"
    if _FORBIDDEN.search(name):
        return "it contains a space, a control character or one of ~ ^ : ? * [ \\"
    if ".." in name:
        return "it contains '..'"
    if "@{" in name:
        return "it contains '@{'"
    if name == "@":
        return "'@' alone is not a name"
    if name.startswith("/") or name.endswith("/") or "//" in name:
        return "it starts or ends with '/' or has an empty component"
    if name.endswith("."):
        return "it ends with '.'"
    for component in name.split("/"):
        if component.startswith("."):
            return "a component starts with '.'"
        if component.endswith(".lock"):
            return "a component ends with '.lock'"
    return None


def check_branch(name: str, *, what: str = "branch name") -> str:
    """`name` if git would accept it as a new branch name (``refs/heads/<name>``); else a ToolError."""
    if not isinstance(name, str):
        raise ToolError(f"{what} must be a string")
    problem = _problem(name)
    if problem is None and name in ("HEAD", "FETCH_HEAD", "ORIG_HEAD", "MERGE_HEAD"):
        problem = "it is a name git reserves"
    if problem is None and not _BRANCH_CHARS.match(name):
        problem = "use only letters, digits and . _ - / +"
    if problem is None and name.startswith("refs/"):
        problem = "give the short name, without refs/"
    if problem is None and _HEX_ID.match(name):
        problem = "it looks like a commit id"
    if problem:
        raise ToolError(f"invalid {what} {name!r}: {problem}")
    return name


def check_revision(rev: str, *, what: str = "ref") -> str:
    """`rev` if it is a ref name or commit id with at most a ``~N``/``^N`` suffix; else a ToolError."""
    if not isinstance(rev, str):
        raise ToolError(f"{what} must be a string")
    base = _SUFFIX.sub("", rev) if rev else rev
    problem = _problem(base)
    if problem:
        raise ToolError(f"invalid {what} {rev!r}: {problem}")
    return rev


def is_protected(branch: str, patterns: list[str]) -> bool:
    """True when `branch` equals or matches (as a glob) one of `patterns`."""
    return any(branch == pattern or fnmatch.fnmatchcase(branch, pattern) for pattern in patterns)
