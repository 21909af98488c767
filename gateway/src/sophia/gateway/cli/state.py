"""Shared state for a local fleet: which Redis the children use.

`REDIS_URL` when it is set; else a private `redis-server` for this fleet, its append-only file under
the data directory so state survives restarts; else fakeredis's TCP server in a child process, with
a warning that nothing survives it.
"""

from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from sophia.gateway.cli.processes import Child, stop_all
from sophia.kit.ports import free_ports

START_TIMEOUT_S = 10.0


class RedisStartError(RuntimeError):
    """The private redis-server did not answer."""


@dataclass
class SharedState:
    redis_url: str | None
    redis: Child | None
    note: str
    durable: bool = True


def _answers_ping(url: str) -> bool:
    try:
        with redis.Redis.from_url(url, socket_timeout=0.5) as client:  # closed: this polls during startup
            return bool(client.ping())
    except redis.RedisError:
        return False


def _start(name: str, argv: list[str], env: dict[str, str], data_dir: Path) -> tuple[str, Child]:
    """Start a Redis-speaking child on `argv`'s port and wait until it answers PING."""
    url = f"redis://127.0.0.1:{argv[argv.index('--port') + 1]}/0"
    child = Child(name, argv, env, data_dir / "logs" / f"{name}.log").start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _answers_ping(url):
        if child.poll() is not None or time.monotonic() > deadline:
            stop_all([child], grace=2)
            raise RedisStartError(f"{name} did not start; see {child.log_path}:\n{child.tail()}")
        time.sleep(0.05)
    return url, child


def provide(data_dir: Path, env: dict[str, str]) -> SharedState:
    """Pick or start the fleet's Redis; the caller stops `redis` (when there is one) last."""
    if env.get("REDIS_URL"):
        return SharedState(env["REDIS_URL"], None, "REDIS_URL from the environment")
    (port,) = free_ports(1)
    binary = shutil.which("redis-server", path=env.get("PATH"))
    if binary is None:
        argv = [sys.executable, "-m", "sophia.gateway.cli.fake_redis", "--port", str(port)]
        url, child = _start("fakeredis", argv, env, data_dir)
        note = (
            "no REDIS_URL and no redis-server on PATH: using fakeredis in memory, so no state is durable "
            "(install redis-server or set REDIS_URL)"
        )
        return SharedState(url, child, note, durable=False)
    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--appendonly", "yes", "--dir", str(redis_dir)]
    url, child = _start("redis", argv, env, data_dir)
    return SharedState(url, child, f"private redis-server, data in {redis_dir}")
