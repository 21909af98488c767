"""Fixtures: a Pulumi YAML project in a temporary folder, the `pulumi` stand-in (or a real `pulumi`, when one
is on PATH) and the service started in this process with an MCP client talking to it in memory."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from sophia.infra import InfraSettings, service
from sophia.kit.approvals import GRANT, sign_grant
from sophia.kit.security import InternalCredential
from sophia.kit.testing import ToolClient
from sophia.kit.testing import started as kit_started

STANDIN = Path(__file__).with_name("pulumi_standin.py")
PASSPHRASE = "correct horse battery staple 42"
REAL_PULUMI = shutil.which("pulumi")

PROGRAM = """\
name: webapp
runtime: yaml
description: A web app with a cache
config:
  replicas:
    type: integer
  dbPassword:
    type: string
resources:
  web:
    type: kubernetes:apps/v1:Deployment
    properties:
      spec:
        replicas: ${replicas}
  lb:
    type: kubernetes:core/v1:Service
    properties:
      spec:
        type: LoadBalancer
  cache:
    type: aws:elasticache/cluster:Cluster
    properties:
      nodeType: cache.t3.micro
      numCacheNodes: 1
      authToken: ${dbPassword}
    options:
      replaceOnChanges: [nodeType]
outputs:
  endpoint: ${web.id}
  dbPassword:
    fn::secret: ${dbPassword}
"""


def write_standin(folder: Path) -> Path:
    """A `pulumi` executable that runs the stand-in with this interpreter."""
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / "pulumi"
    exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STANDIN}" "$@"\n')
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return folder


@pytest.fixture(autouse=True)
def _quiet(quiet_mcp_log: None) -> None:
    """Expected tool failures are many here: the SDK's INFO line for each is noise."""


@pytest.fixture(params=["standin", "real"])
def pulumi_kind(request: pytest.FixtureRequest) -> str:
    """Every flow runs against the stand-in; a second run against a real `pulumi` switches on by itself when
    one is on PATH (it needs the providers the program uses)."""
    if request.param == "real" and REAL_PULUMI is None:
        pytest.skip("no real pulumi on PATH")
    return str(request.param)


@pytest.fixture
def standin_only(pulumi_kind: str) -> None:
    """For tests that use the stand-in's hooks (a failing resource, drift in cloud.json, slow steps)."""
    if pulumi_kind != "standin":
        pytest.skip("uses the stand-in's test hooks")


@pytest.fixture
def pulumi_on_path(pulumi_kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    if pulumi_kind == "standin":
        folder = write_standin(tmp_path / "bin")
        monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    for hook in ("PULUMI_STANDIN_FAIL_ON", "PULUMI_STANDIN_STEP_DELAY"):
        monkeypatch.delenv(hook, raising=False)
    return pulumi_kind


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "projects" / "webapp"
    folder.mkdir(parents=True)
    (folder / "Pulumi.yaml").write_text(PROGRAM)
    return folder


@pytest.fixture
def settings(tmp_path: Path, project: Path, pulumi_on_path: str) -> InfraSettings:
    return InfraSettings(
        data_dir=tmp_path / "data",
        projects=[project],
        passphrase=SecretStr(PASSPHRASE),
        log_format="text",
        redis_url=None,
        SOPHIA_INTERNAL_TOKEN=SecretStr(INTERNAL_TOKEN),
    )


def started(settings: InfraSettings) -> contextlib.AbstractAsyncContextManager[ToolClient]:
    return kit_started(service, settings)


@pytest.fixture
async def tools(settings: InfraSettings) -> AsyncIterator[ToolClient]:
    async with started(settings) as running:
        yield running


async def make_stack(tools: ToolClient, stack: str = "dev", password: str = "s3cret-Passw0rd!") -> None:
    await tools.ok("new_stack", stack=stack)
    await tools.ok("config_set", stack=stack, key="replicas", value="2")
    await tools.ok("config_set", stack=stack, key="dbPassword", value=password, secret=True)


async def deploy(tools: ToolClient, stack: str = "dev") -> dict[str, Any]:
    plan = await tools.ok("preview", stack=stack)
    return await tools.ok("up", stack=stack, plan_id=plan["plan_id"])


def cloud(settings: InfraSettings) -> Path:
    """The stand-in's live resources (`cloud.json` beside the file backend's state)."""
    return Path(settings.backend.removeprefix("file://")) / "cloud.json"


INTERNAL_TOKEN = "infra-tests-internal-token"


async def approved(tools: ToolClient, tool: str, **arguments: Any) -> Any:
    """Run a call the service holds for approval the way the gateway runs it once approved: with a grant."""
    key = InternalCredential(SecretStr(INTERNAL_TOKEN)).signing_keys()[0]
    grant = sign_grant(key, tool, arguments, f"test-{tool}-{id(arguments)}")
    return await tools.call_with_meta(tool, {GRANT: grant}, **arguments)
