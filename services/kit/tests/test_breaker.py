"""The circuit breaker the gateway (per server) and the router (per provider) share."""

from __future__ import annotations

from sophia.kit.breaker import CircuitBreaker as Breaker
from sophia.kit.breaker import CircuitBreakers


def test_a_breaker_opens_after_consecutive_failures() -> None:
    breaker = Breaker(threshold=3, open_s=10)
    breaker.failure(now=0)
    breaker.failure(now=1)
    breaker.success()
    breaker.failure(now=2)
    breaker.failure(now=3)
    assert breaker.state(now=3) == "closed" and breaker.allow(now=3)
    breaker.failure(now=4)
    assert breaker.state(now=5) == "open" and not breaker.allow(now=5)


def test_a_half_open_breaker_lets_one_trial_through_and_its_outcome_decides() -> None:
    breaker = Breaker(threshold=1, open_s=10)
    breaker.failure(now=0)
    assert breaker.state(now=10) == "half_open"
    assert breaker.allow(now=10) and not breaker.allow(now=10)  # one trial at a time
    breaker.failure(now=11)
    assert breaker.state(now=12) == "open"
    assert breaker.allow(now=21)
    breaker.success()
    assert breaker.state(now=21) == "closed"


def test_a_trial_without_a_verdict_frees_the_slot() -> None:
    breaker = Breaker(threshold=1, open_s=1)
    breaker.failure(now=0)
    assert breaker.allow(now=2)
    breaker.release()
    assert breaker.allow(now=2)


def test_refused_credentials_trip_the_breaker_at_once() -> None:
    breaker = Breaker(threshold=5, open_s=10)
    breaker.trip(now=0)
    assert breaker.state(now=1) == "open"


def test_breakers_are_kept_per_dependency() -> None:
    breakers = CircuitBreakers(threshold=1, open_s=10)
    breakers["down"].failure()
    assert not breakers["down"].allow() and breakers["up"].allow()
    assert breakers.view()["down"]["state"] == "open"
