"""`health`, `search` and `query`: the tools that speak to every configured system at once."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from pydantic import Field

from sophia.business import query as fanout
from sophia.business.connectors import Hit, Terms
from sophia.business.http import ConnectorError
from sophia.business.service import Fleet, Limit, Systems, service

Source = Literal["slack", "gong", "hubspot", "salesforce", "notion", "asana"]
Sources = Annotated[
    list[Source] | None, Field(max_length=6, description="Only these systems; every configured one by default.")
]
Question = Annotated[str, Field(min_length=1, max_length=1_000, description="The question, in plain words.")]


@service.tool(read_only=True, tags={"business", "health"})
async def health(fleet: Fleet = Systems) -> dict[str, Any]:
    """Say which business systems are configured and reachable (one cheap authenticated call each), with
    their rate-limit usage. Never shows a credential."""

    async def check(name: str) -> tuple[str, dict[str, Any]]:
        connector = fleet.connectors[name]
        if not await connector.configured():
            return name, {"configured": False, "reachable": None}
        try:
            await connector.ping()
        except ConnectorError as exc:
            return name, {
                "configured": True,
                "reachable": False,
                "error": str(exc),
                "usage": connector.http.stats.usage,
            }
        return name, {"configured": True, "reachable": True, "usage": connector.http.stats.usage}

    checked = dict(await asyncio.gather(*(check(name) for name in fleet.connectors)))
    return {
        "connectors": checked,
        "credential_problems": dict(fleet.credentials.problems),
        "synthesis": "router configured" if fleet.router else "off (no router configured)",
    }


async def _fan_out(
    fleet: Fleet, question: str, sources: list[Source] | None, limit: int
) -> tuple[list[Hit], dict[str, Any]]:
    """The ranked hits and the result to answer with (hits as dicts, the status per system)."""
    terms = Terms.of(question)
    chosen = [fleet.connectors[name] for name in (sources or list(fleet.connectors))]
    hits, statuses = await fanout.fan_out(chosen, terms, limit, fleet.settings.query_timeout_s)
    ranked = fanout.rank(hits, terms)[:limit]
    result = {
        "results": [hit.to_dict() for hit in ranked],
        "sources": statuses,
        "searched_for": terms.focus,
        "untrusted": True,
    }
    return ranked, result


@service.tool(read_only=True, tags={"business", "search"}, produces=["text"])
async def search(
    query: Annotated[str, Field(min_length=1, max_length=500, description="What to look for, in plain words.")],
    sources: Sources = None,
    limit: Limit = 20,
    fleet: Fleet = Systems,
) -> dict[str, Any]:
    """Search every connected business system (Slack, Gong, HubSpot, Salesforce, Notion, Asana) at once and
    return the merged hits, ranked, each with its source and link, plus each system's status."""
    _, result = await _fan_out(fleet, query, sources, limit)
    return result


@service.tool(read_only=True, tags={"business", "search", "answer"}, produces=["text"])
async def query(
    question: Question, sources: Sources = None, limit: Limit = 10, fleet: Fleet = Systems
) -> dict[str, Any]:
    """Answer a business question (the status of an account, deal or renewal; what a customer said) from CRM,
    calls, Slack, docs and tasks at once: ranked results labelled with their source, a status per system (one
    failing never blocks the others), and with an LLM configured a short synthesis citing results by number."""
    hits, result = await _fan_out(fleet, question, sources, limit)
    result["synthesis"] = await fanout.synthesise(fleet.router, question, hits)
    return result
