"""Credentials: the environment, a secrets file, a Pulumi ESC environment (through a LOCAL STAND-IN of
Pulumi Cloud's ESC REST API, `EscStandin`); values cached briefly and never shown."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from sophia.business import BusinessSettings
from sophia.business.credentials import Credentials, esc_credentials, read_secrets_file
from sophia.business.standins import EscStandin, combined
from sophia.kit.testing import serve_asgi

PULUMI = "pul-test-access-token-1234"
SECRET = "xoxb-from-esc-777777"


async def test_the_environment_wins_over_the_file(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.env"
    secrets.write_text("SLACK_BOT_TOKEN=xoxb-from-file\nHUBSPOT_ACCESS_TOKEN='pat-from-file'\n# comment\n")
    settings = BusinessSettings(SLACK_BOT_TOKEN="xoxb-from-env", secrets_file=secrets)
    async with httpx.AsyncClient() as client:
        credentials = Credentials(settings, client)
        assert await credentials.get("SLACK_BOT_TOKEN") == "xoxb-from-env"
        assert await credentials.get("HUBSPOT_ACCESS_TOKEN") == "pat-from-file"
        assert await credentials.get("NOTION_API_KEY") is None


async def test_a_changed_secrets_file_is_read_again(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps({"ASANA_ACCESS_TOKEN": "1/first"}))
    async with httpx.AsyncClient() as client:
        credentials = Credentials(BusinessSettings(secrets_file=secrets), client)
        assert await credentials.get("ASANA_ACCESS_TOKEN") == "1/first"
        secrets.write_text(json.dumps({"ASANA_ACCESS_TOKEN": "1/second-longer"}))
        assert await credentials.get("ASANA_ACCESS_TOKEN") == "1/second-longer"


def test_a_broken_secrets_file_names_the_file_never_a_value(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.json"
    secrets.write_text('{"SLACK_BOT_TOKEN": "xoxb-leak-me", ')
    with pytest.raises(Exception, match="not valid JSON") as caught:
        read_secrets_file(secrets)
    assert "xoxb-leak-me" not in str(caught.value)


async def test_esc_values_come_from_the_opened_environment_and_are_cached(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    standin = EscStandin("acme/sophia/prod", {"SLACK_BOT_TOKEN": SECRET, "UNRELATED": "x"}, PULUMI)
    async with serve_asgi(combined({"": standin}), lifespan=False) as url, httpx.AsyncClient() as client:
        settings = BusinessSettings(PULUMI_ACCESS_TOKEN=PULUMI, esc_environment="acme/sophia/prod", esc_url=url)
        credentials = Credentials(settings, client)
        assert await credentials.get("SLACK_BOT_TOKEN") == SECRET
        assert await credentials.get("SLACK_BOT_TOKEN") == SECRET
        assert await credentials.get("UNRELATED") is None
    opens = [r for r in standin.requests if r.method == "POST"]
    assert len(opens) == 1  # cached: one open for several reads
    assert opens[0].authorization == f"token {PULUMI}"
    assert SECRET not in caplog.text and PULUMI not in caplog.text
    assert SECRET not in repr(credentials)


async def test_an_esc_token_refused_is_reported_without_the_token() -> None:
    standin = EscStandin("acme/sophia/prod", {"SLACK_BOT_TOKEN": SECRET}, "another-token")
    async with serve_asgi(combined({"": standin}), lifespan=False) as url, httpx.AsyncClient() as client:
        settings = BusinessSettings(PULUMI_ACCESS_TOKEN=PULUMI, esc_environment="acme/sophia/prod", esc_url=url)
        credentials = Credentials(settings, client)
        assert await credentials.get("SLACK_BOT_TOKEN") is None
        assert "refused the access token" in credentials.problems["esc"]
        assert PULUMI not in credentials.problems["esc"]


def test_esc_values_unwrap_secrets_and_top_level_names() -> None:
    opened = {
        "properties": {
            "environmentVariables": {"value": {"NOTION_API_KEY": {"value": "secret_a", "secret": True}}},
            "HUBSPOT_ACCESS_TOKEN": {"value": "pat-b", "secret": True},
        }
    }
    assert esc_credentials(opened) == {"NOTION_API_KEY": "secret_a", "HUBSPOT_ACCESS_TOKEN": "pat-b"}


def test_settings_never_show_a_credential() -> None:
    settings = BusinessSettings(SLACK_BOT_TOKEN="xoxb-hidden-value")
    assert "xoxb-hidden-value" not in repr(settings) and "xoxb-hidden-value" not in str(settings.model_dump())
    assert isinstance(settings.slack_bot_token, SecretStr)
