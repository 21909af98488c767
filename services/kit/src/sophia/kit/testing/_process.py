from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import httpx

from sophia.kit.processes import Child


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll `predicate` until it is true; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


class ManagedProcess(Child):
    """A `Child` for tests: the environment is this process's plus `env`, output appended to its log,
    `start` waits for the health URL, and it works as a context manager."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        log_path: Path,
        health_url: str | None = None,
        cwd: Path | None = None,
    ) -> None:
        # Tests start processes from many threads: no death signal tied to the starting thread.
        super().__init__(
            Path(argv[-1]).name if argv else "process",
            argv,
            {**os.environ, **(env or {})},
            log_path,
            health_url,
            cwd=cwd,
            rotate_log=False,
        )

    def start(self, timeout: float = 30) -> ManagedProcess:  # type: ignore[override]
        super().start()
        if self.health_url:
            try:
                wait_until(self.healthy, timeout, f"{self.argv} at {self.health_url} (log: {self.log_path})")
            except BaseException:
                self.kill()  # never leave a half-started process behind
                raise
        return self

    def healthy(self) -> bool:
        if self.proc is None or self.proc.poll() is not None:
            raise RuntimeError(f"{self.argv} exited with {self.returncode}; log:\n{self.log()}")
        try:
            return httpx.get(self.health_url or "", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def stop(self, timeout: float = 10) -> int | None:
        """SIGTERM, then SIGKILL after `timeout`; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.returncode
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.returncode

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash, with no chance to clean up."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def __enter__(self) -> ManagedProcess:
        # Entering an already started process must not start a second one that would orphan it.
        return self if self.returncode is None and self.proc is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
