"""Gateway settings: one pydantic model, read from ``SOPHIA_GATEWAY_*`` and an optional YAML file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from sophia.kit.security import internal_token_field, internal_token_file_field

SERVICE_NAME = re.compile(r"^[a-z][a-z0-9]{0,30}$")


class ExternalServer(BaseModel):
    """An MCP server not built with the kit, federated like our own.

    Give either `url` (Streamable HTTP) or `command` (a stdio server the gateway starts,
    supervises and restarts).
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Tool prefix; lower-case letters and digits, no underscore.")
    url: str | None = Field(None, description="Streamable HTTP endpoint of the server.")
    command: list[str] | None = Field(None, min_length=1, description="argv of a stdio server.")
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment for `command`.")
    risk: Literal["low", "medium", "high", "critical"] = Field(
        "medium", description="Risk of its tools that do not say they are read-only (read-only ones are low)."
    )
    protocol: Literal["auto", "2025-11-25", "2026-07-28"] = Field(
        "auto",
        description="Protocol era: `auto` asks the server (server/discover, falling back to the initialize "
        "handshake); a version pins it.",
    )
    prefix: Literal["always", "never"] = Field(
        "always",
        description="`always`: its tools, prompts and resources are exposed as `<name>_<tool>`; `never`: under "
        "their own names (a name another server already exposes keeps this server out, with an error naming both).",
    )
    health_interval_s: float = Field(
        5.0, gt=0, le=3600, description="Seconds between liveness checks (ping, or tools/list at 2026-07-28)."
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not SERVICE_NAME.match(value):
            raise ValueError("must be lower-case letters and digits, starting with a letter, no underscore")
        return value

    @model_validator(mode="after")
    def _one_transport(self) -> ExternalServer:
        if (self.url is None) == (self.command is None):
            raise ValueError("give exactly one of `url` or `command`")
        return self


class GatewaySettings(BaseSettings):
    """Settings of the gateway process."""

    # Errors never echo input values: one of them may be a secret.
    model_config = SettingsConfigDict(
        env_prefix="SOPHIA_GATEWAY_", extra="forbid", validate_default=True, hide_input_in_errors=True
    )

    host: str = Field("127.0.0.1", description="Interface the gateway binds to.")
    port: int = Field(8080, ge=0, le=65535, description="Port of the HTTP API and the MCP endpoint.")
    config_file: Path | None = Field(
        None, description="YAML file with any of these settings; environment variables win over it."
    )
    servers: list[str] = Field(
        default_factory=list,
        description="gRPC addresses (host:port) of kit capability servers; in Kubernetes, service DNS names.",
    )
    external: list[ExternalServer] = Field(default_factory=list, description="Other MCP servers to federate.")
    kubernetes_discovery: bool = Field(
        False,
        description="Also follow servers announced by Kubernetes Services (label sophia.dev/mcp=kit|external), "
        "listed and watched through the API: in a pod with its service account, else from KUBECONFIG.",
    )
    kubernetes_namespace: str | None = Field(
        None, description="Namespace whose Services are followed. Unset: the pod's own (or the kubeconfig's)."
    )
    kubernetes_selector: str = Field("sophia.dev/mcp", description="Label selector of the Services to follow.")
    allowed_hosts: list[str] = Field(
        default_factory=lambda: ["127.0.0.1:*", "localhost:*", "[::1]:*"],
        description="Host header values every route accepts (DNS-rebinding protection: `name`, `name:port`, "
        "`name:*`); browsers' Origin must match too. A lone `*` turns it off.",
    )
    max_body_bytes: int = Field(4 * 1024 * 1024, gt=0, description="Largest accepted request body; larger is 413.")
    header_timeout_s: float = Field(
        10.0, gt=0, description="A request's headers must arrive within this of its first byte, else it is dropped."
    )
    body_timeout_s: float = Field(
        30.0, gt=0, description="A request's body must arrive within this of its headers, else it is dropped."
    )
    max_connections: int = Field(
        4096, ge=16, description="Connections and requests served at once; beyond, 503 (capped below the fd limit)."
    )
    call_timeout_s: float = Field(60.0, gt=0, description="Longest a forwarded tool call may take.")
    connect_timeout_s: float = Field(3.0, gt=0, description="Timeout to open a connection to a server.")
    reconnect_max_s: float = Field(5.0, gt=0, description="Longest wait between attempts to reach a down server.")
    redis_url: str | None = Field(
        None,
        validation_alias=AliasChoices("SOPHIA_GATEWAY_REDIS_URL", "REDIS_URL", "redis_url"),
        description="Redis for the approval queue (REDIS_URL is read too). Without it, calls that need "
        "approval are refused, never run.",
    )
    client_answer_timeout_s: float = Field(
        120.0,
        gt=0,
        le=3600,
        description="Longest the gateway waits for a client to answer a sampling or elicitation request an "
        "upstream server asked of it; past it the upstream gets an error.",
    )
    client_requests_per_principal: int = Field(
        16, ge=1, le=1000, description="Sampling/elicitation requests one principal may have unanswered at once."
    )
    client_answer_max_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest answer a client may post to a sampling/elicitation request."
    )
    approval_risk: Literal["high", "critical"] = Field(
        "high", description="Tools at or above this risk (and every destructive tool) wait for an approver."
    )
    approval_secret: SecretStr | None = Field(
        None,
        description="Key that seals approval records in Redis (HMAC). Unset: derived from the fleet's internal "
        "token; with neither, a random key per process (approvals then survive no gateway restart).",
    )
    approval_ttl_s: float = Field(24 * 3600, gt=0, description="How long a held call waits for a decision.")
    approval_retention_s: float = Field(
        7 * 24 * 3600, ge=0, description="How long a decided or expired approval stays readable."
    )
    edges_file: Path | None = Field(
        None, description="YAML of capability-graph edges; the shipped edges.yaml when unset."
    )
    warm_up: bool = Field(
        True, description="Load the intent model and example library at start (in the background), not on first use."
    )
    llm: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Use the router service's LLM (router_complete) for intents, missing arguments and answers: "
        "`auto` whenever a router serves and has a provider configured, `on` always when it serves, `off` never.",
    )
    llm_timeout_s: float = Field(8.0, gt=0, description="Longest wait for the LLM before the offline answer is used.")
    embedding_threads: int = Field(
        1,
        ge=1,
        le=16,
        description="Threads the local model embeds a request with (the intent package's EMBEDDING_THREADS by "
        "default). More pays only where the gateway has cores to itself.",
    )
    ask_rounds: int = Field(
        3,
        ge=1,
        le=6,
        description="Rounds of tool calls one `ask` may make, the planned one included: later rounds follow up on "
        "what earlier ones found (from the capability graph; with an LLM, plan -> run -> reflect). 1: none.",
    )
    ask_refinements: int = Field(
        1, ge=0, le=3, description="Times an LLM-written answer is critiqued against the results and rewritten."
    )
    step_timeout_s: float = Field(30.0, gt=0, description="Longest one plan step may take, retries included.")
    step_retries: int = Field(2, ge=0, le=5, description="Retries of a read-only or idempotent step.")
    breaker_threshold: int = Field(5, ge=1, description="Failures in a row that open a server's circuit.")
    breaker_cooldown_s: float = Field(30.0, gt=0, description="How long an open circuit stays open.")
    tool_list: Literal["all", "compact"] = Field(
        "all",
        description="tools/list answers every tool, or (compact) only ask, classify_intent and find_tools plus "
        "the top `compact_tools` tools, for clients that cap tool counts.",
    )
    compact_tools: int = Field(20, ge=0, le=200, description="How many tools the compact list adds.")
    pinned_tools: list[str] = Field(
        default_factory=list, description="Tools the compact list always includes, before the most used ones."
    )
    auth: Literal["on", "off"] = Field(
        "on",
        description="Authentication and the role policy. `off` (every caller is an anonymous admin) is for a "
        "single user on their own machine only; `sophia up` sets it explicitly.",
    )
    principals_file: Path | None = Field(
        None, description="YAML of API-key principals (name, roles, namespace, key_sha256); see `sophia keys`."
    )
    jwt_issuer: str | None = Field(None, description="OIDC issuer whose bearer JWTs are accepted (`iss`).")
    jwt_audience: str | None = Field(None, description="The `aud` a token must carry to be accepted here.")
    jwt_jwks_url: str | None = Field(None, description="The issuer's JWKS URL (signing keys).")
    jwt_algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"], description="Accepted algorithms.")
    jwt_roles_claim: str = Field("roles", description="Claim holding the principal's roles (list or spaces).")
    jwt_namespace_claim: str = Field("namespace", description="Claim holding the principal's namespace.")
    resource_url: str | None = Field(
        None, description="This gateway's public URL, as OAuth clients see it (RFC 9728 `resource`)."
    )
    authorization_servers: list[str] = Field(
        default_factory=list, description="OAuth authorization servers clients should get tokens from."
    )
    policy_file: Path | None = Field(None, description="Role policy YAML; the shipped policy.yaml when unset.")
    rate_limit_per_minute: float = Field(600, gt=0, description="Tool calls per principal per minute.")
    rate_limit_burst: int = Field(60, ge=1, description="Calls a principal may make at once.")
    expensive_tools: list[str] = Field(
        default_factory=lambda: ["ask", "router_complete", "code_review", "code_generate"],
        description="Tool patterns with their own, smaller allowance.",
    )
    expensive_per_minute: float = Field(60, gt=0, description="Expensive calls per principal per minute.")
    expensive_burst: int = Field(10, ge=1, description="Expensive calls a principal may make at once.")
    rate_limit_when_redis_down: Literal["open", "closed"] = Field(
        "closed", description="Without Redis: allow every call (open) or refuse with 503 (closed)."
    )
    audit_max_entries: int = Field(100_000, ge=100, description="The audit stream keeps about this many entries.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Root log level.")
    log_format: Literal["json", "text"] = Field("json", description="json for machines, text for a terminal.")
    otel_exporter: Literal["none", "otlp", "console"] = Field("none", description="Where spans go.")
    # Fleet-wide, read unprefixed (SOPHIA_INTERNAL_TOKEN, SOPHIA_INTERNAL_TOKEN_FILE): the gateway sends the
    # first token to every kit server, on MCP and on Describe; external servers never get it.
    internal_token: SecretStr | None = internal_token_field()
    internal_token_file: Path | None = internal_token_file_field()

    @field_validator("jwt_algorithms")
    @classmethod
    def _public_key_algorithms(cls, value: list[str]) -> list[str]:
        # A shared-secret (HS*) or unsigned token would let anyone who holds the secret, or no one, mint one.
        refused = sorted({name for name in value if name.upper().startswith("HS") or name.lower() == "none"})
        if refused:
            raise ValueError(f"{refused} are not accepted: use the issuer's public-key algorithms (RS256, ES256, ...)")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlFromSetting(settings_cls, init_settings, env_settings))

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


class _YamlFromSetting(PydanticBaseSettingsSource):
    """Read the YAML file named by `config_file` (given in code or in the environment)."""

    def __init__(self, settings_cls: type[BaseSettings], *sources: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        self._sources = sources

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = next((s().get("config_file") for s in self._sources if s().get("config_file")), None)
        if not path:
            return {}
        if not Path(path).is_file():
            raise FileNotFoundError(f"gateway config file {path} does not exist")
        return YamlConfigSettingsSource(self.settings_cls, yaml_file=path)()
