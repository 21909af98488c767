"""Settings: the environment, providers as JSON, secrets, validation."""

from __future__ import annotations

import pytest

from sophia.router import RouterSettings, service
from sophia.router.settings import Provider


def test_redis_url_is_read_without_prefix_and_the_prefixed_name_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://shared:6379/0")
    settings = service.load_settings()
    assert isinstance(settings, RouterSettings) and settings.redis_url == "redis://shared:6379/0"
    monkeypatch.setenv("SOPHIA_ROUTER_REDIS_URL", "redis://own:6379/2")
    assert service.load_settings().redis_url == "redis://own:6379/2"  # type: ignore[attr-defined]


def test_providers_come_from_json_with_known_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "SOPHIA_ROUTER_PROVIDERS",
        '[{"name": "openai", "api_key_env": "MY_OPENAI_KEY"}, {"name": "anthropic", "api_key": "sk-ant-x"},'
        ' {"name": "local", "base_url": "http://gpu:8000/v1/"}]',
    )
    settings = service.load_settings()
    assert isinstance(settings, RouterSettings)
    openai, anthropic, local = settings.providers
    assert (openai.wire, openai.url) == ("openai", "https://api.openai.com/v1")
    assert (anthropic.wire, anthropic.url, anthropic.key()) == ("anthropic", "https://api.anthropic.com", "sk-ant-x")
    assert (local.wire, local.url, local.key()) == ("openai", "http://gpu:8000/v1", None)


def test_keys_never_show_in_the_settings_representation() -> None:
    settings = RouterSettings(providers=[Provider(name="anthropic", api_key="sk-ant-secret")])  # type: ignore[arg-type]
    assert "sk-ant-secret" not in repr(settings) and "sk-ant-secret" not in settings.model_dump_json()


def test_a_key_read_from_the_environment_is_read_when_used(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = Provider(name="openai", api_key_env="ROUTER_TEST_KEY")
    monkeypatch.delenv("ROUTER_TEST_KEY", raising=False)
    assert provider.missing() == "its key variable ROUTER_TEST_KEY is not set"
    monkeypatch.setenv("ROUTER_TEST_KEY", "sk-1")
    assert provider.missing() is None and provider.key() == "sk-1"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"providers": [{"name": "mystery"}]}, "needs a base_url"),
        ({"providers": [{"name": "openai"}, {"name": "openai"}]}, "unique"),
        ({"providers": [{"name": "openai", "api_key": "a", "api_key_env": "B"}]}, "not both"),
        ({"weights": {"cost": 0, "quality": 0, "latency": 0, "freshness": 0}}, "at least one weight"),
        ({"global_daily_usd": -1}, "greater than or equal to 0"),
        ({"request_timeout_s": 200, "complete_timeout_s": 100}, "cannot exceed"),
        ({"no_such_setting": 1}, "extra"),
    ],
)
def test_invalid_settings_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RouterSettings(**kwargs)  # type: ignore[arg-type]


def test_every_field_is_described() -> None:
    assert all(field.description for field in RouterSettings.model_fields.values())
    assert all(field.description for field in Provider.model_fields.values())
