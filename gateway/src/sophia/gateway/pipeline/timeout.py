"""Stage 9, timeout: each attempt ends by the call's deadline (the gateway's call timeout unless the entry
point set a tighter one, as `ask` does per step). The upstream's own timeout is set a little later, so
this stage's clock always decides and the caller gets one clear `UpstreamTimeout`."""

from __future__ import annotations

import asyncio

from sophia.gateway.errors import UpstreamTimeout
from sophia.gateway.pipeline.call import Call, Next, Outcome, Stage

# How long the transport's own timeout outlasts the deadline (so it never fires first).
TRANSPORT_GRACE_S = 0.25


class TimeoutStage(Stage):
    def __init__(self, call_timeout_s: float) -> None:
        self.call_timeout_s = call_timeout_s

    async def handle(self, call: Call, next: Next) -> Outcome:
        assert call.route is not None
        if call.route.kind == "local":  # `ask` bounds its own steps
            return await next(call)
        loop = asyncio.get_running_loop()
        if call.deadline is None:
            call.deadline = loop.time() + self.call_timeout_s
        remaining = call.deadline - loop.time()
        if remaining <= 0:
            raise UpstreamTimeout(call.route.service, "no time left for another attempt")
        try:
            async with asyncio.timeout_at(call.deadline):
                return await next(call)
        except TimeoutError:
            raise UpstreamTimeout(call.route.service, f"no answer within {remaining:.3g} s") from None
