"""Server-declared approvals: a tool holds some calls for an approver and runs them once, exactly as approved."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from sophia.kit import Service, ServiceSettings
from sophia.kit.approvals import APPROVAL_READS, GRANT, PROBE, GrantError, GrantVerifier, required_reason, sign_grant
from sophia.kit.security import InternalCredential
from sophia.kit.testing import mcp_body, mcp_headers

TOKEN = "internal-token-for-approval-tests"
ServeHttp = Callable[..., AbstractAsyncContextManager[str]]


def build_push_service(pushed: list[str]) -> Service:
    service = Service("gitlike")

    def protected(args: dict[str, Any]) -> str | None:
        branch = args["branch"]
        return f"push to protected branch {branch}" if branch in ("main", "release") else None

    @service.tool(approval=protected)
    async def push(repo: str, branch: str) -> dict[str, str]:
        """Push a branch."""
        pushed.append(branch)
        return {"pushed": branch}

    return service


def key() -> bytes:
    return InternalCredential(SecretStr(TOKEN)).signing_keys()[0]


async def call(url: str, arguments: dict[str, Any], **meta: Any) -> dict[str, Any]:
    body = mcp_body("tools/call", {"name": "push", "arguments": arguments}, **meta)
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{url}/mcp", json=body, headers={**mcp_headers("tools/call", "push"), "authorization": f"Bearer {TOKEN}"}
        )
    assert response.status_code == 200, response.text
    message = response.json()
    assert "error" not in message, message
    return message["result"]


@pytest.fixture
def settings() -> ServiceSettings:
    return ServiceSettings(SOPHIA_INTERNAL_TOKEN=SecretStr(TOKEN))


async def test_a_feature_branch_runs_and_a_protected_one_waits(serve_http: ServeHttp, settings: Any) -> None:
    pushed: list[str] = []
    async with serve_http(build_push_service(pushed), settings) as url:
        ran = await call(url, {"repo": "r", "branch": "feature/x"})
        held = await call(url, {"repo": "r", "branch": "main"})
    assert ran["structuredContent"] == {"pushed": "feature/x"}
    assert required_reason(ran) is None
    assert required_reason(held) == "push to protected branch main"
    assert held["isError"] is True and held["structuredContent"]["status"] == "approval_required"
    assert pushed == ["feature/x"], "the held call must not run"


async def test_an_approved_rerun_runs_once_with_exactly_the_approved_arguments(
    serve_http: ServeHttp, settings: Any
) -> None:
    pushed: list[str] = []
    arguments = {"repo": "r", "branch": "main"}
    grant = sign_grant(key(), "push", arguments, "approval-1")
    async with serve_http(build_push_service(pushed), settings) as url:
        first = await call(url, arguments, **{GRANT: grant})
        replay = await call(url, arguments, **{GRANT: grant})
        other = await call(url, {"repo": "r", "branch": "release"}, **{GRANT: grant})
    assert first["structuredContent"] == {"pushed": "main"}
    assert replay["isError"] is True and "already used" in replay["content"][0]["text"]
    assert other["isError"] is True and "other arguments" in other["content"][0]["text"]
    assert pushed == ["main"]


async def test_a_forged_grant_is_refused(serve_http: ServeHttp, settings: Any) -> None:
    pushed: list[str] = []
    forged = sign_grant(b"not the fleet's key", "push", {"repo": "r", "branch": "main"}, "approval-2")
    async with serve_http(build_push_service(pushed), settings) as url:
        result = await call(url, {"repo": "r", "branch": "main"}, **{GRANT: forged})
        garbage = await call(url, {"repo": "r", "branch": "main"}, **{GRANT: "x" * 5000})
    assert result["isError"] is True and "signature" in result["content"][0]["text"]
    assert garbage["isError"] is True and "malformed" in garbage["content"][0]["text"]
    assert pushed == []


async def test_a_probe_says_whether_a_call_would_wait_and_runs_nothing(serve_http: ServeHttp, settings: Any) -> None:
    pushed: list[str] = []
    async with serve_http(build_push_service(pushed), settings) as url:
        protected = await call(url, {"repo": "r", "branch": "main"}, **{PROBE: True})
        feature = await call(url, {"repo": "r", "branch": "topic"}, **{PROBE: True})
    assert required_reason(protected) == "push to protected branch main"
    assert feature["structuredContent"] == {"status": "would_run"}
    assert pushed == []


async def test_the_listing_declares_per_call_approval(serve_http: ServeHttp, settings: Any) -> None:
    async with serve_http(build_push_service([]), settings) as url, httpx.AsyncClient() as http:
        response = await http.post(
            f"{url}/mcp",
            json=mcp_body("tools/list"),
            headers={**mcp_headers("tools/list"), "authorization": f"Bearer {TOKEN}"},
        )
    (tool,) = response.json()["result"]["tools"]
    assert tool["_meta"]["sophia/approval"] == "per-call"
    assert "sophia_request_context" not in tool["inputSchema"]["properties"]


def test_an_expired_grant_is_refused() -> None:
    verifier = GrantVerifier(lambda: (key(),))
    grant = sign_grant(key(), "push", {"branch": "main"}, "approval-3", ttl_s=-1)
    with pytest.raises(GrantError, match="expired"):
        verifier.verify(grant, "push", {"branch": "main"})
    fresh = sign_grant(key(), "push", {"branch": "main"}, "approval-4")
    assert verifier.verify(fresh, "push", {"branch": "main"}) == "approval-4"


def test_without_an_internal_token_no_grant_verifies() -> None:
    verifier = GrantVerifier(lambda: ())
    grant = sign_grant(key(), "push", {"branch": "main"}, "approval-5")
    with pytest.raises(GrantError, match="internal token"):
        verifier.verify(grant, "push", {"branch": "main"})


async def test_would_hold_runs_only_the_check_in_process() -> None:
    """What a probe over MCP answers, asked of the service object itself (the bench's dry planner): the
    check's reason or None, and the tool's body never runs."""
    pushed: list[str] = []
    service = build_push_service(pushed)
    assert service.checked_per_call == frozenset({"push"})
    assert await service.would_hold("push", {"repo": "r", "branch": "main"}) == "push to protected branch main"
    assert await service.would_hold("push", {"repo": "r", "branch": "feature/x"}) is None
    assert await service.would_hold("unchecked", {}) is None
    assert pushed == []


async def test_a_check_may_declare_the_arguments_it_reads_and_only_parameters_of_its_tool() -> None:
    """A post's check reads where it goes, not what it says: declared, the gateway may ask it before the text
    (to come from an earlier step) is known. A declaration naming anything else is a mistake at start."""
    service = Service("chatlike")

    @service.tool(approval=lambda args: None, approval_reads=["channel"])
    async def post(channel: str, text: str) -> str:
        """Post a message."""
        return "posted"

    (listed,) = await service.mcp.list_tools()
    assert listed.meta is not None and listed.meta[APPROVAL_READS] == ["channel"]
    with pytest.raises(ValueError, match="only its parameters"):

        @service.tool(approval=lambda args: None, approval_reads=["recipient"])
        async def send(channel: str, text: str) -> str:
            """Send a message."""
            return "sent"

    with pytest.raises(ValueError, match="needs an approval check"):

        @service.tool(approval_reads=["channel"])
        async def note(channel: str) -> str:
            """Note something."""
            return "noted"
