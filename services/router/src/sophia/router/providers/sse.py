"""Server-sent events of a provider's streamed reply, parsed by httpx-sse (the same library the CLI reads the
gateway's `/v1/ask` stream with); a body that is not an event stream is the provider's malformed answer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from httpx_sse import EventSource, ServerSentEvent, SSEError

from sophia.router.providers.base import ProviderError


async def events(response: httpx.Response) -> AsyncIterator[ServerSentEvent]:
    """Each event of the streamed body (`event`, joined `data` lines); comments are skipped."""
    try:
        async for event in EventSource(response).aiter_sse():
            yield event
    except SSEError as exc:
        message = "the provider's stream is not server-sent events"
        raise ProviderError("bad_response", message, billed="unknown") from exc
