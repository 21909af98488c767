"""A gateway process with the LLM on, whose router is the test stand-in playing the model from a script."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from tests.support.fleet import GatewayProcess
from tests.support.standins import running_standins


@contextlib.contextmanager
def scripted_llm_gateway(
    log_dir: Path, script: dict[str, str], others: Iterable[str], redis_url: str, tools: set[str]
) -> Iterator[tuple[GatewayProcess, Path]]:
    """The gateway (LLM `on`, approvals in Redis) over the router stand-in answering from `script` (the first
    key, in order, found in a prompt picks the reply) and the stand-ins named in `others`; yields it and the
    call log (one JSON line per call that reached a stand-in)."""
    script_file = log_dir / "script.json"
    script_file.write_text(json.dumps(script))
    call_log = log_dir / "calls.jsonl"
    with running_standins(
        log_dir,
        names=("router", *others),
        common={"call_log": call_log},
        settings={"router": {"script": script_file}},
    ) as standins:
        process = GatewayProcess(
            standins.grpc_addresses,
            log_dir,
            extra_env={"SOPHIA_GATEWAY_REDIS_URL": redis_url, "SOPHIA_GATEWAY_LLM": "on"},
        ).start()
        try:
            process.wait_for_tools({"router_complete", *tools})
            yield process, call_log
        finally:
            process.stop()


def logged_calls(call_log: Path) -> list[dict[str, Any]]:
    """The calls that reached the stand-ins so far."""
    return [json.loads(line) for line in call_log.read_text().splitlines()] if call_log.exists() else []
