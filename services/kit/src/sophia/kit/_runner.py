"""Run a service: bind sockets, start dependencies, serve HTTP and gRPC, shut down gracefully."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING

import uvicorn
import uvloop

from sophia.kit import heap
from sophia.kit._grpc import ControlPlane
from sophia.kit._http import build_http_app
from sophia.kit._logging import configure_logging
from sophia.kit._tracing import configure_tracing
from sophia.kit.security import InternalCredential, InternalTokenError
from sophia.kit.serving import uvicorn_limits

if TYPE_CHECKING:
    from sophia.kit._service import Service
    from sophia.kit._settings import ServiceSettings

logger = logging.getLogger("sophia.kit")

# How often gRPC health re-reads the readiness checks.
READINESS_INTERVAL_S = 1.0


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


class _Server(uvicorn.Server):
    """uvicorn's server with the kit owning SIGINT/SIGTERM.

    uvicorn re-raises a captured signal once it has served; with the default handler back in place
    that kills the process (exit -15) before gRPC and the dependencies are closed. Here a signal
    calls `on_signal` and starts uvicorn's drain, and `serve()` returns normally.
    """

    def __init__(self, config: uvicorn.Config, on_signal: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_signal = on_signal

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self.should_exit:
            self._on_signal()
        super().handle_exit(sig, frame)


async def _follow_readiness(service: Service, control: ControlPlane) -> None:
    """Keep gRPC health in step with the readiness checks, so watchers see the server go unready and back."""
    while True:
        await asyncio.sleep(READINESS_INTERVAL_S)
        await control.set_serving(await service.is_ready())


async def serve(service: Service, settings: ServiceSettings) -> None:
    # First: a bad token or an unreadable token file stops the server before it binds anything.
    credential = InternalCredential.from_settings(settings)
    if not credential.enabled:
        logger.warning(
            "internal auth is off: any process that reaches this server can call it; "
            "set SOPHIA_INTERNAL_TOKEN or SOPHIA_INTERNAL_TOKEN_FILE"
        )
    http_socket = bind(settings.host, settings.http_port)
    settings.http_port = http_socket.getsockname()[1]
    control = ControlPlane(service, settings, credential)
    settings.grpc_port = control.port
    await service.start(settings)
    await control.start()
    await control.set_serving(await service.is_ready())
    following = asyncio.create_task(_follow_readiness(service, control))
    heap.settle()  # the service's startup heap (its model, its schemas) is left out of later collections
    config = uvicorn.Config(
        build_http_app(service, settings, credential),
        log_config=None,
        lifespan="on",
        timeout_graceful_shutdown=max(1, int(settings.shutdown_grace_s)),
        # The server sits behind the gateway or a client that keeps connections; idle ones are cheap.
        timeout_keep_alive=75,
        access_log=False,  # calls are counted in metrics and logged when they fail; a line per request is noise
        **uvicorn_limits(header_timeout_s=10, body_timeout_s=30, max_connections=1000),
    )
    # On a signal, NOT_SERVING goes out first so watchers (the gateway) drop our tools while HTTP drains.
    draining: list[asyncio.Task[None]] = []
    server = _Server(config, on_signal=lambda: draining.append(asyncio.create_task(control.drain())))
    logger.info(
        "serving",
        extra={
            "mcp": f"{settings.base_url}/mcp",
            "grpc_port": settings.grpc_port,
            "tools": len(service.tools),
            "internal_auth": credential.enabled,
        },
    )
    try:
        await server.serve(sockets=[http_socket])
    finally:
        following.cancel()
        await control.stop(settings.shutdown_grace_s)
        await service.stop()
        logger.info("stopped")


def run(service: Service, settings: ServiceSettings) -> None:
    configure_logging(service.name, settings.log_level, settings.log_format)
    configure_tracing(service.name, settings.otel_exporter)
    try:
        uvloop.run(serve(service, settings))
    except InternalTokenError as exc:  # a configuration error, not a crash: one line says what to fix
        logger.error("cannot start: %s", exc)
        raise SystemExit(2) from None
