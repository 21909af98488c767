"""Searching a repository with `git grep`: tracked and untracked (not ignored) files, or any commit.

git grep rather than Python's `re`: a pathological pattern then burns a child process that is
killed at ``SEARCH_TIMEOUT_S``, never a worker thread that cannot be interrupted. Output is read as
it streams and the process is stopped at ``MAX_SEARCH_RESULTS`` matches, so a query that matches
every line costs no more than one that matches the limit. Binary files are skipped (``-I``).
Regular expressions are Perl-compatible (``-P``) when this git has PCRE, else POSIX extended.
"""

from __future__ import annotations

import functools
import os
import selectors
import subprocess
import tempfile
import time
from dataclasses import dataclass

from pydantic import BaseModel

from sophia.code import paths
from sophia.code.sandbox import GitRepo, decode, git_env, git_error
from sophia.kit import ToolError

MAX_LINE_CHARS = 300
MAX_QUERY_CHARS = 1000


class Match(BaseModel):
    path: str
    line: int
    column: int
    text: str


@dataclass
class Found:
    matches: list[Match]
    truncated: bool


@functools.cache
def has_pcre() -> bool:
    """Whether this git was built with PCRE (``git grep -P``)."""
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(["git", "init", "-q", folder], check=True, capture_output=True, env={**os.environ, **git_env()})
        probe = subprocess.run(
            ["git", "grep", "--untracked", "-P", "-e", "x(?=y)"],
            cwd=folder,
            capture_output=True,
            env={**os.environ, **git_env()},
            check=False,
        )
    return probe.returncode in (0, 1)


def pathspecs(glob: str | None) -> list[str]:
    """git pathspecs for a glob: without a '/', it matches the file name at any depth (as ripgrep's -g)."""
    if glob is None:
        return []
    cleaned = paths.clean_glob(glob)
    pattern = cleaned if "/" in cleaned else f"**/{cleaned}"
    return [f":(glob){pattern}"]


def search(
    repo: GitRepo,
    query: str,
    *,
    regex: bool,
    ignore_case: bool,
    glob: str | None,
    commit: str | None,
    limit: int,
    timeout_s: float,
) -> Found:
    if not query:
        raise ToolError("query is empty")
    if len(query) > MAX_QUERY_CHARS or "\0" in query or "\n" in query:
        raise ToolError(f"query must be one line of at most {MAX_QUERY_CHARS} characters")
    mode = ("-P" if has_pcre() else "-E") if regex else "-F"
    args = ["grep", "-z", "-n", "--column", "-I", "--no-color", mode]
    if ignore_case:
        args.append("-i")
    args += ["-e", query]
    args += [commit] if commit else ["--untracked"]
    args += ["--", *pathspecs(glob)]
    return _stream(repo, args, commit, limit, timeout_s)


def _stream(repo: GitRepo, args: list[str], commit: str | None, limit: int, timeout_s: float) -> Found:
    process = repo.popen(*args)
    assert process.stdout is not None
    matches: list[Match] = []
    buffer = b""
    truncated = False
    deadline = time.monotonic() + timeout_s
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    prefix = f"{commit}:" if commit else ""
    try:
        while len(matches) <= limit:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ToolError(f"the search did not finish within {timeout_s:g}s; narrow it with a glob")
            if not selector.select(remaining):
                continue
            chunk = process.stdout.read1(65536)
            if not chunk:
                break
            buffer += chunk
            *complete, buffer = buffer.split(b"\n")
            for raw in complete:
                match = _parse(raw, prefix)
                if match is not None:
                    matches.append(match)
                if len(matches) > limit:
                    break
        truncated = len(matches) > limit
    finally:
        selector.close()
        if process.poll() is None:
            process.kill()
        _, stderr = process.communicate()
    if not truncated and process.returncode not in (0, 1, -9):
        message = decode(stderr).strip()
        if "-e option" in message or "pcre" in message.lower() or "regex" in message.lower():
            detail = message.splitlines()[-1].removeprefix("fatal: ")[:300] if message else "rejected by git"
            raise ToolError(f"invalid regular expression: {detail}")
        raise git_error("grep", stderr)
    return Found(matches[:limit], truncated)


def _parse(raw: bytes, prefix: str) -> Match | None:
    fields = raw.split(b"\0", 3)
    if len(fields) != 4:
        return None
    path = decode(fields[0])
    if prefix and path.startswith(prefix):
        path = path[len(prefix) :]
    try:
        line, column = int(fields[1]), int(fields[2])
    except ValueError:
        return None
    text = decode(fields[3])
    if len(text) > MAX_LINE_CHARS:
        text = text[:MAX_LINE_CHARS] + "…"
    return Match(path=path, line=line, column=column, text=text)
