"""Deployment files stay true: Kubernetes manifests validate, example configs load, compose parses."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from pydantic import SecretStr

from sophia.gateway.settings import GatewaySettings
from sophia.kit.security import InternalCredential, InternalTokenError

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = sorted((ROOT / "kubernetes").rglob("*.yaml"))
KUSTOMIZATIONS = {"Kustomization"}


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_kubernetes_manifest_validates_strictly(path: Path) -> None:
    for document in yaml.safe_load_all(path.read_text()):
        if document["kind"] in KUSTOMIZATIONS:
            for resource in document.get("resources", []) + [p["path"] for p in document.get("patches", [])]:
                assert (path.parent / resource).exists(), f"{path} names missing {resource}"
            continue
        if "spec" in document and document["kind"] == "Deployment" and "template" not in document["spec"]:
            continue  # a strategic-merge patch, not a whole object
        kubernetes_validate.validate(document, "1.31.0", strict=True)


def _gateway_config_map() -> str:
    documents = yaml.safe_load_all((ROOT / "kubernetes" / "base" / "gateway.yaml").read_text())
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


def _base_documents() -> list[dict]:
    kustomization = yaml.safe_load((ROOT / "kubernetes" / "base" / "kustomization.yaml").read_text())
    base = ROOT / "kubernetes" / "base"
    return [doc for name in kustomization["resources"] for doc in yaml.safe_load_all((base / name).read_text())]


DEPLOYMENTS = [doc for doc in _base_documents() if doc["kind"] == "Deployment"]


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d["metadata"]["name"])
def test_every_deployment_reads_the_internal_token_from_the_secret(deployment: dict) -> None:
    """The gateway sends the internal credential and every capability server requires it: all mount it."""
    pod = deployment["spec"]["template"]["spec"]
    volume = next(v["name"] for v in pod["volumes"] if v.get("secret", {}).get("secretName") == "sophia-internal-token")
    for container in pod["containers"]:
        mounts = [m["mountPath"] for m in container["volumeMounts"] if m["name"] == volume]
        token_file = next(e["value"] for e in container["env"] if e["name"] == "SOPHIA_INTERNAL_TOKEN_FILE")
        assert any(token_file.startswith(f"{mount}/") for mount in mounts), container["name"]
    # The containers run as uid 10001, Secret files belong to root: the group must be able to read them.
    assert pod["securityContext"]["fsGroup"] == 10001


def test_the_shipped_internal_token_is_a_placeholder_the_fleet_refuses() -> None:
    secrets = [d for d in _base_documents() if d["kind"] == "Secret"]
    (secret,) = [d for d in secrets if d["metadata"]["name"] == "sophia-internal-token"]
    with pytest.raises(InternalTokenError, match="placeholder"):
        InternalCredential(SecretStr(secret["stringData"]["token"]))
