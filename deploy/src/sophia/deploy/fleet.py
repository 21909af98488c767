"""The fleet as Pulumi resources: the gateway, every capability server, Redis and Qdrant, their autoscalers,
disruption budgets and NetworkPolicies, in one namespace. Mirrors kubernetes/base (tests compare the two)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pulumi
import pulumi_kubernetes as k8s

from sophia.deploy.config import GATEWAY_RESOURCES, SECRET_CONFIG, FleetConfig
from sophia.deploy.services import SERVICES, Resources, Server

HTTP, GRPC, GATEWAY_PORT = 8000, 50051, 8080
TOKEN_DIR = "/var/run/sophia/internal-token"  # noqa: S105 (a mount path, not a secret)
HPA_MAX = {"gateway": 10, "memory": 6, "visual": 6, "router": 6}
HPA_MIN = {"gateway": 3, "memory": 2, "visual": 2, "router": 2}
POD_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "fsGroup": 10001,
    "seccompProfile": {"type": "RuntimeDefault"},
}
CONTAINER_SECURITY = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}
R = TypeVar("R", bound=pulumi.CustomResource)
DEFAULT_HOSTS = ["gateway", "gateway:*", "gateway.{ns}.svc.cluster.local:*", "localhost:*", "127.0.0.1:*"]


@dataclass
class Fleet:
    """What the program created, by kind and name (the tests read it; __main__ exports a summary)."""

    config: FleetConfig
    resources: dict[tuple[str, str], pulumi.CustomResource] = field(default_factory=dict)

    def create(self, kind: type[R], name: str, *, key: str | None = None, **inputs: Any) -> R:
        """A resource named `name` (Pulumi's name), recorded under its kind and `key` (default: `name`).

        Inputs are spelt as the Kubernetes API spells them (camelCase, as in kubernetes/base). Pulumi hands such
        keys to the provider unchanged; the SDK's typed dicts spell them in snake_case, so they are not
        type-checked here: the tests compare what reaches the engine with the kustomize render instead."""
        resource = kind(name, **inputs)
        self.resources[kind.__name__, key or name] = resource
        return resource


def deploy(config: FleetConfig) -> Fleet:
    fleet = Fleet(config)
    ns = fleet.create(
        k8s.core.v1.Namespace,
        "namespace",
        metadata={"name": config.namespace, "labels": _part_of()},
        key=config.namespace,
    )
    opts = pulumi.ResourceOptions(depends_on=[ns])
    for key, secret in config.secrets.items():
        name, field_name = SECRET_CONFIG[key]
        fleet.create(
            k8s.core.v1.Secret,
            name,
            metadata=_meta(config, name),
            type="Opaque",
            string_data={field_name: secret},
            opts=opts,
        )
    for name, server in SERVICES.items():
        _server(fleet, name, server, opts)
    _gateway(fleet, opts)
    _redis(fleet, opts)
    _qdrant(fleet, opts)
    _network_policies(fleet, opts)
    return fleet


def _part_of() -> dict[str, str]:
    return {"app.kubernetes.io/part-of": "sophia"}


def _meta(config: FleetConfig, name: str, **labels: str) -> dict[str, Any]:
    return {"name": name, "namespace": config.namespace, "labels": {**_part_of(), **labels}}


def _labels(name: str, component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/component": component}


def _resources(config: FleetConfig, name: str, default: Resources) -> dict[str, Any]:
    chosen = config.resources.get(name, default)
    return {"requests": {"cpu": chosen.cpu, "memory": chosen.memory}, "limits": {"memory": chosen.memory_limit}}


def _redis_env() -> list[dict[str, Any]]:
    return [
        {"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "sophia-redis", "key": "password"}}},
        {"name": "REDIS_URL", "value": "redis://:$(REDIS_PASSWORD)@redis:6379/0"},  # kubelet expands $(...)
    ]


def _token_volume() -> dict[str, Any]:
    return {"name": "internal-token", "secret": {"secretName": "sophia-internal-token", "defaultMode": 0o440}}


def _server(fleet: Fleet, name: str, server: Server, opts: pulumi.ResourceOptions) -> None:
    config, up = fleet.config, name.upper()
    env: list[dict[str, Any]] = [
        {"name": f"SOPHIA_{up}_HOST", "value": "0.0.0.0"},
        {"name": f"SOPHIA_{up}_HTTP_PORT", "value": str(HTTP)},
        {"name": f"SOPHIA_{up}_GRPC_PORT", "value": str(GRPC)},
        {"name": f"SOPHIA_{up}_PUBLIC_URL", "value": f"http://{name}:{HTTP}"},
        {"name": f"SOPHIA_{up}_ALLOWED_HOSTS", "value": '["*"]'},  # only the gateway gets in (NetworkPolicy)
        *({"name": k, "value": v} for k, v in server.env.items()),
    ]
    labels = _labels(name, "server")
    if server.redis:
        env += _redis_env()
        labels["sophia.dev/redis-client"] = "true"
    if server.qdrant:
        env += [
            {"name": f"SOPHIA_{up}_QDRANT_URL", "value": "http://qdrant:6333"},
            {
                "name": f"SOPHIA_{up}_QDRANT_API_KEY",
                "valueFrom": {"secretKeyRef": {"name": "sophia-qdrant", "key": "api-key"}},
            },
        ]
        labels["sophia.dev/qdrant-client"] = "true"
    if name == "router":
        env += [
            {"name": key, "valueFrom": {"secretKeyRef": {"name": "sophia-llm-keys", "key": key, "optional": True}}}
            for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")
        ]
    env.append({"name": "SOPHIA_INTERNAL_TOKEN_FILE", "value": f"{TOKEN_DIR}/token"})
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {}}]
    if server.volume:
        mounts.append({"name": "data", "mountPath": "/var/lib/sophia"})
        volumes.append({"name": "data", "persistentVolumeClaim": {"claimName": server.volume}})
        fleet.create(
            k8s.core.v1.PersistentVolumeClaim,
            server.volume,
            metadata=_meta(config, server.volume),
            spec={"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": server.volume_size}}},
            opts=opts,
        )
    if name == "infra":
        mounts.append({"name": "passphrase", "mountPath": "/var/run/sophia/infra", "readOnly": True})
        volumes.append(
            {
                "name": "passphrase",
                "secret": {
                    "secretName": "sophia-infra",
                    "defaultMode": 0o440,
                    "items": [{"key": "passphrase", "path": "passphrase"}],
                },
            }
        )
    mounts.append({"name": "internal-token", "mountPath": TOKEN_DIR, "readOnly": True})
    volumes.append(_token_volume())
    container = {
        "name": name,
        "image": config.image(name),
        "env": env,
        "ports": [{"name": "http", "containerPort": HTTP}, {"name": "grpc", "containerPort": GRPC}],
        # The kubelet probes grpc.health.v1 natively: ready when the server says SERVING.
        "startupProbe": {"grpc": {"port": GRPC}, "periodSeconds": 2, "failureThreshold": 60},
        "readinessProbe": {"grpc": {"port": GRPC}, "periodSeconds": 5},
        "livenessProbe": {"grpc": {"port": GRPC}, "periodSeconds": 10, "failureThreshold": 3},
        "resources": _resources(config, name, server.resources),
        "securityContext": CONTAINER_SECURITY,
        "volumeMounts": mounts,
    }
    if server.credentials:
        container["envFrom"] = [{"secretRef": {"name": server.credentials, "optional": True}}]
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "automountServiceAccountToken": False,
                "securityContext": POD_SECURITY,
                "containers": [container],
                "volumes": volumes,
            },
        },
    }
    if not server.scales:
        spec.update(replicas=1, strategy={"type": "Recreate"})
    elif not server.hpa:
        spec["replicas"] = config.replicas.get(name, 1)
    _workload(fleet, name, spec, labels, [HTTP, GRPC], opts)
    if server.hpa:
        _autoscaler(fleet, name, opts)
    if server.scales:
        _disruption_budget(fleet, name, opts)


def _workload(
    fleet: Fleet,
    name: str,
    spec: dict[str, Any],
    labels: dict[str, str],
    ports: list[int],
    opts: pulumi.ResourceOptions,
) -> None:
    config = fleet.config
    component = labels["app.kubernetes.io/component"]
    meta = _meta(config, name, **_labels(name, component))
    fleet.create(k8s.apps.v1.Deployment, name, metadata=meta, spec=spec, opts=opts)
    if component == "server":  # the gateway discovers kit servers by this label (it watches Services)
        meta = _meta(config, name, **_labels(name, component), **{"sophia.dev/mcp": "kit"})
    port_names = {HTTP: "http", GRPC: "grpc", GATEWAY_PORT: "http"}
    fleet.create(
        k8s.core.v1.Service,
        name,
        metadata=meta,
        spec={
            "selector": {"app.kubernetes.io/name": name},
            "ports": [{"name": port_names[p], "port": p, "targetPort": port_names[p]} for p in ports],
        },
        opts=opts,
    )


def _autoscaler(fleet: Fleet, name: str, opts: pulumi.ResourceOptions) -> None:
    low = fleet.config.replicas.get(name, HPA_MIN[name])
    fleet.create(
        k8s.autoscaling.v2.HorizontalPodAutoscaler,
        f"{name}-hpa",
        metadata=_meta(fleet.config, name),
        spec={
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": low,
            "maxReplicas": max(low, HPA_MAX[name]),
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70 if name == "gateway" else 75},
                    },
                }
            ],
        },
        opts=opts,
        key=name,
    )


def _disruption_budget(fleet: Fleet, name: str, opts: pulumi.ResourceOptions) -> None:
    fleet.create(
        k8s.policy.v1.PodDisruptionBudget,
        f"{name}-pdb",
        metadata=_meta(fleet.config, name),
        spec={"maxUnavailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": name}}},
        opts=opts,
        key=name,
    )


def _gateway(fleet: Fleet, opts: pulumi.ResourceOptions) -> None:
    config = fleet.config
    hosts = config.allowed_hosts or [h.format(ns=config.namespace) for h in DEFAULT_HOSTS]
    gateway_yaml = json.dumps(
        {  # JSON is YAML: the gateway reads it as its config file
            "host": "0.0.0.0",
            "port": GATEWAY_PORT,
            "allowed_hosts": hosts,
            # Servers are discovered through the Kubernetes API (Services labelled sophia.dev/mcp), not listed.
            "kubernetes_discovery": True,
        },
        indent=2,
    )
    fleet.create(
        k8s.core.v1.ConfigMap,
        "gateway-config",
        metadata=_meta(config, "gateway"),
        data={"gateway.yaml": gateway_yaml},
        opts=opts,
        key="gateway",
    )
    labels = {**_labels("gateway", "gateway"), "sophia.dev/redis-client": "true"}
    container = {
        "name": "gateway",
        "image": config.image("gateway"),
        "env": [
            {"name": "SOPHIA_GATEWAY_CONFIG_FILE", "value": "/etc/sophia/gateway.yaml"},
            *_redis_env(),
            {"name": "SOPHIA_INTERNAL_TOKEN_FILE", "value": f"{TOKEN_DIR}/token"},
            {"name": "SOPHIA_GATEWAY_PRINCIPALS_FILE", "value": "/var/run/sophia/principals/principals.yaml"},
        ],
        "ports": [{"name": "http", "containerPort": GATEWAY_PORT}],
        "startupProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 2, "failureThreshold": 60},
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 5},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10},
        "resources": _resources(config, "gateway", GATEWAY_RESOURCES),
        "securityContext": CONTAINER_SECURITY,
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "config", "mountPath": "/etc/sophia"},
            {"name": "internal-token", "mountPath": TOKEN_DIR, "readOnly": True},
            {"name": "principals", "mountPath": "/var/run/sophia/principals", "readOnly": True},
        ],
    }
    spec = {
        "selector": {"matchLabels": {"app.kubernetes.io/name": "gateway"}},
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "serviceAccountName": "gateway",  # may list and watch Services: discovery
                "securityContext": POD_SECURITY,
                "containers": [container],
                "volumes": [
                    {"name": "tmp", "emptyDir": {}},
                    {"name": "config", "configMap": {"name": "gateway"}},
                    _token_volume(),
                    {"name": "principals", "secret": {"secretName": "sophia-gateway-principals", "defaultMode": 0o440}},
                ],
            },
        },
    }
    _workload(fleet, "gateway", spec, labels, [GATEWAY_PORT], opts)
    _discovery_rights(fleet, opts)
    _autoscaler(fleet, "gateway", opts)
    _disruption_budget(fleet, "gateway", opts)


def _discovery_rights(fleet: Fleet, opts: pulumi.ResourceOptions) -> None:
    """The gateway's service account may read Services in its namespace, and nothing else."""
    config = fleet.config
    fleet.create(
        k8s.core.v1.ServiceAccount, "gateway-account", metadata=_meta(config, "gateway"), opts=opts, key="gateway"
    )
    fleet.create(
        k8s.rbac.v1.Role,
        "gateway-discovery",
        metadata=_meta(config, "gateway-discovery"),
        rules=[{"apiGroups": [""], "resources": ["services"], "verbs": ["get", "list", "watch"]}],
        opts=opts,
    )
    fleet.create(
        k8s.rbac.v1.RoleBinding,
        "gateway-discovery-binding",
        metadata=_meta(config, "gateway-discovery"),
        role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "gateway-discovery"},
        subjects=[{"kind": "ServiceAccount", "name": "gateway", "namespace": config.namespace}],
        opts=opts,
        key="gateway-discovery",
    )


