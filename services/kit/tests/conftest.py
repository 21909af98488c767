"""Shared fixtures: kit servers as real processes, and kit HTTP apps served in-process on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from prometheus_client.parser import text_string_to_metric_families

from sophia.kit import Service, ServiceSettings
from sophia.kit._http import build_http_app
from sophia.kit._runner import bind
from sophia.kit.testing import ManagedProcess, free_port

ROOT = Path(__file__).resolve().parents[3]
SAMPLE_SCRIPT = ROOT / "tests" / "support" / "sample_service.py"
SAMPLE_MAX_BODY_BYTES = 4096


@dataclass
class Server:
    """A kit server running as its own process."""

    name: str
    process: ManagedProcess
    http_port: int
    grpc_port: int
    settings: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def mcp_url(self) -> str:
        return f"{self.url}/mcp"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"


def launch(script: Path, name: str, log_dir: Path, env: dict[str, str] | None = None, **settings: str) -> Server:
    """Start `script` with SOPHIA_<NAME>_* `settings` (plus `env`) on free ports; return once /healthz answers."""
    http_port = free_port()
    grpc_port = free_port()
    while grpc_port == http_port:
        grpc_port = free_port()
    prefix = f"SOPHIA_{name.upper()}_"
    env = {**(env or {}), f"{prefix}HTTP_PORT": str(http_port), f"{prefix}GRPC_PORT": str(grpc_port)}
    env |= {f"{prefix}{key.upper()}": value for key, value in settings.items()}
    process = ManagedProcess(
        [sys.executable, str(script)],
        env=env,
        log_path=log_dir / f"{name}.log",
        health_url=f"http://127.0.0.1:{http_port}/healthz",
        cwd=ROOT,
    )
    process.start(timeout=30)
    return Server(name, process, http_port, grpc_port, settings)


@pytest.fixture(scope="session")
def launch_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Server]]:
    """`launch_server(script, name, env=None, **settings)`: a kit server process, killed at the end of the session."""
    servers: list[Server] = []

    def start(script: Path, name: str, env: dict[str, str] | None = None, **settings: str) -> Server:
        servers.append(launch(script, name, tmp_path_factory.mktemp(name), env, **settings))
        return servers[-1]

    yield start
    for server in servers:
        server.process.kill()


@pytest.fixture(scope="session")
def sample_script() -> Path:
    return SAMPLE_SCRIPT


@pytest.fixture(scope="session")
def sample_process(launch_server: Callable[..., Server]) -> Server:
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
    """Serve the kit's HTTP app for `service` with uvicorn in this process on a free loopback port.

    Yields the base URL. Dependencies are not started here: tests that need them call `service.start`.
    """
    settings = settings or service.load_settings()
    sock = bind("127.0.0.1", 0)
    settings.http_port = sock.getsockname()[1]
    config = uvicorn.Config(build_http_app(service, settings), log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{settings.http_port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
def metric() -> Callable[..., float]:
    """`metric(service, name, **labels)`: one sample of the service's Prometheus metrics."""
    return _metric


@pytest.fixture
def serve_http() -> Callable[..., contextlib.AbstractAsyncContextManager[str]]:
    """`async with serve_http(service, settings) as base_url`: the kit's HTTP app on a loopback port."""
    return _serve_http
