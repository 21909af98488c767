"""Clone allow-list: URL forms, prefix boundaries, globs, and GitHub repositories read from remotes."""

from __future__ import annotations

from pathlib import Path

import pytest

from sophia.code.remotes import allowed, check_slug, github_slug, normalise, redact
from sophia.kit import ToolError

ALLOW = ["https://github.com/acme/", "git@github.com:acme/", "https://gitlab.example.com/*/public-*"]


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/acme/app",
        "https://github.com/acme/app.git",
        "https://GitHub.com/acme/app.git",
        "git@github.com:acme/app.git",
        "https://gitlab.example.com/team/public-docs.git",
    ],
)
def test_allowed_remotes_pass(url: str) -> None:
    assert allowed(url, ALLOW)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://github.com/acme-evil/app", "matches no entry"),
        ("https://github.com.evil.io/acme/app", "matches no entry"),
        ("https://github.com/acme/../evil/app", "'..'"),
        ("https://github.com/acme/%2e%2e/evil", "percent"),
        ("https://user:pw@github.com/acme/app", "credentials"),
        ("https://tok@github.com/acme/app", "user name"),
        ("ext::sh -c touch% /tmp/pwned", "whitespace"),
        ("ext::sh", "transport"),
        ("fd::17", "transport"),
        ("--upload-pack=touch /tmp/x", "starts with '-'"),
        ("-u", "starts with '-'"),
        ("ssh://-oProxyCommand=x/acme/app", "host name"),
        ("ssh://-o@github.com/acme/app", "user name"),
        ("git@-oProxyCommand=x:acme/y", "not a URL"),
        ("ftp://github.com/acme/app", "scheme"),
        ("/srv/repos/app.git", "not a URL"),
        ("https://github.com/acme/app?x=1", "query"),
        ("https://github.com/acme/app\n", "whitespace"),
        ("https://gitlab.example.com/team/private-docs.git", "matches no entry"),
    ],
)
def test_refused_remotes(url: str, reason: str) -> None:
    with pytest.raises(ToolError, match=reason):
        allowed(url, ALLOW)


def test_empty_allow_list_disables_cloning() -> None:
    with pytest.raises(ToolError, match="cloning is disabled"):
        allowed("https://github.com/acme/app", [])


def test_file_urls_are_resolved_before_matching(tmp_path: Path) -> None:
    (tmp_path / "remotes").mkdir()
    (tmp_path / "secret.git").mkdir()
    (tmp_path / "remotes" / "link.git").symlink_to(tmp_path / "secret.git")
    allow = [f"file://{tmp_path}/remotes/"]
    assert allowed(f"file://{tmp_path}/remotes/app.git", allow) == f"file://{tmp_path}/remotes/app.git"
    with pytest.raises(ToolError, match=r"'\.\.'|matches no entry"):
        allowed(f"file://{tmp_path}/remotes/../secret.git", allow)
    with pytest.raises(ToolError, match="matches no entry"):
        allowed(f"file://{tmp_path}/remotes/link.git", allow)
    with pytest.raises(ToolError, match="local absolute path"):
        allowed("file://otherhost/x", allow)


def test_normalise_lowercases_hosts_only() -> None:
    assert normalise("https://GitHub.COM/Acme/App") == "https://github.com/Acme/App"


def test_github_repository_is_read_from_https_and_ssh_remotes() -> None:
    assert github_slug("https://github.com/acme/app.git", "github.com") == "acme/app"
    assert github_slug("git@github.com:acme/app.git", "github.com") == "acme/app"
    assert github_slug("ssh://git@ghe.corp/acme/app", "ghe.corp") == "acme/app"
    assert github_slug("https://gitlab.com/acme/app", "github.com") is None
    assert github_slug("file:///srv/app.git", "github.com") is None
    assert check_slug("acme/app") == "acme/app"
    with pytest.raises(ToolError):
        check_slug("acme/../app")


def test_redact_hides_credentials() -> None:
    assert redact("fatal: https://x:secret@host/r") == "fatal: https://***@host/r"
