"""The internal credential: where its tokens come from, what is refused, rotation, and that it never shows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError, model_validator

from sophia.kit import Service, ServiceSettings
from sophia.kit.security import InternalCredential, InternalTokenError

A = "a" * 16 + "-first-token"
B = "b" * 16 + "-second-token"
C = "c" * 16 + "-file-token"


def bearer(token: str) -> str:
    return f"Bearer {token}"


def test_no_token_means_internal_auth_is_off() -> None:
    credential = InternalCredential()
    assert not credential.enabled
    assert credential.authorization() is None
    assert not credential.accepts(bearer(A))


def test_an_empty_token_setting_means_off() -> None:
    assert not InternalCredential(SecretStr(" ")).enabled


def test_every_comma_separated_token_is_accepted_and_the_first_is_sent() -> None:
    credential = InternalCredential(SecretStr(f"{A}, {B}"))
    assert credential.accepts(bearer(A)) and credential.accepts(bearer(B))
    assert credential.authorization() == bearer(A)


@pytest.mark.parametrize("header", [None, "", A, f"Basic {A}", bearer(A + "x"), bearer(A[:-1]), bearer("")])
def test_anything_but_bearer_and_an_accepted_token_is_refused(header: str | None) -> None:
    assert not InternalCredential(SecretStr(A)).accepts(header)


def test_the_bearer_scheme_is_case_insensitive_and_bytes_are_accepted() -> None:
    credential = InternalCredential(SecretStr(A))
    assert credential.accepts(f"bearer {A}".encode())


@pytest.mark.parametrize("value", ["too-short-token", f"{A},tiny9", f"{A[:8]} {A[8:]}", "é" * 20, "REPLACE-ME-" + A])
def test_unusable_tokens_are_refused_without_showing_them(value: str) -> None:
    with pytest.raises(InternalTokenError) as caught:
        InternalCredential(SecretStr(value))
    assert "SOPHIA_INTERNAL_TOKEN" in str(caught.value)
    assert all(part not in str(caught.value) for part in value.split(",") if len(part) > 4)


def test_file_tokens_skip_blank_lines_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(f"# the fleet's token\n\n  {C}  \n# old: {B}\n")
    credential = InternalCredential(file=path)
    assert credential.accepts(bearer(C))
    assert not credential.accepts(bearer(B))


def test_tokens_from_both_sources_are_accepted_and_the_environment_one_is_sent(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(C)
    credential = InternalCredential(SecretStr(A), path)
    assert credential.accepts(bearer(A)) and credential.accepts(bearer(C))
    assert credential.authorization() == bearer(A)


@pytest.mark.parametrize("content", [None, "", "# nothing\n", "short\n"])
def test_a_missing_empty_or_bad_file_stops_the_start(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "token"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InternalTokenError, match="SOPHIA_INTERNAL_TOKEN_FILE"):
        InternalCredential(file=path)


def _rewrite(path: Path, text: str) -> None:
    """Replace the file the way a Kubernetes Secret update does: a new file renamed over the old one."""
    fresh = path.with_suffix(".new")
    fresh.write_text(text)
    os.replace(fresh, path)


def test_a_rewritten_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(C)
    credential = InternalCredential(file=path, recheck_s=0)
    _rewrite(path, f"{B}\n{C}\n")
    assert credential.accepts(bearer(B)) and credential.authorization() == bearer(B)
    _rewrite(path, f"{B}\n")
    assert not credential.accepts(bearer(C))


def test_a_file_that_becomes_unusable_keeps_the_previous_tokens(tmp_path: Path) -> None:
    """Fail closed: a botched rotation neither opens the server nor locks the gateway out."""
    path = tmp_path / "token"
    path.write_text(C)
    credential = InternalCredential(file=path, recheck_s=0)
    for broken in ("", "short\n"):
        _rewrite(path, broken)
        assert credential.enabled and credential.accepts(bearer(C))
    path.unlink()
    assert credential.accepts(bearer(C))


def test_the_file_is_checked_at_most_every_recheck_interval(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(C)
    credential = InternalCredential(file=path, recheck_s=3600)
    _rewrite(path, B)
    assert credential.accepts(bearer(C)) and not credential.accepts(bearer(B))


def test_repr_shows_how_many_tokens_never_which(tmp_path: Path) -> None:
    credential = InternalCredential(SecretStr(f"{A},{B}"))
    assert A not in repr(credential) and B not in repr(credential)
    assert "tokens=2" in repr(credential)


def test_settings_read_the_credential_unprefixed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SOPHIA_INTERNAL_TOKEN", A)
    monkeypatch.setenv("SOPHIA_INTERNAL_TOKEN_FILE", str(tmp_path / "token"))
    monkeypatch.setenv("SOPHIA_STORE_INTERNAL_TOKEN", B)  # a prefixed one is not a setting of its own
    settings = Service("store").load_settings()
    assert settings.internal_token is not None and settings.internal_token.get_secret_value() == A
    assert settings.internal_token_file == tmp_path / "token"
    assert A not in repr(settings) and A not in str(settings.model_dump())


class RefusingSettings(ServiceSettings):
    @model_validator(mode="after")
    def _refuse(self) -> RefusingSettings:
        raise ValueError("refused on purpose")


def test_settings_errors_never_echo_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """A whole-model error would print every input, the token included, unless inputs are hidden."""
    monkeypatch.setenv("SOPHIA_INTERNAL_TOKEN", A)
    with pytest.raises(ValidationError, match="refused on purpose") as caught:
        Service("store", settings=RefusingSettings).load_settings()
    assert A not in str(caught.value)
