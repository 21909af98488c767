"""`sophia ask`, `sophia approvals`, `sophia approve` and `sophia deny`: the gateway's intelligence
from a terminal."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

import httpx
from rich.markup import escape
from rich.table import Table

from sophia.gateway.cli.commands import READ_TIMEOUT_S, CommandError, request
from sophia.gateway.cli.output import console


def ask(url: str, query: str, dry_run: bool, as_json: bool, timeout: float) -> int:
    """Ask the fleet in plain words; print the answer (or, with --json, everything)."""
    body = {"query": query, "dry_run": dry_run}
    response = request("POST", f"{url.rstrip('/')}/v1/ask", httpx.Timeout(timeout, connect=5.0), json=body)
    result = _json(response, "ask")
    if as_json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    out = console()
    intent = result["intent"]
    out.print(
        f"[bold]{escape(intent['action'])}[/] · {escape(', '.join(intent['capabilities']))} · risk "
        f"{escape(intent['risk_level'])} · confidence {intent['confidence']}"
    )
    table = Table("step", "tool", "arguments", "after", "status")
    for step in result["plan"]["steps"]:
        outcome = (result.get("steps") or {}).get(step["id"], {})
        status = outcome.get("status", "held for approval" if step["requires_approval"] else "planned")
        table.add_row(
            step["id"], step["tool"], escape(json.dumps(step["arguments"])[:80]), ", ".join(step["depends_on"]), status
        )
    out.print(table)
    if result.get("answer"):
        out.print(escape(result["answer"]))
    for approval in result.get("pending_approvals") or []:
        out.print(f"[yellow]pending approval {approval['id']}[/]: sophia approve {approval['id']}")
    return 0


def approvals(url: str, status: str, as_json: bool) -> int:
    """List the approval queue (pending by default)."""
    response = request("GET", f"{url.rstrip('/')}/v1/approvals", READ_TIMEOUT_S, params={"status": status})
    queue = _json(response, "approvals")
    if as_json:
        print(json.dumps(queue, indent=2, ensure_ascii=False))
        return 0
    out = console()
    if not queue:
        out.print(f"No {status} approvals.")
        return 0
    table = Table("id", "tool", "arguments", "requester", "status", "expires")
    for item in queue:
        expires = time.strftime("%Y-%m-%d %H:%M", time.localtime(item["expires_at"]))
        table.add_row(
            item["id"], item["tool"], escape(json.dumps(item["arguments"])[:80]), item["requester"], item["status"],
            expires,
        )  # fmt: skip
    out.print(table)
    return 0


def decide(url: str, approval_id: str, decision: str, approver: str) -> int:
    """Approve (run exactly the held call, once) or deny an approval; print the result."""
    endpoint = f"{url.rstrip('/')}/v1/approvals/{quote(approval_id, safe='')}/{decision}"
    response = request("POST", endpoint, httpx.Timeout(120.0, connect=5.0), json={"approver": approver})
    result = _json(response, decision)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 1 if result.get("status") == "failed" else 0


def _json(response: httpx.Response, what: str) -> Any:
    if response.status_code != 200:
        try:
            detail = response.json().get("error", {}).get("message") or response.text
        except ValueError:
            detail = response.text
        raise CommandError(f"{what} failed with HTTP {response.status_code}: {detail}")
    return response.json()
