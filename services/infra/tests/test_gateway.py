"""The wiring through the gateway: the real infra server (its own process, the pulumi stand-in on PATH) behind
a real gateway with Redis; the gateway lists the `infra_*` tools, a preview runs at once, and `infra_up` is
held for an approver and runs exactly the previewed plan once approved."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import sophia.infra.__main__ as entry_point
from sophia.kit.testing import KitServer
from tests.support.fleet import GatewayProcess

from .conftest import PASSPHRASE, PROGRAM, write_standin

TOKEN = "infra-fleet-internal-token-0123456789"
TOOLS = {
    f"infra_{name}"
    for name in ("stacks", "preview", "up", "destroy", "refresh", "outputs", "history", "cancel", "rollback",
                 "config_get", "config_set", "new_stack")
}  # fmt: skip


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[GatewayProcess]:
    root = tmp_path_factory.mktemp("infra-fleet")
    project = root / "webapp"
    project.mkdir()
    (project / "Pulumi.yaml").write_text(PROGRAM)
    path = f"{write_standin(root / 'bin')}{os.pathsep}{os.environ['PATH']}"
    server = KitServer(
        Path(entry_point.__file__),
        "infra",
        root / "logs",
        env={"PATH": path, "REDIS_URL": redis_url, "SOPHIA_INTERNAL_TOKEN": TOKEN},
        settings={
            "projects": str(project),
            "data_dir": str(root / "data"),
            "passphrase": PASSPHRASE,
            "log_format": "text",
        },
    )
    with server:
        fleet = GatewayProcess(
            [server.grpc_address],
            root / "logs",
            extra_env={"SOPHIA_GATEWAY_REDIS_URL": redis_url, "SOPHIA_INTERNAL_TOKEN": TOKEN},
        ).start()
        try:
            fleet.wait_for_tools(TOOLS)
            yield fleet
        finally:
            fleet.stop()


def call(gateway: GatewayProcess, tool: str, **arguments: Any) -> httpx.Response:
    return httpx.post(f"{gateway.url}/v1/tools/{tool}", json=arguments, timeout=60)


def test_the_gateway_lists_infra_tools_and_holds_up_for_approval(gateway: GatewayProcess) -> None:
    assert gateway.tool_names() >= TOOLS
    for tool, arguments in (
        ("infra_new_stack", {"stack": "dev"}),
        ("infra_config_set", {"stack": "dev", "key": "replicas", "value": "2"}),
        ("infra_config_set", {"stack": "dev", "key": "dbPassword", "value": "pw-9876", "secret": True}),
    ):
        assert call(gateway, tool, **arguments).status_code == 200, tool
    preview = call(gateway, "infra_preview", stack="dev").json()["structuredContent"]
    assert preview["changes"]["create"] == 4 and preview["plan_id"]

    held = call(gateway, "infra_up", stack="dev", plan_id=preview["plan_id"])
    assert held.status_code == 202
    approval = held.json()["structuredContent"]["approval"]
    assert approval["tool"] == "infra_up" and approval["arguments"]["plan_id"] == preview["plan_id"]
    assert call(gateway, "infra_stacks").json()["structuredContent"]["stacks"][0]["resource_count"] is None

    done = httpx.post(f"{gateway.url}/v1/approvals/{approval['id']}/approve", json={"approver": "lee"}, timeout=60)
    assert done.status_code == 200 and done.json()["status"] == "executed"
    result = done.json()["result"]["structuredContent"]
    assert result["resources_done"] == 3 and result["outputs"]["dbPassword"] == "[secret]"

    destroy = call(gateway, "infra_destroy", stack="dev")
    assert destroy.status_code == 202  # critical and destructive: always held


@pytest.mark.parametrize(
    ("query", "tool", "held"),
    [
        ("preview the staging stack", "infra_preview", False),
        # A drift check only reports: refresh with preview_only, which no server holds, even on production.
        ("check prod for drift", "infra_refresh", False),
        # Rewriting production's recorded state is held.
        ("refresh the recorded state of the prod stack", "infra_refresh", True),
        ("what are the outputs of staging", "infra_outputs", False),
    ],
)
def test_ask_plans_infra_requests(gateway: GatewayProcess, query: str, tool: str, held: bool) -> None:
    body = httpx.post(f"{gateway.url}/v1/ask", json={"query": query, "dry_run": True}, timeout=60).json()
    (step,) = body["plan"]["steps"]
    assert step["tool"] == tool and step["requires_approval"] is held
    if tool == "infra_refresh":
        assert bool(step["arguments"].get("preview_only")) is not held


@pytest.mark.parametrize(
    "query", ["deploy the staging stack", "roll out the new version to staging", "apply the pending changes to staging"]
)
def test_a_deploy_request_plans_a_preview_then_holds_the_apply_of_its_plan(gateway: GatewayProcess, query: str) -> None:
    body = httpx.post(f"{gateway.url}/v1/ask", json={"query": query, "dry_run": True}, timeout=60).json()
    preview, up = body["plan"]["steps"]
    assert (preview["tool"], preview["requires_approval"]) == ("infra_preview", False)
    assert (up["tool"], up["requires_approval"]) == ("infra_up", True)
    assert up["depends_on"] == [preview["id"]]
    assert up["arguments"]["plan_id"] == {"$step": preview["id"], "field": "plan_id"}  # the preview's saved plan
    assert body["intent"]["requires_approval"] is True


def test_ask_runs_the_preview_and_holds_exactly_its_plan_for_an_approver(gateway: GatewayProcess) -> None:
    body = httpx.post(f"{gateway.url}/v1/ask", json={"query": "deploy the dev stack"}, timeout=120).json()
    preview = next(o for o in body["steps"].values() if o["tool"] == "infra_preview")
    assert preview["status"] == "ok", preview
    plan_id = preview["result"]["structuredContent"]["plan_id"]
    (held,) = body["pending_approvals"]
    assert held["tool"] == "infra_up" and held["arguments"]["plan_id"] == plan_id
    done = httpx.post(f"{gateway.url}/v1/approvals/{held['id']}/approve", json={"approver": "lee"}, timeout=120)
    assert done.status_code == 200 and done.json()["status"] == "executed", done.text


def approve(gateway: GatewayProcess, held: httpx.Response) -> dict[str, Any]:
    assert held.status_code == 202, held.text
    approval = held.json()["structuredContent"]["approval"]
    done = httpx.post(f"{gateway.url}/v1/approvals/{approval['id']}/approve", json={"approver": "lee"}, timeout=60)
    assert done.status_code == 200 and done.json()["status"] == "executed", done.text
    return dict(done.json()["result"]["structuredContent"])


def test_production_calls_are_held_and_the_approved_rerun_carries_a_grant(gateway: GatewayProcess) -> None:
    # new_stack and config_set are medium risk: held only because the server declares it for production.
    approve(gateway, call(gateway, "infra_new_stack", stack="prod"))
    approve(gateway, call(gateway, "infra_config_set", stack="prod", key="replicas", value="1"))
    approve(gateway, call(gateway, "infra_config_set", stack="prod", key="dbPassword", value="pw-5555", secret=True))
    preview = call(gateway, "infra_preview", stack="prod").json()["structuredContent"]
    assert preview["production"] is True
    result = approve(gateway, call(gateway, "infra_up", stack="prod", plan_id=preview["plan_id"]))
    assert result["resources_done"] == 3
    # Reads on production never wait.
    assert call(gateway, "infra_outputs", stack="prod").status_code == 200
