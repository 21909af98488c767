"""A circuit breaker per dependency (a server, a provider): closed; open after `threshold` failures in a
row; after `open_s`, one trial call whose outcome closes or re-opens it. Per process, as breakers
usually are: each replica judges a dependency by its own calls."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

State = Literal["closed", "open", "half_open"]


@dataclass
class CircuitBreaker:
    """Closed; open after `threshold` consecutive failures; after `open_s` one trial call (half open)
    whose outcome closes or re-opens it."""

    threshold: int
    open_s: float
    failures: int = 0
    opened_at: float | None = None
    trial_running: bool = False

    def state(self, now: float | None = None) -> State:
        if self.opened_at is None:
            return "closed"
        now = time.monotonic() if now is None else now
        return "half_open" if now - self.opened_at >= self.open_s else "open"

    def allow(self, now: float | None = None) -> bool:
        """May a call start? In half-open state only one trial at a time."""
        state = self.state(now)
        if state == "closed":
            return True
        if state == "half_open" and not self.trial_running:
            self.trial_running = True
            return True
        return False

    def available(self, now: float | None = None) -> bool:
        """Would `allow` say yes (without taking the trial slot)?"""
        state = self.state(now)
        return state == "closed" or (state == "half_open" and not self.trial_running)

    def success(self) -> None:
        self.failures = 0
        self.opened_at = None
        self.trial_running = False

    def failure(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self.trial_running = False
        self.failures += 1
        if self.opened_at is not None or self.failures >= self.threshold:
            self.opened_at = now

    def trip(self, now: float | None = None) -> None:
        """Open at once (the provider refused our credentials: no point trying again soon)."""
        self.trial_running = False
        self.failures = max(self.failures + 1, self.threshold)
        self.opened_at = time.monotonic() if now is None else now

    def release(self) -> None:
        """A trial call ended without a verdict on the provider (budget refusal, cancellation)."""
        self.trial_running = False


class CircuitBreakers:
    def __init__(self, threshold: int, open_s: float) -> None:
        self._threshold = threshold
        self._open_s = open_s
        self._by_provider: dict[str, CircuitBreaker] = {}

    def __getitem__(self, provider: str) -> CircuitBreaker:
        if provider not in self._by_provider:
            self._by_provider[provider] = CircuitBreaker(self._threshold, self._open_s)
        return self._by_provider[provider]

    def view(self) -> dict[str, dict[str, object]]:
        return {name: {"state": b.state(), "consecutive_failures": b.failures} for name, b in self._by_provider.items()}
