"""The shared HTTP layer against a LOCAL STAND-IN (a Starlette app answering in the systems' shapes): rate
limits, retries, typed errors, pagination, secret scrubbing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from sophia.business.http import (
    AuthFailed,
    BadResponse,
    Http,
    RateLimited,
    Rejected,
    RetryPolicy,
    Unavailable,
    collect,
    retry_after_s,
)
from sophia.business.standins import Fault, HubSpotStandin, combined
from sophia.business.standins.data import demo_dataset
from sophia.kit.testing import serve_asgi

TOKEN = "pat-http-test-token-42"


@pytest.fixture
async def hubspot() -> AsyncIterator[tuple[str, HubSpotStandin]]:
    standin = HubSpotStandin(demo_dataset(), TOKEN)
    async with serve_asgi(combined({"": standin}), lifespan=False) as url:
        yield url, standin


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def call(url: str, sleeps: Sleeps, method: str = "GET", idempotent: bool = True, **policy: float) -> object:
    async with httpx.AsyncClient() as client:
        http = Http("HubSpot", client, RetryPolicy(**{"backoff_s": 0.01, **policy}), sleep=sleeps)  # type: ignore[arg-type]
        path = "/crm/v3/pipelines/deals" if method == "GET" else "/crm/v3/objects/deals/search"
        _, body = await http.request(
            method,
            url + path,
            headers={"authorization": f"Bearer {TOKEN}"},
            secrets=[TOKEN],
            idempotent=idempotent,
            json={} if method == "POST" else None,
        )
        return body


async def test_a_429_waits_the_retry_after_it_was_sent_then_succeeds(hubspot: tuple[str, HubSpotStandin]) -> None:
    url, standin = hubspot
    standin.fail_next(Fault("rate_limit", retry_after="2"), Fault("rate_limit", retry_after="1"))
    sleeps = Sleeps()
    body = await call(url, sleeps)
    assert isinstance(body, dict) and body["results"]
    assert sleeps.waits == [2.0, 1.0]


async def test_a_429_without_retry_after_backs_off_and_a_write_is_retried_too(
    hubspot: tuple[str, HubSpotStandin],
) -> None:
    url, standin = hubspot
    standin.fail_next(Fault("rate_limit"))
    sleeps = Sleeps()
    await call(url, sleeps, method="POST", idempotent=False)
    assert len(sleeps.waits) == 1 and 0 < sleeps.waits[0] <= 0.01  # the system did not act on a 429: safe to resend


async def test_a_retry_after_longer_than_the_cap_fails_at_once_saying_when(hubspot: tuple[str, HubSpotStandin]) -> None:
    url, standin = hubspot
    standin.fail_next(Fault("rate_limit", retry_after="3600"))
    sleeps = Sleeps()
    with pytest.raises(RateLimited, match="retry after 3600s"):
        await call(url, sleeps, max_retry_after_s=30)
    assert sleeps.waits == []


async def test_rate_limiting_that_never_ends_is_a_typed_error_after_the_retries(
    hubspot: tuple[str, HubSpotStandin],
) -> None:
    url, standin = hubspot
    standin.fail_next(*[Fault("rate_limit", retry_after="0")] * 4)
    with pytest.raises(RateLimited, match="after 3 retries"):
        await call(url, Sleeps(), max_retries=3)


async def test_a_5xx_is_retried_for_reads(hubspot: tuple[str, HubSpotStandin]) -> None:
    url, standin = hubspot
    standin.fail_next(Fault("error", status=502), Fault("error", status=503))
    sleeps = Sleeps()
    assert await call(url, sleeps)
    assert len(sleeps.waits) == 2


async def test_a_5xx_is_not_repeated_for_writes(hubspot: tuple[str, HubSpotStandin]) -> None:
    url, standin = hubspot
    standin.fail_next(Fault("error", status=500))
    with pytest.raises(Unavailable, match="HTTP 500"):
        await call(url, Sleeps(), method="POST", idempotent=False)
    assert len([r for r in standin.requests if r.method == "POST"]) == 1


async def test_malformed_json_is_a_bad_response_not_a_crash(hubspot: tuple[str, HubSpotStandin]) -> None:
    url, standin = hubspot
    standin.fail_next(Fault("malformed"))
    with pytest.raises(BadResponse, match="malformed JSON"):
        await call(url, Sleeps())


async def test_a_slow_answer_times_out_as_unavailable(hubspot: tuple[str, HubSpotStandin]) -> None:
    url, standin = hubspot
    standin.fail_next(Fault("slow", delay=1.0))
    with pytest.raises(Unavailable, match=r"did not answer within 0\.2s"):
        await call(url, Sleeps(), timeout_s=0.2, max_retries=0)


async def test_an_expired_token_is_an_auth_error_that_holds_no_secret(hubspot: tuple[str, HubSpotStandin]) -> None:
    url, standin = hubspot
    standin.fail_next(Fault("expired"))
    with pytest.raises(AuthFailed) as caught:
        await call(url, Sleeps())
    assert "expired" in str(caught.value) and TOKEN not in str(caught.value)


async def test_a_system_that_echoes_the_token_in_its_error_is_scrubbed() -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"message": f"bad header {request.headers['authorization']}"}, status_code=400)

    async with serve_asgi(Starlette(routes=[Route("/x", echo)]), lifespan=False) as url, httpx.AsyncClient() as client:
        http = Http("Echo", client, RetryPolicy())
        with pytest.raises(Rejected) as caught:
            await http.request(
                "GET",
                f"{url}/x",
                headers={"authorization": f"Bearer {TOKEN}"},
                secrets=[TOKEN],
                idempotent=True,
                explain=lambda r, b: b["message"],
            )
    assert TOKEN not in str(caught.value) and "[redacted]" in str(caught.value)


async def test_usage_headers_are_kept_for_health(hubspot: tuple[str, HubSpotStandin]) -> None:
    url, _ = hubspot
    async with httpx.AsyncClient() as client:
        http = Http("HubSpot", client, RetryPolicy())
        await http.request(
            "GET",
            url + "/crm/v3/pipelines/deals",
            headers={"authorization": f"Bearer {TOKEN}"},
            secrets=[],
            idempotent=True,
        )
    assert http.stats.usage["x-hubspot-ratelimit-daily-remaining"] == "249999"


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_s("7") == 7.0
    when = datetime.now(UTC) + timedelta(seconds=30)
    assert 25 <= (retry_after_s(format_datetime(when, usegmt=True)) or 0) <= 31
    assert retry_after_s("soon") is None and retry_after_s(None) is None


async def test_collect_follows_cursors_and_stops_at_the_item_bound() -> None:
    pages = {None: ([1, 2], "a"), "a": ([3, 4], "b"), "b": ([5], None)}

    async def fetch(cursor: str | None) -> tuple[list[int], str | None]:
        return pages[cursor]

    assert await collect(fetch, 100, 10) == ([1, 2, 3, 4, 5], False)
    assert await collect(fetch, 3, 10) == ([1, 2, 3], True)


async def test_collect_stops_on_a_cursor_that_repeats() -> None:
    calls = 0

    async def fetch(cursor: str | None) -> tuple[list[int], str | None]:
        nonlocal calls
        calls += 1
        return [calls], "same"

    items, _ = await asyncio.wait_for(collect(fetch, 100, 50), 5)
    assert calls == 2 and items == [1, 2]
