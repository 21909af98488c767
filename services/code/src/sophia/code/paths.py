"""Path confinement: every path a caller (or a model) names stays inside its repository and out of `.git`.

A path is first checked as text (`clean`): relative, forward slashes, no `..`, no NUL or control
characters, no drive letters, no component that is `.git` under any spelling a case-insensitive or
Windows file system would also read as `.git` (`.GIT`, `.git.`, `git~1`). Then it is resolved against
the repository (`confine`): a symbolic link whose target leaves the repository, or lands inside `.git`,
is refused. Writes are stricter (`write_file`, `remove_file`): no symbolic link anywhere on the path,
and every directory is opened relative to its parent's descriptor with ``O_NOFOLLOW``, so a link
swapped in between the check and the write cannot redirect it.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
from pathlib import Path

from sophia.kit import ToolError

MAX_PATH_CHARS = 1024
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def is_git_dir_name(part: str) -> bool:
    """True for `.git` and the spellings other file systems resolve to it (`.GIT`, `.git. `, `GIT~1`)."""
    folded = part.casefold().rstrip(". ")
    return folded in (".git", "git~1")


def _refuse(path: str, reason: str, what: str) -> ToolError:
    return ToolError(f"{what} {path!r} is not allowed: {reason}")


def clean(path: str, *, what: str = "path", allow_root: bool = False) -> str:
    """`path` as ``a/b/c`` relative to the repository ('' for its root), or a ToolError saying why not."""
    if not isinstance(path, str):
        raise ToolError(f"{what} must be a string")
    if len(path) > MAX_PATH_CHARS:
        raise _refuse(path[:40] + "...", f"longer than {MAX_PATH_CHARS} characters", what)
    if _CONTROL.search(path):
        raise _refuse(path, "it contains NUL or control characters", what)
    if "\\" in path:
        raise _refuse(path, "use forward slashes; backslashes are not path separators here", what)
    if path.startswith("/") or _DRIVE.match(path):
        raise _refuse(path, "it must be relative to the repository root, not absolute", what)
    parts = [part for part in path.split("/") if part not in ("", ".")]
    for part in parts:
        if part == "..":
            raise _refuse(path, "'..' would leave the repository", what)
        if is_git_dir_name(part):
            raise _refuse(path, "git's own files (.git) are off limits", what)
    if not parts and not allow_root:
        raise _refuse(path, "it names the repository root, not a file", what)
    return "/".join(parts)


def literal_specs(names: list[str] | None) -> list[str]:
    """git pathspecs that match exactly the given files or folders (a `*` in a name is a character)."""
    return [f":(literal){clean(name)}" for name in names or []]


def clean_glob(glob: str) -> str:
    """A file glob (`*.py`, `src/**/test_*.py`) under the same rules as a path."""
    cleaned = clean(glob, what="glob")
    if cleaned.startswith(":"):
        raise _refuse(glob, "it must not start with ':' (git pathspec magic)", "glob")
    return cleaned


def confine(root: Path, rel: str, *, what: str = "path") -> Path:
    """The absolute path of `rel` (already `clean`) in the repository at `root`, symbolic links resolved.

    Refuses a path whose resolution leaves `root` or enters `.git` anywhere below it.
    """
    base = root.resolve()
    target = (base / rel).resolve(strict=False)
    if target != base and not target.is_relative_to(base):
        raise _refuse(rel, "a symbolic link on it points outside the repository", what)
    if any(is_git_dir_name(part) for part in target.relative_to(base).parts):
        raise _refuse(rel, "a symbolic link on it points into git's own files (.git)", what)
    return target


def read_file(root: Path, rel: str, limit: int) -> bytes:
    """The bytes of the regular file `rel` (clean) in the working tree; refuses more than `limit` bytes."""
    target = confine(root, rel)
    try:
        # The resolved path has no links left; O_NOFOLLOW fails if one was swapped in since.
        fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ToolError(f"no file {rel!r} in the working tree") from None
    except IsADirectoryError:
        raise ToolError(f"{rel!r} is a directory, not a file") from None
    except OSError as exc:
        raise ToolError(f"cannot open {rel!r}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if stat.S_ISDIR(info.st_mode):
            raise ToolError(f"{rel!r} is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise ToolError(f"{rel!r} is not a regular file")
        if info.st_size > limit:
            raise ToolError(f"{rel!r} is {info.st_size} bytes; the limit is {limit} bytes")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ToolError(f"{rel!r} is larger than the limit of {limit} bytes")
    return data


def lexical_kind(root: Path, rel: str) -> str:
    """What is at `rel` without following a final link: 'file', 'dir', 'link', 'missing' or 'other'."""
    try:
        info = os.lstat(root / rel)
    except FileNotFoundError:
        return "missing"
    except NotADirectoryError:
        return "missing"
    if stat.S_ISLNK(info.st_mode):
        return "link"
    if stat.S_ISDIR(info.st_mode):
        return "dir"
    return "file" if stat.S_ISREG(info.st_mode) else "other"


def check_writable(root: Path, rel: str) -> None:
    """Refuse a write target reached through any symbolic link, or that is not a regular file."""
    base = root.resolve()
    current = base
    parts = rel.split("/")
    for index, part in enumerate(parts):
        current = current / part
        kind = lexical_kind(base, str(current.relative_to(base)))
        if kind == "link":
            raise _refuse(rel, "edits never write through symbolic links", "path")
        if kind == "missing":
            return
        last = index == len(parts) - 1
        if last and kind != "file":
            raise _refuse(rel, "it is not a regular file", "path")
        if not last and kind != "dir":
            raise _refuse(rel, f"{'/'.join(parts[: index + 1])!r} is not a directory", "path")


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class _Dirs:
    """Directory descriptors from the repository root down, each opened with O_NOFOLLOW."""

    def __init__(self, root: Path) -> None:
        self.fds = [os.open(root.resolve(), _DIR_FLAGS)]
        self.created: list[tuple[int, str]] = []
        self.created_paths: list[str] = []

    def descend(self, parts: list[str], create: bool) -> int:
        for index, part in enumerate(parts):
            try:
                fd = os.open(part, _DIR_FLAGS, dir_fd=self.fds[-1])
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(part, 0o755, dir_fd=self.fds[-1])
                self.created.append((self.fds[-1], part))
                self.created_paths.append("/".join(parts[: index + 1]))
                fd = os.open(part, _DIR_FLAGS, dir_fd=self.fds[-1])
            self.fds.append(fd)
        return self.fds[-1]

    def remove_created(self) -> None:
        for parent, name in reversed(self.created):
            with contextlib.suppress(OSError):
                os.rmdir(name, dir_fd=parent)

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)


def write_file(root: Path, rel: str, data: bytes, mode: int | None) -> list[str]:
    """Replace (or create) `rel` atomically with `data`; returns the directories it had to create.

    The new content goes to a temporary file in the same directory, is flushed, then renamed over the
    target: a reader sees the old file or the new one, never half of either.
    """
    check_writable(root, rel)
    *folders, name = rel.split("/")
    dirs = _Dirs(root)
    temp = f".{name}.sophia-{secrets.token_hex(6)}.tmp"
    try:
        try:
            parent = dirs.descend(folders, create=True)
        except OSError as exc:
            raise ToolError(f"cannot create the folders of {rel!r}: {exc.strerror}") from None
        try:
            existing = os.stat(name, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            existing = None
        if existing is not None and not stat.S_ISREG(existing.st_mode):
            raise _refuse(rel, "it is not a regular file", "path")
        file_mode = mode if mode is not None else (stat.S_IMODE(existing.st_mode) if existing else 0o644)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp, file_mode, dir_fd=parent)
            os.replace(temp, name, src_dir_fd=parent, dst_dir_fd=parent)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp, dir_fd=parent)
            raise
        return dirs.created_paths
    except BaseException:
        dirs.remove_created()
        raise
    finally:
        dirs.close()


def remove_file(root: Path, rel: str) -> None:
    """Delete the regular file `rel`; never through a symbolic link."""
    check_writable(root, rel)
    *folders, name = rel.split("/")
    dirs = _Dirs(root)
    try:
        parent = dirs.descend(folders, create=False)
        info = os.stat(name, dir_fd=parent, follow_symlinks=False)
        if not stat.S_ISREG(info.st_mode):
            raise _refuse(rel, "it is not a regular file", "path")
        os.unlink(name, dir_fd=parent)
    finally:
        dirs.close()


def remove_empty_dirs(root: Path, folders: list[str]) -> None:
    """Remove folders an undone write had created, deepest first, if they are empty again."""
    for folder in sorted(folders, key=lambda f: -f.count("/")):
        with contextlib.suppress(OSError):
            (root / folder).rmdir()
