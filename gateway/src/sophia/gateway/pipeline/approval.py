"""Stage 6, approval: risky calls wait for an approver; approved ones run exactly as held, once.

Three ways a call is held:
- its tool is risky as declared (destructive, or at/above the approval risk): held before any call;
- the plan that made it says so (`call.hold_reason`, from `ask`): held before any call;
- its server says this call needs approval (`sophia.kit.approvals`): the server answers "approval
  required" without running it, and the gateway holds exactly that call.

An approved re-run (`source == "approved"`) carries a grant signed with the fleet's internal token and
bound to the tool and the exact arguments, which the server verifies before running. Only kit servers
(which hold the token) are trusted to declare approvals; an external server's claim is ignored.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sophia.gateway.approvals import Approval, ApprovalStore, ApprovalsUnavailable
from sophia.gateway.catalog import Route
from sophia.gateway.errors import UpstreamError
from sophia.gateway.pipeline.call import Call, Next, Outcome, Stage
from sophia.gateway.results import ok_result
from sophia.gateway.security.guard import Guard
from sophia.kit import Risk
from sophia.kit.approvals import APPROVAL_READS, DECLARES, GRANT, PROBE, required_reason, sign_grant
from sophia.kit.security import InternalCredential

logger = logging.getLogger("sophia.gateway.approval")

RISK_ORDER = (Risk.LOW, Risk.MEDIUM, Risk.HIGH, Risk.CRITICAL)


class ApprovalRefused(UpstreamError):
    """The server still asks for approval on an approved run (its token differs from ours, say)."""


def declared_risky(route: Route, approval_risk: Risk | None) -> bool:
    """Whether every call of this tool waits for an approver."""
    if approval_risk is None:
        return False
    return route.spec.destructive or RISK_ORDER.index(route.spec.risk) >= RISK_ORDER.index(approval_risk)


def declares_per_call(route: Route) -> bool:
    """Whether the tool's server decides per call (and may hold some calls)."""
    meta = route.definition.get("_meta")
    return route.kind == "kit" and isinstance(meta, dict) and meta.get(DECLARES) == "per-call"


def approval_reads(route: Route) -> frozenset[str] | None:
    """The arguments the per-call check of this tool reads, when its server declares them; None when it does
    not say (then the check may read any argument)."""
    meta = route.definition.get("_meta")
    reads = meta.get(APPROVAL_READS) if declares_per_call(route) and isinstance(meta, dict) else None
    if not isinstance(reads, list) or not reads or not all(isinstance(name, str) for name in reads):
        return None
    return frozenset(reads)


PROBE_TIMEOUT_S = 2.0


async def probe(route: Route, arguments: dict[str, Any]) -> str | None:
    """Would the server hold this call? Its reason, or None. The server runs only its approval check.
    When the server cannot say (down, slow, broken), the answer is "yes, it would wait": planning errs
    toward asking an approver, never toward running."""
    try:
        result = await route.upstream.call_tool(route.spec.name, arguments, PROBE_TIMEOUT_S, meta={PROBE: True})
    except Exception as exc:  # any failure: assume the call would be held
        logger.info("approval probe of %s failed (%s); assuming it needs approval", route.name, type(exc).__name__)
        return f"{route.name} may need approval (its server could not be asked)"
    return required_reason(result)


class ApprovalStage(Stage):
    def __init__(
        self,
        guard: Guard,
        store: ApprovalStore | None,
        credential: InternalCredential,
        approval_risk: Risk | None,
    ) -> None:
        self.guard = guard
        self.store = store
        self.credential = credential
        self.approval_risk = approval_risk

    async def handle(self, call: Call, next: Next) -> Outcome:
        route = call.route
        assert route is not None and call.principal is not None
        if call.source == "approved":
            return await self._run_approved(call, next)
        if call.hold_reason is not None:
            return await self.hold(call, call.hold_reason)
        if declared_risky(route, self.approval_risk):
            return await self.hold(call, f"{call.name} is {route.spec.risk.value} risk")
        outcome = await next(call)
        if route.kind == "kit" and (reason := required_reason(outcome.result)) is not None:
            return await self.hold(call, reason)
        return outcome

    async def _run_approved(self, call: Call, next: Next) -> Outcome:
        assert call.route is not None and call.approval is not None
        keys = self.credential.signing_keys()
        if call.route.kind == "kit" and keys:
            call.meta[GRANT] = sign_grant(keys[0], call.route.spec.name, call.arguments, call.approval.id)
        outcome = await next(call)
        if call.route.kind == "kit" and required_reason(outcome.result) is not None:
            raise ApprovalRefused(
                call.route.service,
                "refused the approved call: it verifies approval grants with the fleet's internal token, and the "
                "gateway's does not match (or none is set)",
            )
        return outcome

    async def hold(self, call: Call, reason: str) -> Outcome:
        assert call.principal is not None
        if self.store is None:
            raise ApprovalsUnavailable(
                f"{call.name} needs an approval, but this gateway has no approval store (set SOPHIA_GATEWAY_REDIS_URL)"
            )
        approval = await self.store.hold(
            call.name,
            call.arguments,
            requester=call.principal.key,
            reason=reason,
            source="ask" if call.source == "ask" else "call",
            query=call.query,
        )
        await self.guard.record("call", call.principal, call.name, call.arguments, "held", detail=approval.id)
        return Outcome(held_result(approval), held=approval)


def held_result(approval: Approval) -> dict[str, Any]:
    """What a caller of a held tool gets: not an error, and not the tool's answer."""
    until = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(approval.expires_at))
    text = (
        f"{approval.tool} was not run: it needs an approver's yes ({approval.reason}). Approval {approval.id} is "
        f"pending until {until}. An approver runs it with `sophia approve {approval.id}` "
        f"(or POST /v1/approvals/{approval.id}/approve)."
    )
    return ok_result({"status": "pending_approval", "approval": approval.public()}, text)
