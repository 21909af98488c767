"""What a 2025-11-25 client declared at `initialize`, carried back to the gateway by the session id it was given.

`/mcp` is stateless (no replica remembers a client), but whether the gateway may ask a client for sampling or
elicitation depends on what that client declared when it initialized. So the gateway answers `initialize` with
an `Mcp-Session-Id` that holds a random part (session ids should be unique) and the declared capabilities that
decide what may be asked; the client sends it on every later request, whichever replica serves it. It is the
client's own declaration, so forging it gains nothing; it is bounded, and parsed as untrusted input.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any

import orjson

PREFIX = "sophia1."
#: Longest session id the gateway issues or reads (capabilities past it keep only their names).
MAX_LENGTH = 1024
#: The capabilities that decide what the gateway may ask of a client.
_KEPT = ("sampling", "elicitation", "roots")


def session_id(capabilities: Any) -> str:
    """A session id for a client that declared `capabilities` (the `initialize` params' member)."""
    kept = _kept(capabilities)
    issued = _issued(kept)
    if len(issued) > MAX_LENGTH:  # sub-capabilities are open-ended: their names alone must do
        issued = _issued({name: {} for name in kept})
    return issued


def declared(session: str | None) -> dict[str, Any] | None:
    """The capabilities a session id the gateway issued carries; None for any other id (or none)."""
    if not session or len(session) > MAX_LENGTH or not session.startswith(PREFIX):
        return None
    _, _, encoded = session[len(PREFIX) :].partition(".")
    try:
        decoded = orjson.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (binascii.Error, ValueError):
        return None
    return _kept(decoded)


def _issued(capabilities: dict[str, Any]) -> str:
    encoded = base64.urlsafe_b64encode(orjson.dumps(capabilities)).rstrip(b"=").decode()
    return f"{PREFIX}{secrets.token_urlsafe(12)}.{encoded}"


def _kept(capabilities: Any) -> dict[str, Any]:
    """Only the capabilities that matter here, each an object of objects (anything else is dropped)."""
    if not isinstance(capabilities, dict):
        return {}
    kept: dict[str, Any] = {}
    for name in _KEPT:
        value = capabilities.get(name)
        if isinstance(value, dict):
            kept[name] = {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, dict | bool)}
    return kept
