"""The call pipeline without a fleet: each stage's rule, their order, and the one error mapper.

Servers here are in-process objects that speak the gateway's `Upstream` interface (they record each call
and answer as scripted); Redis is a real throwaway server (approvals, rate limits, audit).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis.asyncio as redis
from mcp.server.subscriptions import InMemorySubscriptionBus
from pydantic import SecretStr

from sophia.gateway.approvals import ApprovalStore, ApprovalTampered
from sophia.gateway.catalog import Catalog
from sophia.gateway.decisions import Decisions
from sophia.gateway.errors import (
    CircuitOpen,
    Forbidden,
    GatewayError,
    InvalidArguments,
    RateLimited,
    ServerDown,
    StateUnavailable,
    UnknownTool,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
    as_tool_result,
    http_error,
    jsonrpc_error,
)
from sophia.gateway.metrics import GatewayMetrics
from sophia.gateway.pipeline import Call, Pipeline
from sophia.gateway.pipeline.build import build_pipeline
from sophia.gateway.security import audit as audit_module
from sophia.gateway.security.audit import BATCH, WRITE_CHUNK, AuditLog
from sophia.gateway.security.guard import Guard
from sophia.gateway.security.policy import Policy
from sophia.gateway.security.principals import Principal, current
from sophia.gateway.security.ratelimit import Limit, RateLimiter
from sophia.kit import Risk, ToolSpec
from sophia.kit.approvals import GRANT, GrantVerifier, approval_required_result
from sophia.kit.breaker import CircuitBreakers
from sophia.kit.security import InternalCredential

TOKEN = "pipeline-tests-internal-token"
LOCAL = Principal(name="local", roles=("admin",), via="anonymous")
SCHEMA = {
    "type": "object",
    "properties": {"text": {"type": "string", "maxLength": 50}, "k": {"type": "integer", "maximum": 10}},
    "required": ["text"],
    "additionalProperties": False,
}


@dataclass
class Server:
    """An in-process server: records every call and answers from `answers` (a result dict or an exception)."""

    service: str = "svc"
    answers: list[Any] = field(default_factory=list)
    delay_s: float = 0.0
    calls: list[tuple[str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)

    async def list_tools(self) -> list[dict[str, Any]]:
        return []

    async def call_tool(
        self, tool: str, arguments: Mapping[str, Any] | None, timeout: float | None, *, meta: Any = None, **_: Any
    ) -> dict[str, Any]:
        self.calls.append((tool, dict(arguments or {}), dict(meta or {})))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        answer = self.answers.pop(0) if self.answers else {"content": [{"type": "text", "text": "ok"}]}
        if isinstance(answer, Exception):
            raise answer
        return answer


def tool(name: str, **meta: Any) -> dict[str, Any]:
    definition: dict[str, Any] = {"name": name, "description": name, "inputSchema": SCHEMA}
    if meta:
        definition["_meta"] = meta
    return definition


SPECS = {
    "read": ToolSpec("read", "read", read_only=True),
    "write": ToolSpec("write", "write", risk=Risk.MEDIUM),
    "drop": ToolSpec("drop", "drop", risk=Risk.HIGH, destructive=True),
    "push": ToolSpec("push", "push", risk=Risk.MEDIUM, idempotent=True),
}


@dataclass
class Rig:
    pipeline: Pipeline
    catalog: Catalog
    server: Server
    store: ApprovalStore
    client: redis.Redis
    decisions: Decisions
    guard: Guard

    async def close(self) -> None:
        if self.guard.audit is not None:
            await self.guard.audit.aclose()
        await self.client.aclose()

    async def run(self, name: str, arguments: dict[str, Any] | None = None, **fields: Any) -> Any:
        return await self.pipeline.run(
            Call(name, dict(arguments or {"text": "hi"}), fields.pop("source", "rest"), **fields)
        )


DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens there


async def build_rig(redis_url: str, *, kind: str = "kit", limiter: bool = False, retries: int = 2) -> Rig:
    client = redis.from_url(redis_url, decode_responses=True)
    if redis_url != DEAD_REDIS:
        await client.flushdb()
    catalog = Catalog(InMemorySubscriptionBus())
    server = Server()
    catalog.register("svc", kind, "in-process")  # type: ignore[arg-type]
    await catalog.serving(
        "svc",
        version="1",
        endpoint="in-process",
        upstream=server,
        tools=[tool("read"), tool("write"), tool("drop"), tool("push", **{"sophia/approval": "per-call"})],
        specs=SPECS,
    )
    credential = InternalCredential(SecretStr(TOKEN))
    store = ApprovalStore(client, 3600, 3600, lambda: (b"k" * 32,))
    rate = RateLimiter(client, Limit(60, 2), Limit(60, 2), [], "closed") if limiter else None
    guard = Guard(Policy.load(None), LOCAL, rate, AuditLog(client, 1000))
    pipeline = build_pipeline(
        catalog=catalog,
        local={},
        guard=guard,
        approvals=store,
        credential=credential,
        approval_risk=Risk.HIGH,
        breakers=CircuitBreakers(3, 0.2),
        retries=retries,
        call_timeout_s=5,
        metrics=GatewayMetrics(),
    )
    return Rig(pipeline, catalog, server, store, client, Decisions(pipeline, guard, store), guard)


@pytest.fixture
async def rig(redis_url: str) -> AsyncIterator[Rig]:
    built = await build_rig(redis_url)
    yield built
    await built.close()


def test_the_stages_run_in_the_documented_order(rig: Rig) -> None:
    names = [type(stage).__name__ for stage in rig.pipeline.stages]
    assert names == [
        "PrincipalStage",
        "PolicyStage",
        "RateLimitStage",
        "ScopingStage",
        "ValidationStage",
        "ApprovalStage",
        "BreakerStage",
        "RetryStage",
        "TimeoutStage",
        "AuditStage",
    ]


async def test_a_call_reaches_its_server_once_with_its_arguments(rig: Rig) -> None:
    outcome = await rig.run("svc_write", {"text": "hello", "k": 3})
    assert outcome.held is None and outcome.attempts == 1
    assert rig.server.calls == [("write", {"text": "hello", "k": 3}, {})]


async def test_a_hidden_tool_answers_exactly_like_an_unknown_one(rig: Rig) -> None:
    viewer = Principal(name="vic", roles=("viewer",), via="api_key")
    token = current.set(viewer)
    try:
        with pytest.raises(UnknownTool) as hidden:
            await rig.run("svc_drop")
        with pytest.raises(UnknownTool) as unknown:
            await rig.run("svc_nothing")
    finally:
        current.reset(token)
    assert str(hidden.value) == "Unknown tool: svc_drop" and str(unknown.value) == "Unknown tool: svc_nothing"
    assert http_error(hidden.value)[0] == http_error(unknown.value)[0] == 404
    assert rig.server.calls == []


async def test_a_known_tool_whose_server_is_down_is_a_503_that_says_so(rig: Rig) -> None:
    await rig.catalog.down("svc", "connection refused")
    with pytest.raises(ServerDown, match="server is down") as down:
        await rig.run("svc_read")
    status, body, headers = http_error(down.value)
    assert status == 503 and body["error"]["type"] == "ServerDown" and headers["retry-after"]
    assert jsonrpc_error(down.value)["code"] != -32602  # not "invalid params / unknown tool"
    with pytest.raises(UnknownTool):
        await rig.run("svc_never_existed")


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ({"text": "x" * 51}, "text: "),
        ({"text": "hi", "k": 99}, "k: 99 is greater than the maximum of 10"),
        ({"k": 1}, '"text" is a required property'),
        ({"text": "hi", "extra": 1}, "Additional properties"),
    ],
)
async def test_invalid_arguments_are_refused_before_anything_is_held_or_sent(
    rig: Rig, arguments: dict[str, Any], says: str
) -> None:
    with pytest.raises(InvalidArguments, match="invalid arguments for svc_drop") as refused:
        await rig.run("svc_drop", arguments)  # a risky tool: it would be held if its arguments were valid
    assert says in str(refused.value)
    assert http_error(refused.value)[0] == 400
    assert await rig.store.list() == []  # nothing half-stored
    assert rig.server.calls == []


async def test_arguments_nested_too_deep_are_refused(rig: Rig) -> None:
    deep: Any = "leaf"
    for _ in range(40):
        deep = {"d": deep}
    with pytest.raises(InvalidArguments, match="nested deeper"):
        await rig.run("svc_write", {"text": "hi", "extra": deep})


async def test_a_risky_tool_is_held_without_calling_its_server(rig: Rig) -> None:
    outcome = await rig.run("svc_drop", {"text": "all"})
    assert outcome.held is not None and outcome.held.requester == "anonymous:local"
    assert outcome.result["structuredContent"]["status"] == "pending_approval"
    assert f"sophia approve {outcome.held.id}" in outcome.result["content"][0]["text"]
    assert rig.server.calls == []


async def test_a_server_declared_approval_holds_exactly_that_call_and_the_approved_run_carries_a_grant(
    rig: Rig,
) -> None:
    rig.server.answers = [approval_required_result("push to protected branch main").model_dump(by_alias=True)]
    held = await rig.run("svc_push", {"text": "main"})
    assert held.held is not None and held.held.reason == "push to protected branch main"
    assert len(rig.server.calls) == 1  # the server said no without running it

    approval = await rig.decisions.approve(held.held.id, "ann")
    assert approval.status == "executed", approval
    tool_name, arguments, meta = rig.server.calls[-1]
    assert (tool_name, arguments) == ("push", {"text": "main"})
    verifier = GrantVerifier(InternalCredential(SecretStr(TOKEN)).signing_keys)
    assert verifier.verify(meta[GRANT], "push", arguments) == held.held.id  # what the kit checks

    with pytest.raises(GatewayError, match="already executed"):
        await rig.decisions.approve(held.held.id, "ann")
    assert len(rig.server.calls) == 2  # ran once


async def test_an_external_server_cannot_declare_approvals(redis_url: str) -> None:
    """Only kit servers hold the token that makes grants mean something; an external server's claim is
    its own result, passed on (it is not held, and no grant is ever sent to it)."""
    rig = await build_rig(redis_url, kind="url")
    try:
        rig.server.answers = [approval_required_result("trust me").model_dump(by_alias=True)]
        outcome = await rig.run("svc_push", {"text": "main"})
        assert outcome.held is None and outcome.result["isError"] is True
    finally:
        await rig.close()


async def test_a_tampered_approval_record_is_refused_and_never_run(rig: Rig) -> None:
    held = (await rig.run("svc_drop", {"text": "old"})).held
    assert held is not None
    raw = json.loads(await rig.client.get(f"sophia:approval:{held.id}"))
    raw["arguments"] = {"text": "everything"}
    await rig.client.set(f"sophia:approval:{held.id}", json.dumps(raw))
    with pytest.raises(ApprovalTampered):
        await rig.decisions.approve(held.id, "ann")
    assert rig.server.calls == []
    assert (await rig.store.get(held.id)).status == "pending"


async def test_idempotent_calls_are_retried_and_writes_are_not(rig: Rig) -> None:
    rig.server.answers = [UpstreamUnavailable("svc", "refused"), UpstreamUnavailable("svc", "refused")]
    outcome = await rig.run("svc_read")
    assert outcome.attempts == 3 and len(rig.server.calls) == 3

    rig.server.calls.clear()
    rig.server.answers = [UpstreamUnavailable("svc", "refused")]
    with pytest.raises(UpstreamUnavailable):
        await rig.run("svc_write")
    assert len(rig.server.calls) == 1


async def test_a_refusal_from_the_server_is_not_retried(rig: Rig) -> None:
    rig.server.answers = [UpstreamRejected("svc", {"code": -32602, "message": "bad"})]
    with pytest.raises(UpstreamRejected):
        await rig.run("svc_read")
    assert len(rig.server.calls) == 1


async def test_the_breaker_opens_fails_fast_then_lets_one_trial_through(redis_url: str) -> None:
    rig = await build_rig(redis_url, retries=0)
    try:
        rig.server.answers = [UpstreamTimeout("svc", "slow")] * 3
        for _ in range(3):
            with pytest.raises(UpstreamTimeout):
                await rig.run("svc_read")
        with pytest.raises(CircuitOpen):
            await rig.run("svc_read")
        assert len(rig.server.calls) == 3  # failed fast: not sent
        await asyncio.sleep(0.25)  # the cooldown
        assert (await rig.run("svc_read")).held is None  # the trial succeeds: closed again
        assert (await rig.run("svc_read")).held is None
    finally:
        await rig.close()


async def test_a_slow_server_times_out_by_the_calls_deadline(rig: Rig) -> None:
    rig.server.delay_s = 2
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(UpstreamTimeout):
        await rig.run("svc_write", deadline=loop.time() + 0.2)
    assert loop.time() - started < 1


async def test_the_rate_limit_refuses_with_retry_after_and_redis_down_fails_closed(redis_url: str) -> None:
    rig = await build_rig(redis_url, limiter=True)
    try:
        await rig.run("svc_read")
        await rig.run("svc_read")
        with pytest.raises(RateLimited) as limited:
            await rig.run("svc_read")
        assert http_error(limited.value)[2]["retry-after"] == "1"
    finally:
        await rig.close()
    broken = await build_rig(DEAD_REDIS, limiter=True)
    with pytest.raises(StateUnavailable):
        await broken.run("svc_read")
    assert broken.server.calls == []
    await broken.close()


async def test_redis_down_while_holding_is_a_typed_503(rig: Rig) -> None:
    down_rig = await build_rig(DEAD_REDIS)
    with pytest.raises(StateUnavailable) as down:
        await down_rig.run("svc_drop")
    assert down_rig.server.calls == []
    await down_rig.close()
    assert http_error(down.value)[0] == 503


async def test_with_auth_on_the_namespace_is_the_callers(rig: Rig) -> None:
    schema_tool = {
        "name": "recall",
        "description": "recall",
        "inputSchema": {"type": "object", "properties": {"namespace": {"type": "string"}}},
    }
    await rig.catalog.serving("svc", version="2", endpoint="x", upstream=rig.server, tools=[schema_tool], specs={})
    token = current.set(Principal(name="ann", roles=("admin",), namespace="team-a", via="api_key"))
    try:
        await rig.pipeline.run(Call("svc_recall", {"namespace": "team-b"}, "mcp"))
    finally:
        current.reset(token)
    assert rig.server.calls[-1][1] == {"namespace": "team-a"}


async def test_every_attempt_is_audited_with_secrets_redacted(rig: Rig) -> None:
    await rig.run("svc_write", {"text": "deploy with token=abc123 now"})
    assert rig.guard.audit is not None
    entries = await rig.guard.audit.read(limit=5)
    assert entries[0]["tool"] == "svc_write" and entries[0]["outcome"] == "ok"
    assert entries[0]["principal"] == "anonymous:local"
    assert "abc123" not in entries[0]["arguments"] and "token=[REDACTED]" in entries[0]["arguments"]


async def test_a_burst_larger_than_a_batch_is_audited_in_full_and_in_order(rig: Rig) -> None:
    """The writer gathers lines into batches off the call's path: none is lost or reordered, each is
    redacted, and a reader sees them all at once (it flushes, not waiting out the gathering)."""
    audit = rig.guard.audit
    assert audit is not None
    for i in range(600):  # more than two batches
        await audit.record("call", principal="api_key:alice", tool="svc_read", arguments={"n": i, "password": "pw"},
                           outcome="ok")  # fmt: skip
    entries = await audit.read(limit=600)
    assert [json.loads(e["arguments"])["n"] for e in entries] == list(range(599, -1, -1))
    assert all(json.loads(e["arguments"])["password"] == "[REDACTED]" for e in entries)


async def test_writing_a_batch_of_audit_lines_lets_calls_run_between_its_chunks(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Serialising and sending audit lines runs on the event loop: a gathered batch goes out in chunks,
    and the loop serves other work between them, so a call never waits for a whole batch to be written."""
    audit = rig.guard.audit
    assert audit is not None
    turns = 0
    serialised_at: list[int] = []  # the loop turn in which each line was serialised
    serialise = audit_module._entry
    monkeypatch.setattr(audit_module, "_entry", lambda pending: serialised_at.append(turns) or serialise(pending))

    async def other_work() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    for i in range(BATCH):
        await audit.record("call", principal="api_key:alice", tool="svc_read", arguments={"n": i}, outcome="ok")
    ticking = asyncio.create_task(other_work())
    try:
        await audit.flush()
    finally:
        ticking.cancel()
    assert len(await audit.read(limit=BATCH)) == BATCH
    assert len(serialised_at) == BATCH
    assert max(Counter(serialised_at).values()) <= WRITE_CHUNK  # never more than a chunk in one loop turn