def _statefulset(
    fleet: Fleet,
    name: str,
    pod: dict[str, Any],
    ports: dict[str, int],
    storage: tuple[str, str, str],
    opts: pulumi.ResourceOptions,
) -> None:
    config = fleet.config
    labels = _labels(name, "datastore")
    claim, mount, size = storage
    pod["containers"][0]["volumeMounts"].insert(0, {"name": claim, "mountPath": mount})
    fleet.create(
        k8s.apps.v1.StatefulSet,
        name,
        metadata=_meta(config, name, **labels),
        spec={
            "serviceName": name,
            "replicas": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {"metadata": {"labels": labels}, "spec": pod},
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": claim},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}},
                }
            ],
        },
        opts=opts,
    )
    fleet.create(
        k8s.core.v1.Service,
        name,
        metadata=_meta(config, name, **labels),
        spec={
            "selector": {"app.kubernetes.io/name": name},
            "ports": [{"name": port_name, "port": port, "targetPort": port_name} for port_name, port in ports.items()],
        },
        opts=opts,
    )


def _redis(fleet: Fleet, opts: pulumi.ResourceOptions) -> None:
    # The password goes into a config file on a memory emptyDir, so it never shows in a process list;
    # every write is fsynced (approvals and the audit log live here).
    script = (
        "printf 'requirepass %s\\n' \"$REDISCLI_AUTH\" > /run/redis/redis.conf\n"
        "exec redis-server /run/redis/redis.conf --appendonly yes --appendfsync always --dir /data\n"
    )
    pod = {
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 999,
            "runAsGroup": 1000,
            "fsGroup": 1000,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "redis",
                "image": "redis:7-alpine",
                "command": ["sh", "-c"],
                "args": [script],
                "env": [
                    {
                        "name": "REDISCLI_AUTH",
                        "valueFrom": {"secretKeyRef": {"name": "sophia-redis", "key": "password"}},
                    }
                ],
                "ports": [{"name": "redis", "containerPort": 6379}],
                "readinessProbe": {
                    "exec": {"command": ["sh", "-c", "redis-cli ping | grep -q PONG"]},
                    "periodSeconds": 5,
                },
                "livenessProbe": {"tcpSocket": {"port": "redis"}, "periodSeconds": 10},
                "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "512Mi"}},
                "securityContext": CONTAINER_SECURITY,
                "volumeMounts": [{"name": "run", "mountPath": "/run/redis"}],
            }
        ],
        "volumes": [{"name": "run", "emptyDir": {"medium": "Memory"}}],
    }
    _statefulset(fleet, "redis", pod, {"redis": 6379}, ("data", "/data", "1Gi"), opts)


