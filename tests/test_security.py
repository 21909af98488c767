"""The gateway's security, end to end: authentication, the role policy on every path, approvals by
approvers only, rate limits, the audit log, namespaces, and secrets that never leak.

The fleet: a real gateway process with auth on, the real memory service, and test stand-ins for
infra and business (real kit servers that echo their arguments; tests/support/standins). JWTs come
from a stand-in OIDC issuer: keys generated here, the JWKS served over real HTTP by a plain
`python -m http.server` on loopback. Every secret in this file contains CANARY, so one search proves
none of them reached a log line, a span, an audit entry, a metric or an error message.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa

import sophia.memory.__main__ as memory_entry_point
from sophia.gateway.security.principals import hash_key
from sophia.kit.testing import KitServer, ManagedProcess, free_port, mcp_body, mcp_headers
from tests.support.browser import chromium_or_skip, css, wait_for
from tests.support.console import read_events
from tests.support.fleet import GatewayProcess
from tests.support.standins import running_standins

CANARY = "CANARY7f3a"
KEYS = {
    "admin": f"sk-sophia-admin-{CANARY}-0000000000",
    "dev": f"sk-sophia-dev-{CANARY}-00000000000000",
    "viewer": f"sk-sophia-viewer-{CANARY}-00000000000",
    "approver": f"sk-sophia-approver-{CANARY}-000000000",
}
PRINCIPALS = {
    "admin": (["admin"], "ops"),
    "dev": (["developer"], "team-a"),
    "viewer": (["viewer"], "team-b"),
    "approver": (["approver"], "ops"),
}
ISSUER = "https://issuer.test"
AUDIENCE = "sophia-gateway"


@dataclass
class Secured:
    gateway: GatewayProcess
    private_key: Any
    call_log: Path
    log_dir: Path

    def client(self, who: str | None = None, token: str | None = None) -> httpx.Client:
        headers = {}
        if who is not None:
            headers["authorization"] = f"Bearer {KEYS[who]}"
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        return httpx.Client(base_url=self.gateway.url, headers=headers, timeout=30)

    def token(self, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "jwt-user", "iat": now, "exp": now + 300, **claims}
        return jwt.encode(body, self.private_key, algorithm="RS256", headers={"kid": "k1"})

    def calls(self) -> list[str]:
        if not self.call_log.exists():
            return []
        return [f"{c['service']}_{c['tool']}" for c in map(json.loads, self.call_log.read_text().splitlines())]


def mcp(client: httpx.Client, method: str, params: dict[str, Any], name: str | None = None) -> httpx.Response:
    return client.post("/mcp", json=mcp_body(method, params), headers=mcp_headers(method, name))


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Secured]:
    log_dir = tmp_path_factory.mktemp("security")
    principals = [
        {"name": who, "roles": roles, "namespace": namespace, "key_sha256": hash_key(KEYS[who])}
        for who, (roles, namespace) in PRINCIPALS.items()
    ]
    (log_dir / "principals.yaml").write_text(yaml.safe_dump({"principals": principals}))
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))
    (log_dir / "jwks").mkdir()
    (log_dir / "jwks" / "keys.json").write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig"}]}))
    jwks_port = free_port()
    issuer = ManagedProcess(
        [sys.executable, "-m", "http.server", str(jwks_port), "--bind", "127.0.0.1", "-d", str(log_dir / "jwks")],
        log_path=log_dir / "jwks.log",
        health_url=f"http://127.0.0.1:{jwks_port}/keys.json",
    )
    call_log = log_dir / "calls.jsonl"
    memory = KitServer(
        Path(memory_entry_point.__file__),
        "memory",
        log_dir,
        env={"REDIS_URL": redis_url, "SOPHIA_DATA_DIR": str(log_dir / "memory")},
    )
    with (
        issuer,
        running_standins(log_dir, names=("infra", "business"), common={"call_log": call_log}) as standins,
        memory,
    ):
        gateway = GatewayProcess(
            [*standins.grpc_addresses, memory.grpc_address],
            log_dir,
            extra_env={
                "SOPHIA_GATEWAY_AUTH": "on",
                "SOPHIA_GATEWAY_REDIS_URL": redis_url,
                "SOPHIA_GATEWAY_PRINCIPALS_FILE": str(log_dir / "principals.yaml"),
                "SOPHIA_GATEWAY_JWT_ISSUER": ISSUER,
                "SOPHIA_GATEWAY_JWT_AUDIENCE": AUDIENCE,
                "SOPHIA_GATEWAY_JWT_JWKS_URL": f"http://127.0.0.1:{jwks_port}/keys.json",
                "SOPHIA_GATEWAY_LOG_LEVEL": "DEBUG",
                "SOPHIA_GATEWAY_OTEL_EXPORTER": "console",  # spans land in the log, where the canary is looked for
            },
        ).start()
        try:
            secured = Secured(gateway, private_key, call_log, log_dir)
            with secured.client("admin") as admin:
                wait_for = {"infra_up", "business_slack_post", "memory_remember"}
                deadline = time.monotonic() + 20
                while not wait_for <= {t["name"] for t in admin.get("/v1/capabilities").json()["tools"]}:
                    assert time.monotonic() < deadline, "the fleet did not come up"
                    time.sleep(0.2)
            yield secured
        finally:
            gateway.stop()


@pytest.fixture(autouse=True)
def fresh_log(secured: Secured) -> None:
    secured.call_log.unlink(missing_ok=True)


# -- authentication --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("GET", "/v1/capabilities", None), ("POST", "/v1/ask", {"query": "list stacks"}), ("POST", "/mcp", {})],
)
def test_no_credentials_is_401_with_a_pointer_to_the_resource_metadata(
    secured: Secured, method: str, path: str, body: Any
) -> None:
    with secured.client() as anonymous:
        response = anonymous.request(method, path, json=body)
        assert response.status_code == 401
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith("Bearer resource_metadata=")
        metadata_url = challenge.split('"')[1]
        metadata = httpx.get(metadata_url).json()
        assert metadata["resource"] == secured.gateway.url
        assert metadata["bearer_methods_supported"] == ["header"]


def test_probes_stay_open(secured: Secured) -> None:
    with secured.client() as anonymous:
        assert anonymous.get("/healthz").status_code == 200
        assert anonymous.get("/readyz").status_code == 200


@pytest.mark.parametrize(
    "credential",
    ["sk-sophia-unknown-key-000000000000", "not-a-jwt", f"{KEYS['admin']}x"],
)
def test_bad_credentials_are_401_invalid_token(secured: Secured, credential: str) -> None:
    with secured.client(token=credential) as caller:
        response = caller.get("/v1/capabilities")
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_a_valid_jwt_is_accepted_with_its_roles(secured: Secured) -> None:
    with secured.client(token=secured.token(roles=["viewer"], namespace="team-b")) as caller:
        tools = {t["name"] for t in caller.get("/v1/capabilities").json()["tools"]}
        assert "memory_recall" in tools and "infra_up" not in tools


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"aud": "someone-else"}, "audience"),
        ({"iss": "https://evil.test"}, "issuer"),
    ],
)
def test_expired_or_misaddressed_jwts_are_401(secured: Secured, claims: dict[str, Any], reason: str) -> None:
    with secured.client(token=secured.token(roles=["admin"], **claims)) as caller:
        response = caller.get("/v1/capabilities")
        assert response.status_code == 401
        assert reason in response.headers["www-authenticate"]


def test_a_jwt_signed_by_another_key_is_401(secured: Secured) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "mallory", "exp": now + 300, "roles": ["admin"]}
    forged = jwt.encode(claims, other, algorithm="RS256", headers={"kid": "k1"})
    with secured.client(token=forged) as caller:
        assert caller.get("/v1/capabilities").status_code == 401


# -- authorization on every path ---------------------------------------------------------------------


def test_a_forbidden_tool_is_invisible_on_every_listing(secured: Secured) -> None:
    with secured.client("viewer") as viewer:
        listed = {t["name"] for t in mcp(viewer, "tools/list", {}).json()["result"]["tools"]}
        assert "memory_recall" in listed and "infra_up" not in listed and "business_slack_post" not in listed
        capabilities = {t["name"] for t in viewer.get("/v1/capabilities").json()["tools"]}
        assert "infra_up" not in capabilities
        found = {t["name"] for t in viewer.get("/v1/tools", params={"query": "deploy the stack", "limit": 50}).json()}
        assert "infra_up" not in found


def test_a_forbidden_tool_is_uncallable_on_every_path_and_answers_like_an_unknown_one(secured: Secured) -> None:
    """A caller who may not call a tool cannot tell it exists: same status, same message as no such tool."""
    with secured.client("viewer") as viewer:
        hidden = viewer.post("/v1/tools/infra_up", json={"stack": "prod"})
        unknown = viewer.post("/v1/tools/infra_nothing", json={"stack": "prod"})
        assert hidden.status_code == unknown.status_code == 404
        assert hidden.json()["error"]["message"] == "Unknown tool: infra_up"
        response = mcp(viewer, "tools/call", {"name": "infra_up", "arguments": {"stack": "prod"}}, "infra_up")
        assert response.json()["error"] == {"code": -32602, "message": "Unknown tool: infra_up"}
        body = viewer.post("/v1/ask", json={"query": "deploy the api to the staging stack"}).json()
        outcomes = body["steps"].values()
        assert any(o["error"]["type"] == "UnknownTool" for o in outcomes if o.get("error"))
        assert body["pending_approvals"] == []
    assert secured.calls() == []


def test_only_approvers_approve_and_nobody_approves_their_own_request(secured: Secured) -> None:
    with secured.client("dev") as dev, secured.client("approver") as approver, secured.client("viewer") as viewer:
        held = dev.post("/v1/tools/infra_up", json={"stack": "staging"})
        assert held.status_code == 202
        approval = held.json()["structuredContent"]["approval"]
        assert approval["requester"] == "api_key:dev"  # credential kind and name: a JWT `sub: dev` is another
        assert viewer.post(f"/v1/approvals/{approval['id']}/approve").status_code == 403
        assert dev.post(f"/v1/approvals/{approval['id']}/approve").status_code == 403
        assert secured.calls() == []
        done = approver.post(f"/v1/approvals/{approval['id']}/approve")
        assert done.status_code == 200 and done.json()["status"] == "executed"
        assert done.json()["decided_by"] == "api_key:approver"
    assert secured.calls() == ["infra_up"]


def test_a_self_requested_approval_is_refused_even_for_an_admin(secured: Secured) -> None:
    with secured.client("admin") as admin:
        approval = admin.post("/v1/tools/infra_destroy", json={"stack": "qa"}).json()["structuredContent"]["approval"]
        assert admin.post(f"/v1/approvals/{approval['id']}/approve").status_code == 403
        assert admin.post(f"/v1/approvals/{approval['id']}/deny").status_code == 403


def test_the_callers_namespace_is_forced_on_tools_that_take_one(secured: Secured) -> None:
    with secured.client("dev") as dev:
        stored = dev.post(
            "/v1/tools/memory_remember", json={"text": "team-a ships on Thursdays", "namespace": "team-b"}
        ).json()
        assert stored["structuredContent"]["namespace"] == "team-a"
    with secured.client("viewer") as viewer:  # team-b sees nothing of team-a's
        found = viewer.post("/v1/tools/memory_recall", json={"query": "when does the team ship?"}).json()
        texts = [item["text"] for item in found.get("structuredContent", {}).get("items", [])]
        assert "team-a ships on Thursdays" not in texts
        # Listing namespaces, even asking for none or for another team's, shows the caller only its own.
        for asked in ({}, {"namespace": "team-a"}):
            listed = viewer.post("/v1/tools/memory_namespaces", json=asked).json()["structuredContent"]
            assert all(n["name"] == "team-b" for n in listed["namespaces"])


# -- audit -------------------------------------------------------------------------------------------


def test_every_call_and_decision_is_audited_and_only_admins_read_it(secured: Secured) -> None:
    with secured.client("dev") as dev, secured.client("admin") as admin, secured.client("approver") as approver:
        dev.post("/v1/tools/business_search", json={"query": "renewals"})
        dev.post("/v1/tools/infra_up", json={"stack": "perf"})
        approval = dev.post("/v1/tools/infra_up", json={"stack": "qa"}).json()["structuredContent"]["approval"]
        approver.post(f"/v1/approvals/{approval['id']}/deny")
        assert dev.get("/v1/audit").status_code == 403
        entries = admin.get("/v1/audit", params={"principal": "api_key:dev", "limit": 50}).json()
        outcomes = {(e["tool"], e["outcome"]) for e in entries}
        assert ("business_search", "ok") in outcomes
        assert ("infra_up", "held") in outcomes
        decisions = admin.get("/v1/audit", params={"principal": "api_key:approver"}).json()
        assert any(e["event"] == "approval" and e["outcome"] == "denied" for e in decisions)
        assert all(e["trace_id"] for e in entries)


# -- the operator console ---------------------------------------------------------------------------


def test_the_console_feed_needs_credentials_and_shows_each_caller_their_view(secured: Secured) -> None:
    """The page opens without credentials (it carries no data); its feed needs the API's own. A viewer
    neither approves nor reads the audit log; an admin does; memory's size is read through the pipeline,
    in the caller's own namespace, and that read is audited as the console's."""
    url = secured.gateway.url
    assert httpx.get(f"{url}/ui", timeout=5).status_code == 200
    assert httpx.get(f"{url}/ui/api/events", timeout=5).status_code == 401
    with secured.client("admin") as admin:
        admin.post("/v1/tools/memory_remember", json={"text": "the console counts this memory"}).raise_for_status()
    wanted = {"identity", "approvals", "calls", "usage"}
    viewer = read_events(url, wanted, headers={"authorization": f"Bearer {KEYS['viewer']}"})
    assert viewer["identity"]["name"] == "viewer"
    assert (viewer["identity"]["may_approve"], viewer["identity"]["may_audit"]) == (False, False)
    assert viewer["calls"] == {"unavailable": "viewer may not read the audit log (it needs a role with audit: true)"}
    admin_view = read_events(url, wanted, headers={"x-api-key": KEYS["admin"]})
    assert (admin_view["identity"]["may_approve"], admin_view["identity"]["may_audit"]) == (True, True)
    memory = admin_view["usage"]["memory"]
    assert memory["namespace"] == "ops" and memory["memories"] >= 1
    assert any(
        e["tool"] == "memory_stats" and e["principal"] == "api_key:viewer" and e["detail"] == "ui"
        for e in admin_view["calls"]["entries"]
    )


def test_the_console_page_signs_in_with_an_api_key_in_a_browser(secured: Secured) -> None:
    """Headless Chromium: the page asks for a credential, refuses a wrong one, with a viewer's key shows the
    viewer's view (no approve buttons, no calls), and with an approver's approves a held call (the decision
    is sent with the approver's own credential)."""
    from selenium.webdriver.common.keys import Keys

    driver = chromium_or_skip()
    try:
        driver.get(f"{secured.gateway.url}/ui")
        wait_for(driver, lambda d: d.find_element("id", "signin").is_displayed())
        driver.find_element("id", "credential").send_keys("sk-sophia-not-a-real-key-000000", Keys.ENTER)
        wait_for(driver, lambda d: "refused" in d.find_element("id", "signin-error").text)
        driver.find_element("id", "credential").send_keys(KEYS["viewer"], Keys.ENTER)
        wait_for(driver, lambda d: d.find_element("id", "identity").text.startswith("Signed in as viewer"))
        assert not driver.find_element("id", "signin").is_displayed()
        assert "may not read the audit log" in wait_for(driver, css("#calls .unavailable")).text
        wait_for(driver, css('#fleet tr[data-status="serving"]'))
        assert not driver.find_elements("css selector", "#approvals button")
        # An approver signs in and approves a developer's held call from the page.
        with secured.client("dev") as dev:
            held = dev.post("/v1/tools/infra_up", json={"stack": "console"}).json()["structuredContent"]["approval"]
        driver.find_element("id", "signout").click()
        wait_for(driver, lambda d: d.find_element("id", "signin").is_displayed())
        driver.find_element("id", "credential").send_keys(KEYS["approver"], Keys.ENTER)
        card = wait_for(driver, css(f'#approvals article[data-approval="{held["id"]}"]'))
        card.find_element("css selector", 'button[data-action="approve"]').click()
        wait_for(driver, css(f'#approvals article[data-approval="{held["id"]}"] .badge.executed'))
        with secured.client("admin") as admin:
            done = admin.get(f"/v1/approvals/{held['id']}").json()
        assert (done["status"], done["decided_by"]) == ("executed", "api_key:approver")
        assert "infra_up" in secured.calls()
    finally:
        driver.quit()


# -- rate limits ------------------------------------------------------------------------------------


def test_expensive_calls_are_rate_limited_with_retry_after(secured: Secured) -> None:
    with secured.client(token=secured.token(sub="burst-user", roles=["developer"])) as caller:
        statuses = [caller.post("/v1/ask", json={"query": "list the stacks", "dry_run": True}) for _ in range(12)]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited, [r.status_code for r in statuses]
    assert float(limited[0].headers["retry-after"]) > 0


# -- secrets --------------------------------------------------------------------------------------------


def test_no_secret_appears_in_logs_spans_audit_metrics_or_errors(secured: Secured) -> None:
    secret_arguments = {"query": "renewals", "api_key": f"sk-live-{CANARY}-123456789", "note": f"Bearer {CANARY}abc"}
    seen: list[str] = []
    with secured.client("admin") as admin:
        seen.append(admin.post("/v1/tools/business_search", json=secret_arguments).text)
        seen.append(admin.post("/v1/tools/no_such_tool", json=secret_arguments).text)
        with secured.client(token=f"{KEYS['admin']}-tampered") as tampered:
            response = tampered.get("/v1/capabilities")
            seen.append(response.text + response.headers.get("www-authenticate", ""))
        seen.append(admin.get("/metrics").text)
        seen.append(admin.get("/v1/audit", params={"limit": 200}).text)
    seen.append((secured.log_dir / "gateway.log").read_text())
    leaks = [text for text in seen if CANARY in text]
    assert not leaks, [text[text.index(CANARY) - 200 : text.index(CANARY) + 50] for text in leaks]


# -- clients with a key ----------------------------------------------------------------------------------


def test_the_cli_sends_the_api_key_from_the_environment(
    secured: Secured, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sophia.gateway.cli import main

    monkeypatch.delenv("SOPHIA_API_KEY", raising=False)
    assert main(["tools", "--json", "--url", secured.gateway.url]) == 1
    assert "401" in capsys.readouterr().err
    monkeypatch.setenv("SOPHIA_API_KEY", KEYS["viewer"])
    assert main(["tools", "--json", "--url", secured.gateway.url]) == 0
    names = {tool["name"] for tool in json.loads(capsys.readouterr().out)}
    assert "memory_recall" in names and "infra_up" not in names


async def test_the_stdio_bridge_sends_the_api_key(secured: Secured) -> None:
    from mcp.client import Client
    from mcp.client.stdio import StdioServerParameters

    argv = ["-m", "sophia.gateway.cli", "mcp", "--url", secured.gateway.mcp_url]
    env = {"SOPHIA_API_KEY": KEYS["viewer"], "PATH": "/usr/bin:/bin"}
    async with Client(StdioServerParameters(command=sys.executable, args=argv, env=env)) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
    assert "memory_recall" in names and "infra_up" not in names
