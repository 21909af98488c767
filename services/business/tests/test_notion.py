"""Markdown to Notion blocks, and page ids checked before any call."""

from __future__ import annotations

import pytest

from sophia.business.connectors.notion import check_page_id, markdown_blocks, plain_text
from sophia.business.http import Rejected


def kinds_and_text(markdown: str) -> list[tuple[str, str]]:
    return [(b["type"], plain_text(b[b["type"]]["rich_text"])) for b in markdown_blocks(markdown)]


def test_markdown_becomes_the_matching_blocks() -> None:
    markdown = "# Title\n## Sub\nfirst line\nsame paragraph\n\n- bullet\n1. one\n- [x] done\n> quoted\n```\ncode\n```\n"
    assert kinds_and_text(markdown) == [
        ("heading_1", "Title"),
        ("heading_2", "Sub"),
        ("paragraph", "first line same paragraph"),
        ("bulleted_list_item", "bullet"),
        ("numbered_list_item", "one"),
        ("to_do", "done"),
        ("quote", "quoted"),
        ("code", "code"),
    ]
    assert markdown_blocks("- [x] done")[0]["to_do"]["checked"] is True


def test_long_text_is_split_into_runs_notion_accepts() -> None:
    (block,) = markdown_blocks("y" * 4_500)
    assert [len(run["text"]["content"]) for run in block["paragraph"]["rich_text"]] == [2_000, 2_000, 500]


@pytest.mark.parametrize("bad", ["../users/me", "1d1f0c1e-0000-4000-8000-00000000zzzz", "", "a" * 33])
def test_page_ids_are_checked(bad: str) -> None:
    with pytest.raises(Rejected):
        check_page_id(bad)
