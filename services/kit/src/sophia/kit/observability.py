"""Logging and tracing setup shared by every Sophia process (capability servers and the gateway)."""

from sophia.kit._logging import JsonFormatter, configure_logging
from sophia.kit._metrics import LATENCY_BUCKETS
from sophia.kit._tracing import TraceContextMiddleware, configure_tracing

__all__ = ["LATENCY_BUCKETS", "JsonFormatter", "TraceContextMiddleware", "configure_logging", "configure_tracing"]
