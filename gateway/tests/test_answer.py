"""Answers without an LLM: each result rendered by its kind, in prose and bullets, never JSON."""

from __future__ import annotations

from typing import Any

from sophia.gateway.answer import template_answer
from sophia.gateway.executor import StepError, StepOutcome
from sophia.gateway.intent.schema import Intent
from sophia.gateway.planner import Plan, Step, Unplanned
from sophia.gateway.render import render_error, render_result, shorten

INTENT = Intent(domain="administrative", action="query", capabilities=["memory"], targets=[], risk_level="low",
                requires_approval=False, confidence=0.9, urgency="exploratory")  # fmt: skip


def result(content: Any) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": "{...}"}], "structuredContent": content, "isError": False}


def answer(steps: list[tuple[Step, StepOutcome]], unplanned: list[Unplanned] | None = None) -> str:
    plan = Plan(steps=[s for s, _ in steps], unplanned=unplanned or [])
    return template_answer(INTENT, plan, {s.id: o for s, o in steps})


def test_recalled_memories_read_as_bullets_with_their_ids() -> None:
    recalled = result({"namespace": "default", "items": [
        {"id": "m1", "text": "The Acme renewal is due on March 1 at 40k.", "score": 0.81},
        {"id": "m2", "text": "Acme's champion is Dana.", "score": 0.62}]})  # fmt: skip
    lines = render_result(recalled)
    assert lines[0] == "2 memories found in namespace default, closest first:"
    assert lines[1] == "- The Acme renewal is due on March 1 at 40k. (id m1)"
    assert "{" not in "\n".join(lines)


def test_a_stored_memory_and_a_new_version_are_said_plainly() -> None:
    assert render_result(result({"id": "m9", "namespace": "ops", "supersedes": None})) == [
        "Stored in namespace ops (id m9)."
    ]
    assert render_result(result({"id": "m9", "namespace": "ops", "supersedes": "m3"})) == [
        "Stored the new version in namespace ops (id m9); the earlier one (id m3) stays in its history."
    ]


def test_an_empty_recall_and_a_fresh_namespace_are_said_plainly() -> None:
    assert render_result(result({"namespace": "default", "items": []})) == [
        "Nothing stored in namespace default matches that yet."
    ]
    assert render_error("unknown namespace 'default'") == "Nothing is stored in namespace default yet."
    floor = {"namespace": "ops", "items": [], "nothing_relevant": True, "note": "nothing relevant to the query"}
    assert render_result(result(floor)) == ["Nothing stored in namespace ops is relevant to that."]
    fresh = {"namespace": "ops", "items": [], "nothing_relevant": True, "note": "nothing stored yet in namespace 'ops'"}
    assert render_result(result(fresh)) == ["Nothing is stored in namespace ops yet."]
    step = Step(id="s1", tool="memory_stats", arguments={})
    error = {"content": [{"type": "text", "text": "unknown namespace 'default'"}], "isError": True}
    failed = StepOutcome(id="s1", tool="memory_stats", status="tool_error", result=error)
    assert answer([(step, failed)]) == "memory_stats: Nothing is stored in namespace default yet."


def test_the_chosen_model_is_named_with_its_tier_cost_and_reasons() -> None:
    routed = result({"tier": "premium", "model": "claude-opus", "reasons": ["multi-step reasoning", "high stakes"],
                     "estimated_cost_usd": 0.0123})  # fmt: skip
    assert render_result(routed) == [
        "The router would use claude-opus (the premium tier), at about $0.0123 per call.",
        "Why: multi-step reasoning; high stakes.",
    ]


def test_review_findings_and_search_hits_are_listed_and_long_lists_counted() -> None:
    review = result({"findings": [{"file": "app.py", "line": 3, "severity": "warning", "message": "unused import"}]})
    assert render_result(review) == ["1 finding(s):", "- warning: app.py:3 unused import"]
    assert render_result(result({"findings": []})) == ["The review found no problems."]
    hits = result({"items": [{"id": f"img{i}", "title": f"mockup {i}", "score": 0.5} for i in range(12)],
                   "namespace": "default", "embedder": "clip"})  # fmt: skip
    lines = render_result(hits)
    assert lines[0] == "12 results:" and lines[1] == "- mockup 0 (score 0.5)" and lines[-1] == "- … and 4 more"


def test_long_text_is_cut_at_a_word_never_mid_word() -> None:
    text = "word " * 100
    cut = shorten(text, 23)
    assert cut == "word word word word …"


