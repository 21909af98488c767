"""Authentication at the edge: an ASGI middleware in front of `/mcp` and the HTTP API.

Credentials: `Authorization: Bearer <API key or JWT>` or `X-API-Key: <API key>`. A request without
valid ones gets 401 with `WWW-Authenticate` pointing at the protected-resource metadata (RFC 9728),
which tells an OAuth 2.1 client where to get a token. The credential itself stays here: upstream
calls are built by the gateway and never carry it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from sophia.gateway.security.principals import KEY_PREFIX, ApiKeys, Principal, current
from sophia.gateway.security.tokens import InvalidToken, JWTVerifier

logger = logging.getLogger("sophia.gateway.auth")

METADATA_PATH = "/.well-known/oauth-protected-resource"
# Liveness, readiness, Prometheus, the API description and the OAuth metadata answer anyone; so do the
# console's page and the static assets of it and of /docs, which carry no data (the console's data comes
# from routes that authenticate).
OPEN_PATHS = frozenset(
    {"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/", "/ui", "/ui/"}
)
OPEN_PREFIXES = ("/ui/static/", "/docs/static/")


class Unauthenticated(Exception):
    def __init__(self, description: str, invalid_token: bool) -> None:
        super().__init__(description)
        self.invalid_token = invalid_token


class Authenticator:
    def __init__(self, api_keys: ApiKeys | None, jwt: JWTVerifier | None, anonymous: Principal | None) -> None:
        self.api_keys = api_keys
        self.jwt = jwt
        self.anonymous = anonymous  # set when auth is off: everyone is this principal

    async def aclose(self) -> None:
        if self.jwt is not None:
            await self.jwt.aclose()

    async def authenticate(self, headers: Headers) -> Principal:
        if self.anonymous is not None:
            return self.anonymous
        credential = _credential(headers)
        if credential is None:
            raise Unauthenticated("credentials are required", invalid_token=False)
        if credential.startswith(KEY_PREFIX):
            principal = self.api_keys.verify(credential) if self.api_keys else None
            if principal is None:
                raise Unauthenticated("unknown API key", invalid_token=True)
            return principal
        if self.jwt is None:
            raise Unauthenticated("bearer tokens are not accepted here; use an API key", invalid_token=True)
        try:
            return await self.jwt.verify(credential)
        except InvalidToken as exc:
            raise Unauthenticated(str(exc), invalid_token=True) from exc


def _credential(headers: Headers) -> str | None:
    authorization = headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    api_key = headers.get("x-api-key", "").strip()
    return api_key or None


class AuthMiddleware:
    def __init__(self, app: ASGIApp, authenticator: Authenticator, resource: str, authorization_servers: list[str]):
        self.app = app
        self.authenticator = authenticator
        self.resource = resource.rstrip("/")
        self.authorization_servers = authorization_servers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path.startswith(METADATA_PATH):
            await _json(send, 200, self.metadata())
            return
        if path in OPEN_PATHS or (path.startswith(OPEN_PREFIXES) and ".." not in path):
            await self.app(scope, receive, send)
            return
        try:
            principal = await self.authenticator.authenticate(Headers(scope=scope))
        except Unauthenticated as exc:
            await self._unauthorized(send, exc)
            return
        token = current.set(principal)
        try:
            await self.app(scope, receive, send)
        finally:
            current.reset(token)

    def metadata(self) -> dict[str, Any]:
        """OAuth 2.0 Protected Resource Metadata (RFC 9728)."""
        return {
            "resource": self.resource,
            "authorization_servers": self.authorization_servers,
            "bearer_methods_supported": ["header"],
            "resource_name": "Sophia gateway",
        }

    async def _unauthorized(self, send: Send, exc: Unauthenticated) -> None:
        challenge = f'Bearer resource_metadata="{self.resource}{METADATA_PATH}"'
        if exc.invalid_token:
            challenge += f', error="invalid_token", error_description="{exc}"'
        body = {"error": {"type": "Unauthenticated", "message": str(exc)}}
        await _json(send, 401, body, [(b"www-authenticate", challenge.encode())])


async def _json(
    send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    payload = json.dumps(body).encode()
    all_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": all_headers + (headers or [])})
    await send({"type": "http.response.body", "body": payload})
