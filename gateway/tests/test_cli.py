"""`sophia up`, `status`, `tools` and `call`, run for real: `sophia up` is a child process on free
loopback ports, supervising the real gateway, the sample kit service and (when installed) redis-server."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from sophia.gateway.cli import main
from sophia.kit.testing import free_port, wait_until

REPO = Path(__file__).resolve().parents[2]
SAMPLE = {"sample": ["python", "tests/support/sample_service.py"]}
READY_LINE = "Press Ctrl-C to stop everything."
needs_redis = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")


def children_of(pid: int) -> list[int]:
    """Every descendant of `pid`, from /proc (the kernel here has no /proc/<pid>/task/*/children)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # The command name may hold spaces and parentheses: the fields after the last ')' are fixed.
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [child for child, ppid in parents.items() if ppid == parent]
        found += kids
        frontier += kids
    return found


def is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def cmdline(pid: int) -> str:
    return (Path(f"/proc/{pid}/cmdline").read_bytes()).replace(b"\0", b" ").decode()


def environment(pid: int) -> dict[str, str]:
    items = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
    return dict(item.split("=", 1) for item in items if "=" in item)


class Up:
    """A running `sophia up`, its output in a file."""

    def __init__(self, tmp_path: Path, services: dict[str, list[str]] | None = None, *args: str, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = tmp_path / "data"
        self.out_path = tmp_path / "up.out"
        full_env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "SOPHIA_GATEWAY_SERVERS")}
        # Only the services a test names: installed ones (memory, …) would change what it sees.
        full_env |= {"SOPHIA_UP_SERVICES": "", "SOPHIA_UP_EXTRA_SERVICES": json.dumps(services or {}), **env}
        argv = [sys.executable, "-m", "sophia.gateway.cli", "up", "--port", str(self.port), *args]
        with self.out_path.open("wb") as out:
            self.proc = subprocess.Popen(
                [*argv, "--data-dir", str(self.data_dir)], cwd=REPO, env=full_env, stdout=out, stderr=subprocess.STDOUT
            )

    def output(self) -> str:
        return self.out_path.read_text()

    def wait_ready(self, timeout: float = 40) -> Up:
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"sophia up exited with {self.proc.returncode}:\n{self.output()}")
            return READY_LINE in self.output()

        wait_until(ready, timeout, "sophia up to print its table")
        return self

    def child(self, marker: str) -> int:
        """The pid of the child whose command line contains `marker`."""
        return next(pid for pid in children_of(self.proc.pid) if marker in cmdline(pid))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    """One `sophia up` with the sample service, shared by the tests that only read from it."""
    up = Up(tmp_path_factory.mktemp("fleet"), SAMPLE)
    try:
        yield up.wait_ready()
    finally:
        up.close()


@pytest.fixture
def start_up(tmp_path: Path) -> Iterator[Callable[..., Up]]:
    """Start a `sophia up` of the test's own; whatever the test leaves running is stopped after it."""
    started: list[Up] = []

    def start(services: dict[str, list[str]] | None = None, *args: str, **env: str) -> Up:
        started.append(Up(tmp_path, services, *args, **env))
        return started[-1].wait_ready()

    yield start
    for up in started:
        up.close()


def sophia(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in this process through its real entry point; stdout and stderr are pipes, not TTYs."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# -- sophia up --------------------------------------------------------------------------------


def test_up_serves_an_extra_service_through_the_gateway(fleet: Up) -> None:
    caps = httpx.get(f"{fleet.url}/v1/capabilities", timeout=5).json()
    assert [(s["name"], s["status"]) for s in caps["servers"]] == [("sample", "serving")]
    assert "sample_echo" in {t["name"] for t in caps["tools"]}


def test_up_prints_the_gateway_url_and_a_table_of_children_with_their_logs(fleet: Up) -> None:
    out = fleet.output()
    assert f"Sophia gateway: {fleet.url}" in out
    sample_row = next(line for line in out.splitlines() if " sample " in line)
    assert str(fleet.child("sample_service.py")) in sample_row
    assert "serving (8 tools)" in sample_row
    assert str(fleet.data_dir / "logs" / "sample.log") in sample_row
    assert (fleet.data_dir / "logs" / "gateway.log").stat().st_size > 0


def test_up_gives_each_service_its_ports_shared_state_and_data_dir(fleet: Up) -> None:
    env = environment(fleet.child("sample_service.py"))
    http_port = int(env["SOPHIA_SAMPLE_HTTP_PORT"])
    assert httpx.get(f"http://127.0.0.1:{http_port}/healthz", timeout=5).json()["service"] == "sample"
    assert int(env["SOPHIA_SAMPLE_GRPC_PORT"]) != http_port
    assert env["SOPHIA_SAMPLE_LOG_FORMAT"] == "json"  # stdout of `sophia up` is a file, not a terminal
    assert env["SOPHIA_DATA_DIR"] == str(fleet.data_dir)
    if shutil.which("redis-server"):
        assert env["REDIS_URL"].startswith("redis://127.0.0.1:")


def test_up_shares_a_fresh_internal_token_between_its_services_and_the_gateway_only(fleet: Up) -> None:
    """The local fleet is protected too: a service answers only the gateway, and the token is never shown."""
    service_env = environment(fleet.child("sample_service.py"))
    token = service_env["SOPHIA_INTERNAL_TOKEN"]
    assert len(token) >= 32
    assert environment(fleet.child("-m sophia.gateway "))["SOPHIA_INTERNAL_TOKEN"] == token
    fleet_members = ("sample_service.py", "-m sophia.gateway ")
    others = [pid for pid in children_of(fleet.proc.pid) if not any(m in cmdline(pid) for m in fleet_members)]
    assert all("SOPHIA_INTERNAL_TOKEN" not in environment(pid) for pid in others)  # Redis has no use for it
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    direct = httpx.post(f"http://127.0.0.1:{service_env['SOPHIA_SAMPLE_HTTP_PORT']}/mcp", json=body, timeout=5)
    assert direct.status_code == 401
    assert token not in fleet.output()
    assert all(token not in log.read_text() for log in (fleet.data_dir / "logs").iterdir())


@needs_redis
def test_up_starts_a_private_append_only_redis_under_the_data_dir(fleet: Up) -> None:
    port = int(environment(fleet.child("sample_service.py"))["REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(b"CONFIG GET appendonly\r\n")
        assert b"yes" in sock.recv(100)
    assert any((fleet.data_dir / "redis").iterdir())


def test_up_stops_every_child_on_sigterm_and_exits_0(start_up: Callable[..., Up]) -> None:
    up = start_up(SAMPLE)
    children = children_of(up.proc.pid)
    assert len(children) == 3  # gateway, sample, redis-server (or fakeredis)
    up.proc.send_signal(signal.SIGTERM)
    assert up.proc.wait(30) == 0
    assert all(is_gone(pid) for pid in children), [cmdline(p) for p in children if not is_gone(p)]
    assert up.output().rstrip().endswith("Stopped.")


def test_up_with_no_services_and_no_redis_server_uses_fakeredis_until_ctrl_c(start_up: Callable[..., Up]) -> None:
    """No REDIS_URL and no redis-server: fakeredis's TCP server, with a warning that nothing is durable."""
    import redis

    up = start_up(PATH=str(Path(sys.executable).parent))  # a PATH with no redis-server
    assert "no state is durable" in up.output()
    assert httpx.get(f"{up.url}/v1/capabilities", timeout=5).json()["servers"] == []
    gateway = up.child("-m sophia.gateway ")
    fake = up.child("fake_redis")
    redis_url = environment(gateway)["REDIS_URL"]
    assert redis.Redis.from_url(redis_url).ping()
    up.proc.send_signal(signal.SIGINT)
    assert up.proc.wait(30) == 0
    assert is_gone(gateway) and is_gone(fake)


def test_up_heals_a_crashed_service_restarts_one_on_request_and_stops_everything_when_the_gateway_dies(
    start_up: Callable[..., Up], capsys: pytest.CaptureFixture[str]
) -> None:
    up = start_up(SAMPLE)
    sample, gateway = up.child("sample_service.py"), up.child("-m sophia.gateway ")
    others = [pid for pid in children_of(up.proc.pid) if pid not in (sample, gateway)]
    os.kill(sample, signal.SIGKILL)
    wait_until(lambda: "sample restarted" in up.output(), 15, "sophia up to restart the dead service")
    assert "sample exited with code -9 unexpectedly; restarting it in 1 s (restart 1)" in up.output()
    healed = up.child("sample_service.py")
    assert healed != sample and up.proc.poll() is None
    log = (up.data_dir / "logs" / "sample.log").read_text()
    assert "--- sophia up: restart 1 after exit code -9 ---" in log  # the lines before the crash are kept

    def serving() -> bool:
        caps = httpx.get(f"{up.url}/v1/capabilities", timeout=5).json()
        return [s["status"] for s in caps["servers"]] == ["serving"]

    wait_until(serving, 20, "the gateway to find the restarted service on its old address")
    assert httpx.post(f"{up.url}/v1/tools/sample_echo", json={"text": "back"}, timeout=10).status_code == 200
    code, out, _ = sophia(capsys, "status", "--url", up.url, "--data-dir", str(up.data_dir))
    row = next(line for line in out.splitlines() if "sample" in line)
    assert [cell.strip() for cell in row.split("│")[1:5]] == ["sample", "serving", "8", "1"]

    # Asked for: at once, no backoff, and `sophia status --json` counts it.
    code, out, _ = sophia(capsys, "restart", "sample", "--data-dir", str(up.data_dir))
    assert code == 0 and "sample restarted (pid " in out and "2 restarts this run" in out
    assert up.child("sample_service.py") != healed
    code, out, _ = sophia(capsys, "status", "--json", "--url", up.url, "--data-dir", str(up.data_dir))
    assert [(s["name"], s["restarts"]) for s in json.loads(out)] == [("sample", 2)]
    code, _, err = sophia(capsys, "restart", "nosuch", "--data-dir", str(up.data_dir))
    assert code == 1 and "no service 'nosuch' in this fleet (services: sample)" in err

    restarted = up.child("sample_service.py")
    os.kill(gateway, signal.SIGKILL)
    assert up.proc.wait(30) == 1
    assert "the gateway exited with code -9" in up.output()
    assert all(is_gone(pid) for pid in [restarted, gateway, *others])
    assert not (up.data_dir / "up.json").exists() and not (up.data_dir / "up.sock").exists()


def test_restart_without_a_running_fleet_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = sophia(capsys, "restart", "memory", "--data-dir", str(tmp_path))
    assert code == 1 and f"no `sophia up` is running with data dir {tmp_path}" in err


def test_up_refuses_a_busy_port_from_the_environment_before_starting_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        monkeypatch.setenv("SOPHIA_GATEWAY_PORT", str(port))
        code, _, err = sophia(capsys, "up", "--data-dir", str(tmp_path / "data"))
    assert code == 1
    assert f"port {port} on 127.0.0.1 is already in use" in err
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "SOPHIA_UP_EXTRA_SERVICES",
            '{"sample": "python x.py"}',
            "SOPHIA_UP_EXTRA_SERVICES must be a JSON object mapping a name to a non-empty argv list",
        ),
        (
            "SOPHIA_UP_SERVICES",
            "nosuchservice",
            "SOPHIA_UP_SERVICES names services that are not installed: ['nosuchservice']",
        ),
    ],
    ids=["malformed-extra", "unknown-selected"],
)
def test_up_rejects_a_bad_service_selection_with_exit_2_before_starting_anything(
    variable: str,
    value: str,
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(variable, value)
    code, _, err = sophia(capsys, "up", "--port", str(free_port()), "--data-dir", str(tmp_path / "data"))
    assert code == 2
    assert message in err
    assert not (tmp_path / "data").exists()


# -- sophia call / status / tools ---------------------------------------------------------------


def test_call_script_prints_the_structured_result_once(fleet: Up) -> None:
    script = Path(sys.executable).with_name("sophia")
    done = subprocess.run(
        [str(script), "call", "sample_add", '{"a": 2, "b": 3}', "--url", fleet.url],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"total": 5.0}  # one result: not the text block and the structure both


def test_call_prints_the_whole_result_with_json(fleet: Up, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = sophia(capsys, "call", "sample_echo", '{"text": "hi"}', "--json", "--url", fleet.url)
    result = json.loads(out)
    assert code == 0 and result["content"][0]["text"] == "hi" and result["structuredContent"] == {"result": "hi"}


def test_a_result_without_structure_prints_its_text_blocks() -> None:
    from sophia.gateway.cli.commands import shown

    text_only = {"content": [{"type": "text", "text": "line one"}, {"type": "image"}, {"type": "text", "text": "two"}]}
    assert shown(text_only) == "line one\ntwo"
    assert shown({"content": [{"type": "text", "text": "{}"}], "structuredContent": {"n": 1}}) == '{\n  "n": 1\n}'


def test_call_accepts_a_url_without_a_scheme(fleet: Up, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = sophia(capsys, "call", "sample_add", '{"a": 1, "b": 1}', "--url", f"127.0.0.1:{fleet.port}")
    assert (code, json.loads(out)) == (0, {"total": 2.0})


def test_call_with_invalid_json_exits_2_without_calling(fleet: Up, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = sophia(capsys, "call", "sample_echo", '{"text": ', "--url", fleet.url)
    assert (code, out) == (2, "")
    assert "not valid JSON" in err


def test_call_with_a_json_array_exits_2(fleet: Up, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = sophia(capsys, "call", "sample_echo", '["hi"]', "--url", fleet.url)
    assert code == 2
    assert "must be a JSON object" in err


def test_call_of_a_failing_tool_says_its_error_and_exits_1(fleet: Up, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = sophia(capsys, "call", "sample_fail", '{"message": "boom"}', "--url", fleet.url)
    assert (code, out) == (1, "")
    assert err.startswith("error: sample_fail answered an error:") and "boom" in err


def test_call_of_a_misspelt_tool_suggests_the_close_names_and_exits_1(
    fleet: Up, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = sophia(capsys, "call", "sample_ecoh", "{}", "--url", fleet.url)
    assert (code, out) == (1, "")
    assert "the gateway has no tool 'sample_ecoh'; did you mean `sample_echo`?" in err
    code, _, err = sophia(capsys, "call", "zzzz", "{}", "--url", fleet.url)
    assert code == 1 and "no tool 'zzzz'; see `sophia tools`" in err


def test_a_held_call_tells_the_cli_user_to_run_sophia_approve(fleet: Up, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = sophia(capsys, "call", "sample_erase_note", '{"key": "k"}', "--url", fleet.url)
    assert code == 0
    approval_id = json.loads(httpx.get(f"{fleet.url}/v1/approvals", timeout=5).text)[0]["id"]
    assert f"`sophia approve {approval_id}`" in out
    assert out.count("\n") == 1  # the explanation, once


def test_status_shows_each_server_with_health_and_tool_count(fleet: Up, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = sophia(capsys, "status", "--url", fleet.url)
    assert code == 0
    row = next(line for line in out.splitlines() if "sample" in line)
    assert [cell.strip() for cell in row.split("│")[1:4]] == ["sample", "serving", "8"]


def test_status_json_lists_the_servers(fleet: Up, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = sophia(capsys, "status", "--json", "--url", fleet.url)
    assert code == 0
    assert [(s["name"], len(s["tools"])) for s in json.loads(out)] == [("sample", 8)]


def test_tools_lists_name_risk_and_first_line_of_description(fleet: Up, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = sophia(capsys, "tools", "--url", fleet.url)
    assert code == 0
    rows = {
        cells[1].strip(): [c.strip() for c in cells[2:4]]
        for cells in (line.split("│") for line in out.splitlines() if line.startswith("│"))
    }
    assert rows["sample_echo"] == ["low", "Return `text` unchanged."]
    assert rows["sample_erase_note"] == ["high", "Erase the note stored under `key`."]


def test_status_exits_1_with_a_clear_message_when_no_gateway_answers(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, _, err = sophia(capsys, "status", "--url", url)
    assert code == 1
    assert f"the gateway at {url} did not answer" in err


def test_up_demo_points_the_business_connectors_at_labelled_sample_data(start_up: Callable[..., Up]) -> None:
    """`sophia up --demo`: the business service answers from local stand-in APIs whose every record says it
    is demo data; without --demo it says its connectors are not configured (tested in services/business)."""
    up = start_up(None, "--demo", SOPHIA_UP_SERVICES="business")
    assert "Demo mode" in up.output()
    # Loading the demo installs an INFO root handler (the MCP SDK's MCPServer does): none of its lines show.
    assert "HTTP Request:" not in up.output() and "INFO" not in up.output()
    question = "what's the stage of the Acme deal and what did they say on the last Gong call?"
    response = httpx.post(f"{up.url}/v1/tools/business_query", json={"question": question}, timeout=30)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert not answer["isError"]
    text = json.dumps(answer["structuredContent"])
    assert "Acme" in text and "DEMO DATA" in text


# -- small things without a fleet ---------------------------------------------------------------


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"sophia {version('sophia-gateway')}"


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("127.0.0.1:8093", "http://127.0.0.1:8093"),
        ("localhost:9000/", "http://localhost:9000"),
        ("https://sophia.example.com", "https://sophia.example.com"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_a_url_without_a_scheme_means_http(given: str, meant: str) -> None:
    from sophia.gateway.cli.commands import base_url

    assert base_url(given) == meant


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("ftp://host", "speaks http or https, not ftp"),
        ("127.0.0.1:port", "port is not a number"),
        ("http://", "no host"),
    ],
)
def test_a_url_the_gateway_cannot_be_at_is_explained_with_exit_2(
    given: str, why: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["status", "--url", given])
    assert exited.value.code == 2
    assert why in capsys.readouterr().err


def test_keys_create_refuses_a_role_the_policy_does_not_define(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = sophia(capsys, "keys", "create", "bob", "--role", "viewer", "--role", "wizard")
    assert (code, out) == (2, "")
    assert "unknown role 'wizard'" in err and "viewer" in err
    assert "sk-sophia-" not in err  # no key was made


def test_keys_create_checks_roles_against_the_policy_file_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("roles:\n  wizard:\n    tools: ['*']\n")
    code, out, _ = sophia(capsys, "keys", "create", "bob", "--role", "wizard", "--policy", str(policy))
    assert code == 0
    (entry,) = yaml.safe_load(out)
    assert entry["name"] == "bob" and entry["roles"] == ["wizard"]


def test_ask_progress_reads_as_words_not_event_names() -> None:
    """The one wording for MCP progress notifications and `sophia ask`'s live lines."""
    from sophia.gateway.ask_progress import describe

    plan = {"steps": [{"tool": "memory_recall"}, {"tool": "business_search"}, {"tool": "memory_remember"}]}
    assert describe("intent", {"action": "search", "capabilities": ["memory"]}) == "classified as search (memory)"
    assert describe("plan", plan) == "planning 3 steps: memory_recall, business_search, memory_remember"
    assert describe("step_started", {"tool": "memory_recall"}) == "running memory_recall"
    assert describe("step_held", {"tool": "infra_up", "approval": {"id": "ab12"}}) == (
        "infra_up held for approval (sophia approve ab12)"
    )
    failed = {"tool": "code_search", "error": {"message": "timed out"}}
    assert describe("step_failed", failed) == "code_search failed: timed out"
    assert describe("answer", {"answer": "…"}) == "answered"


def test_restart_backoff_doubles_from_one_second_and_stops_at_thirty() -> None:
    from sophia.gateway.cli.processes import Child
    from sophia.gateway.cli.up import Member

    member = Member("memory", Child("memory", ["true"], {}, Path("unused.log")), "http://x", "x:1")
    waits = []
    for crashes in range(1, 8):
        member.crashes_in_a_row = crashes
        waits.append(member.backoff())
    assert waits == [1, 2, 4, 8, 16, 30, 30]


def test_the_control_socket_is_private_and_refuses_oversized_or_malformed_requests(tmp_path: Path) -> None:
    """The supervisor's socket, without a fleet: mode 0600, one bounded JSON line per request."""
    from sophia.gateway.cli.control import MAX_REQUEST, ControlServer, answer

    server = ControlServer(tmp_path)
    assert server.open() is None
    try:
        assert server.poll() is None  # nobody asked: it does not block
        assert (server.path.stat().st_mode & 0o777) == 0o600
        for raw, why in ((b"x" * (MAX_REQUEST + 10), "longer than"), (b"[1]\n", "not an object")):
            with socket.socket(socket.AF_UNIX) as client:
                client.connect(str(server.path))
                client.sendall(raw)
                assert server.poll() is None  # answered with the reason, nothing to act on
                reply = json.loads(client.makefile().readline())
            assert reply["ok"] is False and why in reply["error"]
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(str(server.path))
            client.sendall(b'{"restart": "memory"}\n')
            waiting = server.poll()
            assert waiting is not None and waiting[1] == {"restart": "memory"}
            answer(waiting[0], {"ok": True})
            assert json.loads(client.makefile().readline()) == {"ok": True}
    finally:
        server.close()
    assert not server.path.exists()


@pytest.mark.parametrize(
    ("second_event", "message"),
    [
        (
            b'event: error\ndata: {"type": "InternalError", "message": "the gateway failed; see its log"}\n\n',
            "ask failed: the gateway failed; see its log",
        ),
        (b"event: plan\ndata: not json\n\n", "the gateway sent a 'plan' event whose data is not a JSON object"),
    ],
    ids=["error-event", "not-json"],
)
async def test_ask_shows_what_ran_then_the_streamed_failure_and_exits_1(
    second_event: bytes, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stand-in for the gateway's `/v1/ask` event stream (its real event shape) failing after the intent."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    from sophia.kit.testing import serve_asgi

    async def ask(request: Request) -> StreamingResponse:
        assert request.headers["accept"] == "text/event-stream"

        async def events() -> AsyncIterator[bytes]:
            yield b'event: intent\ndata: {"action": "search", "capabilities": ["memory"]}\n\n'
            yield second_event

        return StreamingResponse(events(), media_type="text/event-stream")

    async with serve_asgi(Starlette(routes=[Route("/v1/ask", ask, methods=["POST"])])) as url:
        code = await asyncio.to_thread(main, ["ask", "what did we decide?", "--url", url])
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert "classified as search (memory)" in err
    assert message in err


def test_sophia_up_makes_the_local_pulumi_passphrase_once_and_private(tmp_path: Path) -> None:
    from sophia.gateway.cli.up import local_passphrase

    first = local_passphrase(tmp_path)
    secret = first.read_text()
    assert len(secret) >= 32 and first.stat().st_mode & 0o077 == 0
    assert local_passphrase(tmp_path) == first and first.read_text() == secret  # kept, never regenerated
