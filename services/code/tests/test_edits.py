"""Parsing and applying edits: search/replace blocks and unified diffs, as callers and models write them."""

from __future__ import annotations

import pytest

from sophia.code.edits import apply, parse
from sophia.kit import ToolError

CODE = "def greet(name):\n    return 'hi ' + name\n\n\ndef add(a, b):\n    return a + b\n"


def edit_one(patch: str, original: str | None, path: str | None = "app.py") -> str | None:
    edits = parse(patch, path)
    assert len(edits) == 1
    return apply(edits[0], original)


def test_search_replace_block_replaces_exactly_once() -> None:
    patch = "<<<<<<< SEARCH\n    return a + b\n=======\n    return a - b\n>>>>>>> REPLACE\n"
    assert edit_one(patch, CODE) == CODE.replace("a + b", "a - b")


def test_blocks_name_their_files_and_several_blocks_apply_in_order() -> None:
    patch = (
        "Some prose first.\n\napp.py\n```python\n<<<<<<< SEARCH\ndef greet(name):\n=======\n"
        "def greet(name, loud=False):\n>>>>>>> REPLACE\n```\n\n`app.py`\n<<<<<<< SEARCH\n    return a + b\n"
        "=======\n    return b + a\n>>>>>>> REPLACE\nnew/mod.py\n<<<<<<< SEARCH\n=======\nVALUE = 1\n>>>>>>> REPLACE\n"
    )
    edits = parse(patch, None)
    assert [(e.path, len(e.blocks), e.create) for e in edits] == [("app.py", 2, False), ("new/mod.py", 1, True)]
    result = apply(edits[0], CODE)
    assert result is not None and "loud=False" in result and "b + a" in result
    assert apply(edits[1], None) == "VALUE = 1\n"


def test_search_tolerates_trailing_whitespace_only() -> None:
    original = "x = 1   \ny = 2\n"
    assert edit_one("<<<<<<< SEARCH\nx = 1\n=======\nx = 3\n>>>>>>> REPLACE", original) == "x = 3\ny = 2\n"
    with pytest.raises(ToolError, match="does not occur"):
        edit_one("<<<<<<< SEARCH\n  x = 1\n=======\nx = 3\n>>>>>>> REPLACE", original)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ("<<<<<<< SEARCH\n\n=======\nx\n>>>>>>> REPLACE", r"occurs \d+ times"),
        ("<<<<<<< SEARCH\nnowhere\n=======\nx\n>>>>>>> REPLACE", "does not occur"),
        ("<<<<<<< SEARCH\ndef add\n=======\nx\n", "not closed"),
        ("<<<<<<< SEARCH\n=======\nx\n>>>>>>> REPLACE", "already exists"),
        ("just some words", "neither a unified diff"),
        ("", "empty"),
    ],
)
def test_bad_blocks_are_refused_with_the_reason(patch: str, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        edit_one(patch, CODE)


def test_block_without_a_file_needs_path() -> None:
    with pytest.raises(ToolError, match="names no file"):
        parse("<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE", None)


def test_unified_diff_with_wrong_line_numbers_still_applies_by_context() -> None:
    patch = (
        "--- a/app.py\n+++ b/app.py\n@@ -40,2 +40,2 @@\n def add(a, b):\n-    return a + b\n+    return sum((a, b))\n"
    )
    assert edit_one(patch, CODE, None) == CODE.replace("return a + b", "return sum((a, b))")


def test_unified_diff_from_git_with_several_hunks_and_no_prefix_header() -> None:
    original = "".join(f"line {i}\n" for i in range(1, 31))
    patch = (
        "diff --git a/f.txt b/f.txt\nindex 1..2 100644\n--- a/f.txt\n+++ b/f.txt\n"
        "@@ -2,3 +2,3 @@\n line 2\n-line 3\n+line three\n line 4\n"
        "@@ -27,3 +27,4 @@\n line 27\n line 28\n+line 28.5\n line 29\n"
    )
    result = edit_one(patch, original, None)
    assert result is not None
    assert "line three\n" in result and "line 28\nline 28.5\nline 29\n" in result
    assert result.count("\n") == 31


def test_diff_creates_and_deletes_files() -> None:
    create = parse("--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1,2 @@\n+one\n+two\n", None)[0]
    assert create.create and apply(create, None) == "one\ntwo\n"
    delete = parse("--- a/old.txt\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-one\n-two\n", None)[0]
    assert delete.delete and apply(delete, "one\ntwo\n") is None
    with pytest.raises(ToolError, match="does not remove all"):
        apply(delete, "one\ntwo\nthree\n")
    with pytest.raises(ToolError, match="already exists"):
        apply(create, "x\n")


def test_mismatching_hunk_is_refused() -> None:
    patch = "--- a/app.py\n+++ b/app.py\n@@ -1,1 +1,1 @@\n-def nothing():\n+def something():\n"
    with pytest.raises(ToolError, match="does not match the file"):
        edit_one(patch, CODE, None)


def test_line_endings_bom_and_missing_final_newline_are_kept() -> None:
    crlf = "\ufeffa = 1\r\nb = 2"
    result = edit_one("<<<<<<< SEARCH\nb = 2\n=======\nb = 3\n>>>>>>> REPLACE\n", crlf)
    assert result == "\ufeffa = 1\r\nb = 3"
    patch = "--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,2 @@\n a = 1\n-b = 2\n\\ No newline at end of file\n+b = 4\n"
    assert edit_one(patch, "a = 1\nb = 2", None) == "a = 1\nb = 4\n"


def test_removed_line_that_looks_like_a_header_is_not_one() -> None:
    sql = "select 1;\n-- old comment\nselect 2;\n"
    patch = "--- a/q.sql\n+++ b/q.sql\n@@ -1,3 +1,2 @@\n select 1;\n--- old comment\n select 2;\n"
    assert edit_one(patch, sql, None) == "select 1;\nselect 2;\n"


def test_paths_in_patches_are_confined() -> None:
    for patch in (
        "../evil.py\n<<<<<<< SEARCH\n=======\nx\n>>>>>>> REPLACE",
        "--- a/.git/config\n+++ b/.git/config\n@@ -1 +1 @@\n-a\n+b\n",
        "--- /dev/null\n+++ /etc/cron.d/x\n@@ -0,0 +1 @@\n+x\n",
    ):
        with pytest.raises(ToolError, match="not allowed"):
            parse(patch, None)
