"""Names that reach the pulumi CLI as argv: checked strictly before anything runs."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

from sophia.kit import ToolError

# Pulumi allows letters, digits, `-`, `_`, `.` in stack names (plus org/project/ for Pulumi Cloud);
# we also refuse a leading `-` or `.`, so a name can never read as a flag or a path.
QUALIFIED_STACK = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9_.-]{0,99}/){0,2}[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
PROJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
# `namespace:key` (or a bare key, in the project's namespace); letters, digits, `_ - .` and `/` only.
CONFIG_KEY = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9_.-]{0,63}:)?[A-Za-z0-9_][A-Za-z0-9_./-]{0,127}$")


def stack_name(value: str) -> str:
    """A stack name, or `org/stack` / `org/project/stack` as Pulumi Cloud qualifies them."""
    if not QUALIFIED_STACK.match(value):
        raise ToolError(
            f"invalid stack name {value[:40]!r}: letters, digits, '-', '_' and '.', starting with a letter or digit"
        )
    return value


def project_name(value: str) -> str:
    if not PROJECT.match(value):
        raise ToolError(f"invalid project name {value[:40]!r}")
    return value


def config_key(value: str) -> str:
    if not CONFIG_KEY.match(value):
        raise ToolError(f"invalid config key {value[:40]!r}: [namespace:]key with letters, digits, '_', '-', '.', '/'")
    return value


def matches(stack: str, patterns: Iterable[str]) -> bool:
    """Whether a stack is one of `patterns` (names or globs), ignoring an org/project prefix and case."""
    short = stack.rsplit("/", 1)[-1].lower()
    return any(fnmatch.fnmatchcase(short, p.lower()) for p in patterns)
