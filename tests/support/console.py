"""Read the operator console's live feed (`/ui/api/events`) as a client would."""

from __future__ import annotations

import json
from typing import Any

import httpx


def read_events(url: str, wanted: set[str], headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The first event of each name in `wanted` from the gateway at `url` (then the stream is closed)."""
    seen: dict[str, Any] = {}
    with httpx.stream("GET", f"{url}/ui/api/events", headers=headers or {}, timeout=20) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: ") and name is not None:
                seen.setdefault(name, json.loads(line[len("data: ") :]))
                if wanted <= seen.keys():
                    break
    return seen
