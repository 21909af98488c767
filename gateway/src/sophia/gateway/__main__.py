"""`python -m sophia.gateway`: serve the gateway until SIGINT/SIGTERM."""

from __future__ import annotations

import logging

import uvicorn

from sophia.gateway.app import create_app
from sophia.gateway.errors import ConfigurationError
from sophia.gateway.settings import GatewaySettings
from sophia.kit.observability import configure_logging, configure_tracing
from sophia.kit.security import InternalTokenError
from sophia.kit.serving import uvicorn_limits


def main() -> None:
    settings = GatewaySettings()
    configure_logging("gateway", settings.log_level, settings.log_format)
    configure_tracing("gateway", settings.otel_exporter)
    try:
        app = create_app(settings)
    except (InternalTokenError, ConfigurationError) as exc:  # not a crash: one line says what to fix
        logging.getLogger("sophia.gateway").error("cannot start: %s", exc)
        raise SystemExit(2) from None
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_keep_alive=75,
        timeout_graceful_shutdown=5,
        # The gateway faces callers directly; trusting X-Forwarded-* is a deployment decision
        # (an ingress sets it), and parsing it costs time on every call.
        proxy_headers=False,
        server_header=False,
        # Every call is in the audit stream and the metrics already; an access line per request costs CPU
        # on the hot path (measured ~3 % of the gateway's time under load) and says less.
        access_log=False,
        # Slow clients: read deadlines per request and a connection cap (see sophia.kit.serving).
        **uvicorn_limits(settings.header_timeout_s, settings.body_timeout_s, settings.max_connections),
    )


if __name__ == "__main__":
    main()
