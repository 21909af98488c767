"""Start real fleet processes on free loopback ports for tests: kit servers and the gateway."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from sophia.kit.testing import KitServer, ManagedProcess, free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_SERVICE = ROOT / "tests" / "support" / "sample_service.py"
STDIO_SERVER = ROOT / "tests" / "support" / "stdio_server.py"


def sample_server(log_dir: Path, **settings: str) -> KitServer:
    """The sample kit server that the tests define (tests/support/sample_service.py)."""
    return KitServer(SAMPLE_SERVICE, "sample", log_dir, settings={"log_format": "text", **settings})


@dataclass
class GatewayProcess:
    servers: list[str]
    log_dir: Path
    external: list[dict[str, Any]] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mcp_url(self) -> str:
        return f"{self.url}/mcp"

    def start(self) -> GatewayProcess:
        env = {
            "SOPHIA_GATEWAY_PORT": str(self.port),
            "SOPHIA_GATEWAY_SERVERS": json.dumps(self.servers),
            "SOPHIA_GATEWAY_EXTERNAL": json.dumps(self.external),
            "SOPHIA_GATEWAY_LOG_FORMAT": "text",
            "SOPHIA_GATEWAY_RECONNECT_MAX_S": "0.5",
            # Most tests never classify a request: load the intent model on first use, not at start.
            "SOPHIA_GATEWAY_WARM_UP": "false",
            # Auth is off unless a test turns it on (tests/test_security.py does); so is the router's LLM
            # (tests/test_ask_llm.py turns it on), so the offline paths are what the other tests see.
            "SOPHIA_GATEWAY_AUTH": "off",
            "SOPHIA_GATEWAY_LLM": "off",
            # Replicas seal and verify approval records with one shared key (as a deployment configures it).
            "SOPHIA_GATEWAY_APPROVAL_SECRET": "approval-secret-shared-by-test-replicas",
            **self.extra_env,
        }
        self.process = ManagedProcess(
            [sys.executable, "-m", "sophia.gateway"],
            env=env,
            log_path=self.log_dir / "gateway.log",
            health_url=f"{self.url}/readyz",
            cwd=ROOT,
        ).start()
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def capabilities(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/v1/capabilities", timeout=5).json()  # type: ignore[no-any-return]

    def ask(self, query: str, **fields: Any) -> dict[str, Any]:
        """`POST /v1/ask` answered 200, as JSON."""
        response = httpx.post(f"{self.url}/v1/ask", json={"query": query, **fields}, timeout=60)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def tool_names(self) -> set[str]:
        return {tool["name"] for tool in self.capabilities()["tools"]}

    def wait_for_tools(
        self, present: set[str] = frozenset(), absent: set[str] = frozenset(), timeout: float = 15
    ) -> None:  # type: ignore[assignment]
        def ready() -> bool:
            names = self.tool_names()
            return present <= names and not (absent & names)

        wait_until(ready, timeout, f"tools present={sorted(present)} absent={sorted(absent)}")
