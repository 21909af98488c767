"""Stage 8, retries: a read-only or idempotent call whose server was unreachable, timed out or answered
garbage is tried again with backoff, within the call's deadline. Any other call is tried once: a
retried write could happen twice."""

from __future__ import annotations

import asyncio
import random

import stamina

from sophia.gateway.errors import UpstreamProtocolError, UpstreamTimeout, UpstreamUnavailable
from sophia.gateway.pipeline.call import Call, Next, Outcome, Stage

RETRYABLE = (UpstreamUnavailable, UpstreamTimeout, UpstreamProtocolError)
# Random extra wait before a retry (stamina's default, 1 s, would dwarf the 50 ms first backoff).
RETRY_JITTER_S = 0.05
FIRST_BACKOFF_S = 0.05


class RetryStage(Stage):
    def __init__(self, retries: int) -> None:
        self.retries = retries

    async def handle(self, call: Call, next: Next) -> Outcome:
        assert call.route is not None
        spec = call.route.spec
        if self.retries == 0 or not (spec.read_only or spec.idempotent) or call.route.kind == "local":
            return await next(call)
        try:  # the first attempt without the retry machinery: almost every call ends here
            return await next(call)
        except RETRYABLE as exc:
            first_failure: Exception = exc
        loop = asyncio.get_running_loop()
        if call.deadline is not None and loop.time() + FIRST_BACKOFF_S >= call.deadline:
            raise first_failure
        await asyncio.sleep(FIRST_BACKOFF_S + random.uniform(0, RETRY_JITTER_S))  # noqa: S311 - jitter, not a secret

        def worth_retrying(exc: Exception) -> bool:
            # Past the deadline another attempt cannot finish: the last failure is the answer.
            return isinstance(exc, RETRYABLE) and (call.deadline is None or loop.time() < call.deadline)

        async for attempt in stamina.retry_context(
            on=worth_retrying,
            attempts=self.retries,
            timeout=None,  # the call's deadline bounds it (the timeout stage)
            wait_initial=FIRST_BACKOFF_S * 2,
            wait_max=1.0,
            wait_jitter=RETRY_JITTER_S,
        ):
            with attempt:
                return await next(call)
        raise AssertionError("unreachable: stamina re-raises the last failure")
