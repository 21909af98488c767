"""Run a service: bind sockets, start dependencies, serve HTTP and gRPC, shut down gracefully."""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING

import uvicorn
import uvloop

from sophia.kit._grpc import ControlPlane
from sophia.kit._http import build_http_app
from sophia.kit._logging import configure_logging
from sophia.kit._tracing import configure_tracing

if TYPE_CHECKING:
    from sophia.kit._service import Service
    from sophia.kit._settings import ServiceSettings

logger = logging.getLogger("sophia.kit")


def bind(host: str, port: int) -> socket.socket:
    """Bind before serving so port 0 resolves to a real port that Describe can advertise."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so, and without it
    # every response waits ~40 ms on the peer's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


async def serve(service: Service, settings: ServiceSettings) -> None:
    http_socket = bind(settings.host, settings.http_port)
    settings.http_port = http_socket.getsockname()[1]
    control = ControlPlane(service, settings)
    settings.grpc_port = control.port
    await service.start(settings)
    await control.start()
    await control.set_serving(await service.is_ready())
    config = uvicorn.Config(
        build_http_app(service, settings),
        log_config=None,
        lifespan="on",
        timeout_graceful_shutdown=max(1, int(settings.shutdown_grace_s)),
        # The server sits behind the gateway or a client that keeps connections; idle ones are cheap.
        timeout_keep_alive=75,
    )
    server = uvicorn.Server(config)
    logger.info(
        "serving",
        extra={"mcp": f"{settings.base_url}/mcp", "grpc_port": settings.grpc_port, "tools": len(service.tools)},
    )
    try:
        await server.serve(sockets=[http_socket])
    finally:
        await control.stop(settings.shutdown_grace_s)
        await service.stop()
        logger.info("stopped")


def run(service: Service, settings: ServiceSettings) -> None:
    configure_logging(service.name, settings.log_level, settings.log_format)
    configure_tracing(service.name, settings.otel_exporter)
    uvloop.run(serve(service, settings))
