"""Which remotes may be cloned, and which GitHub repository a remote is.

A clone URL must be one of: ``https://host/path``, ``http://host/path``, ``ssh://[user@]host/path``,
scp-like ``user@host:path``, or ``file:///absolute/path``. Refused outright, whatever the allow-list
says: git's ``<transport>::`` syntax (``ext::`` runs commands), anything starting with ``-``,
whitespace or control characters, passwords in the URL, ``.``/``..`` path segments and percent
escapes (servers normalise them, so ``https://github.com/acme/../evil/x`` could reach another
owner), and hosts starting with ``-`` (ssh would read them as options). Then the URL must match an
entry of ``SOPHIA_CODE_ALLOWED_REMOTES``: a glob (``https://github.com/*/public-*``) matched
against the whole URL, or a prefix matched only at a ``/`` boundary, so ``https://github.com/acme``
admits ``https://github.com/acme/app`` but not ``https://github.com/acme-evil/app``. ``file://``
paths are resolved (symbolic links, ``..``) on both sides before they are compared.
"""

from __future__ import annotations

import fnmatch
import os
import re
from urllib.parse import urlsplit

from sophia.kit import ToolError

_SCP = re.compile(r"^(?P<user>[A-Za-z0-9_][A-Za-z0-9._-]*@)?(?P<host>[A-Za-z0-9][A-Za-z0-9.-]*):(?P<path>[^/].*)$")
_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")
_CREDENTIALS = re.compile(r"(://)[^/@\s]+@")
_GITHUB_PATH = re.compile(r"^/?(?P<owner>[A-Za-z0-9][A-Za-z0-9-]{0,38})/(?P<name>[A-Za-z0-9._-]{1,100}?)(?:\.git)?/?$")


def redact(text: str) -> str:
    """`text` with any ``user:password@`` in URLs replaced, for messages and logs."""
    return _CREDENTIALS.sub(r"\1***@", text)


def _refuse(url: str, reason: str) -> ToolError:
    return ToolError(f"remote {redact(url)!r} is refused: {reason}")


def normalise(url: str) -> str:
    """The URL in the form the allow-list is matched against; a ToolError when it is not acceptable."""
    if not isinstance(url, str) or not url:
        raise ToolError("remote URL is empty")
    if len(url) > 2048:
        raise _refuse(url[:60] + "...", "longer than 2048 characters")
    if url.startswith("-"):
        raise _refuse(url, "it starts with '-'")
    if re.search(r"[\x00-\x20\x7f\\]", url):
        raise _refuse(url, "it contains whitespace, control characters or backslashes")
    if "%" in url:
        raise _refuse(url, "percent-escapes are not accepted")
    scheme_end = url.find("://")
    if "::" in url.split("/", 1)[0] or (scheme_end == -1 and "::" in url):
        raise _refuse(url, "git transport helpers (<transport>::) are not allowed")
    if scheme_end == -1:
        return _normalise_scp(url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise _refuse(url, "file:// URLs must name a local absolute path (file:///path)")
        if not parts.path.startswith("/"):
            raise _refuse(url, "file:// URLs need an absolute path")
        return "file://" + os.path.realpath(parts.path)
    if scheme not in ("https", "http", "ssh"):
        raise _refuse(url, f"scheme {scheme!r} is not supported (https, http, ssh, file)")
    if parts.query or parts.fragment:
        raise _refuse(url, "query strings and fragments are not accepted")
    if parts.password is not None:
        raise _refuse(url, "credentials in the URL are not accepted (GitHub uses SOPHIA_CODE_GITHUB_TOKEN)")
    if parts.username is not None and scheme != "ssh":
        raise _refuse(url, "a user name in an http(s) URL is not accepted")
    if parts.username is not None and not _USER.match(parts.username):
        raise _refuse(url, "the user name is not valid")
    host = parts.hostname or ""
    if not _HOST.match(host):
        raise _refuse(url, "the host name is not valid")
    _check_segments(url, parts.path)
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"{scheme}://{user}{host.lower()}{port}{parts.path}"


def _normalise_scp(url: str) -> str:
    match = _SCP.match(url)
    if match is None:
        raise _refuse(url, "not a URL git can clone (use https://, ssh://, user@host:path or file:///path)")
    if not _HOST.match(match["host"]):
        raise _refuse(url, "the host name is not valid")
    _check_segments(url, match["path"])
    return f"{match['user'] or ''}{match['host'].lower()}:{match['path']}"


def _check_segments(url: str, path: str) -> None:
    if any(segment in (".", "..") for segment in path.split("/")):
        raise _refuse(url, "'.' and '..' path segments are not accepted")


def allowed(url: str, patterns: list[str]) -> str:
    """The normalised URL if it matches an allow-list entry; a ToolError otherwise."""
    normal = normalise(url)
    if not patterns:
        raise _refuse(url, "cloning is disabled (SOPHIA_CODE_ALLOWED_REMOTES is empty)")
    for pattern in patterns:
        if _matches(normal, pattern):
            return normal
    raise _refuse(url, "it matches no entry of SOPHIA_CODE_ALLOWED_REMOTES")


def _matches(normal: str, pattern: str) -> bool:
    if pattern.startswith("file://"):
        if not normal.startswith("file://"):
            return False
        pattern = "file://" + os.path.realpath(pattern[len("file://") :])
    if any(char in pattern for char in "*?["):
        return fnmatch.fnmatchcase(normal, pattern)
    prefix = pattern.rstrip("/")
    if normal == prefix or normal == prefix + ".git":
        return True
    if pattern.endswith(":"):  # scp-like owner prefix, git@github.com:
        return normal.startswith(pattern)
    return normal.startswith(prefix + "/")


def github_slug(url: str | None, github_host: str) -> str | None:
    """``owner/name`` when `url` is a remote on the GitHub host (https, ssh or scp-like); else None."""
    if not url:
        return None
    url = url.strip()
    if "://" in url:
        parts = urlsplit(url)
        if (parts.hostname or "").lower() != github_host:
            return None
        path = parts.path
    else:
        match = _SCP.match(url)
        if match is None or match["host"].lower() != github_host:
            return None
        path = match["path"]
    found = _GITHUB_PATH.match(path)
    return f"{found['owner']}/{found['name']}" if found else None


def check_slug(slug: str) -> str:
    """`slug` if it is a valid GitHub ``owner/name``."""
    found = _GITHUB_PATH.match(slug) if isinstance(slug, str) else None
    if found is None or slug.startswith("/") or slug.endswith(".git"):
        raise ToolError(f"invalid GitHub repository {slug!r}: expected owner/name")
    return f"{found['owner']}/{found['name']}"
