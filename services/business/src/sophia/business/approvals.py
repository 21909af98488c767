"""Per-call approval checks (the kit's server-declared approvals): which calls must wait for a person.

A Slack post needs approval when it reaches people outside the company: a channel shared with another
organisation (Slack Connect: ``is_ext_shared``, or ``is_shared``), or one the operator lists as a
customer channel. Internal channels run at once. When the channel cannot be checked the post waits:
approvals fail closed. These checks read, never write: the gateway may call them as a dry probe.
"""

from __future__ import annotations

from typing import Any

from sophia.business.connectors.base import clip
from sophia.business.http import ConnectorError, NotConfigured


async def slack_post_needs_approval(args: dict[str, Any]) -> str | None:
    """Why this `slack_post` must wait for an approver, or None to post now."""
    fleet = args["fleet"]
    channel = str(args["channel"]).strip()
    bare = channel.lstrip("#").lower()
    listed = {c.strip().lstrip("#").lower() for c in fleet.settings.slack_customer_channels}
    if bare in listed:
        return f"#{clip(bare, 80)} is a customer channel: a message there reaches people outside the company"
    try:
        info = await fleet.slack.channel_info(channel)
    except NotConfigured:
        return None  # nothing can be posted anyway; the call answers "not configured"
    except ConnectorError as exc:
        return (
            f"could not check whether {clip(channel, 80)} is shared outside the company ({exc}); a person must decide"
        )
    if str(info.get("id", "")).lower() in listed or str(info.get("name", "")).lower() in listed:
        return (
            f"#{clip(info.get('name'), 80)} is a customer channel: a message there reaches people outside the company"
        )
    if info.get("is_ext_shared") is True or info.get("is_shared") is True:
        return (
            f"#{clip(info.get('name') or channel, 80)} is shared with another organisation (Slack Connect): a "
            "message there reaches people outside the company"
        )
    return None
