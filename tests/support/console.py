"""Read the operator console's live feed (`/ui/api/events`) as a client would."""

from __future__ import annotations

import json
from typing import Any

import httpx
from httpx_sse import connect_sse


def read_events(url: str, wanted: set[str], headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The first event of each name in `wanted` from the gateway at `url` (then the stream is closed)."""
    seen: dict[str, Any] = {}
    with (
        httpx.Client(timeout=20) as client,
        connect_sse(client, "GET", f"{url}/ui/api/events", headers=dict(headers or {})) as sse,
    ):
        response = sse.response
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for event in sse.iter_sse():
            if event.event != "message":
                seen.setdefault(event.event, json.loads(event.data))
                if wanted <= seen.keys():
                    break
    return seen
