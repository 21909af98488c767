"""`sophia.kit.testing`: throwaway Redis, managed child processes, free ports, polling."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from sophia.kit.testing import ManagedProcess, RedisUnavailable, free_port, redis_server, wait_until


def redis_answers_ping(url: str) -> bool:
    """PING over a raw socket (redis-py is not a kit dependency)."""
    host, port = url.removeprefix("redis://").split("/")[0].rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def python(code: str, tmp_path: Path, health_url: str | None = None, cwd: Path | None = None) -> ManagedProcess:
    """A managed `python -c code` logging to tmp_path/child.log."""
    argv = [sys.executable, "-c", code]
    return ManagedProcess(argv, log_path=tmp_path / "child.log", health_url=health_url, cwd=cwd)


def is_gone(pid: int) -> bool:
    """True when `pid` no longer runs (absent, or a zombie nobody reaped yet)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


# -- Redis ---------------------------------------------------------------------------------------


def test_redis_server_yields_a_redis_that_answers_and_is_gone_after() -> None:
    try:
        with redis_server(use_env=False) as url:
            assert redis_answers_ping(url)
    except RedisUnavailable as exc:
        pytest.skip(f"no redis-server binary and no Docker: {exc}")
    assert not redis_answers_ping(url)


def test_redis_server_prefers_redis_url_from_the_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://redis.example:6379/3")
    with redis_server() as url:
        assert url == "redis://redis.example:6379/3"


def test_redis_url_fixture_answers_ping(redis_url: str) -> None:
    assert redis_answers_ping(redis_url)


# -- ManagedProcess ------------------------------------------------------------------------------


def test_start_returns_once_the_health_url_answers(tmp_path: Path) -> None:
    port = free_port()
    process = python(
        "import http.server, sys; "
        f"http.server.HTTPServer(('127.0.0.1', {port}), http.server.SimpleHTTPRequestHandler).serve_forever()",
        tmp_path,
        health_url=f"http://127.0.0.1:{port}/",
        cwd=tmp_path,
    )
    with process:
        assert process.healthy()
    assert process.returncode is not None


def test_start_fails_with_the_log_when_the_process_dies_first(tmp_path: Path) -> None:
    process = python("print('config is broken'); raise SystemExit(2)", tmp_path, health_url="http://127.0.0.1:9/")
    with pytest.raises(RuntimeError, match="config is broken"):
        process.start(timeout=10)


def test_stop_returns_the_exit_code(tmp_path: Path) -> None:
    process = python(
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n",
        tmp_path,
    ).start()
    wait_until(lambda: "ready" in process.log(), 10, "the child to install its handler")
    assert process.stop() == 3


def test_stop_kills_a_process_that_ignores_sigterm(tmp_path: Path) -> None:
    process = python(
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n",
        tmp_path,
    ).start()
    wait_until(lambda: "ready" in process.log(), 10, "the child to ignore SIGTERM")
    assert process.stop(timeout=0.5) == -9


def test_kill_kills_the_whole_process_group(tmp_path: Path) -> None:
    process = python(
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n",
        tmp_path,
    ).start()
    wait_until(lambda: process.log().strip().isdigit(), 10, "the grandchild's pid")
    grandchild = int(process.log())
    process.kill()
    assert process.returncode == -9
    wait_until(lambda: is_gone(grandchild), 5, f"grandchild {grandchild} to die")


def test_stop_of_a_process_that_already_exited_returns_its_code(tmp_path: Path) -> None:
    process = python("raise SystemExit(4)", tmp_path).start()
    wait_until(lambda: process.returncode is not None, 10, "the child to exit")
    assert process.stop() == 4


# -- ports and polling ---------------------------------------------------------------------------


def test_free_port_can_be_bound() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))


def test_wait_until_names_what_it_waited_for() -> None:
    with pytest.raises(TimeoutError, match="the moon"):
        wait_until(lambda: False, 0.1, "the moon")


def test_entering_a_started_process_does_not_start_another(tmp_path: Path) -> None:
    process = ManagedProcess([sys.executable, "-c", "import time; time.sleep(30)"], log_path=tmp_path / "p.log")
    process.start()
    first = process.proc
    with process as entered:
        assert entered.proc is first
    assert first is not None and first.poll() is not None
