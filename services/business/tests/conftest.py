"""Fixtures: the stand-in APIs of the six systems (LOCAL STAND-INS speaking each system's REST shapes, from
`sophia.business.standins`; the real systems cannot be reached here) served on loopback with sample
records, settings pointing the connectors at them, and the service started in this process."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import SecretStr

from sophia.business import BusinessSettings, service
from sophia.business.standins import (
    AsanaStandin,
    GongStandin,
    HubSpotStandin,
    NotionStandin,
    SalesforceStandin,
    SlackStandin,
    combined,
)
from sophia.business.standins.data import Dataset, demo_dataset
from sophia.kit.approvals import GRANT, sign_grant
from sophia.kit.security import InternalCredential
from sophia.kit.testing import ToolClient, serve_asgi
from sophia.kit.testing import started as kit_started

INTERNAL_TOKEN = "business-tests-internal-token"
TOKENS = {
    "slack": "xoxb-test-bot-token-0001",
    "slack_user": "xoxp-test-user-token-0002",
    "gong_key": "gong-test-key-0003",
    "gong_secret": "gong-test-secret-0004",
    "hubspot": "pat-test-hubspot-0005",
    "salesforce": "00Dtest!salesforce-0006",
    "notion": "secret_test_notion_0007",
    "asana": "1/test-asana-0008",
}


@dataclass
class Systems:
    """The stand-ins on one loopback server, the records they serve, and where they are."""

    url: str
    data: Dataset
    slack: SlackStandin
    gong: GongStandin
    hubspot: HubSpotStandin
    salesforce: SalesforceStandin
    notion: NotionStandin
    asana: AsanaStandin

    def settings(self, **overrides: Any) -> BusinessSettings:
        """Settings with every connector configured against the stand-ins; fast retries."""
        values: dict[str, Any] = {
            "slack_url": f"{self.url}/slack/api",
            "gong_url": f"{self.url}/gong",
            "hubspot_url": f"{self.url}/hubspot",
            "notion_url": f"{self.url}/notion",
            "asana_url": f"{self.url}/asana/api/1.0",
            "SLACK_BOT_TOKEN": TOKENS["slack"],
            "SLACK_USER_TOKEN": TOKENS["slack_user"],
            "GONG_ACCESS_KEY": TOKENS["gong_key"],
            "GONG_ACCESS_KEY_SECRET": TOKENS["gong_secret"],
            "HUBSPOT_ACCESS_TOKEN": TOKENS["hubspot"],
            "SALESFORCE_INSTANCE_URL": f"{self.url}/salesforce",
            "SALESFORCE_ACCESS_TOKEN": TOKENS["salesforce"],
            "NOTION_API_KEY": TOKENS["notion"],
            "ASANA_ACCESS_TOKEN": TOKENS["asana"],
            "notion_default_parent": "1d1f0c1e-0000-4000-8000-0000000000a1",
            "backoff_s": 0.01,
            "log_format": "text",
            "SOPHIA_INTERNAL_TOKEN": SecretStr(INTERNAL_TOKEN),
        }
        values.update(overrides)
        return BusinessSettings(**values)


@pytest.fixture(autouse=True)
def _quiet(quiet_mcp_log: None) -> None:
    """Expected tool failures are many here: the SDK's INFO line for each is noise."""


@pytest.fixture
async def systems() -> AsyncIterator[Systems]:
    data = demo_dataset()
    standins = {
        "/slack/api": SlackStandin(data, TOKENS["slack"], TOKENS["slack_user"]),
        "/gong": GongStandin(data, TOKENS["gong_key"], TOKENS["gong_secret"]),
        "/hubspot": HubSpotStandin(data, TOKENS["hubspot"]),
        "/salesforce": SalesforceStandin(data, TOKENS["salesforce"], "sf-client-id", "sf-client-secret-0009"),
        "/notion": NotionStandin(data, TOKENS["notion"]),
        "/asana/api/1.0": AsanaStandin(data, TOKENS["asana"]),
    }
    async with serve_asgi(combined(standins), lifespan=False) as url:
        yield Systems(url, data, *standins.values())  # type: ignore[arg-type]


def started(settings: BusinessSettings) -> contextlib.AbstractAsyncContextManager[ToolClient]:
    return kit_started(service, settings)


@pytest.fixture
async def tools(systems: Systems) -> AsyncIterator[ToolClient]:
    async with started(systems.settings()) as running:
        yield running


async def approved(tools: ToolClient, tool: str, **arguments: Any) -> Any:
    """Run a held call the way the gateway runs it once approved: with a signed grant."""
    key = InternalCredential(SecretStr(INTERNAL_TOKEN)).signing_keys()[0]
    grant = sign_grant(key, tool, arguments, f"test-{tool}-{id(arguments)}")
    return await tools.call_with_meta(tool, {GRANT: grant}, **arguments)
