"""`sophia ask`, `sophia approvals`, `sophia approve` and `sophia deny`: the gateway's intelligence
from a terminal."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

import httpx
from httpx_sse import SSEError, connect_sse
from rich.markup import escape
from rich.table import Table

from sophia.gateway.ask_progress import STARTING, describe
from sophia.gateway.cli.commands import READ_TIMEOUT_S, CommandError, auth_headers, request, unreachable, waiting
from sophia.gateway.cli.output import console

#: Events of the `/v1/ask` stream that end a step, and so fill `steps` of the final answer.
STEP_ENDS = {"step_finished", "step_failed", "step_held", "step_skipped"}


def ask(url: str, query: str, dry_run: bool, as_json: bool, timeout: float) -> int:
    """Ask the fleet in plain words: each step shows on stderr as it happens (the gateway's event stream),
    then the answer (or, with --json, everything) on stdout."""
    result = _ask_streamed(url, {"query": query, "dry_run": dry_run}, timeout, show=not as_json)
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


def _ask_streamed(url: str, body: dict[str, Any], timeout: float, show: bool) -> dict[str, Any]:
    """POST /v1/ask with `Accept: text/event-stream`; print each event as a line while it runs and rebuild
    the JSON answer (the same fields as the non-streamed reply) from the events."""
    progress = console(stderr=True)
    result: dict[str, Any] = {}
    endpoint = f"{url.rstrip('/')}/v1/ask"
    headers = {**auth_headers(), "accept": "text/event-stream"}
    if show:
        progress.print(f"[dim]· {STARTING}…[/]")
    try:
        with (
            httpx.Client(timeout=httpx.Timeout(timeout, connect=5.0)) as client,
            connect_sse(client, "POST", endpoint, json=body, headers=headers) as source,
        ):
            if source.response.status_code != 200:
                source.response.read()
                _json(source.response, "ask")  # raises with the gateway's message
            for event in source.iter_sse():
                try:
                    data = event.json() if event.data else {}
                except ValueError:
                    data = None
                if not isinstance(data, dict):
                    raise CommandError(f"the gateway sent a {event.event!r} event whose data is not a JSON object")
                if event.event == "error":
                    raise CommandError(f"ask failed: {data.get('message', 'the gateway gave no reason')}")
                if event.event == "done":
                    break
                if show:
                    progress.print(f"[dim]· {escape(describe(event.event, data))}[/]")
                if event.event in ("intent", "plan"):
                    result[event.event] = data
                elif event.event in STEP_ENDS:
                    result.setdefault("steps", {})[str(data.get("id"))] = data
                elif event.event == "answer":
                    result.setdefault("steps", {})
                    result.update(answer=data.get("answer"), pending_approvals=data.get("pending_approvals"))
    except httpx.HTTPError as exc:
        raise unreachable(endpoint, exc) from exc
    except SSEError as exc:
        raise CommandError(f"the gateway at {url} did not stream its answer ({exc}); is it a Sophia gateway?") from exc
    if "intent" not in result or "plan" not in result:
        raise CommandError("the gateway closed the answer before it was complete; see its log")
    return result


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


def decide(url: str, approval_id: str, decision: str, approver: str | None) -> int:
    """Approve (run exactly the held call, once) or deny an approval; print the result. Without
    `--approver` the gateway records the caller itself (with auth off: the same local principal that
    asked), so a local approval reads requester and decider alike."""
    endpoint = f"{url.rstrip('/')}/v1/approvals/{quote(approval_id, safe='')}/{decision}"
    body = {"approver": approver} if approver else {}
    with waiting("running the approved call…" if decision == "approve" else "denying…"):
        response = request("POST", endpoint, httpx.Timeout(120.0, connect=5.0), json=body)
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
