"""Gateway configuration: environment, YAML file, and validation at the edge."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from sophia.gateway.settings import ExternalServer, GatewaySettings


def test_defaults_listen_on_loopback_8080(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SOPHIA_GATEWAY_PORT", "SOPHIA_GATEWAY_HOST", "SOPHIA_GATEWAY_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    settings = GatewaySettings()
    assert settings.url == "http://127.0.0.1:8080"


def test_yaml_file_configures_and_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(
        "port: 9000\nservers: ['memory:50051']\n"
        "external:\n  - name: files\n    command: [npx, server-filesystem, /data]\n"
    )
    monkeypatch.setenv("SOPHIA_GATEWAY_CONFIG_FILE", str(config))
    monkeypatch.setenv("SOPHIA_GATEWAY_PORT", "9100")
    settings = GatewaySettings()
    assert settings.port == 9100
    assert settings.servers == ["memory:50051"]
    assert settings.external[0].command == ["npx", "server-filesystem", "/data"]


def test_unknown_setting_in_yaml_is_rejected(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text("prot: 9000\n")
    with pytest.raises(ValidationError, match="prot"):
        GatewaySettings(config_file=config)


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        GatewaySettings(config_file=tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    "config",
    [
        {"name": "files"},  # neither url nor command
        {"name": "files", "url": "http://x/mcp", "command": ["x"]},  # both
        {"name": "my_files", "url": "http://x/mcp"},  # underscore would make tool names ambiguous
        {"name": "Files", "url": "http://x/mcp"},
        {"name": "files", "url": "http://x/mcp", "risk": "whatever"},
    ],
)
def test_invalid_external_server_is_rejected(config: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ExternalServer.model_validate(config)


@pytest.mark.parametrize("algorithm", ["HS256", "none"])
def test_shared_secret_and_unsigned_jwts_are_refused(algorithm: str) -> None:
    with pytest.raises(ValidationError, match="public-key"):
        GatewaySettings(jwt_algorithms=[algorithm])


async def test_embedding_threads_and_arithmetic_reach_the_local_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """`EMBEDDING_THREADS` is the thread count the gateway's sentence model runs with (one by default: on a small
    machine a second thread only waits for the core the event loop needs), and it always multiplies in int8, the
    vectors the intent model was trained on; out-of-range thread counts are refused."""
    from sophia.gateway import app
    from sophia.gateway.intent import engine
    from sophia.gateway.intent import model as intent_model

    loaded: list[tuple[int, str]] = []

    def model(threads: int = 2, arithmetic: str = "float") -> object:
        loaded.append((threads, arithmetic))
        raise RuntimeError("stop here: only the load's arguments matter")

    monkeypatch.setattr(intent_model, "local_model", model)
    monkeypatch.delenv("SOPHIA_GATEWAY_EMBEDDING_THREADS", raising=False)
    for settings in (GatewaySettings(auth="off"), GatewaySettings(auth="off", embedding_threads=4)):
        with pytest.raises(RuntimeError, match="stop here"):
            await app.Gateway(settings).intents.embedder()
    assert loaded == [(engine.EMBEDDING_THREADS, "int8"), (4, "int8")]
    assert engine.EMBEDDING_THREADS == 1
    with pytest.raises(ValidationError, match="embedding_threads"):
        GatewaySettings(embedding_threads=0)
