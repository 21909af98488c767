"""Enforce the fleet's internal credential on both planes, so nothing can call around the gateway.

HTTP: every path but the probes (`/healthz`, `/readyz`) and `/metrics` needs
`Authorization: Bearer <token>`; anything else is 401. gRPC: every method but `grpc.health.v1.Health`
(Kubernetes probes it natively) needs the same value as `authorization` metadata; anything else is
UNAUTHENTICATED. Unknown paths and methods are refused alike, so a refusal does not reveal what exists.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from starlette.types import ASGIApp, Receive, Scope, Send

from sophia.kit.security import InternalCredential

logger = logging.getLogger("sophia.kit.auth")

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
OPEN_GRPC_PREFIX = "/grpc.health.v1.Health/"
REFUSED = "missing or invalid internal credential"
_BODY = json.dumps({"error": REFUSED}).encode()
_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(_BODY)).encode()),
    (b"www-authenticate", b"Bearer"),
]


class InternalAuthMiddleware:
    """ASGI middleware: refuse requests without the internal credential with a 401 JSON answer."""

    def __init__(self, app: ASGIApp, credential: InternalCredential) -> None:
        self.app = app
        self.credential = credential

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        authorization = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        if self.credential.accepts(authorization):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        logger.warning("refused a call without the internal credential", extra={"path": scope["path"], "peer": client})
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await send({"type": "http.response.start", "status": 401, "headers": _HEADERS})
        await send({"type": "http.response.body", "body": _BODY})


async def _refuse(request: Any, context: grpc.aio.ServicerContext) -> None:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, REFUSED)


async def _refuse_stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, REFUSED)
    yield  # pragma: no cover - a generator, as streaming handlers are


def _refusal(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """A handler of the same shape as `handler` that answers UNAUTHENTICATED."""
    kind = (handler.request_streaming, handler.response_streaming)
    if kind == (False, False):
        return grpc.unary_unary_rpc_method_handler(_refuse)
    if kind == (False, True):
        return grpc.unary_stream_rpc_method_handler(_refuse_stream)
    if kind == (True, False):
        return grpc.stream_unary_rpc_method_handler(_refuse)
    return grpc.stream_stream_rpc_method_handler(_refuse_stream)


class InternalAuthInterceptor(grpc.aio.ServerInterceptor):
    """gRPC server interceptor: every method but Health needs `authorization: Bearer <token>` metadata."""

    def __init__(self, credential: InternalCredential) -> None:
        self.credential = credential

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        method: str = handler_call_details.method
        metadata = handler_call_details.invocation_metadata or ()
        authorization = next((value for key, value in metadata if key == "authorization"), None)
        if method.startswith(OPEN_GRPC_PREFIX) or self.credential.accepts(authorization):
            return await continuation(handler_call_details)
        logger.warning("refused a gRPC call without the internal credential", extra={"method": method})
        handler = await continuation(handler_call_details)
        # An unknown method is refused like a known one rather than answered UNIMPLEMENTED.
        return _refusal(handler) if handler is not None else grpc.unary_unary_rpc_method_handler(_refuse)
