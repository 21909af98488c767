from __future__ import annotations

import pytest

from sophia.kit import ToolError
from sophia.memory.records import Record, check_id, check_namespace, check_tags, check_text


@pytest.mark.parametrize("name", ["default", "team-a", "Acme.eng_2", "x"])
def test_valid_namespaces_pass(name: str) -> None:
    assert check_namespace(name) == name


@pytest.mark.parametrize("name", ["", "-lead", "a b", "a:b", "x" * 65, "é"])
def test_invalid_namespaces_are_refused(name: str) -> None:
    with pytest.raises(ToolError, match="invalid namespace"):
        check_namespace(name)


def test_empty_and_oversized_text_are_refused() -> None:
    with pytest.raises(ToolError, match="empty"):
        check_text("  \n ", 100)
    with pytest.raises(ToolError, match="limit is 100 bytes"):
        check_text("é" * 51, 100)  # 102 bytes in UTF-8: the limit counts bytes, not characters


def test_tags_are_deduplicated_and_checked() -> None:
    assert check_tags(["a", "b", "a"], 5) == ["a", "b"]
    with pytest.raises(ToolError, match="at most 1"):
        check_tags(["a", "b"], 1)
    with pytest.raises(ToolError, match="invalid tag"):
        check_tags(["has space"], 5)


def test_ids_must_be_uuids() -> None:
    with pytest.raises(ToolError, match="invalid memory id"):
        check_id("42")


def test_payload_round_trip_keeps_the_current_flag() -> None:
    record = Record(id=check_id("8c8e5d2a-0f7e-4bb1-9a51-2f1b7a0c1d11"), namespace="n", text="t", superseded_by="x")
    payload = record.payload()
    assert payload["current"] is False
    assert Record.from_payload(record.id, payload) == record
