"""`ask` with the real memory service: the requests the issue names, from a fresh install on.

A real gateway process and the real memory service (Qdrant local mode under a temp dir, real Redis),
on loopback. LLM off: the offline classifier, planner and rendered answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import sophia.memory.__main__ as memory_entry_point
from sophia.kit.testing import KitServer
from tests.support.fleet import GatewayProcess


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[GatewayProcess]:
    root = tmp_path_factory.mktemp("ask-memory")
    env = {"REDIS_URL": redis_url, "SOPHIA_DATA_DIR": str(root / "memory")}
    with KitServer(Path(memory_entry_point.__file__), "memory", root, env=env) as memory:
        fleet = GatewayProcess([memory.grpc_address], root, extra_env={"SOPHIA_GATEWAY_REDIS_URL": redis_url}).start()
        try:
            fleet.wait_for_tools({"memory_recall", "memory_forget", "memory_stats"}, timeout=60)
            yield fleet
        finally:
            fleet.stop()


def ask(gateway: GatewayProcess, query: str, **fields: Any) -> dict[str, Any]:
    return gateway.ask(query, **fields)


def tools(body: dict[str, Any]) -> list[str]:
    return [step["tool"] for step in body["plan"]["steps"]]


def test_a_fresh_install_says_nothing_is_stored_yet(gateway: GatewayProcess) -> None:
    body = ask(gateway, "how many memories do we have?", namespace="fresh")
    assert tools(body) == ["memory_stats"]
    assert "Nothing is stored in namespace fresh yet." in body["answer"]
    assert "{" not in body["answer"]  # rendered, never JSON


def test_remember_then_recall_then_a_held_forget(gateway: GatewayProcess) -> None:
    stored = ask(gateway, "remember that the Acme renewal is due on March 3 at 40k")
    assert tools(stored) == ["memory_remember"]
    assert stored["plan"]["steps"][0]["arguments"]["text"] == "the Acme renewal is due on March 3 at 40k"
    assert stored["steps"]["s1"]["status"] == "ok"

    recalled = ask(gateway, "what do we know about the Acme renewal?")
    assert tools(recalled) == ["memory_recall"]
    assert recalled["plan"]["steps"][0]["arguments"]["query"] == "the Acme renewal"
    assert "the Acme renewal is due on March 3 at 40k" in recalled["answer"]

    forgotten = ask(gateway, "delete the memory about the Acme renewal")
    assert tools(forgotten) == ["memory_recall", "memory_forget"]
    forget = forgotten["plan"]["steps"][1]
    assert forget["depends_on"] == ["s1"] and forget["requires_approval"] is True
    assert forgotten["steps"]["s2"]["status"] == "held"
    approval = forgotten["pending_approvals"][0]
    assert approval["arguments"]["id"] == stored["steps"]["s1"]["result"]["structuredContent"]["id"]
    assert f"sophia approve {approval['id']}" in forgotten["answer"]


def test_updating_a_note_writes_a_new_version_of_the_recalled_memory(gateway: GatewayProcess) -> None:
    """ "correct the note on X, Y" is a new version of what is stored about X (memory keeps the old one in
    its history): recall X, then remember "X: Y" superseding the best match. Nothing is deleted, so nothing
    waits for an approver; a plain "recall ... and remember ..." supersedes nothing."""
    namespace = "updates"
    stored = ask(gateway, "remember that the Umbra vendor freeze ends on the 5th", namespace=namespace)
    old_id = stored["steps"]["s1"]["result"]["structuredContent"]["id"]
    updated = ask(gateway, "correct the note on the Umbra vendor freeze, it ends on the 12th", namespace=namespace)
    assert tools(updated) == ["memory_recall", "memory_remember"]
    write = updated["plan"]["steps"][1]
    assert write["arguments"]["text"] == "the Umbra vendor freeze: it ends on the 12th"
    assert write["depends_on"] == ["s1"] and write["requires_approval"] is False
    assert updated["steps"]["s2"]["status"] == "ok"
    new_id = updated["steps"]["s2"]["result"]["structuredContent"]["id"]
    history = httpx.post(
        f"{gateway.url}/v1/tools/memory_history", json={"id": new_id, "namespace": namespace}, timeout=30
    )
    assert history.status_code == 200, history.text
    versions = history.json()["structuredContent"]["versions"]
    assert [v["id"] for v in versions] == [new_id, old_id]
    recalled = ask(gateway, "what do we know about the Umbra vendor freeze?", namespace=namespace)
    assert "it ends on the 12th" in recalled["answer"] and "ends on the 5th" not in recalled["answer"]

    both = ask(gateway, "recall the Umbra vendor freeze and remember that Ines owns it", namespace=namespace)
    assert "supersedes" not in both["plan"]["steps"][-1]["arguments"]


def test_intent_needs_approval_when_the_plan_would_hold_a_step(gateway: GatewayProcess) -> None:
    response = httpx.post(
        f"{gateway.url}/v1/intent", json={"query": "drop the note about the Acme renewal"}, timeout=60
    )
    assert response.status_code == 200, response.text
    assert response.json()["requires_approval"] is True


def test_a_session_resolves_it_from_recent_turns_and_records_each_answer(gateway: GatewayProcess) -> None:
    first = ask(gateway, "remember that the kiwi repo indents with tabs", session="conv-1")
    assert "resolved_query" not in first  # it named its own things
    followed = ask(gateway, "what do we know about it?", session="conv-1")
    assert followed["resolved_query"] == "what do we know about the kiwi repo?"
    assert "the kiwi repo indents with tabs" in followed["answer"]
    elsewhere = ask(gateway, "what do we know about it?", session="conv-2")  # another conversation: no context
    assert "resolved_query" not in elsewhere

    response = httpx.post(f"{gateway.url}/v1/tools/memory_recent_turns", json={"session_id": "conv-1"}, timeout=30)
    assert response.status_code == 200, response.text
    turns = response.json()["structuredContent"]["turns"]
    assert [t["role"] for t in turns] == ["user", "assistant", "user", "assistant"]
    assert turns[2]["text"] == "what do we know about it?"  # recorded as asked


def test_a_time_window_in_words_reaches_recall_as_since_and_until(gateway: GatewayProcess) -> None:
    ask(gateway, "remember that the Globex pilot starts in May", namespace="windows")
    recent = ask(gateway, "what do we know about the Globex pilot from the last 2 days?", namespace="windows")
    (step,) = recent["plan"]["steps"]
    assert step["tool"] == "memory_recall" and step["arguments"]["since"].endswith("Z")
    assert "the Globex pilot starts in May" in recent["answer"]
    old = ask(gateway, "what do we know about the Globex pilot from before 2020-01-01?", namespace="windows")
    assert old["plan"]["steps"][0]["arguments"]["until"] == "2020-01-01T00:00:00Z"
    assert old["steps"]["s1"]["status"] == "ok" and "the Globex pilot starts in May" not in old["answer"]
