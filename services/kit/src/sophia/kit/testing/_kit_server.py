from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from sophia.kit.testing._ports import free_port
from sophia.kit.testing._process import ManagedProcess


@dataclass
class KitServer:
    """A kit capability server in its own process on free loopback ports.

    `settings` become ``SOPHIA_<NAME>_<KEY>`` variables. The ports stay fixed across restarts, so a
    gateway that knows the gRPC address finds the server again.
    """

    script: Path
    name: str
    log_dir: Path
    settings: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    http_port: int = field(default_factory=free_port)
    grpc_port: int = field(default_factory=free_port)
    process: ManagedProcess | None = None

    def __post_init__(self) -> None:
        while self.grpc_port == self.http_port:
            self.grpc_port = free_port()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def mcp_url(self) -> str:
        return f"{self.url}/mcp"

    @property
    def grpc_address(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def start(self, timeout: float = 30) -> KitServer:
        """Start the process and return once /healthz answers."""
        prefix = f"SOPHIA_{self.name.upper()}_"
        env = {**self.env, f"{prefix}HTTP_PORT": str(self.http_port), f"{prefix}GRPC_PORT": str(self.grpc_port)}
        env |= {f"{prefix}{key.upper()}": value for key, value in self.settings.items()}
        self.process = ManagedProcess(
            [sys.executable, str(self.script)],
            env=env,
            log_path=self.log_dir / f"{self.name}.log",
            health_url=f"{self.url}/healthz",
            cwd=self.script.parent,
        ).start(timeout)
        return self

    def stop(self) -> int | None:
        return None if self.process is None else self.process.stop()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    def __enter__(self) -> KitServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
