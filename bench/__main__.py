"""Run every benchmark: `python -m bench` (or one: `python -m bench proxy`)."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = [
    "proxy",
    "external",
    "load",
    "memory",
    "intelligence",
    "code",
    "router",
    "visual",
    "business",
    "router_replay",
    "infra",
]


def main() -> None:
    for name in sys.argv[1:] or BENCHMARKS:
        importlib.import_module(f"bench.{name}").main()


if __name__ == "__main__":
    main()
