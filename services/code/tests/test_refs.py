"""Branch names and revisions: git's check-ref-format rules, and nothing that can be read as an option."""

from __future__ import annotations

import subprocess

import pytest

from sophia.code.refs import check_branch, check_revision, is_protected
from sophia.kit import ToolError

VALID = ["main", "feature/login-form", "release/1.2", "fix_123", "user/ada/idea", "v2", "a.b", "ünï"]
INVALID = [
    "",
    "-x",
    "--force",
    "--upload-pack=touch /tmp/x",
    "a..b",
    "a@{1}",
    "@",
    "a b",
    "a~1",
    "a^",
    "a:b",
    "a?",
    "a*",
    "a[",
    "a\\b",
    "a\x01",
    "a\nb",
    "/a",
    "a/",
    "a//b",
    ".hidden",
    "a/.b",
    "a.lock",
    "a/b.lock/c",
    "a.",
    "HEAD",
    "refs/heads/x",
    "0123456789abcdef0123456789abcdef01234567",
    "x" * 201,
    ";touch${IFS}x",
    "a|b",
    "a$b",
    "a`b`",
    "a'b",
    'a"b',
]


@pytest.mark.parametrize("name", VALID)
def test_valid_branch_names_pass_and_git_agrees(name: str) -> None:
    assert check_branch(name) == name
    assert subprocess.run(["git", "check-ref-format", "--branch", name], capture_output=True).returncode == 0


@pytest.mark.parametrize("name", INVALID)
def test_invalid_branch_names_are_refused(name: str) -> None:
    with pytest.raises(ToolError, match="invalid branch name"):
        check_branch(name)


@pytest.mark.parametrize("rev", ["main", "HEAD", "HEAD~2", "main^", "v1.0^2", "feature/x~1^", "a" * 40])
def test_revisions_allow_ancestry_suffixes(rev: str) -> None:
    assert check_revision(rev) == rev


@pytest.mark.parametrize("rev", ["-n", "--all", "HEAD@{1}", "main..dev", "main...dev", "HEAD:file", "a b", "x^{tree}"])
def test_revisions_refuse_options_ranges_and_paths(rev: str) -> None:
    with pytest.raises(ToolError, match="invalid ref"):
        check_revision(rev)


def test_protected_branches_match_names_and_globs() -> None:
    patterns = ["main", "master", "release/*"]
    assert is_protected("main", patterns) and is_protected("release/2.0", patterns)
    assert not is_protected("feature/main", patterns) and not is_protected("mainline", patterns)
