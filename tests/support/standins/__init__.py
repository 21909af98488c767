"""TEST STAND-INS for the capability servers that do not exist yet: router, code, infra, business, visual.

Each is a real kit server (MCP over HTTP, gRPC Describe and Health) exposing the planned service's tool
contract with the real tools' names, parameters, descriptions and annotations, but its tools only echo
``{"service", "tool", "arguments"}``: nothing is done and no data is invented. Knobs, per stand-in,
from ``SOPHIA_<NAME>_*`` (pass them as `settings` below, without the prefix):

- ``DELAY_MS``: every call sleeps this long first;
- ``FAIL_TOOLS``: comma-separated tool names that raise ``ToolError("injected failure")``;
- ``CALL_LOG``: a file that gets one JSON line ``{"ts", "service", "tool", "arguments"}`` per call;
- ``SCRIPT`` (router only): JSON ``{substring: reply}`` that ``complete`` answers from.

```python
with running_standins(tmp_path, common={"call_log": log}, settings={"infra": {"fail_tools": "up"}}) as fleet:
    gateway = GatewayProcess(fleet.grpc_addresses, tmp_path).start()
```

By hand: ``python -m tests.support.standins.infra`` from the repository root.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sophia.kit.testing import KitServer, free_port

STANDINS = ("router", "code", "infra", "business", "visual")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]

Setting = str | int | Path


def standin_server(name: str, log_dir: Path, **settings: Setting) -> KitServer:
    """One stand-in as a `KitServer` (not started yet); `settings` become ``SOPHIA_<NAME>_<KEY>``."""
    if name not in STANDINS:
        raise ValueError(f"no stand-in named {name!r}; there are {STANDINS}")
    values = {key: str(value.resolve() if isinstance(value, Path) else value) for key, value in settings.items()}
    # The script imports `tests.support.standins`, so the repository root goes on the path; PYTHONSAFEPATH keeps
    # the script's own folder off it, where `code.py` would shadow the standard library's `code` module.
    python_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return KitServer(
        HERE / f"{name}.py",
        name,
        log_dir,
        settings={"log_format": "text", **values},
        env={"PYTHONPATH": python_path, "PYTHONSAFEPATH": "1"},
    )


@dataclass
class Standins:
    """Running stand-ins by name."""

    servers: dict[str, KitServer]

    @property
    def grpc_addresses(self) -> list[str]:
        """What the gateway's ``SOPHIA_GATEWAY_SERVERS`` lists."""
        return [server.grpc_address for server in self.servers.values()]

    def __getitem__(self, name: str) -> KitServer:
        return self.servers[name]


@contextlib.contextmanager
def running_standins(
    log_dir: Path,
    names: Iterable[str] = STANDINS,
    *,
    common: Mapping[str, Setting] | None = None,
    settings: Mapping[str, Mapping[str, Setting]] | None = None,
) -> Iterator[Standins]:
    """Start stand-ins (all by default) in parallel and stop them on exit.

    `common` settings go to every stand-in, `settings[name]` to one (and win); paths are made absolute.
    """
    settings = settings or {}
    servers = {name: standin_server(name, log_dir, **{**(common or {}), **settings.get(name, {})}) for name in names}
    _distinct_ports(servers.values())
    with ThreadPoolExecutor(max_workers=max(1, len(servers))) as pool:
        try:
            # Let every start end before raising the first failure, so the stops below reach every server that started.
            starts = [pool.submit(server.start) for server in servers.values()]
            futures.wait(starts)
            for start in starts:
                start.result()
            yield Standins(servers)
        finally:
            list(pool.map(KitServer.stop, servers.values()))


def _distinct_ports(servers: Iterable[KitServer]) -> None:
    """`free_port` may hand out a port twice in a row; servers started together need distinct ones."""
    taken: set[int] = set()
    for server in servers:
        while server.http_port in taken:
            server.http_port = free_port()
        taken.add(server.http_port)
        while server.grpc_port in taken:
            server.grpc_port = free_port()
        taken.add(server.grpc_port)
