"""`ServiceSettings`: read from SOPHIA_<NAME>_*, unknown fields refused, the advertised base URL."""

from __future__ import annotations

import pytest
from pydantic import Field, SecretStr, ValidationError

from sophia.kit import Service, ServiceSettings


class StoreSettings(ServiceSettings):
    redis_url: str = Field("redis://localhost:6379/0", description="Where state lives.")
    api_token: SecretStr = Field(SecretStr(""), description="Token for the upstream API.")


def test_settings_come_from_the_service_env_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPHIA_STORE_HTTP_PORT", "9123")
    monkeypatch.setenv("SOPHIA_STORE_LOG_FORMAT", "text")
    settings = Service("store").load_settings()
    assert (settings.http_port, settings.log_format) == (9123, "text")


def test_another_service_prefix_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOPHIA_STORE_HTTP_PORT", raising=False)
    monkeypatch.setenv("SOPHIA_OTHER_HTTP_PORT", "9123")
    assert Service("store").load_settings().http_port == 8000


def test_subclass_fields_come_from_the_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPHIA_STORE_REDIS_URL", "redis://cache:6380/2")
    monkeypatch.setenv("SOPHIA_STORE_API_TOKEN", "s3cret")
    settings = Service("store", settings=StoreSettings).load_settings()
    assert isinstance(settings, StoreSettings)
    assert settings.redis_url == "redis://cache:6380/2"
    assert settings.api_token.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)


def test_list_settings_are_read_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPHIA_STORE_ALLOWED_HOSTS", '["store.svc:*"]')
    assert Service("store").load_settings().allowed_hosts == ["store.svc:*"]


def test_overrides_win_over_the_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPHIA_STORE_HTTP_PORT", "9123")
    assert Service("store").load_settings(http_port=0).http_port == 0


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(ValidationError, match="extra"):
        Service("store").load_settings(htp_port=1)


def test_invalid_values_are_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPHIA_STORE_HTTP_PORT", "70000")
    with pytest.raises(ValidationError, match="http_port"):
        Service("store").load_settings()


def test_default_base_url_is_host_and_http_port() -> None:
    settings = Service("store").load_settings(host="10.0.0.7", http_port=8100, public_url=None)
    assert settings.base_url == "http://10.0.0.7:8100"


def test_public_url_overrides_the_base_url_without_trailing_slash() -> None:
    settings = Service("store").load_settings(http_port=8100, public_url="http://memory.sophia.svc:8000/")
    assert settings.base_url == "http://memory.sophia.svc:8000"


def test_defaults_bind_loopback_and_accept_only_loopback_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOPHIA_STORE_HOST", raising=False)
    monkeypatch.delenv("SOPHIA_STORE_ALLOWED_HOSTS", raising=False)
    settings = Service("store").load_settings()
    assert settings.host == "127.0.0.1"
    assert settings.allowed_hosts == ["127.0.0.1:*", "localhost:*", "[::1]:*"]


def test_every_field_is_described() -> None:
    undocumented = [name for name, field in ServiceSettings.model_fields.items() if not field.description]
    assert undocumented == []
