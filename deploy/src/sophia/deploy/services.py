"""What each capability server needs: the one table the program builds Deployments from."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Resources:
    cpu: str
    memory: str
    memory_limit: str


@dataclass(frozen=True)
class Server:
    resources: Resources
    redis: bool = False  # gets REDIS_URL with the password, and the NetworkPolicy label to reach Redis
    qdrant: bool = False  # gets SOPHIA_<NAME>_QDRANT_URL and _API_KEY, and the label to reach Qdrant
    scales: bool = True  # stateless: an HPA and a PodDisruptionBudget; else one replica with a volume
    volume: str | None = None  # a ReadWriteOnce volume mounted at /var/lib/sophia: its claim name
    volume_size: str = "10Gi"
    hpa: bool = False  # heavy enough to autoscale on CPU
    env: dict[str, str] = field(default_factory=dict)
    credentials: str | None = None  # an optional Secret whose keys become environment variables


SERVICES: dict[str, Server] = {
    "memory": Server(
        Resources("200m", "512Mi", "1Gi"),
        redis=True,
        qdrant=True,
        hpa=True,
        env={"SOPHIA_MEMORY_DATA_DIR": "/tmp/sophia"},
    ),
    "code": Server(
        Resources("200m", "256Mi", "1Gi"),
        scales=False,
        volume="code-workspace",
        env={"SOPHIA_CODE_DATA_DIR": "/var/lib/sophia"},
    ),
    "infra": Server(
        Resources("100m", "256Mi", "1Gi"),
        redis=True,
        scales=False,
        volume="infra-data",
        volume_size="1Gi",
        credentials="sophia-infra-credentials",
        env={
            "SOPHIA_INFRA_DATA_DIR": "/var/lib/sophia",
            "SOPHIA_INFRA_PROJECTS": "/app/deploy",
            "SOPHIA_INFRA_PULUMI_ROOT": "/opt/pulumi",
            "SOPHIA_INFRA_PASSPHRASE_FILE": "/var/run/sophia/infra/passphrase",
        },
    ),
    "router": Server(
        Resources("100m", "256Mi", "1Gi"),
        redis=True,
        hpa=True,
        env={
            "SOPHIA_ROUTER_PROVIDERS": '[{"name": "openai", "api_key_env": "OPENAI_API_KEY"}, '
            '{"name": "anthropic", "api_key_env": "ANTHROPIC_API_KEY"}]'
        },
    ),
    "visual": Server(
        Resources("500m", "768Mi", "2Gi"),
        qdrant=True,
        hpa=True,
        env={"SOPHIA_VISUAL_DATA_DIR": "/tmp/sophia", "SOPHIA_VISUAL_MAX_BODY_BYTES": "33554432"},
    ),
    "business": Server(
        Resources("50m", "128Mi", "512Mi"),
        credentials="sophia-business-credentials",
        env={"SOPHIA_BUSINESS_ROUTER_URL": "http://router:8000/mcp"},
    ),
}
