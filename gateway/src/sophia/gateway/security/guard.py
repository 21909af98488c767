"""The checks every tool call passes, whichever path it came by: may this principal call this tool,
within its rate limit, on its own namespace's data — and the audit line afterwards."""

from __future__ import annotations

from typing import Any

from sophia.gateway.errors import GatewayError
from sophia.gateway.security.audit import AuditLog
from sophia.gateway.security.policy import Policy
from sophia.gateway.security.principals import Principal, current
from sophia.gateway.security.ratelimit import RateLimiter, RateLimitUnavailable
from sophia.kit import ToolSpec

FORBIDDEN_CODE = -32003  # JSON-RPC server-defined range; answered with HTTP 403


class Forbidden(GatewayError):
    code = FORBIDDEN_CODE
    http_status = 403


class RateLimited(GatewayError):
    code = -32029
    http_status = 429

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"rate limit reached; retry after {retry_after_s:.1f} s")
        self.retry_after_s = retry_after_s


class LimitsUnavailable(GatewayError):
    http_status = 503


class Guard:
    def __init__(
        self,
        policy: Policy,
        anonymous: Principal | None,
        limiter: RateLimiter | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self.policy = policy
        self.anonymous = anonymous
        self.limiter = limiter
        self.audit = audit

    def principal(self) -> Principal:
        principal = current.get() or self.anonymous
        if principal is None:  # only reachable by a path the middleware does not cover
            raise Forbidden("no authenticated principal")
        return principal

    def visible(self, tool: str, spec: ToolSpec | None) -> bool:
        return self.policy.may_call(self.principal(), tool, spec)

    async def admit(self, tool: str, spec: ToolSpec | None) -> Principal:
        """The caller, once it may call `tool` now; raise `Forbidden` or `RateLimited` otherwise."""
        principal = self.principal()
        if not self.policy.may_call(principal, tool, spec):
            await self.record("call", principal, tool, {}, "forbidden")
            raise Forbidden(f"{principal.name} may not call {tool}")
        if self.limiter is not None:
            try:
                verdict = await self.limiter.check(principal.name, tool)
            except RateLimitUnavailable as exc:
                raise LimitsUnavailable(str(exc)) from exc
            if not verdict.allowed:
                await self.record("call", principal, tool, {}, "rate_limited")
                raise RateLimited(verdict.retry_after_s)
        return principal

    def namespace(self, principal: Principal, asked: str) -> str:
        """With auth on, the caller's own namespace, whatever the request said; with auth off, the asked one."""
        return asked if principal.via == "anonymous" else principal.namespace

    def scoped(self, principal: Principal, schema: dict[str, Any], arguments: dict[str, Any]) -> dict[str, Any]:
        """A tool that takes a namespace gets the caller's (see `namespace`)."""
        if principal.via == "anonymous" or "namespace" not in (schema.get("properties") or {}):
            return arguments
        return {**arguments, "namespace": principal.namespace}

    async def record(
        self,
        event: str,
        principal: Principal,
        tool: str,
        arguments: Any,
        outcome: str,
        duration_ms: float = 0.0,
        detail: str = "",
    ) -> None:
        if self.audit is not None:
            await self.audit.record(
                event,
                principal=principal.name,
                tool=tool,
                arguments=arguments,
                outcome=outcome,
                duration_ms=duration_ms,
                detail=detail,
            )
