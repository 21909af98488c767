"""Stage 7, circuit breaker: a server that keeps failing is not called for a while, so its callers get a
fast, typed answer instead of waiting out timeouts (one breaker per server, in this process)."""

from __future__ import annotations

from sophia.gateway.errors import CircuitOpen, GatewayError, UpstreamProtocolError, UpstreamTimeout, UpstreamUnavailable
from sophia.gateway.pipeline.call import Call, Next, Outcome, Stage
from sophia.kit.breaker import CircuitBreakers

#: Failures that say the server is unwell (a server that answered, even with a refusal, is up).
SERVER_FAILURES = (UpstreamUnavailable, UpstreamTimeout, UpstreamProtocolError)


class BreakerStage(Stage):
    def __init__(self, breakers: CircuitBreakers) -> None:
        self.breakers = breakers

    async def handle(self, call: Call, next: Next) -> Outcome:
        assert call.route is not None
        if call.route.kind == "local":  # the gateway's own tools
            return await next(call)
        breaker = self.breakers[call.route.service]
        if not breaker.allow():
            raise CircuitOpen(call.route.service)
        try:
            outcome = await next(call)
        except SERVER_FAILURES:
            breaker.failure()
            raise
        except GatewayError:
            breaker.success()
            raise
        except BaseException:  # cancelled: no verdict on the server, but free a half-open trial slot
            breaker.release()
            raise
        breaker.success()
        return outcome
