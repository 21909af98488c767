"""The workspace: one root directory, a registry of the repositories under it, and locks.

``<root>/.sophia-code/`` holds the service's own state: ``repos.json`` (name → path relative to the
root, the remote it was cloned from, its GitHub repository), ``previews/`` (proposed edits),
``locks/`` (one ``flock`` file per repository, so changes to a repository are serialised across
threads and processes sharing the volume) and ``tmp/`` (clones in progress: a clone appears under
its name only once complete). Repository names match ``^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$``, so no
name reaches the state directory.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import fcntl
import json
import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from sophia.code import paths, previews, remotes
from sophia.code.sandbox import GitRepo, audit_config, git_env, git_error
from sophia.code.settings import CodeSettings
from sophia.kit import ToolError

STATE_DIR = ".sophia-code"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
LOCK_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$")
LOCK_WAIT_S = 30.0


class Entry(BaseModel):
    """A registered repository."""

    name: str
    path: str = Field(description="Relative to the workspace root.")
    remote: str | None = Field(None, description="The URL it was cloned from; None when registered in place.")
    github: str | None = Field(None, description="owner/name on GitHub, when given at add_repo.")
    added_at: float


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.match(name) or name.endswith(".lock"):
        raise ToolError(
            f"invalid repository name {name!r}: use letters, digits, '.', '_' and '-' (at most 64, not starting "
            "with '.' or '-')"
        )
    return name


def github_host(api_url: str) -> str:
    """The git host of a GitHub API: github.com for api.github.com, the same host for GitHub Enterprise."""
    host = (urlsplit(api_url).hostname or "").lower()
    return "github.com" if host == "api.github.com" else host


class Workspace:
    def __init__(self, settings: CodeSettings) -> None:
        self.settings = settings
        self.root = settings.workspace_root
        self.state = self.root / STATE_DIR
        self.previews_dir = self.state / "previews"
        for folder in (self.root, self.state, self.previews_dir, self.state / "locks", self.state / "tmp"):
            folder.mkdir(parents=True, exist_ok=True)
        self.github_host = github_host(settings.github_url)
        self.previews = previews.Store(self.previews_dir, settings.preview_ttl_s)

    # -- registry ---------------------------------------------------------------------------------

    @property
    def _registry(self) -> Path:
        return self.state / "repos.json"

    def entries(self) -> dict[str, Entry]:
        try:
            raw = json.loads(self._registry.read_text())
        except FileNotFoundError:
            return {}
        return {name: Entry.model_validate(value) for name, value in raw.items()}

    def _save(self, entries: dict[str, Entry]) -> None:
        temp = self._registry.with_suffix(f".{secrets.token_hex(4)}.tmp")
        temp.write_text(json.dumps({n: e.model_dump() for n, e in sorted(entries.items())}, indent=2) + "\n")
        os.replace(temp, self._registry)

    def entry(self, name: str) -> Entry:
        check_name(name)
        found = self.entries().get(name)
        if found is None:
            raise ToolError(f"unknown repository {name!r} (list_repos shows the registered ones)")
        return found

    def path_of(self, entry: Entry) -> Path:
        """The repository's directory, re-checked: the registry is a file someone could edit."""
        rel = paths.clean(entry.path, what="registered path")
        if rel.split("/")[0] == STATE_DIR:
            raise ToolError(f"repository {entry.name!r} has an invalid registered path")
        return paths.confine(self.root, rel, what="registered path")

    # -- locks ------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, key: str, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
        """An exclusive lock shared by every thread and process using this workspace."""
        if not LOCK_KEY.match(key):
            raise ValueError(f"invalid lock key {key!r}")  # keys are ours, never a caller's raw text
        fd = os.open(self.state / "locks" / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + wait_s
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() > deadline:
                        raise ToolError(f"{key!r} is busy with another change; try again shortly") from None
                    time.sleep(0.05)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    # -- repositories -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _opened(self, entry: Entry) -> Iterator[GitRepo]:
        repo = GitRepo(self.path_of(entry), self.settings.git_timeout_s)
        try:
            yield repo
        finally:
            repo.close()

    def open(self, name: str) -> contextlib.AbstractContextManager[GitRepo]:
        """A registered repository, for reading."""
        return self._opened(self.entry(name))

    @contextlib.contextmanager
    def change(self, name: str) -> Iterator[GitRepo]:
        """A registered repository, locked for a change: one change at a time per repository."""
        entry = self.entry(name)
        with self.lock(f"repo-{entry.name}"), self._opened(entry) as repo:
            yield repo

    def github_slug(self, entry: Entry, origin: str | None) -> str | None:
        """owner/name on GitHub: as given at add_repo, else read from the origin URL."""
        return entry.github or remotes.github_slug(origin, self.github_host)

    @staticmethod
    def origin_url(repo: GitRepo) -> str | None:
        status, out = repo.run_bytes("config", "--get", "remote.origin.url", ok_codes=(0, 1))
        return out.decode(errors="replace").strip() if status == 0 else None

    def auth_config(self, url: str | None) -> dict[str, str]:
        """Git config that sends the GitHub token to the GitHub host over HTTPS, and nowhere else."""
        token = self.settings.github_token
        if token is None or not url:
            return {}
        parts = urlsplit(url)
        if parts.scheme != "https" or (parts.hostname or "").lower() != self.github_host:
            return {}
        basic = base64.b64encode(f"x-access-token:{token.get_secret_value()}".encode()).decode()
        return {f"http.https://{self.github_host}/.extraheader": f"AUTHORIZATION: basic {basic}"}

    def register(self, name: str, path: str | None, github: str | None) -> tuple[Entry, bool]:
        """Register the existing repository at `path` (relative to the root; default: `name`)."""
        check_name(name)
        rel = paths.clean(path if path is not None else name, what="path")
        existing = self.entries().get(name)
        if existing is not None and (existing.path != rel or github not in (None, existing.github)):
            raise ToolError(f"a repository named {name!r} is already registered (at {existing.path!r})")
        if rel.split("/")[0] == STATE_DIR:
            raise ToolError(f"path {rel!r} is the service's own state, not a repository")
        target = paths.confine(self.root, rel)
        if target == self.root or target.is_relative_to(self.state):
            raise ToolError(f"path {rel!r} is not a repository directory inside the workspace")
        git_dir = target / ".git"
        if not target.is_dir():
            raise ToolError(f"no directory {rel!r} in the workspace")
        if git_dir.is_symlink() or not git_dir.is_dir():
            raise ToolError(f"{rel!r} is not a git working tree (no .git directory in it)")
        risky = audit_config(git_dir)
        if risky:
            raise ToolError(
                f"{rel!r} is refused: its .git/config sets keys that make git run programs or leave the "
                f"repository: {', '.join(risky)}"
            )
        canonical = str(target.relative_to(self.root))
        with self.lock("registry"):
            entries = self.entries()
            existing = entries.get(name)
            if existing is not None:
                if existing.path == canonical and github in (None, existing.github):
                    return existing, False
                raise ToolError(f"a repository named {name!r} is already registered (at {existing.path!r})")
            for other in entries.values():
                if other.path == canonical:
                    raise ToolError(f"{rel!r} is already registered as {other.name!r}")
            entry = Entry(name=name, path=canonical, github=github, added_at=time.time())
            entries[name] = entry
            self._save(entries)
        return entry, True

    def clone(self, name: str, url: str, github: str | None) -> tuple[Entry, bool]:
        """Clone an allow-listed remote into ``<root>/<name>`` and register it."""
        check_name(name)
        normal = remotes.allowed(url, self.settings.allowed_remotes)
        with self.lock(f"name-{name}", wait_s=self.settings.network_timeout_s):
            existing = self.entries().get(name)
            if existing is not None:
                if existing.remote == normal and github in (None, existing.github):
                    return existing, False
                raise ToolError(f"a repository named {name!r} is already registered")
            destination = self.root / name
            if os.path.lexists(destination):
                raise ToolError(f"{name!r} already exists in the workspace; register it with path instead")
            staging = self.state / "tmp" / f"{name}-{secrets.token_hex(6)}"
            env = {**os.environ, **git_env(self.auth_config(normal))}
            argv = ["git", "clone", "--quiet", "--no-recurse-submodules", "--", normal, str(staging)]
            try:
                result = subprocess.run(
                    argv,
                    cwd=self.state / "tmp",
                    env=env,
                    capture_output=True,
                    stdin=subprocess.DEVNULL,
                    timeout=self.settings.network_timeout_s,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                shutil.rmtree(staging, ignore_errors=True)
                raise ToolError(f"cloning did not finish within {self.settings.network_timeout_s:g}s") from None
            if result.returncode != 0:
                shutil.rmtree(staging, ignore_errors=True)
                raise git_error("clone", result.stderr)
            os.rename(staging, destination)
            with self.lock("registry"):
                entries = self.entries()
                entry = Entry(name=name, path=name, remote=normal, github=github, added_at=time.time())
                entries[name] = entry
                self._save(entries)
        return entry, True
