"""Child processes of `sophia up` (the kit's one process wrapper, `sophia.kit.processes`) and its port check."""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence
from pathlib import Path

from sophia.kit.processes import Child as KitChild
from sophia.kit.processes import stop_all

__all__ = ["Child", "port_in_use", "stop_all"]


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


class Child(KitChild):
    """A member of `sophia up`'s fleet: a kit `Child` that the kernel SIGTERMs if `sophia up` itself is
    SIGKILLed (safe here: the supervisor runs no threads). Its log is fresh per run, `<name>.log.1` the
    previous run's."""

    def __init__(
        self, name: str, argv: Sequence[str], env: Mapping[str, str], log_path: Path, health_url: str | None = None
    ) -> None:
        super().__init__(name, argv, env, log_path, health_url, die_with_parent=True)
