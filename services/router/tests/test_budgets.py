"""Budgets against a real Redis: atomic reservations, settlement, limits from settings and from set_budget."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from sophia.router.budgets import Budgets, OverBudget, nano, usd

NO_LIMITS: dict[str, float | None] = {}


@pytest.fixture
async def redis(clean_redis: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(clean_redis, decode_responses=True)
    yield client
    await client.aclose()


def row(status: list[dict[str, object]], scope: str, period: str) -> dict[str, object]:
    return next(r for r in status if r["scope"] == scope and r["period"] == period)


async def test_money_is_counted_in_exact_integers() -> None:
    assert nano(0.1) + nano(0.2) == nano(0.3)
    assert usd(nano(1.23456789)) == 1.23456789
    assert nano(1e-10) == 1  # a reservation rounds up, never to nothing


async def test_a_reservation_within_the_limit_is_held_then_settled_at_the_real_cost(
    redis: Redis, principal: str
) -> None:
    budgets = Budgets(redis, {"principal:daily": 1.0}, hold_ttl_s=60)
    hold = await budgets.reserve(principal, 0.25)
    daily = row(await budgets.status(principal), "principal", "daily")
    assert (daily["held_usd"], daily["spent_usd"], daily["remaining_usd"]) == (0.25, 0.0, 0.75)
    await budgets.settle(hold, 0.01)
    daily = row(await budgets.status(principal), "principal", "daily")
    assert (daily["held_usd"], daily["spent_usd"], daily["remaining_usd"]) == (0.0, 0.01, 0.99)
    monthly = row(await budgets.status(principal), "global", "monthly")
    assert (monthly["spent_usd"], monthly["limit_usd"], monthly["remaining_usd"]) == (0.01, None, None)


async def test_a_reservation_that_would_pass_a_limit_is_refused_and_changes_nothing(
    redis: Redis, principal: str
) -> None:
    budgets = Budgets(redis, {"principal:monthly": 0.5}, hold_ttl_s=60)
    await budgets.settle(await budgets.reserve(principal, 0.3), 0.3)
    with pytest.raises(OverBudget) as refused:
        await budgets.reserve(principal, 0.25)
    assert str(refused.value) == (
        f"the monthly budget of principal {principal!r} would be exceeded: limit $0.500000, spent $0.300000, "
        "held by calls in flight $0.000000, this call needs up to $0.250000"
    )
    assert all(r["held_usd"] == 0 for r in await budgets.status(principal))
    await budgets.reserve(principal, 0.2)  # exactly up to the limit is allowed


async def test_concurrent_reservations_never_pass_the_limit_together(redis: Redis, principal: str) -> None:
    budgets = Budgets(redis, {"principal:daily": 1.0}, hold_ttl_s=60)
    outcomes = await asyncio.gather(*(budgets.reserve(principal, 0.07) for _ in range(40)), return_exceptions=True)
    held = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(held) == 14  # 14 x 0.07 = 0.98; a 15th would make 1.05
    assert all(isinstance(o, OverBudget) for o in outcomes if isinstance(o, BaseException))
    assert row(await budgets.status(principal), "principal", "daily")["held_usd"] == pytest.approx(0.98)


async def test_the_global_limit_binds_every_principal(redis: Redis, principal: str) -> None:
    budgets = Budgets(redis, {"global:daily": 0.1}, hold_ttl_s=60)
    await budgets.settle(await budgets.reserve(f"{principal}-a", 0.08), 0.08)
    with pytest.raises(OverBudget, match="daily budget of all principals"):
        await budgets.reserve(f"{principal}-b", 0.03)


async def test_an_expired_hold_stops_counting(redis: Redis, principal: str) -> None:
    budgets = Budgets(redis, {"principal:daily": 1.0}, hold_ttl_s=0.2)
    await budgets.reserve(principal, 0.9)  # never settled: its replica died
    with pytest.raises(OverBudget):
        await budgets.reserve(principal, 0.2)
    await asyncio.sleep(0.3)
    await budgets.reserve(principal, 0.2)


async def test_limits_set_at_run_time_override_the_settings_until_cleared(redis: Redis, principal: str) -> None:
    budgets = Budgets(redis, {"principal:daily": 5.0, "principal:monthly": None}, hold_ttl_s=60)
    await budgets.set_limits(principal, daily_usd=0.5, monthly_usd=20.0, clear=[])
    status = await budgets.status(principal)
    assert (row(status, "principal", "daily")["limit_usd"], row(status, "principal", "daily")["source"]) == (
        0.5,
        "set_budget",
    )
    assert row(status, "principal", "monthly")["limit_usd"] == 20.0
    other = await budgets.status(f"{principal}-other")
    assert row(other, "principal", "daily")["limit_usd"] == 5.0  # the default still applies to others
    await budgets.set_limits(principal, daily_usd=None, monthly_usd=None, clear=["daily", "monthly"])
    status = await budgets.status(principal)
    assert row(status, "principal", "daily")["limit_usd"] == 5.0
    assert row(status, "principal", "monthly")["limit_usd"] is None


async def test_a_zero_limit_stops_all_spending(redis: Redis, principal: str) -> None:
    budgets = Budgets(redis, NO_LIMITS, hold_ttl_s=60)
    await budgets.set_limits(None, daily_usd=0.0, monthly_usd=None, clear=[])
    with pytest.raises(OverBudget, match="daily budget of all principals"):
        await budgets.reserve(principal, 1e-9)


async def test_global_status_leaves_principals_out(redis: Redis) -> None:
    budgets = Budgets(redis, NO_LIMITS, hold_ttl_s=60)
    assert {(r["scope"], r["period"]) for r in await budgets.status(None)} == {
        ("global", "daily"),
        ("global", "monthly"),
    }
