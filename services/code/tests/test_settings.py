from __future__ import annotations

from pathlib import Path

import pytest

from sophia.code import CodeSettings, service


def test_lists_come_comma_separated_or_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPHIA_CODE_ALLOWED_REMOTES", "https://github.com/acme/, git@github.com:acme/")
    monkeypatch.setenv("SOPHIA_CODE_PROTECTED_BRANCHES", '["main", "prod/*"]')
    settings = service.load_settings()
    assert isinstance(settings, CodeSettings)
    assert settings.allowed_remotes == ["https://github.com/acme/", "git@github.com:acme/"]
    assert settings.protected_branches == ["main", "prod/*"]


def test_defaults_are_safe() -> None:
    settings = CodeSettings()
    assert settings.allowed_remotes == []  # no cloning until an operator allows remotes
    assert settings.protected_branches == ["main", "master", "release/*"]
    assert settings.router_url is None and settings.github_token is None
    assert settings.github_url == "https://api.github.com"


def test_workspace_defaults_under_the_shared_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`sophia up` exports SOPHIA_DATA_DIR without the service prefix."""
    monkeypatch.setenv("SOPHIA_DATA_DIR", str(tmp_path))
    settings = service.load_settings()
    assert isinstance(settings, CodeSettings)
    assert settings.workspace_root == (tmp_path / "code").resolve()
    monkeypatch.setenv("SOPHIA_CODE_WORKSPACE", str(tmp_path / "elsewhere"))
    assert service.load_settings().workspace_root == (tmp_path / "elsewhere").resolve()  # type: ignore[attr-defined]


def test_the_token_is_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPHIA_CODE_GITHUB_TOKEN", "ghp_value_that_must_not_show")
    settings = service.load_settings()
    assert "ghp_value_that_must_not_show" not in repr(settings) + str(settings.model_dump())


def test_unknown_field_is_rejected() -> None:
    with pytest.raises(ValueError, match="extra"):
        CodeSettings(no_such_setting=1)  # type: ignore[call-arg]


def test_every_field_is_described() -> None:
    assert all(field.description for field in CodeSettings.model_fields.values())
