"""Settings from the environment: lists, data directory, secrets kept out of reprs and errors."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sophia.visual import VisualSettings, service


def test_environment_lists_and_the_unprefixed_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPHIA_DATA_DIR", "/srv/sophia")
    monkeypatch.setenv("SOPHIA_VISUAL_ALLOWED_URL_PREFIXES", "https://cdn.example.com/shots/, https://img.example/")
    settings = service.load_settings()
    assert isinstance(settings, VisualSettings)
    assert str(settings.qdrant_path) == "/srv/sophia/visual"
    assert settings.allowed_url_prefixes == ["https://cdn.example.com/shots/", "https://img.example/"]


def test_url_prefixes_need_a_scheme_and_a_host_path() -> None:
    with pytest.raises(ValidationError, match="http"):
        VisualSettings(allowed_url_prefixes=["cdn.example.com/shots/"])
    with pytest.raises(ValidationError):
        VisualSettings(allowed_url_prefixes=["https://cdn.example.com"])  # no path: would match cdn.example.com.evil


def test_the_figma_token_never_shows() -> None:
    settings = VisualSettings(figma_token="figd_very_secret")
    assert "figd_very_secret" not in repr(settings) and "figd_very_secret" not in str(settings.model_dump())
    with pytest.raises(ValidationError) as refused:
        VisualSettings(figma_token="figd_very_secret", max_k=0)
    assert "figd_very_secret" not in str(refused.value)
