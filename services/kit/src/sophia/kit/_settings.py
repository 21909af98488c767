"""Settings every capability server shares; a service subclasses this once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from sophia.kit.security import internal_token_field, internal_token_file_field

LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*"]


def comma_list(value: object) -> object:
    """A list setting from the environment: a JSON array, or comma-separated (``main,master,release/*``).
    Use as a `mode="before"` validator on fields annotated `Annotated[list[str], NoDecode]`."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


class ServiceSettings(BaseSettings):
    """Process settings of a capability server.

    The kit reads them from the environment with the prefix ``SOPHIA_<SERVICE>_`` (for example
    ``SOPHIA_MEMORY_HTTP_PORT``); a service adds its own fields in a subclass. The internal credential
    is fleet-wide and read unprefixed (``SOPHIA_INTERNAL_TOKEN``, ``SOPHIA_INTERNAL_TOKEN_FILE``).
    """

    # Errors never echo input values: one of them may be a secret.
    model_config = SettingsConfigDict(extra="forbid", validate_default=True, hide_input_in_errors=True)

    host: str = Field("127.0.0.1", description="Interface the HTTP and gRPC servers bind to.")
    http_port: int = Field(8000, ge=0, le=65535, description="Port of the HTTP server (MCP, health, metrics).")
    grpc_port: int = Field(50051, ge=0, le=65535, description="Port of the gRPC control plane (Health, Describe).")
    public_url: str | None = Field(
        None,
        description="Base URL other processes use to reach this server's HTTP port; advertised by Describe. "
        "Defaults to http://<host>:<http_port>.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=lambda: list(LOOPBACK_HOSTS),
        description="Host header values the MCP endpoint accepts (DNS-rebinding protection); `host:*` matches "
        "any port and a lone `*` turns the check off, for use behind the gateway in a cluster.",
    )
    max_body_bytes: int = Field(4 * 1024 * 1024, gt=0, description="Largest accepted request body; larger is 413.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Root log level.")
    log_format: Literal["json", "text"] = Field("json", description="json for machines, text for a terminal.")
    otel_exporter: Literal["none", "otlp", "console"] = Field(
        "none", description="Where spans go. `otlp` sends to OTEL_EXPORTER_OTLP_ENDPOINT."
    )
    shutdown_grace_s: float = Field(5.0, ge=0, description="Seconds in-flight calls get to finish on SIGTERM.")
    internal_token: SecretStr | None = internal_token_field()
    internal_token_file: Path | None = internal_token_file_field()

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.http_port}").rstrip("/")