def test_a_held_step_says_how_to_approve_and_a_missing_argument_is_asked_for() -> None:
    held_step = Step(id="s1", tool="memory_forget", arguments={"id": "m1"}, requires_approval=True)
    held = StepOutcome(id="s1", tool="memory_forget", status="held", approval={"id": "ap-123"})
    missing_step = Step(id="s2", tool="infra_preview", arguments={}, missing=["stack"])
    error = StepError(type="MissingArguments", message="the request does not say stack")
    missing = StepOutcome(id="s2", tool="infra_preview", status="failed", error=error)
    text = answer([(held_step, held), (missing_step, missing)], [Unplanned(capability="code", reason="no code server")])
    assert "memory_forget: waiting for approval; nothing was changed yet." in text
    assert "infra_preview: not run, the request does not say which stack." in text
    assert "code: not done, no code server." in text
    assert text.endswith(
        "Next steps:\n- approve it with `sophia approve ap-123` (or deny it with `sophia deny ap-123`)\n"
        "- say which stack to use for infra_preview"
    )


def test_a_finished_preview_suggests_its_held_apply() -> None:
    step = Step(id="s1", tool="infra_preview", arguments={"stack": "dev"})
    done = StepOutcome(id="s1", tool="infra_preview", status="ok", result=result({"stack": "dev", "changes": 2}))
    text = answer([(step, done)])
    assert text.startswith("infra_preview (stack dev):\n- stack: dev\n- changes: 2")
    assert "ask to deploy it (the deploy waits for an approver)" in text


def test_a_hit_titled_by_its_place_says_what_it_holds() -> None:
    hits = result({"results": [{"title": "#sales", "snippet": "Globex wants a second pilot workspace", "score": 0.4}]})
    assert render_result(hits) == ["1 results:", "- #sales: Globex wants a second pilot workspace (score 0.4)"]


def test_a_listed_task_says_whose_it_is_and_when_it_is_due() -> None:
    tasks = result({"tasks": [{"id": "1", "name": "Send redlines", "assignee": "Dana Rivera", "due_on": "2026-12-08",
                               "completed": False, "notes": ""}]})  # fmt: skip
    assert render_result(tasks) == ["1 tasks:", "- Send redlines (assignee Dana Rivera, due on 2026-12-08)"]


def test_nothing_found_suggests_nothing_to_do_with_it() -> None:
    step = Step(id="s1", tool="memory_recall", arguments={"query": "Acme"})
    empty = StepOutcome(id="s1", tool="memory_recall", status="ok", result=result({"namespace": "ops", "items": []}))
    assert "Next steps" not in answer([(step, empty)])
    found = result({"namespace": "ops", "items": [{"id": "m1", "text": "Acme renews in March"}]})
    assert "ask to forget it by its id" in answer([(step, StepOutcome(id="s1", tool="memory_recall", status="ok",
                                                                      result=found))])  # fmt: skip


def test_a_result_says_where_it_comes_from_and_what_it_was_narrowed_to() -> None:
    step = Step(id="s1", tool="business_asana_tasks", arguments={"project": "Renewals", "limit": 50})
    done = StepOutcome(id="s1", tool="business_asana_tasks", status="ok", result=result({"tasks": []}))
    assert answer([(step, done)]).startswith("business_asana_tasks (project Renewals):\nNo tasks found.")
    recall = Step(id="s1", tool="memory_recall", arguments={"query": "x" * 61, "namespace": "default"})
    found = StepOutcome(id="s1", tool="memory_recall", status="ok", result=result({"items": []}))
    assert answer([(recall, found)]).startswith("memory_recall:\n")  # a long query is not repeated back


def test_a_step_that_had_nothing_to_act_on_says_which_step_found_nothing() -> None:
    search = Step(id="s1", tool="visual_search", arguments={"query": "old checkout"})
    delete = Step(id="s2", tool="visual_delete", arguments={}, depends_on=["s1"])
    found = StepOutcome(id="s1", tool="visual_search", status="ok", result=result({"items": []}))
    error = StepError(type="NothingFound", message="s1 found no items.0.id for ids")
    skipped = StepOutcome(id="s2", tool="visual_delete", status="skipped", error=error)
    text = answer([(search, found), (delete, skipped)])
    assert "visual_delete: not run, visual_search found nothing for it to act on." in text
    assert "did not complete" not in text
