"""Child processes that lead their own process group and write to their own log file: the one process
wrapper, used by `sophia up` (its fleet) and by `sophia.kit.testing.ManagedProcess` (servers in tests).

Its own session keeps a terminal's Ctrl-C away from the child, so whoever started it decides the order
things stop in; signals go to the whole group, since the group outlives its leader when the leader
leaves helpers behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Self

import httpx

__all__ = ["Child", "stop_all"]

_PR_SET_PDEATHSIG = 1
# Loaded before any fork: the child must not have to load a library between fork and exec.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:
    """Runs in the child before exec: if the parent is SIGKILLed, the kernel SIGTERMs the child."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Child:
    """One process, started in its own session.

    `rotate_log`: each start of a run writes a fresh log and keeps the previous one as `<log>.1`
    (otherwise it appends). `die_with_parent`: the kernel SIGTERMs the child when the thread that started
    it ends, so only a starter without threads (`sophia up`) should ask for it; it also runs code between
    fork and exec, which is unsafe while other threads run.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        log_path: Path,
        health_url: str | None = None,
        *,
        cwd: Path | None = None,
        rotate_log: bool = True,
        die_with_parent: bool = False,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.log_path = log_path
        self.health_url = health_url
        self.cwd = cwd
        self.rotate_log = rotate_log
        self.die_with_parent = die_with_parent
        self.proc: subprocess.Popen[bytes] | None = None
        self.reported = False  # an unexpected exit is announced once

    def start(self, restart_note: str | None = None) -> Self:
        """Start the process. A restart within a run (`restart_note` says why) appends to this run's log,
        so the lines before a crash stay beside the ones after it."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        fresh = self.rotate_log and restart_note is None
        if fresh and self.log_path.exists():
            self.log_path.replace(self.log_path.with_name(self.log_path.name + ".1"))
        with self.log_path.open("wb" if fresh else "ab") as log:
            if restart_note:
                log.write(f"--- sophia up: {restart_note} ---\n".encode())
                log.flush()
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if self.die_with_parent else None,
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

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.log().splitlines()[-lines:])


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
