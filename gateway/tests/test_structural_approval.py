"""Approval by structure: a request needs approval when any step of its plan would be held, whatever its
words said (`Asker.classify` serves `/v1/intent` and `classify_intent`; `ask` uses the same rule)."""

from __future__ import annotations

from typing import Any

from sophia.gateway.ask import Asker, _with_structural_approval
from sophia.gateway.intent.engine import Reading
from sophia.gateway.intent.schema import Intent
from sophia.gateway.planner import Plan, Step

CALM = Intent(domain="administrative", action="modify", capabilities=["memory"], targets=[], risk_level="medium",
              requires_approval=False, confidence=0.8, urgency="planned")  # fmt: skip


def plan(*held: bool) -> Plan:
    return Plan(steps=[Step(id=f"s{i}", tool="memory_prune_apply", arguments={}, requires_approval=h)
                       for i, h in enumerate(held, start=1)])  # fmt: skip


def test_a_held_step_makes_the_request_need_approval_and_raises_its_risk() -> None:
    intent = _with_structural_approval(CALM, plan(False, True))
    assert intent.requires_approval and intent.risk_level == "high"
    assert intent.domain == CALM.domain and intent.capabilities == CALM.capabilities  # nothing else changes


def test_a_plan_with_nothing_held_leaves_the_words_deciding() -> None:
    assert _with_structural_approval(CALM, plan(False, False)) == CALM
    loud = CALM.model_copy(update={"requires_approval": True, "risk_level": "critical"})
    assert _with_structural_approval(loud, plan()) == loud  # the words alone may ask for approval


class Engine:
    async def read(self, query: str, *, offline: bool = False) -> Reading:
        return Reading(intent=CALM, clauses=[query], clause_vectors=None)  # type: ignore[arg-type]


class Planner:
    """Plans as the real planner would for a tool its server holds (risk at the approval threshold)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def plan(self, query: str, intent: Intent, namespace: str, clause_vectors: Any = None) -> Plan:
        self.calls.append((query, namespace))
        return plan(True)


async def test_classify_consults_the_planner_dry_with_the_callers_namespace() -> None:
    planner = Planner()
    asker = Asker(Engine(), planner, executor=None, llm=None)  # type: ignore[arg-type]
    intent = await asker.classify("tidy the ops notes by dropping the repeats", "ops")
    assert intent.requires_approval is True
    assert planner.calls == [("tidy the ops notes by dropping the repeats", "ops")]
