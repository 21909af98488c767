"""The end of the pipeline: send the call to the server that owns the tool, on its pooled connection."""

from __future__ import annotations

import asyncio

from sophia.gateway.pipeline.call import Call, Outcome
from sophia.gateway.pipeline.timeout import TRANSPORT_GRACE_S


async def send(call: Call) -> Outcome:
    route = call.route
    assert route is not None
    call.attempts += 1
    timeout = None
    if call.deadline is not None:
        timeout = max(0.001, call.deadline - asyncio.get_running_loop().time() + TRANSPORT_GRACE_S)
    result = await route.upstream.call_tool(
        route.spec.name, call.arguments, timeout, meta=call.meta or None, progress=call.progress, answers=call.answers
    )
    return Outcome(result, attempts=call.attempts)
