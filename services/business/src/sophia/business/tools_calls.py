"""Gong tools: calls in a period, a call's transcript, a call's stats."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from sophia.business.service import Filter, Fleet, Limit, Systems, answers, service
from sophia.kit import ToolError

CallId = Annotated[str, Field(pattern=r"^[0-9A-Za-z_-]{1,40}$", description="Gong call id, as gong_calls returns it.")]


@service.tool(read_only=True, tags={"business", "gong", "sales", "calls"}, produces=["text", "calls"])
@answers
async def gong_calls(
    query: Filter = None,
    since: Annotated[
        datetime | None, Field(description="Only calls at or after this ISO 8601 time; 90 days ago by default.")
    ] = None,
    until: Annotated[
        datetime | None, Field(description="Only calls before this ISO 8601 time; now by default.")
    ] = None,
    limit: Limit = 20,
    fleet: Fleet = Systems,
) -> dict[str, Any]:
    """Find recorded Gong sales calls (newest first) matching a query (account, person, topic), with
    participants, date, Gong's brief, topics and talk stats."""
    return {**await fleet.gong.find(query, since, until, limit), "untrusted": True}


@service.tool(read_only=True, tags={"business", "gong", "calls", "transcript"}, produces=["text", "transcript"])
@answers
async def gong_transcript(
    call_id: CallId | None = None,
    query: Annotated[
        str | None,
        Field(max_length=500, description="Without call_id: the newest call matching this (account, person)."),
    ] = None,
    max_chars: Annotated[int, Field(ge=200, le=200_000, description="Longest transcript text returned.")] = 20_000,
    fleet: Fleet = Systems,
) -> dict[str, Any]:
    """Read what was said on a Gong call (by id, or the newest call matching a query): the transcript, one
    'Speaker: sentence' line each."""
    if call_id is None:
        if not query:
            raise ToolError("give call_id, or a query naming the call (account or person)")
        call_id = await fleet.gong.latest(query)
    return {**await fleet.gong.transcript(call_id, max_chars), "untrusted": True}


@service.tool(read_only=True, tags={"business", "gong", "calls", "stats"}, produces=["calls"])
@answers
async def gong_stats(call_id: CallId, fleet: Fleet = Systems) -> dict[str, Any]:
    """Stats of one Gong call: talk ratio, longest monologue, interactivity, patience, parties and topics."""
    return {"call": await fleet.gong.stats(call_id), "untrusted": True}
