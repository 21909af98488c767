"""The executor without a fleet: it orders a plan's DAG and maps each step's pipeline outcome to a result.

Servers are the in-process recording servers of test_pipeline; Redis is a real throwaway server.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from sophia.gateway.executor import Executor
from sophia.gateway.planner import STEP_REF, UNASKED, Plan, Step

from .test_pipeline import Rig, build_rig


@pytest.fixture
async def rig(redis_url: str) -> AsyncIterator[Rig]:
    built = await build_rig(redis_url)
    yield built
    await built.close()


def step(id_: str, tool: str, depends_on: tuple[str, ...] = (), **fields: object) -> Step:
    arguments = fields.pop("arguments", {"text": id_})
    return Step(id=id_, tool=tool, arguments=arguments, depends_on=list(depends_on), **fields)  # type: ignore[arg-type]


async def test_independent_steps_run_in_parallel_and_results_flow_along_edges(rig: Rig) -> None:
    rig.server.delay_s = 0.2
    plan = Plan(
        steps=[
            step("s1", "svc_read"),
            step("s2", "svc_read"),
            step("s3", "svc_write", ("s1",), arguments={"text": {STEP_REF: "s1"}}),
        ]
    )
    started = time.perf_counter()
    outcomes = await Executor(rig.pipeline, 5).run(plan, query="q")
    elapsed = time.perf_counter() - started
    assert [o.status for o in outcomes.values()] == ["ok", "ok", "ok"]
    assert elapsed < 0.55  # s1 and s2 together, then s3: two rounds, not three
    assert rig.server.calls[-1][:2] == ("write", {"text": "ok"})  # s1's text became s3's argument


async def test_a_failed_step_skips_its_dependents_and_the_others_finish(rig: Rig) -> None:
    from sophia.gateway.errors import UpstreamRejected

    rig.server.answers = [UpstreamRejected("svc", {"code": -32602, "message": "no"})]
    plan = Plan(steps=[step("s1", "svc_write"), step("s2", "svc_read", ("s1",)), step("s3", "svc_nothing")])
    outcomes = await Executor(rig.pipeline, 5).run(plan, query="q")
    assert outcomes["s1"].status == "failed" and outcomes["s1"].error.type == "UpstreamRejected"  # type: ignore[union-attr]
    assert outcomes["s2"].status == "skipped" and "did not succeed" in outcomes["s2"].error.message  # type: ignore[union-attr]
    assert outcomes["s3"].error.type == "UnknownTool"  # type: ignore[union-attr]


async def test_a_flagged_or_risky_step_is_held_and_its_dependents_wait(rig: Rig) -> None:
    plan = Plan(
        steps=[
            step("s1", "svc_drop"),
            step("s2", "svc_write", requires_approval=True),
            step("s3", "svc_read", ("s2",)),
        ]
    )
    outcomes = await Executor(rig.pipeline, 5).run(plan, query="clean up")
    assert outcomes["s1"].status == outcomes["s2"].status == "held"
    assert outcomes["s2"].approval["reason"].startswith("step s2 of a plan for: clean up")  # type: ignore[index]
    assert "waiting for approval" in outcomes["s3"].error.message  # type: ignore[union-attr]
    assert rig.server.calls == []


async def test_a_step_held_only_because_it_could_not_be_asked_is_decided_by_its_server_as_it_runs(rig: Rig) -> None:
    """ "Find X, then post it in #team": the post could not be asked at planning (its text was to come from the
    search), so the plan marked it held; once its arguments are known its server's own check decides. An
    internal channel runs at once; where the server says the call needs approval, exactly that call is held."""
    from sophia.kit.approvals import approval_required_result

    plan = Plan(
        steps=[
            step("s1", "svc_read"),
            step("s2", "svc_push", ("s1",), arguments={"text": {STEP_REF: "s1"}}, requires_approval=True,
                 approval_reason=UNASKED),
        ]
    )  # fmt: skip
    outcomes = await Executor(rig.pipeline, 5).run(plan, query="find it, then post it")
    assert [o.status for o in outcomes.values()] == ["ok", "ok"]
    assert rig.server.calls[-1][:2] == ("push", {"text": "ok"})

    rig.server.answers = [
        {"content": [{"type": "text", "text": "found"}], "isError": False},
        approval_required_result("#ext-acme is shared with another organisation").model_dump(by_alias=True),
    ]
    outcomes = await Executor(rig.pipeline, 5).run(plan, query="find it, then post it")
    assert outcomes["s2"].status == "held"
    assert outcomes["s2"].approval["reason"] == "#ext-acme is shared with another organisation"  # type: ignore[index]


async def test_a_step_that_outlasts_its_deadline_is_a_step_timeout(rig: Rig) -> None:
    rig.server.delay_s = 1
    outcomes = await Executor(rig.pipeline, 0.2).run(Plan(steps=[step("s1", "svc_read")]), query="q")
    assert outcomes["s1"].error.type == "StepTimeout"  # type: ignore[union-attr]


async def test_a_step_missing_an_argument_is_not_run(rig: Rig) -> None:
    plan = Plan(steps=[step("s1", "svc_write", missing=["repo"])])
    outcomes = await Executor(rig.pipeline, 5).run(plan, query="q")
    assert outcomes["s1"].error.type == "MissingArguments" and rig.server.calls == []  # type: ignore[union-attr]


async def test_a_field_edge_passes_one_field_of_the_upstream_structured_result(rig: Rig) -> None:
    rig.server.answers = [{"content": [], "structuredContent": {"plan_id": "p-42", "noise": "x"}}]
    plan = Plan(
        steps=[
            step("s1", "svc_read"),
            step("s2", "svc_write", ("s1",), arguments={"text": {STEP_REF: "s1", "field": "plan_id"}}),
        ]
    )
    outcomes = await Executor(rig.pipeline, 5).run(plan, query="q")
    assert outcomes["s2"].status == "ok"
    assert rig.server.calls[-1][:2] == ("write", {"text": "p-42"})


async def test_a_step_whose_identifier_the_earlier_step_did_not_find_is_not_run(rig: Rig) -> None:
    """A search that found nothing gives a delete no id: the delete is skipped and says why, instead of being
    sent without it (a schema error at best, a default target at worst)."""
    rig.server.answers = [{"content": [], "structuredContent": {"items": []}}]
    plan = Plan(
        steps=[
            step("s1", "svc_read"),
            step("s2", "svc_write", ("s1",), arguments={"text": {STEP_REF: "s1", "field": "items.0.id"}}),
        ]
    )
    outcomes = await Executor(rig.pipeline, 5).run(plan, query="q")
    assert outcomes["s1"].status == "ok" and outcomes["s2"].status == "skipped"
    assert outcomes["s2"].error.type == "NothingFound"  # type: ignore[union-attr]
    assert "s1 found no items.0.id for text" in outcomes["s2"].error.message  # type: ignore[union-attr]
    assert [call[0] for call in rig.server.calls] == ["read"]
