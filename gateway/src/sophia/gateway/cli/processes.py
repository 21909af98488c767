"""Child processes of `sophia up`: each leads its own process group and writes to its own log file."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import httpx

_PR_SET_PDEATHSIG = 1
# Loaded before any fork: the child must not have to load a library between fork and exec.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:
    """Runs in the child before exec: if `sophia up` is SIGKILLed, the kernel SIGTERMs the child."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def port_in_use(host: str, port: int) -> bool:
    """True when binding `host:port` fails the way the gateway's own bind would."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # uvicorn sets SO_REUSEADDR too, so a port in TIME_WAIT is not "busy" for either of us.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


class Child:
    """One supervised process. Its own session keeps a terminal's Ctrl-C away from it, so `sophia up`
    decides the order things stop in."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        log_path: Path,
        health_url: str | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.log_path = log_path
        self.health_url = health_url
        self.proc: subprocess.Popen[bytes] | None = None
        self.reported = False  # an unexpected exit is announced once

    def start(self, restart_note: str | None = None) -> Child:
        """Start the process. A restart within a run (`restart_note` says why) appends to this run's log,
        so the lines before a crash stay beside the ones after it."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        if restart_note is None and self.log_path.exists():
            # One log per run, and the previous run's kept for a post-mortem.
            self.log_path.replace(self.log_path.with_name(self.log_path.name + ".1"))
        with self.log_path.open("ab" if restart_note else "wb") as log:
            if restart_note:
                log.write(f"--- sophia up: {restart_note} ---\n".encode())
                log.flush()
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # preexec_fn is unsafe only with threads running, and the supervisor runs none.
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        return self

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def poll(self) -> int | None:
        """The exit code, or None while it runs (reaping it, so its group can empty)."""
        return None if self.proc is None else self.proc.poll()

    def healthy(self) -> bool:
        if self.health_url is None or self.poll() is not None:
            return False
        try:
            return httpx.get(self.health_url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def signal_group(self, sig: int) -> None:
        if self.proc is not None:
            # The group outlives its leader when the leader leaves helpers behind; signal them too.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, sig)

    def group_alive(self) -> bool:
        if self.proc is None:
            return False
        self.poll()
        try:
            os.killpg(self.proc.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def tail(self, lines: int = 20) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def stop_all(children: Iterable[Child], grace: float) -> None:
    """SIGTERM every child's process group, wait up to `grace` seconds for the groups to empty, then
    SIGKILL whatever is left."""
    children = [c for c in children if c.proc is not None]
    for child in children:
        child.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(c.group_alive() for c in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    for child in children:
        if child.group_alive():
            child.signal_group(signal.SIGKILL)
    for child in children:
        assert child.proc is not None
        child.proc.wait()
