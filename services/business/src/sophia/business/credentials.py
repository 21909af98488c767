"""Where connector credentials come from: the environment, a secrets file, a Pulumi ESC environment.

The first source holding a name wins, in that order. The secrets file (dotenv or a JSON object) is read
again when its modification time changes. ESC is opened through Pulumi Cloud's REST API, as ``esc open``
does: ``POST /api/esc/environments/{org}/{project}/{env}/open`` answers a session id, then
``GET .../open/{id}`` the resolved values; the values are kept in memory for `esc_cache_s`. No value
read here is ever logged, put in a message, or shown by a repr.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import httpx
from dotenv import dotenv_values

from sophia.business.settings import CREDENTIAL_NAMES, BusinessSettings

logger = logging.getLogger("sophia.business.credentials")
MAX_SECRETS_FILE_BYTES = 1_000_000


class CredentialSourceError(Exception):
    """A configured credential source cannot be used; the message names the source, never a value."""


class Credentials:
    """Credential values by their usual names (``SLACK_BOT_TOKEN``...)."""

    def __init__(self, settings: BusinessSettings, client: httpx.AsyncClient) -> None:
        self._settings = settings
        self._client = client
        self._file_values: dict[str, str] = {}
        self._file_signature: tuple[int, int] | None = None
        self._esc_values: dict[str, str] = {}
        self._esc_expires = 0.0
        self._esc_lock = asyncio.Lock()
        self.problems: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"Credentials(file={self._settings.secrets_file}, esc={self._settings.esc_environment})"

    async def get(self, name: str) -> str | None:
        """The value of credential `name`, or None when no source has it."""
        value = self._settings.credential(name)
        if value:
            return value
        value = self._from_file().get(name)
        if value:
            return value
        return (await self._from_esc()).get(name) or None

    async def values(self) -> list[str]:
        """Every credential value known (to scrub from anything shown to a caller)."""
        found = [await self.get(name) for name in CREDENTIAL_NAMES]
        return [value for value in found if value and len(value) >= 4]

    # -- secrets file --------------------------------------------------------------------------

    def _from_file(self) -> dict[str, str]:
        path = self._settings.secrets_file
        if path is None:
            return {}
        try:
            stat = os.stat(path)
        except OSError:
            self.problems["secrets_file"] = f"the secrets file {path} cannot be read"
            return self._file_values
        signature = (stat.st_mtime_ns, stat.st_size)
        if signature != self._file_signature:
            self._file_signature = signature
            try:
                self._file_values = read_secrets_file(path)
                self.problems.pop("secrets_file", None)
            except CredentialSourceError as exc:
                self.problems["secrets_file"] = str(exc)
                logger.warning("%s", exc)
        return self._file_values

    # -- Pulumi ESC ----------------------------------------------------------------------------

    async def _from_esc(self) -> dict[str, str]:
        settings = self._settings
        if settings.esc_environment is None or settings.pulumi_access_token is None:
            return {}
        if time.monotonic() < self._esc_expires:
            return self._esc_values
        async with self._esc_lock:
            if time.monotonic() < self._esc_expires:
                return self._esc_values
            try:
                self._esc_values = await self._open_esc()
                self.problems.pop("esc", None)
            except CredentialSourceError as exc:
                self.problems["esc"] = str(exc)
                logger.warning("%s", exc)
            # A failure is retried after a short pause, not on every call.
            pause = settings.esc_cache_s if "esc" not in self.problems else min(30.0, settings.esc_cache_s)
            self._esc_expires = time.monotonic() + pause
        return self._esc_values

    async def _open_esc(self) -> dict[str, str]:
        settings = self._settings
        assert settings.pulumi_access_token is not None and settings.esc_environment is not None
        base = f"{settings.esc_url.rstrip('/')}/api/esc/environments/{settings.esc_environment}/open"
        headers = {
            "authorization": f"token {settings.pulumi_access_token.get_secret_value()}",
            "accept": "application/json",
            "content-type": "application/json",
        }
        where = f"Pulumi ESC environment {settings.esc_environment}"
        try:
            opened = await self._client.post(
                base, params={"duration": "5m"}, headers=headers, timeout=settings.timeout_s
            )
            session = _json_object(opened, where).get("id")
            if not isinstance(session, str) or not session or "/" in session:
                raise CredentialSourceError(f"{where}: the open call answered no session id")
            read = await self._client.get(f"{base}/{session}", headers=headers, timeout=settings.timeout_s)
            return esc_credentials(_json_object(read, where))
        except httpx.HTTPError as exc:
            raise CredentialSourceError(f"{where} is unreachable ({type(exc).__name__})") from None


def _json_object(response: httpx.Response, where: str) -> dict[str, Any]:
    if response.status_code in (401, 403):
        raise CredentialSourceError(f"{where}: Pulumi Cloud refused the access token (HTTP {response.status_code})")
    if response.status_code >= 400:
        raise CredentialSourceError(f"{where}: Pulumi Cloud answered HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError:
        raise CredentialSourceError(f"{where}: Pulumi Cloud answered without JSON") from None
    if not isinstance(data, dict):
        raise CredentialSourceError(f"{where}: Pulumi Cloud answered an unexpected shape")
    return data


def _plain(value: Any) -> Any:
    """ESC's resolved values are wrapped (``{"value": ..., "secret": true, "trace": ...}``): unwrap them."""
    while isinstance(value, dict) and "value" in value and set(value) <= {"value", "secret", "unknown", "trace"}:
        value = value["value"]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def esc_credentials(opened: dict[str, Any]) -> dict[str, str]:
    """Credentials from an opened ESC environment: its ``environmentVariables``, and top-level values
    under the usual names."""
    properties = _plain(opened.get("properties", opened))
    if not isinstance(properties, dict):
        return {}
    found: dict[str, str] = {}
    variables = properties.get("environmentVariables")
    for source in (properties, variables if isinstance(variables, dict) else {}):
        for name in CREDENTIAL_NAMES:
            value = source.get(name)
            if isinstance(value, str) and value:
                found[name] = value
    return found


def read_secrets_file(path: Path) -> dict[str, str]:
    """A JSON object or dotenv file of credentials; only the known names are kept."""
    try:
        if path.stat().st_size > MAX_SECRETS_FILE_BYTES:
            raise CredentialSourceError(f"the secrets file {path} is larger than {MAX_SECRETS_FILE_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CredentialSourceError(f"the secrets file {path} cannot be read ({type(exc).__name__})") from None
    if text.lstrip().startswith("{"):
        try:
            raw: Any = json.loads(text)
        except ValueError:
            raise CredentialSourceError(f"the secrets file {path} is not valid JSON") from None
    else:
        raw = dotenv_values(stream=io.StringIO(text))
    if not isinstance(raw, dict):
        raise CredentialSourceError(f"the secrets file {path} holds no NAME=value pairs")
    return {name: str(raw[name]) for name in CREDENTIAL_NAMES if isinstance(raw.get(name), str) and raw[name]}
