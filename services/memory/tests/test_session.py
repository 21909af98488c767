"""Short-term memory in real Redis: capped, expiring, and durable across a restart with append-only files on."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from sophia.kit.testing import free_port, wait_until
from sophia.memory.session import Sessions

from .conftest import Tools


async def test_turns_come_back_oldest_first_and_capped(tools: Tools, namespace: str) -> None:
    for i in range(55):
        kept = await tools.ok("append_turn", session_id="chat-1", text=f"turn {i}", namespace=namespace)
    assert kept["turns"] == 50  # the default cap
    recent = await tools.ok("recent_turns", session_id="chat-1", namespace=namespace, n=3)
    assert [t["text"] for t in recent["turns"]] == ["turn 52", "turn 53", "turn 54"]
    assert recent["turns"][0]["role"] == "user" and recent["turns"][0]["at"]


async def test_sessions_are_per_namespace(tools: Tools, namespace: str) -> None:
    await tools.ok("append_turn", session_id="chat", text="secret plan", namespace=namespace, role="assistant")
    other = await tools.ok("recent_turns", session_id="chat", namespace=f"{namespace}-other")
    assert other["turns"] == []


async def test_bad_turns_are_refused(tools: Tools, namespace: str) -> None:
    assert "empty" in await tools.error("append_turn", session_id="chat", text="", namespace=namespace)
    assert "invalid session id" in await tools.error("append_turn", session_id="a b", text="x", namespace=namespace)
    assert "role" in await tools.error("append_turn", session_id="c", text="x", role="narrator", namespace=namespace)
    assert "n must be" in await tools.error("recent_turns", session_id="c", n=0, namespace=namespace)


async def test_an_idle_conversation_expires(redis_url: str, namespace: str) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        sessions = Sessions(redis, max_turns=5, ttl_s=1)
        await sessions.append(namespace, "s", "user", "hello")
        await asyncio.sleep(0.6)
        await sessions.append(namespace, "s", "user", "again")  # each turn renews the expiry
        await asyncio.sleep(0.6)
        assert len(await sessions.recent(namespace, "s", 5)) == 2  # 1.2 s after the first turn, still there
        await asyncio.sleep(0.6)
        assert await sessions.recent(namespace, "s", 5) == []
    finally:
        await redis.aclose()


class RestartableRedis:
    """A redis-server with append-only persistence whose data directory and port survive restarts.

    The kit's `redis_server` helper deletes its directory when stopped, so it cannot show what a
    restart keeps; this one can.
    """

    def __init__(self, data_dir: Path, fsync: str) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed")
        self.port = free_port()
        self.argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(data_dir)]
        self.argv += ["--save", "", "--appendonly", "yes", "--appendfsync", fsync, "--logfile", "redis.log"]
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_until(self._answers, 10, f"redis-server on port {self.port}")

    def stop(self, crash: bool = False) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill() if crash else self.proc.terminate()
            self.proc.wait(10)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@pytest.fixture
def restartable(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[RestartableRedis]:
    server = RestartableRedis(tmp_path, request.param)
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("restartable", "crash"),
    [("everysec", False), ("always", True)],
    indirect=["restartable"],
    ids=["graceful-restart", "kill-9-with-fsync-always"],
)
async def test_acknowledged_turns_survive_a_redis_restart(restartable: RestartableRedis, crash: bool) -> None:
    """Written, acknowledged, server stopped (SIGTERM, or SIGKILL with appendfsync always), restarted on
    the same directory and port: every turn is read back."""
    redis = Redis.from_url(restartable.url, decode_responses=True)
    sessions = Sessions(redis, max_turns=100, ttl_s=3600)
    for i in range(20):
        await sessions.append("team", "chat", "user", f"turn {i}")
    await redis.aclose()
    restartable.stop(crash=crash)
    restartable.start()
    redis = Redis.from_url(restartable.url, decode_responses=True)
    try:
        turns = await Sessions(redis, max_turns=100, ttl_s=3600).recent("team", "chat", 100)
        assert [t["text"] for t in turns] == [f"turn {i}" for i in range(20)]
    finally:
        await redis.aclose()
