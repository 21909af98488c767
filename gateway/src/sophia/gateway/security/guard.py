"""What the security stages of the call pipeline share: the caller, the policy, the rate limiter, namespace
scoping and the audit log. The stages themselves live in `sophia.gateway.pipeline`."""

from __future__ import annotations

from typing import Any

from sophia.gateway.errors import Forbidden, RateLimited, StateUnavailable
from sophia.gateway.security.audit import AuditLog
from sophia.gateway.security.policy import Policy
from sophia.gateway.security.principals import Principal, current
from sophia.gateway.security.ratelimit import RateLimiter, RateLimitUnavailable
from sophia.kit import ToolSpec


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

    async def admit(self, action: str) -> Principal:
        """For HTTP routes that are not tool calls (`/v1/ask`, `/v1/intent`, tool search): the caller, once
        the policy allows `action` and the rate limit has room; `Forbidden` or `RateLimited` otherwise."""
        principal = self.principal()
        if not self.policy.may_call(principal, action, None):
            await self.record("call", principal, action, {}, "forbidden")
            raise Forbidden(f"{principal.name} may not use {action}")
        await self.within_limit(principal, action)
        return principal

    async def within_limit(self, principal: Principal, action: str) -> None:
        """Count one `action` against the principal's rate limit; `RateLimited` (audited) when over it,
        `StateUnavailable` when the limits cannot be checked and the policy is to fail closed."""
        if self.limiter is None:
            return
        try:
            verdict = await self.limiter.check(principal.key, action)
        except RateLimitUnavailable as exc:
            raise StateUnavailable(str(exc)) from exc
        if not verdict.allowed:
            await self.record("call", principal, action, {}, "rate_limited")
            raise RateLimited(verdict.retry_after_s)

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
                principal=principal.key,
                tool=tool,
                arguments=arguments,
                outcome=outcome,
                duration_ms=duration_ms,
                detail=detail,
            )
