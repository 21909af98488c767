"""The caller's credential for a gateway with auth on."""

from __future__ import annotations

import os


def api_key_from_env() -> str | None:
    """The API key in SOPHIA_API_KEY (create one with `sophia keys create`); never printed."""
    return os.environ.get("SOPHIA_API_KEY") or None
