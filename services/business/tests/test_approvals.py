"""The Slack post approval check (the kit's server-declared approvals), against the Slack STAND-IN: posts
outside the company wait for an approver; internal posts run now; when unsure, the post waits."""

from __future__ import annotations

from typing import Any

from sophia.business.approvals import slack_post_needs_approval
from sophia.business.service import open_fleet
from sophia.business.standins import Fault
from sophia.kit.approvals import APPROVAL_REQUIRED
from sophia.kit.testing import ToolClient

from .conftest import Systems, approved, started


async def check(systems: Systems, channel: str, **settings: Any) -> str | None:
    async for fleet in open_fleet(systems.settings(**settings)):
        return await slack_post_needs_approval({"channel": channel, "text": "hi", "fleet": fleet})
    raise AssertionError("no fleet")


async def test_an_internal_channel_posts_without_approval(systems: Systems) -> None:
    assert await check(systems, "#sales") is None


async def test_a_slack_connect_channel_needs_approval(systems: Systems) -> None:
    reason = await check(systems, "acme-shared")
    assert reason is not None and "Slack Connect" in reason


async def test_a_configured_customer_channel_needs_approval(systems: Systems) -> None:
    reason = await check(systems, "#sales", slack_customer_channels=["sales"])
    assert reason is not None and "customer channel" in reason


async def test_when_slack_cannot_say_the_post_waits(systems: Systems) -> None:
    systems.slack.fail_next(*[Fault("error", status=503)] * 5)
    reason = await check(systems, "#sales")
    assert reason is not None and "a person must decide" in reason


async def test_without_slack_credentials_nothing_is_held(systems: Systems) -> None:
    assert await check(systems, "#sales", SLACK_BOT_TOKEN=None) is None


async def test_a_post_into_a_shared_channel_is_held_and_posts_only_with_a_grant(systems: Systems) -> None:
    before = len(systems.data.slack_messages["C0DEMOACME1"])
    async with started(systems.settings()) as tools:
        held = await tools.call("slack_post", channel="#acme-shared", text="Renewal terms attached")
        assert held.meta and APPROVAL_REQUIRED in held.meta
        assert len(systems.data.slack_messages["C0DEMOACME1"]) == before
        result = await approved(tools, "slack_post", channel="#acme-shared", text="Renewal terms attached")
        assert not result.is_error and result.structured_content["posted"] is True
    assert systems.data.slack_messages["C0DEMOACME1"][0]["text"] == "Renewal terms attached"


async def test_an_internal_post_runs_at_once(tools: ToolClient, systems: Systems) -> None:
    posted = await tools.ok("slack_post", channel="sales", text="Forecast is in")
    assert posted["posted"] and systems.data.slack_messages["C0DEMOSALES"][0]["text"] == "Forecast is in"
