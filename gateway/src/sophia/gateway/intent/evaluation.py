"""A classifier scored against labelled requests: the one tally `bench intent` and `train --leave-out` share.

Counts, not ratios, so several sets pool by adding them (a pooled recall is not the mean of the sets' recalls).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from sophia.gateway.intent.schema import Intent

COUNTS = ("requests", "domain", "action", "capabilities", "needed", "held", "caught")


def tally(classify: Callable[[str], Intent], rows: Iterable[dict[str, Any]]) -> Counter[str]:
    """Per request: domain, action and the exact capability set right; approval needed, given, and both."""
    counts: Counter[str] = Counter(dict.fromkeys(COUNTS, 0))
    for row in rows:
        intent = classify(row["query"])
        counts["requests"] += 1
        counts["domain"] += intent.domain == row["domain"]
        counts["action"] += intent.action == row["action"]
        counts["capabilities"] += set(intent.capabilities) == set(row["capabilities"])
        counts["needed"] += row["requires_approval"]
        counts["held"] += intent.requires_approval
        counts["caught"] += intent.requires_approval and row["requires_approval"]
    return counts


def ratios(counts: Counter[str]) -> dict[str, float]:
    """Accuracy of domain, action and capability set, approval recall and precision."""
    n = max(counts["requests"], 1)
    return {
        "domain": counts["domain"] / n,
        "action": counts["action"] / n,
        "capabilities": counts["capabilities"] / n,
        "approval_recall": counts["caught"] / max(counts["needed"], 1),
        "approval_precision": counts["caught"] / max(counts["held"], 1),
    }