@pytest.mark.parametrize(
    ("error", "status", "as_result"),
    [
        (UnknownTool("x"), 404, False),
        (InvalidArguments("bad"), 400, True),
        (Forbidden("no"), 403, False),
        (RateLimited(2.5), 429, False),
        (StateUnavailable("redis"), 503, False),
        (ServerDown("svc", "svc_x"), 503, False),
        (CircuitOpen("svc"), 503, True),
        (UpstreamTimeout("svc", "slow"), 504, True),
        (UpstreamRejected("svc", {"code": -32602, "message": "nope", "data": {"why": 1}}), 400, False),
    ],
)
def test_one_mapper_gives_every_error_its_status_code_and_shape(
    error: GatewayError, status: int, as_result: bool
) -> None:
    http_status, body, _ = http_error(error)
    assert http_status == status and body["error"]["type"] == type(error).__name__
    assert error.as_result is as_result
    rpc = jsonrpc_error(error)
    assert isinstance(rpc["code"], int) and rpc["message"]
    assert as_tool_result(error) == {"content": [{"type": "text", "text": str(error)}], "isError": True}
    if isinstance(error, UpstreamRejected):
        assert rpc == {"code": -32602, "message": "nope", "data": {"why": 1}}  # passed on unchanged


async def test_an_approval_id_that_is_not_one_never_reaches_redis_as_a_key(rig: Rig) -> None:
    """`<id>:decision` is the key of a decision: read as an approval it was a 500. Ids are checked first."""
    from sophia.gateway.approvals import ApprovalNotFound

    held = (await rig.run("svc_drop", {"text": "x"})).held
    assert held is not None
    await rig.decisions.deny(held.id, "ann")
    assert await rig.client.exists(f"sophia:approval:{held.id}:decision")
    for bad in (f"{held.id}:decision", "*", "../" + held.id, held.id.upper()):
        with pytest.raises(ApprovalNotFound):
            await rig.store.get(bad)
