"""Shared state for a local fleet: which Redis the children use.

`REDIS_URL` when it is set; else a private `redis-server` for this fleet, its append-only file under
the data directory so state survives restarts; else none, with a warning. (The brief's last resort,
fakeredis, is not a dependency of Sophia, so it is not used.)
"""

from __future__ import annotations

import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from sophia.gateway.cli.processes import Child, free_ports, stop_all

START_TIMEOUT_S = 10.0


class RedisStartError(RuntimeError):
    """The private redis-server did not answer."""


@dataclass
class SharedState:
    redis_url: str | None
    redis: Child | None
    note: str


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def provide(data_dir: Path, env: dict[str, str]) -> SharedState:
    """Pick or start the fleet's Redis; the caller stops `redis` (when there is one) last."""
    if env.get("REDIS_URL"):
        return SharedState(env["REDIS_URL"], None, "REDIS_URL from the environment")
    binary = shutil.which("redis-server", path=env.get("PATH"))
    if binary is None:
        return SharedState(
            None,
            None,
            "no REDIS_URL and no redis-server on PATH: running without Redis, so no state is durable "
            "(install redis-server or set REDIS_URL)",
        )
    (port,) = free_ports(1)
    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(redis_dir),
        "--appendonly",
        "yes",
    ]
    child = Child("redis", argv, env, data_dir / "logs" / "redis.log").start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _answers_ping(port):
        if child.poll() is not None or time.monotonic() > deadline:
            stop_all([child], grace=2)
            raise RedisStartError(f"redis-server did not start; see {child.log_path}:\n{child.tail()}")
        time.sleep(0.05)
    return SharedState(f"redis://127.0.0.1:{port}/0", child, f"private redis-server, data in {redis_dir}")
