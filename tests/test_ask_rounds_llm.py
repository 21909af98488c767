"""The wiring of `ask`'s plan -> run -> reflect loop and the critiqued answer, in a real gateway process.

The router here is the test stand-in (tests/support/standins/router.py): it plays the LLM from a script
(prompt substring -> reply), so the test decides what "the model" says at each stage: the intent, the
reflection on the results (a read and a deletion), the answer, its critique and the rewrite. The visual
server is its stand-in too (its tools echo their arguments). Nothing reaches a real provider.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fleet import GatewayProcess
from tests.support.llm_fleet import logged_calls, scripted_llm_gateway

QUERY = "find the banner we used at the expo"
FOLLOW_UP = {
    "done": False,
    "steps": [
        {"tool": "visual_describe", "arguments": {"image_id": "img-1"}, "why": "read what the banner says"},
        {"tool": "visual_remove_image", "arguments": {"image_id": "img-1"}, "why": "the model wants it gone"},
    ],
}
INTENT = {"domain": "creative", "action": "query", "capabilities": ["visual"], "requires_approval": False,
          "urgency": "exploratory"}  # fmt: skip
REWRITTEN = "The expo banner is img-1; removing it waits for an approver."


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[tuple[GatewayProcess, Path]]:
    # The first key found in a prompt picks the reply; every prompt quotes the request, so its key is last.
    script = {
        "Is the request served?": json.dumps(FOLLOW_UP),
        "Problems to fix": REWRITTEN,
        "Answer to check": json.dumps({"ok": False, "problems": ["it does not say the removal waits"]}),
        "What was done": "Found the banner.",
        "banner": json.dumps(INTENT),
    }
    log_dir = tmp_path_factory.mktemp("ask-rounds-llm")
    with scripted_llm_gateway(log_dir, script, ("visual",), redis_url, {"visual_search", "visual_remove_image"}) as up:
        yield up


calls = logged_calls


def test_a_reflection_adds_a_round_whose_change_waits_and_the_answer_is_refined(
    gateway: tuple[GatewayProcess, Path],
) -> None:
    process, call_log = gateway
    body = process.ask(QUERY)
    steps = body["plan"]["steps"]
    assert [s["tool"] for s in steps] == ["visual_search", "visual_describe", "visual_remove_image"]
    assert [s["id"] for s in steps[1:]] == ["r2s1", "r2s2"]
    assert body["steps"]["r2s1"]["status"] == "ok"  # a read the model asked for runs
    assert body["steps"]["r2s2"]["status"] == "held"  # a deletion it asked for waits for a person
    visual = [c["tool"] for c in calls(call_log) if c["service"] == "visual"]
    assert visual == ["search", "describe"]  # round 3 proposed the same calls again: nothing ran twice
    (pending,) = body["pending_approvals"]
    assert body["answer"].startswith(REWRITTEN)
    assert f"sophia approve {pending['id']}" in body["answer"].split("Next steps:")[1]
    prompts = [c["arguments"]["prompt"] for c in calls(call_log) if c["tool"] == "complete"]
    assert sum("Answer to check" in p and "Problems to fix" not in p for p in prompts) == 1  # ASK_REFINEMENTS=1
