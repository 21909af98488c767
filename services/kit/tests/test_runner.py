"""The runner over a real process: SIGTERM shuts the server down gracefully."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVING = health_pb2.HealthCheckResponse.SERVING


@dataclass
class Termination:
    """What a health watcher and the parent saw when the server got SIGTERM."""

    returncode: int | None
    seconds: float
    statuses: list[int]
    stream_ended: bool
    log: str


@pytest.fixture(scope="module")
def terminated(launch_server: Callable[..., Any], sample_script: Path) -> Termination:
    """Start the sample service, watch its health, send SIGTERM and record what happened."""
    server = launch_server(sample_script, "sample", shutdown_grace_s="1")
    with grpc.insecure_channel(server.grpc_address) as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service="sample"), timeout=20)
        assert next(watch).status == SERVING
        started = time.monotonic()
        returncode = server.process.stop(timeout=10)
        seconds = time.monotonic() - started
        statuses: list[int] = []
        try:
            statuses.extend(message.status for message in watch)
            ended = True
        except grpc.RpcError as exc:
            ended = exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
    return Termination(returncode, seconds, statuses, ended, server.process.log())


def test_sigterm_stops_the_process_within_a_few_seconds(terminated: Termination) -> None:
    assert terminated.returncode is not None
    assert terminated.seconds < 5


def test_sigterm_ends_health_watches_or_reports_not_serving(terminated: Termination) -> None:
    assert NOT_SERVING in terminated.statuses or terminated.stream_ended


def test_sigterm_shuts_down_cleanly_and_exits_zero(terminated: Termination) -> None:
    assert terminated.returncode == 0
    assert '"msg": "stopped"' in terminated.log


def test_sigterm_tells_health_watchers_not_serving(terminated: Termination) -> None:
    assert NOT_SERVING in terminated.statuses
