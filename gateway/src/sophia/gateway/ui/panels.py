"""What each panel of the operator console shows, read as the requesting principal.

Every read goes through the same checks as the HTTP API: the catalog and graph filtered by what the
caller may see, approvals by whether they approve, the audit log only for auditors, and the router's,
memory's and visual index's figures as tool calls through the call pipeline (source `ui`: rate-limited,
policy-checked, namespace-scoped and audited like any call). Nothing here is cached across principals.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from sophia.gateway.errors import GatewayError
from sophia.gateway.pipeline import Call
from sophia.gateway.results import text_of

if TYPE_CHECKING:
    from sophia.gateway.app import Gateway
    from sophia.gateway.approvals import Approval
    from sophia.gateway.security.principals import Principal

#: Recent calls shown (the audit stream keeps far more; `GET /v1/audit` pages through it).
CALLS_SHOWN = 30
#: Decided approvals shown under the pending ones, so an approver sees what their decision did.
DECIDED_SHOWN = 10
PENDING_SHOWN = 100
#: The figures the usage panel reads, each a read-only tool of its service: (panel key, tool, arguments).
USAGE_TOOLS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("router", "router_stats", {}),
    ("memory", "memory_stats", {}),
    ("visual", "visual_stats", {}),
)
USAGE_TIMEOUT_S = 5.0
#: A tool result larger than this is not shown (the panel says so): the stream stays small.
MAX_RESULT_CHARS = 20_000


def identity(gateway: Gateway, principal: Principal) -> dict[str, Any]:
    policy = gateway.guard.policy
    return {
        "name": principal.name,
        "key": principal.key,
        "roles": list(principal.roles),
        "auth": gateway.settings.auth,
        "may_approve": policy.may_approve(principal, requester=""),
        "may_audit": policy.may_audit(principal),
        "server_time": round(time.time(), 3),  # the page measures its clock's offset from this
    }


def fleet(gateway: Gateway) -> dict[str, Any]:
    """Health per server; tool counts are of the tools this caller may see. `since` (not an age) so the
    panel changes, and is sent, only when a server's health does."""
    servers = [
        {
            "name": s.name,
            "kind": s.kind,
            "address": s.address,
            "status": s.status,
            "since": round(s.since, 3),
            "version": s.version,
            "error": s.error,
            "tools": sum(1 for r in s.routes.values() if gateway.guard.visible(r.name, r.spec)),
        }
        for s in gateway.catalog.servers()
    ]
    return {"servers": sorted(servers, key=lambda s: s["name"])}


def graph(gateway: Gateway) -> dict[str, Any]:
    """Every server with the tools this caller may see (a down server with the tools it had, so the
    graph keeps its shape while it is away) and the edges between serving tools."""
    columns = []
    for server in sorted(gateway.catalog.servers(), key=lambda s: s.name):
        routes = server.routes if server.status == "serving" else server.last_routes
        tools = [
            {"name": r.name, "risk": r.spec.risk.value, "read_only": r.spec.read_only}
            for r in sorted(routes.values(), key=lambda r: r.name)
            if gateway.guard.visible(r.name, r.spec)
        ]
        columns.append({"name": server.name, "status": server.status, "tools": tools})
    visible = {r.name for r in gateway.catalog.routes() if gateway.guard.visible(r.name, r.spec)}
    edges = [
        {"from": e["from"], "to": e["to"], "argument": e["argument"], "why": e["why"], "declared": e["declared"]}
        for e in gateway.graph.snapshot()["edges"]
        if e["from"] in visible and e["to"] in visible
    ]
    return {"services": columns, "edges": edges}


async def approvals(gateway: Gateway, principal: Principal) -> dict[str, Any]:
    """Pending approvals (approvers see all, others their own), then the latest decided ones."""
    if gateway.approvals is None:
        return {"unavailable": "no approval store: set SOPHIA_GATEWAY_REDIS_URL"}
    try:
        # Read apart: many recent decisions must never push an older pending call off the page.
        pending = await gateway.approvals.list("pending", PENDING_SHOWN)
        recent = await gateway.approvals.list(None, PENDING_SHOWN + DECIDED_SHOWN)
    except RedisError as exc:
        return {"unavailable": f"shared state (Redis) is unavailable: {type(exc).__name__}"}
    if not gateway.guard.policy.may_approve(principal, requester=""):
        pending = [a for a in pending if a.requester == principal.key]
        recent = [a for a in recent if a.requester == principal.key]
    shown_pending = [_shown(a) for a in pending]
    shown_decided = [item for item in map(_shown, recent) if item["status"] != "pending"][:DECIDED_SHOWN]
    return {"pending": shown_pending, "decided": shown_decided}


def _shown(approval: Approval) -> dict[str, Any]:
    """An approval as the page shows it: without its seal, its result bounded."""
    item = approval.public()
    item.pop("arguments_mac", None)
    item["result"] = _bounded(item["result"])
    return item


async def calls(gateway: Gateway, principal: Principal) -> dict[str, Any]:
    """The newest audit lines (auditors only), as the audit log stores them: arguments already redacted."""
    if not gateway.guard.policy.may_audit(principal):
        return {"unavailable": f"{principal.name} may not read the audit log (it needs a role with audit: true)"}
    if gateway.audit is None:
        return {"unavailable": "no audit log: set SOPHIA_GATEWAY_REDIS_URL"}
    try:
        entries = await gateway.audit.read(limit=CALLS_SHOWN)
    except (RedisError, GatewayError) as exc:
        return {"unavailable": f"the audit log cannot be read: {type(exc).__name__}"}
    keep = ("id", "at", "event", "principal", "tool", "outcome", "duration_ms", "trace_id", "detail", "arguments")
    return {"entries": [{k: e.get(k, "") for k in keep} for e in entries]}


async def usage(gateway: Gateway) -> dict[str, Any]:
    """Router spend and budgets, memory and visual index sizes: each a tool call through the pipeline."""
    answers = await asyncio.gather(*(_read_tool(gateway, tool, arguments) for _, tool, arguments in USAGE_TOOLS))
    return {key: answer for (key, _, _), answer in zip(USAGE_TOOLS, answers, strict=True)}


async def _read_tool(gateway: Gateway, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    service = tool.partition("_")[0]
    if not gateway.catalog.has(tool):
        return {"unavailable": f"{service} is not serving"}
    try:
        # A slow service costs the feed at most USAGE_TIMEOUT_S, not the gateway's call timeout.
        deadline = asyncio.get_running_loop().time() + USAGE_TIMEOUT_S
        outcome = await gateway.pipeline.run(Call(tool, dict(arguments), "ui", deadline=deadline))
    except GatewayError as exc:
        return {"unavailable": f"{tool}: {exc}"}
    result = outcome.result
    if outcome.held is not None:
        return {"unavailable": f"{tool} is held for approval"}
    if result.get("isError"):
        return {"unavailable": f"{tool}: {text_of(result)[:300]}"}
    structured = result.get("structuredContent")
    if not isinstance(structured, dict):
        return {"unavailable": f"{tool} answered no structured result"}
    bounded = _bounded(structured)
    return bounded if isinstance(bounded, dict) else {"unavailable": f"{tool}'s result is too large to show"}


def _bounded(value: Any) -> Any:
    """`value`, or a note when its JSON is larger than the stream carries."""
    if value is None:
        return None
    size = len(json.dumps(value, default=str))
    return value if size <= MAX_RESULT_CHARS else {"omitted": f"result of {size} characters not shown here"}
