"""Request checks every Sophia HTTP server applies the same way."""

from __future__ import annotations

from mcp.server.transport_security import TransportSecuritySettings


def transport_security(allowed_hosts: list[str]) -> TransportSecuritySettings:
    """DNS-rebinding protection for MCP endpoints: accept only the listed Host values (`*`: any)."""
    if "*" in allowed_hosts:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    origins = [f"http://{host}" for host in allowed_hosts] + [f"https://{host}" for host in allowed_hosts]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=allowed_hosts, allowed_origins=origins
    )
