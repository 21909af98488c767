from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sophia.kit.testing._ports import free_port
from sophia.kit.testing._process import wait_until


class RedisUnavailable(RuntimeError):
    """No way to get a Redis here: no REDIS_URL, no redis-server binary, no Docker engine."""


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def _local_redis(binary: str, appendonly: bool) -> Iterator[str]:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="sophia-redis-") as data_dir:
        argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", data_dir, "--save", ""]
        argv += ["--appendonly", "yes" if appendonly else "no"]
        log = Path(data_dir) / "redis.log"
        proc = subprocess.Popen([*argv, "--logfile", str(log)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: _answers_ping(port), 10, f"redis-server on port {port}")
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait(10)


@contextlib.contextmanager
def _container_redis() -> Iterator[str]:
    try:
        from testcontainers.redis import RedisContainer
    except ImportError as exc:
        raise RedisUnavailable("testcontainers is not installed") from exc
    try:
        container = RedisContainer("redis:7-alpine").start()
    except Exception as exc:  # the docker client raises many kinds when no engine answers
        raise RedisUnavailable(f"no Docker engine answered: {exc}") from exc
    try:
        host, port = container.get_container_host_ip(), container.get_exposed_port(6379)
        yield f"redis://{host}:{port}/0"
    finally:
        container.stop()


@contextlib.contextmanager
def redis_server(appendonly: bool = False, use_env: bool = True) -> Iterator[str]:
    """Yield the URL of a Redis for tests: ``REDIS_URL``, else a throwaway ``redis-server`` on a free
    port, else a testcontainers Redis when a Docker engine answers; raise `RedisUnavailable` otherwise."""
    if use_env and os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    binary = shutil.which("redis-server")
    if binary:
        with _local_redis(binary, appendonly) as url:
            yield url
        return
    with _container_redis() as url:
        yield url
