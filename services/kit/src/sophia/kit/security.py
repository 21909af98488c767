"""Request checks every Sophia HTTP server applies the same way, and the fleet's internal credential.

The internal credential is what lets a capability server tell the gateway from anything else in the
cluster: a shared bearer token, read from ``SOPHIA_INTERNAL_TOKEN`` (one or several, comma-separated)
and ``SOPHIA_INTERNAL_TOKEN_FILE`` (one per line; blank lines and ``#`` comments ignored). Servers
accept every configured token; the gateway sends the first. Rotation: add the new token everywhere,
make it the gateway's first, then remove the old one. The file is re-read when it changes (a
Kubernetes Secret update needs no restart). No message, log line or repr here ever holds a token.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import time
from pathlib import Path
from typing import Any

from mcp.server.transport_security import TransportSecuritySettings
from pydantic import Field, SecretStr

logger = logging.getLogger("sophia.kit.security")

# Names of environment variables, not secrets.
TOKEN_ENV = "SOPHIA_INTERNAL_TOKEN"  # noqa: S105
TOKEN_FILE_ENV = "SOPHIA_INTERNAL_TOKEN_FILE"  # noqa: S105
MIN_TOKEN_CHARS = 16
# The value shipped in example manifests; a fleet must never run with it.
PLACEHOLDER = "REPLACE-ME"
# Printable ASCII without spaces or commas: valid in an HTTP header and in gRPC metadata.
_TOKEN_CHARS = re.compile(r"^[\x21-\x2b\x2d-\x7e]+$")
# How often the token file's mtime is checked; a changed file is read again.
RECHECK_S = 1.0


def transport_security(allowed_hosts: list[str]) -> TransportSecuritySettings:
    """DNS-rebinding protection for MCP endpoints: accept only the listed Host values (`*`: any)."""
    if "*" in allowed_hosts:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    origins = [f"http://{host}" for host in allowed_hosts] + [f"https://{host}" for host in allowed_hosts]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=allowed_hosts, allowed_origins=origins
    )


def internal_token_field() -> Any:
    """The `internal_token` settings field, read unprefixed: the gateway and every server share it."""
    return Field(
        None,
        validation_alias=TOKEN_ENV,
        description="The fleet's internal credential: one or more tokens (comma-separated, at least "
        f"{MIN_TOKEN_CHARS} characters each). Servers accept any of them; the gateway sends the first. "
        "Unset (and no token file): internal auth is off.",
    )


def internal_token_file_field() -> Any:
    """The `internal_token_file` settings field, read unprefixed."""
    return Field(
        None,
        validation_alias=TOKEN_FILE_ENV,
        description="File with internal tokens, one per line (blank lines and # comments ignored); re-read "
        "when it changes. Its tokens are accepted along with SOPHIA_INTERNAL_TOKEN's.",
    )


class InternalTokenError(ValueError):
    """The configured internal credential cannot be used. The message names where, never the token."""


def _checked(tokens: list[str], source: str) -> list[str]:
    for number, token in enumerate(tokens, 1):
        where = f"{source}: token {number}"
        if len(token) < MIN_TOKEN_CHARS:
            raise InternalTokenError(f"{where} is shorter than {MIN_TOKEN_CHARS} characters")
        if not _TOKEN_CHARS.match(token):
            raise InternalTokenError(f"{where} holds a character other than printable ASCII (no space, no comma)")
        if PLACEHOLDER in token:
            raise InternalTokenError(f"{where} is the shipped placeholder; generate a real one")
    return tokens


def parse_token_list(value: str, source: str = TOKEN_ENV) -> list[str]:
    """Comma-separated tokens (spaces around them ignored), each checked."""
    return _checked([part.strip() for part in value.split(",") if part.strip()], source)


def read_token_file(path: Path) -> list[str]:
    """One token per line; blank lines and `#` comments are skipped. A file without a token is an error."""
    source = f"{TOKEN_FILE_ENV} ({path})"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InternalTokenError(f"{source} cannot be read: {type(exc).__name__}") from None
    lines = [line.strip() for line in text.splitlines()]
    tokens = _checked([line for line in lines if line and not line.startswith("#")], source)
    if not tokens:
        raise InternalTokenError(f"{source} holds no token")
    return tokens


class InternalCredential:
    """The fleet's internal credential: the tokens a server accepts and the one the gateway sends.

    Built at start, where a bad token or an unreadable file stops the process. Afterwards a changed
    file is read again (checked at most every `recheck_s`); a file that has become unusable keeps
    the tokens read last, so a botched rotation fails closed, never open.
    """

    def __init__(self, token: SecretStr | None = None, file: Path | None = None, recheck_s: float = RECHECK_S) -> None:
        self._fixed = parse_token_list(token.get_secret_value()) if token is not None else []
        self._file = file
        self._recheck_s = recheck_s
        self._next_check = time.monotonic() + recheck_s
        self._signature = self._stat()
        self._from_file = read_token_file(file) if file is not None else []
        self._update()

    @classmethod
    def from_settings(cls, settings: Any) -> InternalCredential:
        """From any settings object with the `internal_token` and `internal_token_file` fields."""
        return cls(settings.internal_token, settings.internal_token_file)

    @property
    def enabled(self) -> bool:
        return bool(self._tokens)

    def __repr__(self) -> str:
        return f"InternalCredential(tokens={len(self._tokens)}, file={self._file})"

    def authorization(self) -> str | None:
        """The `Authorization` value to send (`Bearer <first token>`); None when auth is off."""
        self._refresh()
        return self._bearer

    def accepts(self, authorization: bytes | str | None) -> bool:
        """Whether an `Authorization` header value carries one of the accepted tokens (constant time)."""
        self._refresh()
        if authorization is None:
            return False
        value = authorization.encode("latin-1", "replace") if isinstance(authorization, str) else authorization
        scheme, _, presented = value.strip().partition(b" ")
        if scheme.lower() != b"bearer":
            return False
        presented = presented.strip()
        matched = False
        for token in self._tokens:  # every token is compared, so timing does not tell which one matched
            matched |= hmac.compare_digest(presented, token)
        return matched

    def signing_keys(self) -> tuple[bytes, ...]:
        """Keys derived from the accepted tokens, for HMAC signatures (approval grants); the first signs.

        Derived, not the tokens themselves, so a signature never doubles as a bearer credential."""
        self._refresh()
        return tuple(hmac.new(token, b"sophia signing key v1", "sha256").digest() for token in self._tokens)

    def _update(self) -> None:
        ordered = dict.fromkeys(self._fixed + self._from_file)
        self._tokens = tuple(token.encode("ascii") for token in ordered)
        self._bearer = f"Bearer {next(iter(ordered))}" if ordered else None

    def _stat(self) -> tuple[int, int, int] | None:
        if self._file is None:
            return None
        try:
            stat = os.stat(self._file)  # follows the symlinks of a Kubernetes Secret volume
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    def _refresh(self) -> None:
        if self._file is None or time.monotonic() < self._next_check:
            return
        self._next_check = time.monotonic() + self._recheck_s
        signature = self._stat()
        if signature is None or signature == self._signature:
            return
        self._signature = signature
        try:
            self._from_file = read_token_file(self._file)
        except InternalTokenError as exc:
            logger.error("internal token file changed but cannot be used; keeping the previous tokens: %s", exc)
            return
        self._update()
        logger.info("internal token file re-read", extra={"tokens": len(self._tokens)})
