"""One request family of the training library: its labels and the ways people say it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    domain: str
    action: str
    capabilities: tuple[str, ...]
    approval: bool
    phrasings: tuple[str, ...]


def F(labels: str, *phrasings: str) -> Family:
    """`labels`: "domain action cap1,cap2 yes|no"."""
    domain, action, caps, approval = labels.split()
    return Family(domain, action, tuple(caps.split(",")), approval == "yes", phrasings)
