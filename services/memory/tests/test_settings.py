from __future__ import annotations

from pathlib import Path

import pytest

from sophia.memory import MemorySettings, service


def test_redis_url_and_data_dir_are_read_without_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    """`sophia up` exports REDIS_URL and SOPHIA_DATA_DIR without the service prefix."""
    monkeypatch.setenv("REDIS_URL", "redis://shared:6379/0")
    monkeypatch.setenv("SOPHIA_DATA_DIR", "/var/lib/sophia")
    settings = service.load_settings()
    assert isinstance(settings, MemorySettings)
    assert settings.redis_url == "redis://shared:6379/0"
    assert settings.qdrant_path == Path("/var/lib/sophia/qdrant")


def test_prefixed_names_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://shared:6379/0")
    monkeypatch.setenv("SOPHIA_MEMORY_REDIS_URL", "redis://own:6379/1")
    monkeypatch.setenv("SOPHIA_MEMORY_QDRANT_URL", "http://qdrant:6333")
    settings = service.load_settings()
    assert isinstance(settings, MemorySettings)
    assert settings.redis_url == "redis://own:6379/1"
    assert settings.qdrant_url == "http://qdrant:6333"


def test_unknown_field_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="extra"):
        MemorySettings(no_such_setting=1)  # type: ignore[call-arg]


def test_every_field_is_described() -> None:
    assert all(field.description for field in MemorySettings.model_fields.values())
