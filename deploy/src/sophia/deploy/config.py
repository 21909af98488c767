"""Stack configuration of the fleet program (namespace ``sophia`` in ``Pulumi.<stack>.yaml``).

sophia:namespace        Kubernetes namespace (default sophia)
sophia:imageRegistry    where CI publishes the images (default ghcr.io/sophia): <registry>/sophia-<service>
sophia:imageTag         the release tag of every image (default 0.1.0)
sophia:replicas         {service: n}: the HPA minimum of a scaled service, the replica count of another
sophia:resources        {service: {cpu, memory, memoryLimit}}: requests and the memory limit
sophia:allowedHosts     Host names the gateway answers for (others get 421)
sophia:internalToken, sophia:redisPassword, sophia:qdrantApiKey, sophia:infraPassphrase   secrets
                        (`pulumi config set --secret`): set, Pulumi creates that Secret; unset, the program
                        uses the one kubernetes/bootstrap.sh created in the namespace
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pulumi

from sophia.deploy.services import SERVICES, Resources

SECRET_CONFIG = {  # config key -> (Secret name, key in it)
    "internalToken": ("sophia-internal-token", "token"),
    "redisPassword": ("sophia-redis", "password"),
    "qdrantApiKey": ("sophia-qdrant", "api-key"),
    "infraPassphrase": ("sophia-infra", "passphrase"),
}
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")
WORKLOADS = {*SERVICES, "gateway"}


class ConfigError(ValueError):
    """Stack config the program cannot deploy; the message names the key."""


@dataclass
class FleetConfig:
    namespace: str = "sophia"
    image_registry: str = "ghcr.io/sophia"
    image_tag: str = "0.1.0"
    replicas: dict[str, int] = field(default_factory=dict)
    resources: dict[str, Resources] = field(default_factory=dict)
    allowed_hosts: list[str] = field(default_factory=list)
    secrets: dict[str, pulumi.Output[str]] = field(default_factory=dict)

    def image(self, service: str) -> str:
        return f"{self.image_registry}/sophia-{service}:{self.image_tag}"


def load(config: pulumi.Config | None = None) -> FleetConfig:
    """Read and check the stack's config; a bad value raises ConfigError naming its key."""
    config = config or pulumi.Config("sophia")
    fleet = FleetConfig()
    fleet.namespace = config.get("namespace") or fleet.namespace
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", fleet.namespace):
        raise ConfigError(f"sophia:namespace {fleet.namespace!r} is not a Kubernetes namespace name")
    fleet.image_registry = (config.get("imageRegistry") or fleet.image_registry).rstrip("/")
    fleet.image_tag = config.get("imageTag") or fleet.image_tag
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", fleet.image_tag):
        raise ConfigError(f"sophia:imageTag {fleet.image_tag!r} is not an image tag")
    fleet.replicas = _replicas(_object(config, "replicas") or {})
    fleet.resources = _resources(_object(config, "resources") or {})
    hosts = _object(config, "allowedHosts")
    if hosts is not None and not (isinstance(hosts, list) and all(isinstance(h, str) for h in hosts)):
        raise ConfigError("sophia:allowedHosts must be a list of host names (host or host:port, `host:*`)")
    fleet.allowed_hosts = list(hosts or [])
    for key in SECRET_CONFIG:
        value = config.get_secret(key)
        if value is not None:
            fleet.secrets[key] = value
    return fleet


def _object(config: pulumi.Config, key: str) -> Any:
    try:
        return config.get_object(key)
    except pulumi.ConfigTypeError as exc:
        raise ConfigError(f"sophia:{key} is not valid JSON (YAML objects and lists in the stack file are)") from exc


def _replicas(raw: Any) -> dict[str, int]:
    if not isinstance(raw, dict):
        raise ConfigError("sophia:replicas must be an object: {service: count}")
    for name, count in raw.items():
        if name not in WORKLOADS:
            raise ConfigError(f"sophia:replicas names {name!r}; services are {', '.join(sorted(WORKLOADS))}")
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 100:
            raise ConfigError(f"sophia:replicas.{name} must be a whole number from 1 to 100")
        if count > 1 and name in SERVICES and not SERVICES[name].scales:
            raise ConfigError(f"sophia:replicas.{name}: {name} owns a ReadWriteOnce volume and runs one replica")
    return dict(raw)


def _resources(raw: Any) -> dict[str, Resources]:
    if not isinstance(raw, dict):
        raise ConfigError("sophia:resources must be an object: {service: {cpu, memory, memoryLimit}}")
    result = {}
    for name, spec in raw.items():
        if name not in WORKLOADS:
            raise ConfigError(f"sophia:resources names {name!r}; services are {', '.join(sorted(WORKLOADS))}")
        default = SERVICES[name].resources if name in SERVICES else GATEWAY_RESOURCES
        if not isinstance(spec, dict) or set(spec) - {"cpu", "memory", "memoryLimit"}:
            raise ConfigError(f"sophia:resources.{name} takes cpu, memory and memoryLimit")
        values = {"cpu": default.cpu, "memory": default.memory, "memoryLimit": default.memory_limit, **spec}
        for key, value in values.items():
            if not isinstance(value, str) or not QUANTITY.match(value):
                raise ConfigError(f"sophia:resources.{name}.{key} is not a Kubernetes quantity (like 250m or 1Gi)")
        result[name] = Resources(values["cpu"], values["memory"], values["memoryLimit"])
    return result


GATEWAY_RESOURCES = Resources(cpu="100m", memory="512Mi", memory_limit="1Gi")