def _qdrant(fleet: Fleet, opts: pulumi.ResourceOptions) -> None:
    pod = {
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 1000,
            "fsGroup": 1000,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "qdrant",
                "image": "qdrant/qdrant:v1.20.0-unprivileged",
                "env": [
                    {
                        "name": "QDRANT__SERVICE__API_KEY",
                        "valueFrom": {"secretKeyRef": {"name": "sophia-qdrant", "key": "api-key"}},
                    }
                ],
                "ports": [{"name": "http", "containerPort": 6333}, {"name": "grpc", "containerPort": 6334}],
                "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 5},
                "livenessProbe": {"httpGet": {"path": "/livez", "port": "http"}, "periodSeconds": 10},
                "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "2Gi"}},
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                "volumeMounts": [{"name": "snapshots", "mountPath": "/qdrant/snapshots"}],
            }
        ],
        "volumes": [{"name": "snapshots", "emptyDir": {}}],
    }
    _statefulset(fleet, "qdrant", pod, {"http": 6333, "grpc": 6334}, ("storage", "/qdrant/storage", "5Gi"), opts)


def _network_policies(fleet: Fleet, opts: pulumi.ResourceOptions) -> None:
    """Ingress only as kubernetes/base/networkpolicies.yaml explains: gateway <- anyone; servers <- the gateway
    (router also <- business); Redis and Qdrant <- the services labelled as their clients; /metrics <- a
    namespace labelled sophia.dev/monitoring=true."""

    def tcp(*ports: int) -> list[dict[str, Any]]:
        return [{"port": p, "protocol": "TCP"} for p in ports]

    def pods(**labels: str) -> list[dict[str, Any]]:
        return [{"podSelector": {"matchLabels": labels}}]

    policies: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {
        "default-deny-ingress": ({}, []),
        "gateway": ({"matchLabels": {"app.kubernetes.io/name": "gateway"}}, [{"ports": tcp(GATEWAY_PORT)}]),
        "servers-from-gateway": (
            {"matchLabels": {"app.kubernetes.io/component": "server"}},
            [{"from": pods(**{"app.kubernetes.io/name": "gateway"}), "ports": tcp(HTTP, GRPC)}],
        ),
        "router-from-business": (
            {"matchLabels": {"app.kubernetes.io/name": "router"}},
            [{"from": pods(**{"app.kubernetes.io/name": "business"}), "ports": tcp(HTTP)}],
        ),
        "redis-from-clients": (
            {"matchLabels": {"app.kubernetes.io/name": "redis"}},
            [{"from": pods(**{"sophia.dev/redis-client": "true"}), "ports": tcp(6379)}],
        ),
        "qdrant-from-clients": (
            {"matchLabels": {"app.kubernetes.io/name": "qdrant"}},
            [{"from": pods(**{"sophia.dev/qdrant-client": "true"}), "ports": tcp(6333, 6334)}],
        ),
        "metrics-from-monitoring": (
            {
                "matchExpressions": [
                    {"key": "app.kubernetes.io/component", "operator": "In", "values": ["gateway", "server"]}
                ]
            },
            [
                {
                    "from": [{"namespaceSelector": {"matchLabels": {"sophia.dev/monitoring": "true"}}}],
                    "ports": tcp(HTTP, GATEWAY_PORT),
                }
            ],
        ),
    }
    for name, (selector, ingress) in policies.items():
        spec: dict[str, Any] = {"podSelector": selector, "policyTypes": ["Ingress"]}
        if ingress:
            spec["ingress"] = ingress
        fleet.create(
            k8s.networking.v1.NetworkPolicy,
            f"netpol-{name}",
            metadata=_meta(fleet.config, name),
            spec=spec,
            opts=opts,
            key=name,
        )
