"""Run every benchmark: `python -m bench` (or one: `python -m bench proxy`)."""

from __future__ import annotations

import importlib
import logging
import sys

from bench._report import SUMMARY, table

BENCHMARKS = [
    "proxy",
    "external",
    "load",
    "memory",
    "intent",
    "toolsearch",
    "ask_e2e",
    "intelligence",
    "code",
    "router",
    "visual",
    "business",
    "router_replay",
    "infra",
]


def main() -> None:
    # Tables only: in-process clients and servers (httpx, uvicorn, the gateway) log each request at INFO.
    # `disable` holds even when a server later applies its own logging config; warnings still show.
    logging.disable(logging.INFO)
    for name in sys.argv[1:] or BENCHMARKS:
        importlib.import_module(f"bench.{name}").main()
    if SUMMARY:
        missed = sum(row["met"] != "met" for row in SUMMARY)
        print(f"\nall targets: {len(SUMMARY) - missed} met, {missed} missed")
        print(table(SUMMARY))


if __name__ == "__main__":
    main()
