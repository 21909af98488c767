"""Which MCP server a Kubernetes Service announces, from its labels, annotations and ports.

    metadata.labels["sophia.dev/mcp"]: "kit"       a kit capability server: gRPC on the port named `grpc`
                                       "external"  any MCP server over Streamable HTTP on the port named `mcp`
                                                   (or `http`), at the path in annotation sophia.dev/mcp-path
                                                   (default /mcp)
    annotations["sophia.dev/mcp-name"]   the tool prefix of an external server (default: the Service name)
    annotations["sophia.dev/mcp-risk"]   risk of its tools that do not say they are read-only (default medium)

A Service that announces something unusable is skipped with a reason; it never stops the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from sophia.gateway.settings import ExternalServer

LABEL = "sophia.dev/mcp"
PATH = re.compile(r"^/[A-Za-z0-9._~/-]{0,200}$")


@dataclass(frozen=True)
class Discovered:
    """One server a Service announces: `key` is the Service's namespace/name, stable while it exists."""

    key: str
    kit_address: str | None = None
    external: ExternalServer | None = None


class Unusable(ValueError):
    """A Service that carries the label but cannot be used; the message says why."""


def from_service(service: dict[str, Any]) -> Discovered:
    meta = service.get("metadata") or {}
    name, namespace = meta.get("name"), meta.get("namespace")
    labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
    if not isinstance(name, str) or not isinstance(namespace, str):
        raise Unusable("a Service without a name or namespace")
    key = f"{namespace}/{name}"
    ports = {p.get("name"): p.get("port") for p in (service.get("spec") or {}).get("ports") or []}
    host = f"{name}.{namespace}.svc"
    kind = labels.get(LABEL)
    if kind == "kit":
        if not isinstance(ports.get("grpc"), int):
            raise Unusable(f"{key}: a kit server needs a port named grpc")
        return Discovered(key, kit_address=f"{host}:{ports['grpc']}")
    if kind == "external":
        port = ports.get("mcp", ports.get("http"))
        if not isinstance(port, int):
            raise Unusable(f"{key}: an external server needs a port named mcp or http")
        path = annotations.get("sophia.dev/mcp-path", "/mcp")
        if not PATH.match(path):
            raise Unusable(f"{key}: annotation sophia.dev/mcp-path must be a plain absolute path")
        try:
            server = ExternalServer(
                name=annotations.get("sophia.dev/mcp-name", name),
                url=f"http://{host}:{port}{path}",
                risk=annotations.get("sophia.dev/mcp-risk", "medium"),
            )
        except ValidationError as exc:
            fields = ", ".join(str(e["loc"][0]) for e in exc.errors())
            raise Unusable(f"{key}: unusable {fields} (name: lower-case letters and digits, no '-' or '_')") from None
        return Discovered(key, external=server)
    raise Unusable(f"{key}: label {LABEL} must be kit or external")
