"""DNS-rebinding and cross-site protection for every route, not only `/mcp`.

Under `sophia up` auth is off, so a web page that reaches the local gateway through a rebound DNS name
(its Host header is the attacker's name) or by a cross-site form post could create branches, push and
approve. So, before authentication:

- `Host` must be one of `SOPHIA_GATEWAY_ALLOWED_HOSTS` (`name`, `name:port`, or `name:*` for any port);
  anything else is 421 with the setting to change. Probes (`/healthz`, `/readyz`, `/metrics`, GET only)
  are exempt: Kubernetes and Prometheus address pods by IP.
- A browser's `Origin`, when present, must be an allowed host too (403).
- A state-changing request (POST, PUT, PATCH, DELETE) from a browser context another site opened
  (`Sec-Fetch-Site: cross-site`, or `Origin: null`) is refused (403).
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

logger = logging.getLogger("sophia.gateway.origin")

PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def host_allowed(host: str, allowed: list[str]) -> bool:
    """`host` (a Host header, or an Origin's host[:port]) against the allow-list."""
    host = host.lower()
    for entry in allowed:
        entry = entry.lower()
        if host == entry or (entry.endswith(":*") and host.startswith(entry[:-1])):
            return True
    return False


class HostOriginGuard:
    def __init__(self, app: ASGIApp, allowed_hosts: list[str]) -> None:
        self.app = app
        self.allowed = allowed_hosts
        self.any_host = "*" in allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k: v for k, v in scope["headers"] if k in (b"host", b"origin", b"sec-fetch-site")}
        method = scope["method"]
        if not (method == "GET" and scope["path"] in PROBES):
            refusal = self._refusal(headers, method)
            if refusal is not None:
                await _refuse(send, *refusal)
                return
        await self.app(scope, receive, send)

    def _refusal(self, headers: dict[bytes, bytes], method: str) -> tuple[int, str] | None:
        host = headers.get(b"host", b"").decode("latin-1")
        if not self.any_host and not host_allowed(host, self.allowed):
            logger.warning("refused a request for a foreign Host", extra={"host": host[:100]})
            return 421, (
                f"this gateway does not answer for Host {host[:100]!r}; if that name is yours, add it to "
                "SOPHIA_GATEWAY_ALLOWED_HOSTS"
            )
        origin = headers.get(b"origin")
        if origin is not None:
            text = origin.decode("latin-1")
            if text == "null":
                if method in STATE_CHANGING:
                    return 403, "cross-origin request refused (Origin: null)"
            else:
                origin_host = urlsplit(text).netloc
                if not self.any_host and not host_allowed(origin_host, self.allowed):
                    logger.warning("refused a cross-origin request", extra={"origin": text[:100]})
                    return 403, f"cross-origin request from {text[:100]!r} refused"
        if method in STATE_CHANGING and headers.get(b"sec-fetch-site") == b"cross-site":
            return 403, "cross-site request refused"
        return None


async def _refuse(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": {"type": "Misdirected" if status == 421 else "CrossOrigin", "message": message}})
    encoded = body.encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(encoded)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": encoded})
