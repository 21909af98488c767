"""The role policy and the rate limiter on their own: what each role may do, and GCRA against a real
Redis (and none: the explicit fail-open / fail-closed setting)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as redis

from sophia.gateway.errors import ConfigurationError
from sophia.gateway.security.audit import REDACTED, redact
from sophia.gateway.security.policy import Policy
from sophia.gateway.security.principals import ApiKeys, Principal, PrincipalEntry, generate_key, hash_key
from sophia.gateway.security.ratelimit import Limit, RateLimiter, RateLimitUnavailable
from sophia.kit import Risk, ToolSpec

READ = ToolSpec(name="recall", description="", risk=Risk.LOW, read_only=True)
WRITE = ToolSpec(name="remember", description="", risk=Risk.MEDIUM)
DESTROY = ToolSpec(name="destroy", description="", risk=Risk.CRITICAL, destructive=True)


def who(*roles: str, name: str = "pat") -> Principal:
    return Principal(name=name, roles=roles, namespace="team", via="api_key")


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.load(None)


def test_viewers_only_read(policy: Policy) -> None:
    assert policy.may_call(who("viewer"), "memory_recall", READ)
    assert not policy.may_call(who("viewer"), "memory_remember", WRITE)
    assert not policy.may_call(who("viewer"), "infra_destroy", DESTROY)


def test_analysts_never_see_infra_or_code_and_never_destroy(policy: Policy) -> None:
    assert policy.may_call(who("analyst"), "business_slack_post", WRITE)
    assert not policy.may_call(who("analyst"), "infra_preview", READ)
    assert not policy.may_call(who("analyst"), "memory_forget", DESTROY)
    assert policy.may_call(who("analyst"), "ask", None)


def test_a_principal_may_do_what_any_of_its_roles_allows(policy: Policy) -> None:
    assert policy.may_call(who("viewer", "developer"), "infra_destroy", DESTROY)
    assert not policy.may_call(who("nonexistent-role"), "memory_recall", READ)


def test_approvers_approve_others_requests_only(policy: Policy) -> None:
    assert policy.may_approve(who("approver", name="ann"), requester="api_key:bob")
    assert not policy.may_approve(who("approver", name="ann"), requester="api_key:ann")
    assert not policy.may_approve(who("developer", name="dev"), requester="api_key:bob")
    local = Principal(name="local", roles=("admin",), via="anonymous")
    assert policy.may_approve(local, requester="anonymous:local")  # auth off: the one user approves their own


def test_a_jwt_subject_and_an_api_key_of_the_same_name_are_two_principals(policy: Policy) -> None:
    """A JWT `sub: dev` must not pass for the API key named `dev` (its approvals, its limits, its requests)."""
    key_dev = Principal(name="dev", roles=("approver",), via="api_key")
    jwt_dev = Principal(name="dev", roles=("approver",), via="jwt")
    assert key_dev.key != jwt_dev.key
    assert policy.may_approve(jwt_dev, requester=key_dev.key)
    assert not policy.may_approve(key_dev, requester=key_dev.key)


def test_deny_patterns_win(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("roles:\n  ops: {tools: ['*'], deny: ['infra_*'], destructive: true}\n")
    policy = Policy.load(path)
    assert policy.may_call(who("ops"), "memory_forget", DESTROY)
    assert not policy.may_call(who("ops"), "infra_up", WRITE)


@pytest.mark.parametrize("text", ["roles: {admin: {tools: ['*'], sudo: true}}", "roles: [", "nothing: here"])
def test_a_bad_policy_file_is_a_configuration_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match="policy file"):
        Policy.load(path)


def test_api_keys_are_checked_by_hash_only() -> None:
    key = generate_key()
    keys = ApiKeys([PrincipalEntry(name="ci", roles=["viewer"], key_sha256=hash_key(key))])
    principal = keys.verify(key)
    assert principal is not None and principal.name == "ci" and principal.via == "api_key"
    assert keys.verify(key + "x") is None
    assert key not in repr(keys.__dict__)


def test_redaction_hides_secret_keys_and_secret_looking_values() -> None:
    arguments = {
        "query": "renewals",
        "password": "hunter2",
        "nested": {"api_key": "x", "note": "use Bearer abcdefghijkl please"},
        "list": ["ghp_" + "a" * 30],
    }
    shown = redact(arguments)
    assert shown["query"] == "renewals"
    assert shown["password"] == REDACTED and shown["nested"]["api_key"] == REDACTED
    assert "abcdefghijkl" not in shown["nested"]["note"]
    assert shown["list"] == [REDACTED]


async def test_gcra_allows_the_burst_then_says_how_long_to_wait(redis_url: str) -> None:
    client = redis.from_url(redis_url)
    limiter = RateLimiter(client, Limit(60, 3), Limit(6, 1), ["ask"], "closed")
    try:
        verdicts = [await limiter.check("gcra-test", "memory_recall") for _ in range(4)]
        assert [v.allowed for v in verdicts] == [True, True, True, False]
        assert 0 < verdicts[-1].retry_after_s <= 1.0  # one call per second refills
        expensive = [await limiter.check("gcra-test", "ask") for _ in range(2)]
        assert [v.allowed for v in expensive] == [True, False]  # its own, smaller allowance
        assert (await limiter.check("someone-else", "memory_recall")).allowed  # per principal
    finally:
        await client.aclose()


def counting(limiter: RateLimiter) -> list[int]:
    """Count the limiter's Redis scripts (one round trip each): the returned list holds the count."""
    count = [0]
    script = limiter._script

    async def counted(*args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return await script(*args, **kwargs)

    limiter._script = counted  # type: ignore[method-assign]
    return count


async def test_a_busy_principal_is_admitted_in_batches_and_the_limit_still_holds(redis_url: str) -> None:
    """Calls of a principal that calls often are admitted a few at a time (one Redis script per batch), never
    past what the GCRA allows: 200 calls at once against a burst of 100 admit 100, with far fewer checks."""
    client = redis.from_url(redis_url)
    limiter = RateLimiter(client, Limit(60, 100), Limit(6, 1), [], "closed")
    scripts = counting(limiter)
    try:
        verdicts = [await limiter.check("batch-test", "memory_recall") for _ in range(200)]
        assert sum(v.allowed for v in verdicts) == 100  # the burst, not a call more
        assert not verdicts[-1].allowed and verdicts[-1].retry_after_s > 0
        assert scripts[0] < 200 * 0.6, scripts  # batches: well under one round trip per call
        assert (await limiter.check("quiet-one", "memory_recall")).allowed  # another principal: its own
    finally:
        await client.aclose()


async def test_a_crowd_of_calls_shares_one_round_trip_and_the_limit_still_holds(redis_url: str) -> None:
    """64 calls of one principal at once ask Redis once or twice, not 64 times; against a burst of 10,
    exactly 10 are admitted and the rest told how long to wait."""
    client = redis.from_url(redis_url)
    roomy = RateLimiter(client, Limit(60_000, 10_000), Limit(6, 1), [], "closed")
    tight = RateLimiter(client, Limit(60, 10), Limit(6, 1), [], "closed")
    scripts = counting(roomy)
    try:
        verdicts = await asyncio.gather(*(roomy.check("crowd", "memory_recall") for _ in range(64)))
        assert all(v.allowed for v in verdicts)
        assert scripts[0] <= 3, scripts
        verdicts = await asyncio.gather(*(tight.check("crowd-tight", "memory_recall") for _ in range(64)))
        assert sum(v.allowed for v in verdicts) == 10
        assert all(v.retry_after_s > 0 for v in verdicts if not v.allowed)
    finally:
        await client.aclose()


async def test_a_crowd_waiting_on_a_dead_redis_gets_one_verdict_not_a_queue_of_timeouts() -> None:
    client = redis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.2)
    limiter = RateLimiter(client, Limit(60, 3), Limit(6, 1), [], "closed")
    scripts = counting(limiter)
    try:
        outcomes = await asyncio.gather(*(limiter.check("p", "t") for _ in range(16)), return_exceptions=True)
        assert all(isinstance(o, RateLimitUnavailable) for o in outcomes)
        assert scripts[0] == 1
    finally:
        await client.aclose()


@pytest.mark.parametrize("when_down", ["open", "closed"])
async def test_without_redis_the_setting_decides(when_down: str) -> None:
    client = redis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.2)
    limiter = RateLimiter(client, Limit(60, 3), Limit(6, 1), [], when_down)  # type: ignore[arg-type]
    try:
        if when_down == "open":
            assert (await limiter.check("p", "t")).allowed
        else:
            with pytest.raises(RateLimitUnavailable):
                await limiter.check("p", "t")
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("deploy with token=abc123def please", "abc123def"),
        ("password: hunter2", "hunter2"),
        ('{"api_key": "k-42-xyz"}', "k-42-xyz"),
        ("the client_secret is swordfish", "swordfish"),
        ("curl -H 'Authorization: Bearer abcdefghijkl'", "abcdefghijkl"),
        ("aws access_key=AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    ],
)
def test_secrets_named_inside_free_text_are_redacted(text: str, secret: str) -> None:
    redacted = redact({"note": text})
    assert secret not in redacted["note"] and REDACTED in redacted["note"]


def test_ordinary_words_near_secret_names_survive_redaction() -> None:
    assert redact({"note": "tokens are counted per model"}) == {"note": "tokens are counted per model"}
