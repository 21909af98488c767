"""Token counts before a call: an expected count for estimates, an upper bound for budgets.

Real counts come from the provider after the call; these only have to be good enough to choose a
model (expected) and safe enough to never let a call pass a budget (bound).
"""

from __future__ import annotations

# Chat formatting adds a few tokens per message (role markers, separators).
MESSAGE_OVERHEAD = 8


def expected(text: str) -> int:
    """About 4 characters a token in English prose and code; about one a token outside ASCII."""
    if not text:
        return 0
    ascii_chars = len(text.encode("ascii", "ignore"))
    return round(ascii_chars / 4 + (len(text) - ascii_chars) * 1.1) + 1


def bound(text: str) -> int:
    """At most one token per UTF-8 byte: byte-level BPE and byte-fallback tokenizers never make more."""
    return len(text.encode("utf-8")) + MESSAGE_OVERHEAD
