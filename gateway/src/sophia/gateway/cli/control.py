"""How other `sophia` commands reach a running `sophia up`: a state file and a control socket, both in
its data directory.

- `<data-dir>/up.json`: the supervisor's view (its pid, the gateway URL, each service's pid, state and
  restart count), rewritten atomically on every change. `sophia status` reads it to show restarts.
- `<data-dir>/up.sock`: a Unix socket, mode 0600, so only this user can ask for anything. A request is
  one JSON line (`{"restart": "memory"}`), at most `MAX_REQUEST` bytes; the answer is one JSON line.
  The supervisor polls it without blocking from its watch loop (it runs no threads: children are
  started with a `preexec_fn`).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from pathlib import Path
from typing import Any

STATE_FILE = "up.json"
SOCKET_FILE = "up.sock"
MAX_REQUEST = 1024
# A Unix socket path is limited to 107 bytes on Linux; a longer data dir gets no control socket.
MAX_SOCKET_PATH = 107


class ControlError(RuntimeError):
    """No running `sophia up` answered, or it refused the request."""


def write_state(data_dir: Path, state: dict[str, Any]) -> None:
    path = data_dir / STATE_FILE
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(state, indent=2))
    temporary.replace(path)  # readers never see half a file


def read_state(data_dir: Path) -> dict[str, Any] | None:
    """The running supervisor's state, or None when no `sophia up` is running on this data dir."""
    try:
        state = json.loads((data_dir / STATE_FILE).read_text())
        os.kill(int(state["pid"]), 0)  # a state file left by a supervisor that was SIGKILLed is stale
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state if isinstance(state, dict) else None


class ControlServer:
    """The supervisor's end: accept without blocking, read one bounded request, answer it."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / SOCKET_FILE
        self.sock: socket.socket | None = None

    def open(self) -> str | None:
        """Listen; returns why not when the socket cannot be made (the fleet runs on without it)."""
        if len(os.fsencode(self.path)) > MAX_SOCKET_PATH:
            return f"the data dir path is too long for a control socket ({self.path})"
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # left by a supervisor that was killed; read_state found it not running
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)  # created 0600: no window in which another user could connect
        try:
            sock.bind(str(self.path))
        except OSError as exc:
            sock.close()
            return f"no control socket at {self.path}: {exc}"
        finally:
            os.umask(old_umask)
        sock.listen(4)
        sock.setblocking(False)
        self.sock = sock
        return None

    def poll(self) -> tuple[socket.socket, dict[str, Any]] | None:
        """A waiting request and the connection to answer it on, or None."""
        if self.sock is None:
            return None
        try:
            conn, _ = self.sock.accept()
        except BlockingIOError:
            return None
        conn.settimeout(2.0)  # a client that connects and says nothing cannot stall the supervisor
        try:
            raw = _read_line(conn)
            request = json.loads(raw)
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except (OSError, ValueError) as exc:
            answer(conn, {"ok": False, "error": f"bad request: {exc}"})
            return None
        return conn, request

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


def answer(conn: socket.socket, reply: dict[str, Any]) -> None:
    with conn, contextlib.suppress(OSError):
        conn.sendall(json.dumps(reply).encode() + b"\n")


def _read_line(conn: socket.socket) -> bytes:
    data = b""
    while b"\n" not in data:
        chunk = conn.recv(MAX_REQUEST)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_REQUEST:
            raise ValueError(f"longer than {MAX_REQUEST} bytes")
    return data.split(b"\n", 1)[0]


def send(data_dir: Path, request: dict[str, Any], timeout: float) -> dict[str, Any]:
    """The client's end: one request to the `sophia up` running on `data_dir`, and its answer."""
    path = data_dir / SOCKET_FILE
    if read_state(data_dir) is None or not path.exists():
        raise ControlError(f"no `sophia up` is running with data dir {data_dir} (--data-dir picks another)")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
            sock.sendall(json.dumps(request).encode() + b"\n")
            reply = json.loads(_read_line(sock) or b"null")
        except (OSError, ValueError) as exc:
            raise ControlError(f"`sophia up` at {path} did not answer: {exc}") from exc
    if not isinstance(reply, dict):
        raise ControlError(f"`sophia up` at {path} closed the connection without an answer")
    if not reply.get("ok"):
        raise ControlError(str(reply.get("error") or "refused"))
    return reply
