"""docker-compose.yml stays true: it parses, names real settings, covers every service, and its first-start
scripts (secrets into settings, the admin key) work. No Docker engine runs here: the YAML is checked, and the
shell snippets it runs in the containers are run here with `sh` against temp dirs instead of the volumes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import yaml
from pydantic_settings import BaseSettings

from sophia.business.settings import BusinessSettings
from sophia.code.settings import CodeSettings
from sophia.gateway.security.principals import ApiKeys
from sophia.gateway.settings import GatewaySettings
from sophia.infra.settings import InfraSettings
from sophia.memory.settings import MemorySettings
from sophia.router.settings import RouterSettings
from sophia.visual.settings import VisualSettings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
SETTINGS: dict[str, type[BaseSettings]] = {
    "gateway": GatewaySettings,
    "memory": MemorySettings,
    "code": CodeSettings,
    "infra": InfraSettings,
    "router": RouterSettings,
    "visual": VisualSettings,
    "business": BusinessSettings,
}
SOPHIA = {name: service for name, service in SERVICES.items() if "build" in service}


def test_compose_runs_every_installed_service_and_the_gateway_lists_each() -> None:
    installed = {ep.name for ep in entry_points(group="sophia.services")}
    assert set(SOPHIA) == installed | {"gateway"}
    listed = yaml.safe_load(SERVICES["gateway"]["environment"]["SOPHIA_GATEWAY_SERVERS"])
    assert sorted(listed) == sorted(f"{name}:50051" for name in installed)


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_compose_environment_names_real_settings(service: str) -> None:
    environment = SERVICES[service]["environment"]
    prefix = f"SOPHIA_{service.upper()}_"
    fields = {f"{prefix}{name.upper()}" for name in SETTINGS[service].model_fields}
    unknown = {k for k in environment if k.startswith(prefix)} - fields
    assert not unknown, f"compose sets settings that do not exist: {unknown}"


def test_prometheus_scrapes_every_metrics_endpoint() -> None:
    config = yaml.safe_load((ROOT / "deploy" / "compose" / "prometheus.yml").read_text())
    targets = {t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    expected = {"gateway:8080"} | {
        f"{name}:{SOPHIA[name]['environment'][f'SOPHIA_{name.upper()}_HTTP_PORT']}"
        for name in SOPHIA
        if name != "gateway"
    }
    assert targets == expected
    assert "prometheus" in SERVICES and "otel-collector" in SERVICES
    for name, service in SOPHIA.items():  # every service sends its spans to the collector
        assert service["environment"][f"SOPHIA_{name.upper()}_OTEL_EXPORTER"] == "otlp", name
        assert service["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4317", name


def test_collector_config_has_a_complete_traces_pipeline() -> None:
    config = yaml.safe_load((ROOT / "deploy" / "compose" / "otel-collector.yaml").read_text())
    pipeline = config["service"]["pipelines"]["traces"]
    for kind in ("receivers", "processors", "exporters"):
        assert pipeline[kind] and set(pipeline[kind]) <= set(config[kind]), kind
    assert config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].endswith(":4317")


def test_redis_is_durable_and_needs_a_password() -> None:
    command = SERVICES["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--appendfsync") + 1] == "always"
    assert "/run/sophia/redis/redis.conf" in command  # requirepass lives there, written by `secrets`
    assert "requirepass" in SERVICES["secrets"]["command"][0]
    assert "QDRANT__SERVICE__API_KEY" in " ".join(SERVICES["qdrant"]["entrypoint"])
    assert "ports" not in SERVICES["redis"] and "ports" not in SERVICES["qdrant"]


def test_every_sophia_container_gets_the_generated_secrets() -> None:
    for name, service in SOPHIA.items():
        token_file = Path(service["environment"]["SOPHIA_INTERNAL_TOKEN_FILE"])
        assert f"secrets:{token_file.parent}:ro" in service["volumes"], name
        assert service["depends_on"]["secrets"] == {"condition": "service_completed_successfully"}, name
        assert service["entrypoint"] == SERVICES["memory"]["entrypoint"], name
    generator = SERVICES["secrets"]
    assert "secrets:/run/sophia" in generator["volumes"]
    assert "10001:10001" in generator["command"][0]  # the uid the images run as (Dockerfile)
    assert "--uid 10001" in (ROOT / "Dockerfile").read_text()


def _shell(script: str, tmp_path: Path) -> str:
    """A compose shell snippet made runnable here: `$$` is compose's escape for `$`; /run/sophia and
    /var/lib/sophia (volumes in compose) become temp dirs."""
    return (
        script.replace("$$", "$")
        .replace("/run/sophia", str(tmp_path / "secrets"))
        .replace("/var/lib/sophia", str(tmp_path / "lib"))
    )


def test_entrypoint_puts_the_redis_password_and_qdrant_key_only_where_needed(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "redis-password").write_text("r3d1s")
    (secrets / "qdrant-api-key").write_text("qdr4nt")
    sh, flag, script, arg0 = SERVICES["memory"]["entrypoint"]
    env = {"PATH": os.environ["PATH"], "REDIS_URL": "redis://redis:6379/0", "SOPHIA_MEMORY_QDRANT_URL": "http://q"}
    printed = subprocess.run(
        [sh, flag, _shell(script, tmp_path), arg0, "env"], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert "REDIS_URL=redis://:r3d1s@redis:6379/0" in printed
    assert "SOPHIA_MEMORY_QDRANT_API_KEY=qdr4nt" in printed
    env = {"PATH": os.environ["PATH"]}  # a service with neither (code): gets neither secret
    printed = subprocess.run(
        [sh, flag, _shell(script, tmp_path), arg0, "env"], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "r3d1s" not in printed and "qdr4nt" not in printed


def test_gateway_first_start_creates_an_admin_key_once_and_prints_it(tmp_path: Path) -> None:
    """The gateway's own start command: the key is printed to its log and the principals file accepts it;
    a restart keeps the file (and prints no new key). `exec python -m sophia.gateway` is replaced by `true`
    so the gateway itself does not start here."""
    sophia = shutil.which("sophia", path=str(Path(sys.executable).parent))
    assert sophia is not None
    sh, flag, script = SERVICES["gateway"]["command"]
    script = _shell(script, tmp_path).replace("exec python -m sophia.gateway", "true")
    (tmp_path / "lib" / "principals").mkdir(parents=True)
    env = {"PATH": f"{Path(sophia).parent}:{os.environ['PATH']}"}
    first = subprocess.run([sh, flag, script], env=env, capture_output=True, text=True, check=True)
    key = re.search(r"API key for admin.*?\n\n\s+(\S+)\n", first.stderr, re.S)
    assert key is not None, first.stderr
    principals = tmp_path / "lib" / "principals" / "principals.yaml"
    principal = ApiKeys.load(principals).verify(key.group(1))
    assert principal is not None and principal.roles == ("admin",)
    assert oct(principals.stat().st_mode & 0o777) == "0o600"
    before = principals.read_text()
    again = subprocess.run([sh, flag, script], env=env, capture_output=True, text=True, check=True)
    assert "API key" not in again.stderr and principals.read_text() == before


def test_compose_file_is_valid_for_docker_compose() -> None:
    """Needs the docker compose plugin (no engine); skipped where it is not installed."""
    if shutil.which("docker") is None:
        pytest.skip("docker client not installed")
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("docker compose plugin not installed")
    result = subprocess.run(["docker", "compose", "config", "--quiet"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
