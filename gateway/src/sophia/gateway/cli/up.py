"""`sophia up`: the gateway and every capability service on this machine, as one supervised fleet.

Start order: shared state (Redis), then the services in parallel, then the gateway once they answer,
so its first discovery pass already finds them. Stop order is the reverse: the gateway first (no new
calls are routed), the services, Redis last (services may flush state on the way out). A service that
dies is reported and started again on the same ports after a capped exponential backoff (the gateway
routes around it meanwhile and finds it again by itself); `sophia restart <service>` asks for a
restart through the control socket (`control.py`). A gateway that dies ends the fleet.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sophia.gateway.cli.control import ControlServer, answer, write_state
from sophia.gateway.cli.output import console, fail
from sophia.gateway.cli.processes import Child, port_in_use, stop_all
from sophia.gateway.cli.services import ServiceConfigError, discover
from sophia.gateway.cli.state import RedisStartError, SharedState, provide
from sophia.kit.ports import free_ports
from sophia.kit.security import TOKEN_ENV

#: Entry point group of services' demos: a callable returning an object with `url`, `env` and `stop()`.
DEMO_GROUP = "sophia.demos"
GRACE_S = 10.0  # per stop phase; the kit and the gateway finish in-flight calls within 5 s
START_TIMEOUT_S = 30.0
DISCOVERY_TIMEOUT_S = 10.0
LOOPBACK = "127.0.0.1"
# A crashed service is started again after 1, 2, 4, … seconds, never more than RESTART_MAX_S apart; one
# that then stays up for STABLE_S starts over at 1 s. A crash loop costs little and still heals.
RESTART_FIRST_S = 1.0
RESTART_MAX_S = 30.0
STABLE_S = 60.0


def _url_host(host: str) -> str:
    """The host to put in a URL we connect to: a wildcard bind is reached on loopback."""
    host = LOOPBACK if host in ("", "0.0.0.0", "::") else host
    return f"[{host}]" if ":" in host else host


def _shown(path: Path) -> str:
    relative = os.path.relpath(path)
    return path.as_posix() if relative.startswith("..") else relative


@dataclass
class Member:
    """A capability service of the fleet."""

    name: str
    child: Child
    http_url: str
    grpc_address: str
    restarts: int = 0
    crashes_in_a_row: int = 0  # since it last stayed up STABLE_S; sets the backoff
    started_at: float = 0.0  # monotonic
    restart_at: float | None = None  # monotonic; set while a restart waits out its backoff

    def backoff(self) -> float:
        return min(RESTART_MAX_S, RESTART_FIRST_S * 2 ** max(0, self.crashes_in_a_row - 1))

    @property
    def state(self) -> str:
        if self.restart_at is not None:
            return "restarting"
        return "running" if self.child.poll() is None else f"exited ({self.child.poll()})"


class StopRequest:
    """SIGINT (Ctrl-C), SIGTERM and SIGHUP only raise a flag: the supervisor stops at a point it chooses,
    never half-way through starting a process it would then not know about."""

    def __init__(self) -> None:
        self.signal: int | None = None

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: object) -> None:
        self.signal = signum

    @property
    def requested(self) -> bool:
        return self.signal is not None


class Supervisor:
    def __init__(
        self,
        host: str,
        port: int,
        data_dir: Path,
        services: dict[str, list[str]],
        out: Console,
        demo: bool = False,
    ) -> None:
        self.host = host
        self.demo = demo
        self.demos: dict[str, Any] = {}  # service name -> its running demo (stand-in APIs), with --demo
        self.port = port
        self.data_dir = data_dir
        self.logs = data_dir / "logs"
        self.services = services
        self.out = out
        self.url = f"http://{_url_host(host)}:{port}"
        # Children's own logs go to files; their format follows what a person would read here.
        self.log_format = "text" if sys.stdout.isatty() else "json"
        self.stop_request = StopRequest()
        self.state = SharedState(None, None, "")
        self.members: list[Member] = []
        self.gateway: Child | None = None
        self.control = ControlServer(data_dir)

    def run(self) -> int:
        self.stop_request.install()
        try:
            if not self._start():
                return 0 if self.stop_request.requested else 1
            if problem := self.control.open():
                self.out.print(f"[yellow]warning: {escape(problem)}; `sophia restart` will not reach this fleet[/]")
            self._write_state()
            self._print_fleet(self._discovered())
            return self._watch()
        finally:
            self.control.close()
            (self.data_dir / "up.json").unlink(missing_ok=True)
            self._stop()

    # -- start ----------------------------------------------------------------------------

    def _start(self) -> bool:
        env = {**os.environ, "SOPHIA_DATA_DIR": str(self.data_dir)}
        try:
            self.state = provide(self.data_dir, env)
        except RedisStartError as exc:
            fail(str(exc))
            return False
        if self.stop_request.requested:
            return False
        if self.state.redis_url:
            env["REDIS_URL"] = self.state.redis_url
        # A fresh internal credential per run, shared by the services and the gateway only (Redis was
        # started without it): nothing else on this machine can call a service around the gateway.
        # It lives in the children's environments alone; never printed, never written down.
        env[TOKEN_ENV] = secrets.token_urlsafe(32)
        if not env.get("SOPHIA_INFRA_PASSPHRASE") and not env.get("SOPHIA_INFRA_PASSPHRASE_FILE"):
            env["SOPHIA_INFRA_PASSPHRASE_FILE"] = str(local_passphrase(self.data_dir))
        if self.demo:
            self._start_demos()
        ports = free_ports(2 * len(self.services))
        for (name, argv), http_port, grpc_port in zip(self.services.items(), ports[::2], ports[1::2], strict=True):
            prefix = f"SOPHIA_{name.upper()}_"
            service_env = {
                **env,
                # Loopback always: the services are private to this fleet; only the gateway faces callers.
                f"{prefix}HOST": LOOPBACK,
                f"{prefix}HTTP_PORT": str(http_port),
                f"{prefix}GRPC_PORT": str(grpc_port),
                f"{prefix}LOG_FORMAT": self.log_format,
                # --demo: this service's connectors point at its stand-ins (their made-up tokens are its alone).
                **(self.demos[name].env if name in self.demos else {}),
            }
            http_url = f"http://{LOOPBACK}:{http_port}"
            child = Child(name, argv, service_env, self.logs / f"{name}.log", f"{http_url}/healthz")
            member = Member(name, child.start(), http_url, f"{LOOPBACK}:{grpc_port}", started_at=time.monotonic())
            self.members.append(member)
        self._wait_for_services()
        if self.stop_request.requested:
            return False
        return self._start_gateway(env)

    def _start_demos(self) -> None:
        """Services that offer a demo (entry point group `sophia.demos`) get local stand-in APIs with
        sample data that says it is demo data; off unless `--demo`."""
        for entry in entry_points(group=DEMO_GROUP):
            if entry.name in self.services:
                demo = entry.load()()
                self.demos[entry.name] = demo
                self.out.print(f"[yellow]Demo mode[/]: {entry.name} talks to local stand-ins with sample data at "
                               f"{demo.url} (every record says it is demo data)")  # fmt: skip

    def _wait_for_services(self) -> None:
        pending = [m.child for m in self.members]
        deadline = time.monotonic() + START_TIMEOUT_S
        while pending and not self.stop_request.requested and time.monotonic() < deadline:
            for child in list(pending):
                if child.poll() is not None:
                    pending.remove(child)  # reported, with its log, and restarted by the watch loop
                elif child.healthy():
                    pending.remove(child)
            time.sleep(0.1)
        for child in pending:
            if not self.stop_request.requested:
                self.out.print(
                    f"[yellow]{child.name} is not healthy after {START_TIMEOUT_S:.0f} s; "
                    f"left starting (log: {_shown(child.log_path)})[/]"
                )

    def _start_gateway(self, env: dict[str, str]) -> bool:
        gateway_env = {
            **env,
            "SOPHIA_GATEWAY_HOST": self.host,
            "SOPHIA_GATEWAY_PORT": str(self.port),
            "SOPHIA_GATEWAY_SERVERS": json.dumps([m.grpc_address for m in self.members]),
            "SOPHIA_GATEWAY_LOG_FORMAT": self.log_format,
            # The local fleet serves one user on loopback: auth is off here, explicitly (containers and
            # Kubernetes keep the default, on). Set SOPHIA_GATEWAY_AUTH=on (and principals) to try it locally.
            "SOPHIA_GATEWAY_AUTH": env.get("SOPHIA_GATEWAY_AUTH", "off"),
        }
        argv = [sys.executable, "-m", "sophia.gateway"]
        self.gateway = Child("gateway", argv, gateway_env, self.logs / "gateway.log", f"{self.url}/readyz").start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.stop_request.requested:
            if self.gateway.poll() is not None:
                fail(
                    f"the gateway exited with code {self.gateway.poll()} while starting; "
                    f"last lines of {_shown(self.gateway.log_path)}:\n{self.gateway.tail()}"
                )
                return False
            if self.gateway.healthy():
                return True
            if time.monotonic() > deadline:
                log = _shown(self.gateway.log_path)
                fail(f"the gateway was not ready after {START_TIMEOUT_S:.0f} s; see {log}")
                return False
            time.sleep(0.1)
        return False

    def _discovered(self) -> dict[str, Any]:
        """The gateway's capabilities once it has tried every server (none left `starting`)."""
        caps: dict[str, Any] = {}
        deadline = time.monotonic() + DISCOVERY_TIMEOUT_S
        while time.monotonic() < deadline and not self.stop_request.requested:
            try:
                caps = httpx.get(f"{self.url}/v1/capabilities", timeout=2).json()
            except (httpx.HTTPError, ValueError):
                caps = {}
            if caps and all(s.get("status") != "starting" for s in caps.get("servers", [])):
                break
            time.sleep(0.1)
        return caps

    # -- report ---------------------------------------------------------------------------

    def _print_fleet(self, caps: dict[str, Any]) -> None:
        by_address = {s.get("address"): s for s in caps.get("servers", [])}
        table = Table("service", "pid", "HTTP", "gRPC", "status", "restarts", "log")
        assert self.gateway is not None
        table.add_row("gateway", str(self.gateway.pid), self.url, "", "ready", "", _shown(self.gateway.log_path))
        for member in self.members:
            code = member.child.poll()
            server = by_address.get(member.grpc_address, {})
            if member.restart_at is not None:
                status = f"restarting in {max(0.0, member.restart_at - time.monotonic()):.0f} s"
            else:
                status = f"exited ({code})" if code is not None else server.get("status", "unknown")
            if status == "serving":
                status += f" ({len(server.get('tools', []))} tools)"
            elif server.get("error"):
                status += f": {server['error']}"
            table.add_row(
                member.name,
                str(member.child.pid),
                member.http_url,
                member.grpc_address,
                escape(status),
                str(member.restarts),
                _shown(member.child.log_path),
            )
        redis = self.state.redis
        if redis is not None:
            redis_url = self.state.redis_url or ""
            table.add_row(redis.name, str(redis.pid), redis_url, "", "running", "", _shown(redis.log_path))
        self.out.print(f"Sophia gateway: [bold]{self.url}[/]  (MCP endpoint: {self.url}/mcp)")
        self.out.print(table)
        if not self.state.durable:
            self.out.print(f"[yellow]warning: {escape(self.state.note)}[/]")
        else:
            self.out.print(f"Shared state: {escape(self.state.note)}")
        if not self.members:
            self.out.print(
                "No capability services found: the gateway runs alone. Add one under development "
                'with SOPHIA_UP_EXTRA_SERVICES=\'{"name": ["python", "path/to/server.py"]}\'.'
            )
        self.out.print(f"Data in {_shown(self.data_dir)}. Press Ctrl-C to stop everything.")

    def _report_exit(self, child: Child, then: str) -> None:
        child.reported = True
        self.out.print(
            f"[red]{child.name} exited with code {child.poll()} unexpectedly; {then}; the gateway routes around "
            f"it meanwhile. "
            f"Last lines of {_shown(child.log_path)}:[/]\n{escape(child.tail(5))}"
        )

    # -- heal -----------------------------------------------------------------------------

    def _heal(self) -> None:
        """Schedule a restart for each service that died; start the ones whose backoff is over."""
        now = time.monotonic()
        for member in self.members:
            child = member.child
            if member.restart_at is None and child.poll() is not None:
                # One that stayed up a while crashed for a new reason: start over at the shortest wait.
                member.crashes_in_a_row = 1 if now - member.started_at >= STABLE_S else member.crashes_in_a_row + 1
                delay = member.backoff()
                member.restart_at = now + delay
                self._report_exit(child, f"restarting it in {delay:.0f} s (restart {member.restarts + 1})")
                self._write_state()
            elif member.restart_at is not None and now >= member.restart_at:
                self._restart(member, f"restart {member.restarts + 1} after exit code {child.poll()}")

    def _restart(self, member: Member, why: str) -> None:
        """Start the service again with the same argv, environment and ports: the gateway's address for
        it stays right, so it reconnects by itself."""
        stop_all([member.child], GRACE_S)  # a running one (`sophia restart`): stopped like at shutdown
        member.child.reported = False
        member.child.start(restart_note=why)
        member.restarts += 1
        member.restart_at = None
        member.started_at = time.monotonic()
        self.out.print(
            f"[green]{member.name} restarted[/] (pid {member.child.pid}, {why}; "
            f"{member.restarts} restart{'s' if member.restarts != 1 else ''} this run)"
        )
        self._write_state()

    def _serve_control(self) -> None:
        waiting = self.control.poll()
        if waiting is None:
            return
        conn, request = waiting
        name = request.get("restart")
        member = next((m for m in self.members if m.name == name), None)
        if member is None:
            known = ", ".join(m.name for m in self.members) or "none"
            hint = " (the gateway restarts with the fleet: stop `sophia up` and start it again)"
            answer(conn, {"ok": False, "error": f"no service {str(name)[:100]!r} in this fleet (services: {known})"
                          + (hint if name == "gateway" else "")})  # fmt: skip
            return
        member.crashes_in_a_row = 0  # asked for: no backoff
        self._restart(member, "restart asked for with `sophia restart`")
        answer(conn, {"ok": True, "service": member.name, "pid": member.child.pid, "restarts": member.restarts})

    def _write_state(self) -> None:
        services = {
            m.name: {"pid": m.child.pid, "state": m.state, "restarts": m.restarts, "log": str(m.child.log_path)}
            for m in self.members
        }
        write_state(self.data_dir, {"pid": os.getpid(), "url": self.url, "services": services})

    # -- run and stop ---------------------------------------------------------------------

    def _watch(self) -> int:
        assert self.gateway is not None
        while not self.stop_request.requested:
            code = self.gateway.poll()
            if code is not None:
                fail(
                    f"the gateway exited with code {code}; stopping everything. "
                    f"Last lines of {_shown(self.gateway.log_path)}:\n{self.gateway.tail()}"
                )
                return 1
            self._heal()
            self._serve_control()
            redis = self.state.redis
            if redis is not None and not redis.reported and redis.poll() is not None:
                redis.reported = True
                self.out.print(
                    f"[red]{redis.name} exited with code {redis.poll()}; shared state is gone "
                    f"(log: {_shown(redis.log_path)})[/]"
                )
            time.sleep(0.2)
        return 0

    def _stop(self) -> None:
        phases: list[list[Child | None]] = [
            [self.gateway],
            [m.child for m in self.members],
            [self.state.redis],
        ]
        if not any(c is not None and c.proc is not None for phase in phases for c in phase):
            return
        self.out.print("Stopping…")
        for phase in phases:
            stop_all([c for c in phase if c is not None], GRACE_S)
        for demo in self.demos.values():
            demo.stop()
        self.out.print("Stopped.")


