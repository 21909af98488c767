"""Every Redis key the router writes, in one place: all under `sophia:router:`.

Budget keys share the hash tag `{budget}` and usage keys `{usage}`, so each script's keys sit in one
slot of a Redis Cluster and the script can touch them atomically.
"""

from __future__ import annotations

PREFIX = "sophia:router"

COOLDOWNS = f"{PREFIX}:cooldowns"
LATENCY = f"{PREFIX}:{{usage}}:latency"  # hash: <model id> -> learned latency (ms), <model id>:n -> observations

BUDGET_LIMITS = f"{PREFIX}:{{budget}}:limits"


def budget_spent(scope: str, period: str) -> str:
    return f"{PREFIX}:{{budget}}:spent:{scope}:{period}"


def budget_held(scope: str, period: str) -> str:
    return f"{PREFIX}:{{budget}}:held:{scope}:{period}"


def usage(scope: str) -> str:
    return f"{PREFIX}:{{usage}}:{scope}"


def samples(name: str) -> str:
    return f"{PREFIX}:{{usage}}:samples:{name}"


def cache(principal: str, context: str) -> str:
    return f"{PREFIX}:cache:{principal}:{context}"
