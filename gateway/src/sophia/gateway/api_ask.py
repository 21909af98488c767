"""HTTP API of the gateway's intelligence: `/v1/intent`, `/v1/ask`, and the approval queue."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from sophia.gateway.api import ErrorBody, GatewayDep
from sophia.gateway.approvals import Approval, ApprovalNotFound, ApprovalsUnavailable
from sophia.gateway.ask import AskResult
from sophia.gateway.errors import Forbidden, GatewayError
from sophia.gateway.intent.schema import Intent
from sophia.gateway.meta_tools import AskArguments, IntentArguments


class AuditUnavailable(GatewayError):
    http_status = 503


logger = logging.getLogger("sophia.gateway.api")
router = APIRouter()
APPROVAL_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "no such approval"},
    409: {"model": ErrorBody, "description": "already decided, or expired"},
    403: {"model": ErrorBody, "description": "not an approver, or your own request"},
    503: {"model": ErrorBody, "description": "no approval store configured"},
}


class ApprovalDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approver: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Who decides, for the audit trail when auth is off (default: the caller's own principal).",
    )


@router.post("/v1/intent", tags=["ask"])
async def intent(body: IntentArguments, gateway: GatewayDep) -> Intent:
    """Classify a request without running anything. `requires_approval` is also true when the plan for it
    (made dry: nothing runs) would hold a step for an approver."""
    principal = await gateway.guard.admit("classify_intent")
    return await gateway.asker.classify(body.query, gateway.guard.namespace(principal, "default"))


@router.post(
    "/v1/ask",
    tags=["ask"],
    response_model=AskResult,
    response_model_exclude_none=True,
    responses={200: {"content": {"text/event-stream": {}}, "description": "JSON, or events when asked for"}},
)
async def ask(body: AskArguments, request: Request, gateway: GatewayDep) -> Any:
    """Classify, plan and (unless `dry_run`) run a request, then answer. With `Accept: text/event-stream`
    the answer streams as events: intent, plan, step_started, step_finished, step_failed, step_held,
    step_skipped, round (a follow-up's steps, which then stream as above), answer (then `done`, or `error`)."""
    principal = await gateway.guard.admit("ask")
    body = body.model_copy(update={"namespace": gateway.guard.namespace(principal, body.namespace)})
    if "text/event-stream" not in request.headers.get("accept", ""):
        return await gateway.asker.ask(body.query, dry_run=body.dry_run, namespace=body.namespace, session=body.session)
    return StreamingResponse(_events(gateway, body), media_type="text/event-stream",
                             headers={"cache-control": "no-cache", "x-accel-buffering": "no"})  # fmt: skip


async def _events(gateway: Any, body: AskArguments) -> AsyncIterator[bytes]:
    queue: asyncio.Queue[tuple[str, dict[str, Any]] | None] = asyncio.Queue()

    async def emit(event: str, data: dict[str, Any]) -> None:
        await queue.put((event, data))

    async def run() -> None:
        try:
            await gateway.asker.ask(
                body.query, dry_run=body.dry_run, namespace=body.namespace, emit=emit, session=body.session
            )
            await queue.put(("done", {}))
        except GatewayError as exc:
            await queue.put(("error", {"type": type(exc).__name__, "message": str(exc)}))
        except Exception:
            logger.exception("ask failed inside the gateway")
            await queue.put(("error", {"type": "InternalError", "message": "the gateway failed; see its log"}))
        finally:
            await queue.put(None)

    task = asyncio.create_task(run())
    try:
        while (item := await queue.get()) is not None:
            event, data = item
            yield f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n".encode()
    finally:
        if not task.done():
            task.cancel()  # the client went away: stop the work it asked for


@router.get("/v1/approvals", tags=["approvals"], responses={503: APPROVAL_ERRORS[503]})
async def approvals(
    gateway: GatewayDep,
    status: Annotated[
        Literal["pending", "approved", "denied", "expired", "executed", "failed", "all"], Query()
    ] = "pending",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[Approval]:
    """The approval queue, newest first: pending by default. Approvers see every request; others their own."""
    queue = await _store(gateway).list(None if status == "all" else status, limit)
    principal = gateway.guard.principal()
    if gateway.guard.policy.may_approve(principal, requester=""):
        return queue
    return [item for item in queue if item.requester == principal.key]


@router.get("/v1/approvals/{approval_id}", tags=["approvals"], responses=APPROVAL_ERRORS)
async def approval(approval_id: str, gateway: GatewayDep) -> Approval:
    """One approval, with the held call's result once it ran."""
    held = await _store(gateway).get(approval_id)
    principal = gateway.guard.principal()
    if held.requester != principal.key and not gateway.guard.policy.may_approve(principal, requester=""):
        raise ApprovalNotFound(f"no approval {approval_id!r}")  # not theirs to see
    return held


@router.post("/v1/approvals/{approval_id}/approve", tags=["approvals"], responses=APPROVAL_ERRORS)
async def approve(approval_id: str, gateway: GatewayDep, decision: ApprovalDecision | None = None) -> Approval:
    """Approve a held call and run exactly it, once. Answers the approval with the call's result. Only an
    approver may, and not for their own request (unless the policy allows it)."""
    return await gateway.decisions.approve(approval_id, (decision or ApprovalDecision()).approver)


@router.post("/v1/approvals/{approval_id}/deny", tags=["approvals"], responses=APPROVAL_ERRORS)
async def deny(approval_id: str, gateway: GatewayDep, decision: ApprovalDecision | None = None) -> Approval:
    """Deny a held call: it is never run."""
    return await gateway.decisions.deny(approval_id, (decision or ApprovalDecision()).approver)


@router.get("/v1/audit", tags=["audit"], responses={403: {"model": ErrorBody}, 503: {"model": ErrorBody}})
async def audit(
    gateway: GatewayDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    principal: Annotated[str | None, Query(max_length=200, description="`<via>:<name>`, e.g. api_key:dev")] = None,
    tool: Annotated[str | None, Query(max_length=200)] = None,
    before: Annotated[str | None, Query(pattern=r"^\d+-\d+$", description="page: the last id seen")] = None,
) -> list[dict[str, str]]:
    """The audit log, newest first (admins): every tool call and approval decision, arguments redacted."""
    caller = gateway.guard.principal()
    if not gateway.guard.policy.may_audit(caller):
        raise Forbidden(f"{caller.name} may not read the audit log")
    if gateway.audit is None:
        raise AuditUnavailable("no audit log: set SOPHIA_GATEWAY_REDIS_URL")
    return await gateway.audit.read(limit=limit, principal=principal, tool=tool, before=before)


def _store(gateway: Any) -> Any:
    if gateway.approvals is None:
        raise ApprovalsUnavailable("no approval store: set SOPHIA_GATEWAY_REDIS_URL")
    return gateway.approvals
