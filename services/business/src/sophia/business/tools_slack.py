"""Slack tools: list channels, search messages, read a channel or a thread, post (per-call approval
outside the company)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from sophia.business.approvals import slack_post_needs_approval
from sophia.business.connectors.base import search_text
from sophia.business.service import Channel, Filter, Fleet, Limit, Query, Systems, answers, audit, service
from sophia.kit import Risk

ThreadTs = Annotated[
    str | None, Field(pattern=r"^\d{1,12}\.\d{1,9}$", description="A thread's parent ts (e.g. '1712345678.000100').")
]


@service.tool(read_only=True, tags={"business", "slack", "search"}, produces=["text", "messages"])
@answers
async def slack_search(query: Query, limit: Limit = 20, fleet: Fleet = Systems) -> dict[str, Any]:
    """Search Slack messages across channels (Slack search syntax works: 'in:#sales from:@lee')."""
    hits = await fleet.slack.search_messages(query, limit)
    return {"messages": [hit.to_dict() for hit in hits], "untrusted": True}


@service.tool(read_only=True, tags={"business", "slack", "channels", "directory"}, produces=["channels"])
@answers
async def slack_channels(query: Filter = None, limit: Limit = 100, fleet: Fleet = Systems) -> dict[str, Any]:
    """List the Slack channels the bot can see (public and private, not archived): name, id, topic, and
    whether each is shared with another company (Slack Connect), where a post waits for approval."""
    return {**await fleet.slack.channels(search_text(query), limit), "untrusted": True}


@service.tool(read_only=True, tags={"business", "slack"}, produces=["text", "messages"])
@answers
async def slack_history(
    channel: Channel, query: Filter = None, thread_ts: ThreadTs = None, limit: Limit = 50, fleet: Fleet = Systems
) -> dict[str, Any]:
    """Read what was said in a Slack channel: its recent messages, newest first, or the replies in one
    thread (thread_ts); optionally only those matching a query."""
    wanted = search_text(query)
    return {**await fleet.slack.history(channel, wanted, thread_ts, limit), "untrusted": True}


@service.tool(
    risk=Risk.MEDIUM,
    tags={"business", "slack", "messaging"},
    consumes=["text"],
    produces=["message"],
    approval=slack_post_needs_approval,
    approval_reads=["channel"],  # the check asks only where the post goes, never what it says
)
@answers
async def slack_post(
    channel: Channel,
    text: Annotated[str, Field(min_length=1, max_length=40_000, description="The message, in Slack markdown.")],
    thread_ts: ThreadTs = None,
    fleet: Fleet = Systems,
) -> dict[str, Any]:
    """Post or send a message to people in a Slack channel such as #sales, or reply in a thread; channels
    shared with other companies (Slack Connect) or customers wait for approval."""
    posted = await fleet.slack.post(channel, text, thread_ts)
    audit.info("slack_post", extra={"channel": posted["channel"], "ts": posted["ts"]})
    return posted
