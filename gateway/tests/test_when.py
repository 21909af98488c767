"""Time windows read from a request's words: what people say, as the `since`/`until` tools take."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from sophia.gateway.planner import Plan, Step
from sophia.gateway.when import fill, window

from .inprocess import Gateway, gateway, structured, tool

NOW = datetime(2026, 3, 18, 15, 30, tzinfo=UTC)  # a Wednesday


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_relative_windows() -> None:
    assert window("calls in the last 3 days", NOW) == {"since": at(2026, 3, 15, 15, 30)}
    assert window("what did we decide in the past two weeks", NOW) == {"since": at(2026, 3, 4, 15, 30)}
    assert window("anything from the last hour", NOW) == {"since": at(2026, 3, 18, 14, 30)}
    assert window("calls last week", NOW) == {"since": at(2026, 3, 9), "until": at(2026, 3, 16)}
    assert window("deals closed last month", NOW) == {"since": at(2026, 2, 1), "until": at(2026, 3, 1)}
    assert window("memories this month", NOW) == {"since": at(2026, 3, 1)}
    assert (
        window("calls in the last month", NOW)
        == window("calls over the past month", NOW)
        == {"since": at(2026, 2, 16, 15, 30)}
    )
    assert window("what happened yesterday", NOW) == {"since": at(2026, 3, 17), "until": at(2026, 3, 18)}
    assert window("today's calls", NOW) == {"since": at(2026, 3, 18)}


def test_dates_named_outright() -> None:
    assert window("calls since March 1", NOW) == {"since": at(2026, 3, 1)}
    assert window("since 2025-11-02 and before Dec 24, 2025", NOW) == {
        "since": at(2025, 11, 2),
        "until": at(2025, 12, 24),
    }
    assert window("since 1st April", NOW) == {"since": at(2025, 4, 1)}  # a date ahead of now is last year's
    assert window("since February 30", NOW) == {}  # no such day: nothing guessed


def test_no_window_is_no_window() -> None:
    for text in ("what do we know about the Acme renewal?", "deploy staging", "the last step", "from the team"):
        assert window(text, NOW) == {}


@pytest.fixture
async def offline(redis_url: str) -> AsyncIterator[Gateway]:
    text, moment = {"type": "string"}, {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]}
    recall = tool("recall", {"query": text, "namespace": text, "since": moment, "until": moment},
                  ["query", "namespace"], lambda a: structured({"items": []}), read_only=True)  # fmt: skip
    post = tool("slack_post", {"channel": text, "text": text}, ["channel", "text"], lambda a: structured({}))
    built = await gateway(redis_url, {"memory": [recall], "business": [post]})
    yield built
    await built.close()


async def test_a_step_whose_tool_filters_by_time_gets_the_window_in_utc(offline: Gateway) -> None:
    plan = Plan(steps=[
        Step(id="s1", tool="memory_recall", arguments={"query": "pricing", "namespace": "default"},
             why="what did we decide about pricing last week"),
        Step(id="s2", tool="business_slack_post", arguments={"channel": "#eng"}, why="post it"),
    ])  # fmt: skip
    fill(plan, "what did we decide about pricing last week and post it", offline.planner, NOW)
    assert plan.steps[0].arguments["since"] == "2026-03-09T00:00:00Z"
    assert plan.steps[0].arguments["until"] == "2026-03-16T00:00:00Z"
    assert plan.steps[1].arguments == {"channel": "#eng"}  # takes no time window
