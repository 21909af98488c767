"""Principals and API keys.

An API key is `sk-sophia-<random>`; the gateway stores only its SHA-256 (keys are long random
strings, so a fast hash is enough — there is nothing to brute-force). `sophia keys create` prints a
new key once, with the entry to add to the principals file.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import secrets
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sophia.gateway.errors import ConfigurationError

KEY_PREFIX = "sk-sophia-"
NAMESPACE_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    roles: tuple[str, ...]
    namespace: str = Field("default", pattern=NAMESPACE_PATTERN)
    via: str = Field("anonymous", description="api_key | jwt | anonymous (auth off)")

    @property
    def key(self) -> str:
        """Who this is, across credential kinds: a JWT subject `dev` and an API key named `dev` are two
        principals. Approvals, rate limits and the audit log use this."""
        return f"{self.via}:{self.name}"


# The caller of the request being served; set by the authentication middleware.
current = contextvars.ContextVar[Principal | None]("sophia_principal", default=None)


class PrincipalEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    roles: list[str] = Field(min_length=1)
    namespace: str = Field("default", pattern=NAMESPACE_PATTERN)
    key_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the API key, hex")


class PrincipalsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    principals: list[PrincipalEntry]


class PrincipalsFileError(ConfigurationError):
    pass


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


class ApiKeys:
    def __init__(self, entries: list[PrincipalEntry]) -> None:
        self._by_hash = {entry.key_sha256: entry for entry in entries}

    @classmethod
    def load(cls, path: Path) -> ApiKeys:
        try:
            return cls(PrincipalsFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8"))).principals)
        except (OSError, yaml.YAMLError, ValidationError) as exc:
            raise PrincipalsFileError(f"principals file {path}: {exc}") from exc

    def verify(self, key: str) -> Principal | None:
        digest = hash_key(key)
        entry = self._by_hash.get(digest)
        if entry is None or not hmac.compare_digest(entry.key_sha256, digest):
            return None
        return Principal(name=entry.name, roles=tuple(entry.roles), namespace=entry.namespace, via="api_key")
