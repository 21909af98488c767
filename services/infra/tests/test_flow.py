"""The tools end to end through MCP (in memory) against the pulumi stand-in (and a real pulumi when present)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from pydantic import SecretStr

from sophia.infra import InfraSettings
from sophia.kit.testing import ToolClient

from .conftest import PASSPHRASE, cloud, deploy, make_stack, started


async def test_preview_then_up_applies_the_plan_and_masks_secrets(tools: ToolClient) -> None:
    await make_stack(tools)
    plan = await tools.ok("preview", stack="dev")
    assert plan["changes"]["create"] == 4  # three resources and the stack itself
    assert plan["by_type"]["create"] == {
        "kubernetes:apps/v1:Deployment": 1,
        "kubernetes:core/v1:Service": 1,
        "aws:elasticache/cluster:Cluster": 1,
    }
    urns = {r["urn"] for r in plan["resources"]}
    assert "urn:pulumi:dev::webapp::aws:elasticache/cluster:Cluster::cache" in urns
    assert len(plan["plan_hash"]) == 64 and plan["plan_id"]
    cost = plan["cost"]
    assert cost["estimate"] is True and "Estimate" in cost["note"]
    # 2 replicas x 12 + a LoadBalancer service 18 + one cache.t3.micro node 12.41
    assert cost["monthly_delta"] == 54.41

    done = await tools.ok("up", stack="dev", plan_id=plan["plan_id"])
    assert done["resources_done"] == 3  # the stack resource itself is not counted
    assert done["outputs"]["dbPassword"] == "[secret]"
    assert done["outputs"]["endpoint"].startswith("web-")

    listed = await tools.ok("stacks")
    (dev,) = listed["stacks"]
    assert dev["name"] == "dev" and dev["resource_count"] == 4 and dev["last_update"] and not dev["production"]

    again = await tools.ok("preview", stack="dev")
    assert again["resources"] == [] and "nothing to apply" in again["next_step"]
    history = await tools.ok("history", stack="dev")
    assert history["updates"][0]["kind"] == "update" and history["updates"][0]["result"] == "succeeded"
    assert history["updates"][0]["config"]["webapp:dbPassword"] == "[secret]"


async def test_unknown_stack_and_unknown_project(tools: ToolClient) -> None:
    assert "unknown stack 'nope'" in await tools.error("preview", stack="nope")
    assert "unknown project 'other'" in await tools.error("outputs", stack="dev", project="other")
    assert "invalid stack name" in await tools.error("preview", stack="--help")


async def test_up_needs_a_saved_plan(tools: ToolClient) -> None:
    await make_stack(tools)
    assert "run preview first" in await tools.error("up", stack="dev", plan_id="0" * 32)
    assert "invalid plan_id" in await tools.error("up", stack="dev", plan_id="../../etc/passwd")
    await make_stack(tools, "qa")
    plan = await tools.ok("preview", stack="dev")
    assert "was made for stack dev" in await tools.error("up", stack="qa", plan_id=plan["plan_id"])


async def test_a_plan_is_refused_when_the_program_or_the_state_changed(
    tools: ToolClient, settings: InfraSettings, project: Path
) -> None:
    await make_stack(tools)
    plan = await tools.ok("preview", stack="dev")
    await tools.ok("config_set", stack="dev", key="replicas", value="5")
    assert "changed since plan" in await tools.error("up", stack="dev", plan_id=plan["plan_id"])

    plan = await tools.ok("preview", stack="dev")
    other = await tools.ok("preview", stack="dev")
    await tools.ok("up", stack="dev", plan_id=other["plan_id"])  # the state moves on
    assert f"stack dev changed since plan {plan['plan_id']}" in await tools.error(
        "up", stack="dev", plan_id=plan["plan_id"]
    )

    await tools.ok("config_set", stack="dev", key="replicas", value="3")
    plan = await tools.ok("preview", stack="dev")
    plan_file = settings.state_dir / "plans" / f"{plan['plan_id']}.plan.json"
    plan_file.write_text(plan_file.read_text().replace('"update"', '"delete"'))
    assert "no longer matches its hash" in await tools.error("up", stack="dev", plan_id=plan["plan_id"])

    plan = await tools.ok("preview", stack="dev")
    (project / "Pulumi.yaml").write_text((project / "Pulumi.yaml").read_text().replace("t3.micro", "t3.small"))
    assert "program of project webapp" in await tools.error("up", stack="dev", plan_id=plan["plan_id"])


async def test_a_plan_is_single_use(tools: ToolClient) -> None:
    await make_stack(tools)
    plan = await tools.ok("preview", stack="dev")
    await tools.ok("up", stack="dev", plan_id=plan["plan_id"])
    assert "run preview first" in await tools.error("up", stack="dev", plan_id=plan["plan_id"])


async def test_a_failure_half_way_leaves_a_true_state_and_names_the_resource(
    tools: ToolClient, standin_only: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_stack(tools)
    plan = await tools.ok("preview", stack="dev")
    monkeypatch.setenv("PULUMI_STANDIN_FAIL_ON", "lb")
    error = await tools.error("up", stack="dev", plan_id=plan["plan_id"])
    monkeypatch.delenv("PULUMI_STANDIN_FAIL_ON")
    assert "urn:pulumi:dev::webapp::kubernetes:core/v1:Service::lb" in error
    listed = await tools.ok("stacks")
    assert listed["stacks"][0]["resource_count"] == 2  # the stack and `web` were created before `lb` failed
    history = await tools.ok("history", stack="dev")
    assert history["updates"][0]["result"] == "failed"
    # The state is whole: a new preview plans exactly what is left, and applying it completes the stack.
    rest = await tools.ok("preview", stack="dev")
    assert rest["changes"] == {"create": 2, "same": 2}
    await tools.ok("up", stack="dev", plan_id=rest["plan_id"])
    assert (await tools.ok("stacks"))["stacks"][0]["resource_count"] == 4


async def test_config_values_with_shell_metacharacters_are_one_argument(tools: ToolClient, tmp_path: Path) -> None:
    await make_stack(tools)
    canary = tmp_path / "pwned"
    value = f"--yes $(touch {canary}); `touch {canary}` | rm -rf / && echo 'x' \"y\" > {canary} *"
    await tools.ok("config_set", stack="dev", key="webapp:banner", value=value)
    got = await tools.ok("config_get", stack="dev", key="banner")
    assert got["value"] == value and got["secret"] is False
    assert not canary.exists()
    assert "invalid config key" in await tools.error("config_set", stack="dev", key="a;b", value="1")


async def test_secrets_never_reach_results_or_logs(
    tools: ToolClient, caplog: pytest.LogCaptureFixture, settings: InfraSettings
) -> None:
    secret = "Zebra-Canary-7781-secret"
    caplog.set_level(logging.DEBUG)
    await make_stack(tools, password=secret)
    results = [
        await tools.ok("config_get", stack="dev", key="dbPassword"),
        await tools.ok("preview", stack="dev"),
    ]
    results.append(await tools.ok("up", stack="dev", plan_id=results[1]["plan_id"]))
    results += [
        await tools.ok("outputs", stack="dev"),
        await tools.ok("history", stack="dev"),
        await tools.ok("stacks"),
        await tools.ok("config_set", stack="dev", key="dbPassword", value=secret + "2", secret=True),
        await tools.ok("rollback", stack="dev", version=1),
        await tools.ok("new_stack", stack="dev2", copy_config_from="dev"),
        await tools.ok("refresh", stack="dev", preview_only=True),
    ]
    assert results[0]["value"] == "[secret]"
    text = json.dumps(results)
    assert secret not in text
    assert settings.passphrase is not None
    assert settings.passphrase.get_secret_value() not in text
    logs = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert secret not in logs and settings.passphrase.get_secret_value() not in logs
    # Errors on the stack carry no secret either.
    assert secret not in await tools.error("config_get", stack="dev", key="missing")


async def test_drift_is_reported_then_refreshed(tools: ToolClient, settings: InfraSettings, standin_only: None) -> None:
    await make_stack(tools)
    await deploy(tools)
    live = json.loads(cloud(settings).read_text())
    web = "urn:pulumi:dev::webapp::kubernetes:apps/v1:Deployment::web"
    live[web]["spec"] = {"replicas": 9}
    del live["urn:pulumi:dev::webapp::kubernetes:core/v1:Service::lb"]
    cloud(settings).write_text(json.dumps(live))

    report = await tools.ok("refresh", stack="dev", preview_only=True)
    drift = {(d["op"], d["urn"].rsplit("::", 1)[-1]): d["diffs"] for d in report["drifted"]}
    assert drift == {("update", "web"): ["spec"], ("delete", "lb"): []}
    assert report["applied"] is False and report["in_sync"] == 1
    applied = await tools.ok("refresh", stack="dev")
    assert applied["applied"] is True
    assert (await tools.ok("refresh", stack="dev", preview_only=True))["drifted"] == []


async def test_destroy_reports_what_went(tools: ToolClient) -> None:
    await make_stack(tools)
    await deploy(tools)
    shown = await tools.ok("preview", stack="dev", destroy=True)
    assert shown["plan_id"] is None and shown["changes"]["delete"] == 4
    gone = await tools.ok("destroy", stack="dev")
    assert {d["urn"].rsplit("::", 1)[-1] for d in gone["deleted"]} == {"web", "lb", "cache"}
    assert (await tools.ok("outputs", stack="dev"))["outputs"] == {}


async def test_rollback_restores_a_previous_configuration_as_a_preview(tools: ToolClient) -> None:
    await make_stack(tools)
    await deploy(tools)
    await tools.ok("config_set", stack="dev", key="replicas", value="6")
    await tools.ok("config_set", stack="dev", key="extra", value="1")
    await deploy(tools)
    back = await tools.ok("rollback", stack="dev", version=1)
    assert back["restored_keys"] == ["webapp:replicas"] and back["removed_keys"] == ["webapp:extra"]
    assert back["preview"]["by_type"] == {"update": {"kubernetes:apps/v1:Deployment": 1}}
    assert back["preview"]["cost"]["monthly_delta"] == -48.0
    assert (await tools.ok("config_get", stack="dev", key="replicas"))["value"] == "2"
    assert "no deployment version 99" in await tools.error("rollback", stack="dev", version=99)


async def test_new_stack_copies_configuration(tools: ToolClient) -> None:
    await make_stack(tools)
    made = await tools.ok("new_stack", stack="staging", copy_config_from="dev")
    assert made["copied_keys"] == ["webapp:dbPassword", "webapp:replicas"]
    assert (await tools.ok("config_get", stack="staging", key="dbPassword"))["secret"] is True
    assert "already exists" in await tools.error("new_stack", stack="staging")


async def test_a_lock_held_outside_this_service_is_reported(
    tools: ToolClient, settings: InfraSettings, standin_only: None
) -> None:
    await make_stack(tools)
    plan = await tools.ok("preview", stack="dev")
    held = Path(settings.backend.removeprefix("file://")) / ".pulumi" / "locks" / "webapp" / "dev" / "other.json"
    held.parent.mkdir(parents=True, exist_ok=True)
    held.write_text("{}")
    error = await tools.error("up", stack="dev", plan_id=plan["plan_id"])
    assert "locked by another pulumi update (outside this service)" in error


async def test_without_a_passphrase_or_a_cli_infra_says_it_is_not_configured(
    settings: InfraSettings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings.passphrase = None
    async with started(settings) as tools:
        assert "not configured: the state backend needs a passphrase" in await tools.error("stacks")
    settings.passphrase = SecretStr(PASSPHRASE)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    async with started(settings) as tools:
        assert "not configured: the pulumi CLI is not installed" in await tools.error("stacks")
