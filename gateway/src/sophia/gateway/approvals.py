"""The approval queue: risky calls wait in Redis until an approver says yes or no.

A record holds the exact tool and arguments, who asked, why, and when it expires, sealed with a keyed
MAC (HMAC-SHA256 over tool and canonical arguments, under a key derived from the fleet's internal token
or `SOPHIA_GATEWAY_APPROVAL_SECRET`): whoever can write to Redis but lacks the key cannot rewrite a
held call into another one, since a record whose MAC fails is refused, never run.

Deciding is a `SET ... NX` on the record's decision key: of any number of gateway replicas deciding the
same record at once, exactly one wins, so an approved call runs exactly once and a denied one never.
The MAC is checked before an approval is recorded; the winner runs exactly the stored call (with a
grant its server verifies, see `sophia.kit.approvals`) and stores the result on the record.

A replica that dies between winning and storing the result leaves the record `approved` without a
result: the call ran at most once, never twice.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Callable
from typing import Any, Literal, cast

import redis.asyncio as redis
from pydantic import BaseModel, Field

from sophia.gateway.errors import GatewayError
from sophia.kit.approvals import canonical_json

logger = logging.getLogger("sophia.gateway.approvals")

Status = Literal["pending", "approved", "denied", "expired", "executed", "failed"]
PREFIX = "sophia:approval:"
INDEX = "sophia:approvals"
#: What `new_id` makes; anything else is not an approval (and never reaches Redis as a key).
APPROVAL_ID = re.compile(r"^[0-9a-f]{24}$")


class ApprovalNotFound(GatewayError):
    http_status = 404


class ApprovalConflict(GatewayError):
    """Already decided, or expired."""

    http_status = 409


class ApprovalsUnavailable(GatewayError):
    """A call needs approval but there is nowhere to keep it: it is refused, never run."""

    http_status = 503


class Approval(BaseModel):
    id: str
    tool: str
    arguments: dict[str, Any]
    arguments_mac: str = Field(description="HMAC-SHA256 of the tool and the canonical JSON of `arguments`.")
    requester: str = Field(description="The principal who asked, as `<via>:<name>` (api_key:, jwt: or anonymous:).")
    reason: str
    source: Literal["ask", "call"] = Field(description="Held from a /v1/ask plan or a direct tool call.")
    query: str | None = Field(None, description="The request that planned it, for `ask`.")
    created_at: float
    expires_at: float
    status: Status = "pending"
    decided_by: str | None = None
    decided_at: float | None = None
    result: dict[str, Any] | None = None
    error: str | None = None

    @property
    def expired(self) -> bool:
        return self.status == "pending" and time.time() > self.expires_at

    def public(self) -> dict[str, Any]:
        data = self.model_dump()
        if self.expired:
            data["status"] = "expired"
        return data


def new_id() -> str:
    """96 random bits in hex: safe in URLs, shells and command lines (a URL-safe token can start with "-",
    which `sophia approve <id>` would take for an option)."""
    return secrets.token_hex(12)


def seal(key: bytes, tool: str, arguments: dict[str, Any]) -> str:
    return hmac.new(key, canonical_json([tool, arguments]), hashlib.sha256).hexdigest()


class ApprovalTampered(GatewayError):
    """A record whose arguments no longer match its MAC: someone rewrote it in Redis."""

    http_status = 409


class ApprovalStore:
    """`keys`: the MAC keys, the first seals new records; any verifies (a rotated key keeps old records valid)."""

    def __init__(
        self, client: redis.Redis, ttl_s: float, retention_s: float, keys: Callable[[], tuple[bytes, ...]]
    ) -> None:
        self._redis = client
        self.ttl_s = ttl_s
        self._retention_s = retention_s
        self._keys = keys

    def verify(self, approval: Approval) -> None:
        """Raise `ApprovalTampered` unless the record's MAC matches its tool and arguments under a known key."""
        if not any(
            hmac.compare_digest(approval.arguments_mac, seal(key, approval.tool, approval.arguments))
            for key in self._keys()
        ):
            logger.error("approval %s failed its integrity check; refused", approval.id)
            raise ApprovalTampered(f"approval {approval.id}: the stored call does not match its seal; not run")

    async def hold(
        self,
        tool: str,
        arguments: dict[str, Any],
        *,
        requester: str,
        reason: str,
        source: Literal["ask", "call"],
        query: str | None = None,
    ) -> Approval:
        now = time.time()
        approval = Approval(
            id=new_id(),
            tool=tool,
            arguments=arguments,
            arguments_mac=seal(self._keys()[0], tool, arguments),
            requester=requester,
            reason=reason,
            source=source,
            query=query,
            created_at=now,
            expires_at=now + self.ttl_s,
        )
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(PREFIX + approval.id, approval.model_dump_json(), ex=self._keep_s())
            pipe.zadd(INDEX, {approval.id: now})
            await pipe.execute()
        return approval

    async def get(self, approval_id: str) -> Approval:
        if not APPROVAL_ID.match(approval_id):
            raise ApprovalNotFound(f"no approval {approval_id[:40]!r}")
        raw = await self._redis.get(PREFIX + approval_id)
        if raw is None:
            raise ApprovalNotFound(f"no approval {approval_id!r}")
        return Approval.model_validate_json(raw)

    async def list(self, status: Status | None = "pending", limit: int = 100) -> list[Approval]:
        ids = cast(list[str], await self._redis.zrevrange(INDEX, 0, -1))  # the client decodes responses
        approvals: list[Approval] = []
        stale: list[str] = []
        for start in range(0, len(ids), 200):
            chunk = ids[start : start + 200]
            for approval_id, raw in zip(chunk, await self._redis.mget([PREFIX + i for i in chunk]), strict=True):
                if raw is None:
                    stale.append(approval_id)  # its record outlived retention
                    continue
                approval = Approval.model_validate_json(raw)
                shown = "expired" if approval.expired else approval.status
                if status is None or shown == status:
                    approvals.append(approval)
            if len(approvals) >= limit:
                break
        if stale:
            await self._redis.zrem(INDEX, *stale)
        return approvals[:limit]

    async def decide(self, approval_id: str, decision: Literal["approved", "denied"], by: str) -> Approval:
        """Record the one decision this approval gets; raise `ApprovalConflict` for any later one."""
        approval = await self.get(approval_id)
        if decision == "approved":
            self.verify(approval)  # before the decision: a tampered record is never marked approved
        if approval.status != "pending":
            raise ApprovalConflict(f"approval {approval_id} is already {approval.status}")
        if approval.expired:
            raise ApprovalConflict(f"approval {approval_id} expired at {time.ctime(approval.expires_at)}")
        won = await self._redis.set(f"{PREFIX}{approval_id}:decision", decision, nx=True, ex=self._keep_s())
        if not won:
            raise ApprovalConflict(f"approval {approval_id} was decided by someone else just now")
        approval = approval.model_copy(update={"status": decision, "decided_by": by, "decided_at": time.time()})
        await self.save(approval)
        return approval

    async def save(self, approval: Approval) -> None:
        await self._redis.set(PREFIX + approval.id, approval.model_dump_json(), ex=self._keep_s())

    def _keep_s(self) -> int:
        return int(self.ttl_s + self._retention_s)
