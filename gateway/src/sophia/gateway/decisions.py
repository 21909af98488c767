"""Deciding held calls: an approver's yes runs exactly the held call, once, through the call pipeline
(as an approved re-run, with a grant its server verifies); a no closes it. Only an approver may decide,
and (unless the policy says so) not on their own request."""

from __future__ import annotations

from sophia.gateway.approvals import Approval, ApprovalStore, ApprovalsUnavailable
from sophia.gateway.errors import Forbidden, GatewayError
from sophia.gateway.pipeline import Call, Pipeline
from sophia.gateway.security.guard import Guard
from sophia.gateway.security.principals import Principal


class Decisions:
    def __init__(self, pipeline: Pipeline, guard: Guard, store: ApprovalStore | None) -> None:
        self.pipeline = pipeline
        self.guard = guard
        self.store = store

    def _store(self) -> ApprovalStore:
        if self.store is None:
            raise ApprovalsUnavailable("this gateway has no approval store (set SOPHIA_GATEWAY_REDIS_URL)")
        return self.store

    async def approve(self, approval_id: str, approver_name: str | None = None) -> Approval:
        """Approve and run; the call's result (or error) is stored on the approval and returned."""
        store = self._store()
        approver = await self.may_decide(approval_id)
        approval = await store.decide(approval_id, "approved", _decider(approver, approver_name))
        await self.guard.record("approval", approver, approval.tool, approval.arguments, "approved", detail=approval.id)
        call = Call(
            approval.tool,
            dict(approval.arguments),
            "approved",
            principal=approver,
            approval=approval,
            query=approval.query,
        )
        try:
            outcome = await self.pipeline.run(call)
            status = "failed" if outcome.result.get("isError") else "executed"
            approval = approval.model_copy(update={"status": status, "result": outcome.result})
        except GatewayError as exc:
            approval = approval.model_copy(update={"status": "failed", "error": str(exc)})
        await store.save(approval)
        return approval

    async def deny(self, approval_id: str, approver_name: str | None = None) -> Approval:
        store = self._store()
        approver = await self.may_decide(approval_id)
        approval = await store.decide(approval_id, "denied", _decider(approver, approver_name))
        await self.guard.record("approval", approver, approval.tool, approval.arguments, "denied", detail=approval.id)
        return approval

    async def may_decide(self, approval_id: str) -> Principal:
        held = await self._store().get(approval_id)
        principal = self.guard.principal()
        if not self.guard.policy.may_approve(principal, held.requester):
            await self.guard.record("approval", principal, held.tool, held.arguments, "forbidden", detail=approval_id)
            raise Forbidden(f"{principal.name} may not decide approval {approval_id}")
        return principal


def _decider(principal: Principal, named: str | None) -> str:
    """Who decided: the authenticated principal; with auth off, the name the decider gave, else the same
    local principal that requested (`anonymous:local`), so a local approval names one identity twice."""
    return (named or principal.key) if principal.via == "anonymous" else principal.key
