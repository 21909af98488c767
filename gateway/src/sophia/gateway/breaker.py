"""A circuit breaker per server: after `threshold` failures in a row the server is not called for
`cooldown_s`; then one trial call decides whether it closes again."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class _Circuit:
    failures: int = 0
    open_until: float = 0.0
    trial_running: bool = False


class CircuitBreakers:
    def __init__(self, threshold: int, cooldown_s: float) -> None:
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self._circuits: dict[str, _Circuit] = {}

    def allow(self, server: str) -> bool:
        circuit = self._circuits.get(server)
        if circuit is None or circuit.failures < self.threshold:
            return True
        if time.monotonic() < circuit.open_until or circuit.trial_running:
            return False
        circuit.trial_running = True  # half-open: this call is the trial
        return True

    def succeeded(self, server: str) -> None:
        self._circuits.pop(server, None)

    def failed(self, server: str) -> None:
        circuit = self._circuits.setdefault(server, _Circuit())
        circuit.failures += 1
        circuit.trial_running = False
        if circuit.failures >= self.threshold:
            circuit.open_until = time.monotonic() + self.cooldown_s

    def state(self, server: str) -> str:
        circuit = self._circuits.get(server)
        if circuit is None or circuit.failures < self.threshold:
            return "closed"
        return "open" if time.monotonic() < circuit.open_until else "half-open"
