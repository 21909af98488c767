"""Shared fixtures: kit servers as real processes, and kit HTTP apps served in-process on loopback."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sophia.kit import Service, ServiceSettings
from sophia.kit._http import build_http_app
from sophia.kit.testing import KitServer, serve_asgi

ROOT = Path(__file__).resolve().parents[3]
SAMPLE_SCRIPT = ROOT / "tests" / "support" / "sample_service.py"
SAMPLE_MAX_BODY_BYTES = 4096


def launch(script: Path, name: str, log_dir: Path, env: dict[str, str] | None = None, **settings: str) -> KitServer:
    """Start `script` with SOPHIA_<NAME>_* `settings` (plus `env`) on free ports; return once /healthz answers."""
    return KitServer(script, name, log_dir, settings=settings, env=env or {}).start()


@pytest.fixture(scope="session")
def launch_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., KitServer]]:
    """`launch_server(script, name, env=None, **settings)`: a kit server process, killed at the end of the session."""
    servers: list[KitServer] = []

    def start(script: Path, name: str, env: dict[str, str] | None = None, **settings: str) -> KitServer:
        servers.append(launch(script, name, tmp_path_factory.mktemp(name), env, **settings))
        return servers[-1]

    yield start
    for server in servers:
        server.kill()


@pytest.fixture(scope="session")
def sample_script() -> Path:
    return SAMPLE_SCRIPT


@pytest.fixture(scope="session")
def sample_process(launch_server: Callable[..., KitServer]) -> KitServer:
    """The sample service (tests/support/sample_service.py) as a subprocess, shared by the session."""
    return launch_server(SAMPLE_SCRIPT, "sample", max_body_bytes=str(SAMPLE_MAX_BODY_BYTES), log_format="json")


def _metric(service: Service, name: str, /, **labels: str) -> float:
    """The value of one sample in `service.metrics.render()` (0 when absent)."""
    text = service.metrics.render()[0].decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


@contextlib.asynccontextmanager
async def _serve_http(service: Service, settings: ServiceSettings | None = None) -> AsyncIterator[str]:
    """Serve the kit's HTTP app for `service` in this process on a free loopback port; yield the base URL.

    Dependencies are not started here: tests that need them call `service.start`.
    """
    async with serve_asgi(build_http_app(service, settings or service.load_settings())) as url:
        yield url


@pytest.fixture
def metric() -> Callable[..., float]:
    """`metric(service, name, **labels)`: one sample of the service's Prometheus metrics."""
    return _metric


@pytest.fixture
def serve_http() -> Callable[..., contextlib.AbstractAsyncContextManager[str]]:
    """`async with serve_http(service, settings) as base_url`: the kit's HTTP app on a loopback port."""
    return _serve_http


def build_ping_service(name: str = "ping") -> Service:
    """A one-tool service for tests that need a fresh server of their own."""
    service = Service(name)

    @service.tool(read_only=True)
    async def ping() -> str:
        """Answer pong."""
        return "pong"

    return service
