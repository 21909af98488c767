"""Path confinement: text rules, symbolic links on reads, and writes that never follow a link."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sophia.code import paths
from sophia.kit import ToolError


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("src/app.py", "src/app.py"),
        ("./src//app.py", "src/app.py"),
        ("src/./app.py", "src/app.py"),
        ("dir/", "dir"),
        ("~backup", "~backup"),  # a literal name: nothing is ever expanded
        ("%2e%2e/x", "%2e%2e/x"),  # a literal name: nothing is ever decoded
        ("ünïcödé/файл.txt", "ünïcödé/файл.txt"),
        (".github/workflows/ci.yml", ".github/workflows/ci.yml"),
        (".gitignore", ".gitignore"),
    ],
)
def test_clean_normalises_harmless_paths(given: str, expected: str) -> None:
    assert paths.clean(given) == expected


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("../x", "'..'"),
        ("a/../../x", "'..'"),
        ("/etc/passwd", "absolute"),
        ("C:/Windows", "absolute"),
        ("c:x", "absolute"),
        ("a\\..\\b", "backslash"),
        ("x\x00y", "control"),
        ("x\ny", "control"),
        (".git/config", ".git"),
        ("sub/.git/HEAD", ".git"),
        (".GIT/config", ".git"),
        (".git./config", ".git"),
        (".git /config", ".git"),
        ("GIT~1/config", ".git"),
        ("", "root"),
        (".", "root"),
        ("a" * 2000, "longer"),
    ],
)
def test_clean_refuses_escapes(given: str, reason: str) -> None:
    with pytest.raises(ToolError, match=reason):
        paths.clean(given)


def test_root_is_allowed_only_when_asked() -> None:
    assert paths.clean("", allow_root=True) == ""
    assert paths.clean("./", allow_root=True) == ""


def test_confine_refuses_links_out_of_the_repository_and_into_git(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "src").mkdir()
    (repo / "src" / "a.py").write_text("a")
    (tmp_path / "secret").write_text("s")
    (repo / "out").symlink_to(tmp_path / "secret")
    (repo / "outdir").symlink_to(tmp_path)
    (repo / "gitlink").symlink_to(repo / ".git")
    (repo / "inside").symlink_to(repo / "src" / "a.py")
    for rel in ("out", "outdir/secret", "gitlink/config"):
        with pytest.raises(ToolError, match="symbolic link"):
            paths.confine(repo, rel)
    assert paths.confine(repo, "inside") == (repo / "src" / "a.py").resolve()
    assert paths.read_file(repo, "inside", 100) == b"a"


def test_read_file_refuses_big_files_before_reading(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"x" * 101)
    with pytest.raises(ToolError, match="101 bytes; the limit is 100"):
        paths.read_file(tmp_path, "big", 100)


def test_write_file_is_atomic_keeps_mode_and_creates_folders(tmp_path: Path) -> None:
    script = tmp_path / "run.sh"
    script.write_text("old")
    script.chmod(0o755)
    assert paths.write_file(tmp_path, "run.sh", b"new", None) == []
    assert script.read_text() == "new" and (script.stat().st_mode & 0o777) == 0o755
    assert paths.write_file(tmp_path, "a/b/c.txt", b"x", None) == ["a", "a/b"]
    assert (tmp_path / "a/b/c.txt").read_bytes() == b"x"
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_writes_never_go_through_links(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "real").mkdir()
    (repo / "dirlink").symlink_to(repo / "real")
    (repo / "target.txt").write_text("t")
    (repo / "filelink").symlink_to(repo / "target.txt")
    for rel in ("dirlink/new.txt", "filelink"):
        with pytest.raises(ToolError, match="symbolic links"):
            paths.write_file(repo, rel, b"x", None)
    with pytest.raises(ToolError, match="symbolic links"):
        paths.remove_file(repo, "filelink")
    assert os.listdir(repo / "real") == [] and (repo / "target.txt").read_text() == "t"
