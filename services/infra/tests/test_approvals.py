"""Server-declared approvals: on a production stack, up, refresh, rollback, config_set and new_stack wait for an
approver's grant; the same calls on a dev stack run now."""

from __future__ import annotations

from pydantic import SecretStr

from sophia.kit.approvals import GRANT, PROBE, sign_grant
from sophia.kit.security import InternalCredential
from sophia.kit.testing import ToolClient

from .conftest import INTERNAL_TOKEN, approved, make_stack


async def test_production_calls_wait_for_a_grant_and_run_with_one(tools: ToolClient) -> None:
    held = await tools.call("new_stack", stack="prod")
    assert held.is_error and held.structured_content == {
        "status": "approval_required",
        "reason": "new stack on production stack prod",
    }
    assert "unknown stack 'prod'" in await tools.error("outputs", stack="prod")  # nothing ran

    assert not (await approved(tools, "new_stack", stack="prod")).is_error
    held = await tools.call("config_set", stack="prod", key="replicas", value="2")
    assert held.structured_content["status"] == "approval_required"  # type: ignore[index]
    for key, value in (("replicas", "2"), ("dbPassword", "pw-1234")):
        assert not (await approved(tools, "config_set", stack="prod", key=key, value=value)).is_error
    plan = await tools.ok("preview", stack="prod")  # previews never wait
    held = await tools.call("up", stack="prod", plan_id=plan["plan_id"])
    assert held.structured_content["reason"] == "apply on production stack prod"  # type: ignore[index]
    done = await approved(tools, "up", stack="prod", plan_id=plan["plan_id"])
    assert not done.is_error and done.structured_content["resources_done"] == 3

    assert (await tools.call("refresh", stack="prod")).structured_content["status"] == "approval_required"  # type: ignore[index]
    assert not (await tools.call("refresh", stack="prod", preview_only=True)).is_error


async def test_dev_calls_run_now_and_probes_say_so(tools: ToolClient) -> None:
    await make_stack(tools)  # new_stack and config_set on dev ran without a grant
    probe = await tools.call_with_meta("config_set", {PROBE: True}, stack="prod", key="a", value="b")
    assert probe.structured_content["status"] == "approval_required"  # type: ignore[index]
    probe = await tools.call_with_meta("config_set", {PROBE: True}, stack="dev", key="a", value="b")
    assert probe.structured_content == {"status": "would_run"}
    assert "has no config key webapp:a" in await tools.error("config_get", stack="dev", key="a")  # nothing ran


async def test_a_grant_is_bound_to_its_arguments(tools: ToolClient) -> None:
    key = InternalCredential(SecretStr(INTERNAL_TOKEN)).signing_keys()[0]
    grant = sign_grant(key, "new_stack", {"stack": "prod"}, "one")
    error = await tools.call_with_meta("new_stack", {GRANT: grant}, stack="production")
    assert error.is_error and "other arguments" in error.content[0].text
