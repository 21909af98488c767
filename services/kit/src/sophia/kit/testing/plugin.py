"""pytest fixtures shared by every package's tests (registered through the `pytest11` entry point)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from sophia.kit.testing._redis import RedisUnavailable, redis_server

_EXPORTER = InMemorySpanExporter()


def pytest_configure(config: pytest.Config) -> None:
    # Tests keep spans in memory: an OTLP exporter with no collector would stall shutdown.
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        trace.set_tracer_provider(provider)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis for the test session (see `sophia.kit.testing.redis_server` for where it comes from)."""
    try:
        with redis_server() as url:
            yield url
    except RedisUnavailable as exc:
        pytest.skip(f"no Redis available: {exc}")


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Spans finished during the test, in memory."""
    _EXPORTER.clear()
    yield _EXPORTER
    _EXPORTER.clear()


@pytest.fixture
def quiet_mcp_log() -> Iterator[None]:
    """The MCP SDK logs every failed call at INFO (through rich): a suite of expected failures would bury
    what matters. A package's conftest opts in with an autouse fixture that requests this one."""
    logger = logging.getLogger("mcp")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)
