"""Settings: credentials under their usual names, empty values as unset, lists from the environment."""

from __future__ import annotations

import pytest

from sophia.business import service


def test_credentials_are_read_under_their_usual_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-from-env")
    monkeypatch.setenv("SOPHIA_BUSINESS_SLACK_CUSTOMER_CHANNELS", "#acme-shared, ext-globex")
    settings = service.load_settings()
    assert settings.credential("HUBSPOT_ACCESS_TOKEN") == "pat-from-env"
    assert settings.slack_customer_channels == ["#acme-shared", "ext-globex"]


def test_an_empty_variable_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "SLACK_BOT_TOKEN",
        "PULUMI_ACCESS_TOKEN",
        "SOPHIA_BUSINESS_ESC_ENVIRONMENT",
        "SOPHIA_BUSINESS_ROUTER_URL",
    ):
        monkeypatch.setenv(name, "")
    settings = service.load_settings()
    assert settings.slack_bot_token is None and settings.pulumi_access_token is None
    assert settings.esc_environment is None and settings.router_url is None


def test_a_malformed_esc_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPHIA_BUSINESS_ESC_ENVIRONMENT", "../../admin")
    with pytest.raises(ValueError, match="esc_environment"):
        service.load_settings()