def run(host: str | None, port: int | None, data_dir: Path | None, demo: bool = False) -> int:
    """Resolve the settings, refuse a busy port before starting anything, then supervise the fleet."""
    # The supervisor speaks through its console; its children log to files. A service module imported for
    # its demo builds an MCPServer, which installs an INFO root handler (basicConfig); then httpx logs every health
    # poll and uvicorn every demo start. `disable` holds whatever configures logging later; warnings show.
    logging.disable(logging.INFO)
    host = host or os.environ.get("SOPHIA_GATEWAY_HOST") or LOOPBACK
    try:
        port = port if port is not None else int(os.environ.get("SOPHIA_GATEWAY_PORT") or 8080)
    except ValueError:
        return fail(f"SOPHIA_GATEWAY_PORT={os.environ['SOPHIA_GATEWAY_PORT']!r} is not a port number", 2)
    if port == 0:  # the fleet must know the port to print it, so pick it here
        (port,) = free_ports(1)
    if port_in_use(host, port):
        return fail(
            f"port {port} on {host} is already in use (another `sophia up`?); "
            "choose another with --port or SOPHIA_GATEWAY_PORT"
        )
    try:
        services = discover()
    except ServiceConfigError as exc:
        return fail(str(exc), 2)
    data_dir = (data_dir or Path(os.environ.get("SOPHIA_DATA_DIR") or ".sophia")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    return Supervisor(host, port, data_dir, services, console(), demo=demo).run()


def local_passphrase(data_dir: Path) -> Path:
    """The passphrase that encrypts secrets in this install's local Pulumi state (infra's embedded default):
    made once, kept beside the state it protects (readable by this user only), never printed. Losing it
    loses the stacks' secrets, exactly as losing a Pulumi passphrase does."""
    path = data_dir / "secrets" / "infra-passphrase"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    return path
