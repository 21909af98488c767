"""Server-declared approvals: a tool says, per call, that this call must wait for an approver.

Some calls are risky only for some arguments: a push to `main` (a feature branch is fine), an apply
on a production stack, a post into a channel shared with another company. Such a tool declares an
approval check (`@service.tool(approval=check)`); the kit runs it before the tool's body:

1. The check returns a reason and the call carries no valid grant: the body does not run. The
   caller gets a result whose `_meta[APPROVAL_REQUIRED]` holds the reason (and whose text says so).
2. The gateway holds exactly that call. Once an approver says yes, it calls again with a grant in
   `_meta[GRANT]`: tool, SHA-256 of the exact arguments, the approval's id and an expiry, signed
   (HMAC-SHA256) with the fleet's internal token, which only the gateway and our servers hold.
3. The kit verifies the grant (signature under any accepted token, same tool, same arguments, not
   expired, not used before in this process) and runs the body.

A call with `_meta[PROBE]` only runs the check and answers whether the call would be held; the
gateway's planner asks this to know whether a plan needs approval. Checks therefore must have no
side effects.

Single use is enforced twice: the gateway decides an approval exactly once (a Redis `SET NX`), and
each server process refuses a grant id it has already accepted. A grant is bound to one tool and one
argument set, so it cannot be replayed for anything else even on another replica.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from mcp_types import CallToolResult, TextContent

#: `_meta` key of a result that says "this call needs an approver": `{"reason": str}`.
APPROVAL_REQUIRED = "sophia/approval-required"
#: `_meta` key of a request that carries an approver's grant (a string from `sign_grant`).
GRANT = "sophia/grant"
#: `_meta` key of a request that asks only whether the call would be held (`true`).
PROBE = "sophia/approval-probe"
#: `_meta` key on a listed tool that declares per-call approval (`"per-call"`).
DECLARES = "sophia/approval"
#: `_meta` key on such a tool: the arguments its check reads (a list), when it declares them. The gateway may then
#: ask about a call whose other arguments are still to come from an earlier step ("find X, post it in #team").
APPROVAL_READS = "sophia/approval-reads"

ApprovalCheck = Callable[[dict[str, Any]], "str | Awaitable[str | None] | None"]

GRANT_TTL_S = 300.0
MAX_GRANT_CHARS = 1024
_VERSION = "g1"


def canonical_json(value: Any) -> bytes:
    """One byte form per JSON value (sorted keys, no spaces, UTF-8): what digests and MACs are taken over.
    Values JSON cannot hold are written as their `str` (audit copies may carry such)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return text.encode("utf-8", "surrogatepass")


def arguments_digest(arguments: Mapping[str, Any] | None) -> str:
    """SHA-256 of the canonical JSON of `arguments`: what a grant and an approval record are bound to."""
    return hashlib.sha256(canonical_json(dict(arguments or {}))).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest())


def sign_grant(
    key: bytes, tool: str, arguments: Mapping[str, Any] | None, approval_id: str, ttl_s: float = GRANT_TTL_S
) -> str:
    """A grant for one run of `tool` with exactly `arguments` (the tool's own name, not the gateway's)."""
    claims = {"t": tool, "a": arguments_digest(arguments), "i": approval_id, "e": int(time.time() + ttl_s)}
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{_VERSION}.{payload}.{_mac(key, payload)}"


class GrantError(ValueError):
    """Why a grant was not accepted (said to the caller; it holds no secret)."""


class GrantVerifier:
    """Checks grants against the accepted keys and remembers the ids it has accepted (single use)."""

    def __init__(self, keys: Callable[[], tuple[bytes, ...]]) -> None:
        self._keys = keys
        self._used: dict[str, float] = {}
        self._lock = threading.Lock()

    def verify(self, grant: Any, tool: str, arguments: Mapping[str, Any] | None) -> str:
        """The approval id of a valid grant for this exact call; raise `GrantError` otherwise."""
        if not isinstance(grant, str) or len(grant) > MAX_GRANT_CHARS or grant.count(".") != 2:
            raise GrantError("malformed approval grant")
        version, payload, mac = grant.split(".")
        keys = self._keys()
        if version != _VERSION or not keys:
            raise GrantError("approval grants need the fleet's internal token on this server")
        if not any(hmac.compare_digest(mac, _mac(key, payload)) for key in keys):
            raise GrantError("approval grant signature does not verify")
        try:
            claims = json.loads(_unb64(payload))
            tool_claim, digest, approval_id, expires = claims["t"], claims["a"], str(claims["i"]), float(claims["e"])
        except (ValueError, KeyError, TypeError):
            raise GrantError("malformed approval grant") from None
        if tool_claim != tool:
            raise GrantError("approval grant is for another tool")
        if not hmac.compare_digest(str(digest), arguments_digest(arguments)):
            raise GrantError("approval grant is for other arguments")
        now = time.time()
        if now > expires:
            raise GrantError("approval grant expired")
        with self._lock:
            self._used = {k: v for k, v in self._used.items() if v >= now} if len(self._used) > 1024 else self._used
            if approval_id in self._used:
                raise GrantError("approval grant was already used")
            self._used[approval_id] = expires
        return approval_id


# Both answers below are `isError` results: the tool did not run, and an error result is the one kind a
# tool with an output schema may return without its structured output (clients validate the rest).


def approval_required_result(reason: str) -> CallToolResult:
    """The typed answer of a call that must wait for an approver: not run, and why."""
    return CallToolResult(
        content=[TextContent(type="text", text=f"not run: this call needs an approver's yes ({reason})")],
        structured_content={"status": "approval_required", "reason": reason},
        is_error=True,
        _meta={APPROVAL_REQUIRED: {"reason": reason}},
    )


def probe_result(reason: str | None) -> CallToolResult:
    """The answer to a probe: whether the call would be held, and why (nothing ran either way)."""
    if reason is not None:
        return approval_required_result(reason)
    return CallToolResult(
        content=[TextContent(type="text", text="probe: this call would run without approval")],
        structured_content={"status": "would_run"},
        is_error=True,
        _meta={PROBE: {"would_run": True}},
    )


def required_reason(result: Mapping[str, Any]) -> str | None:
    """The reason a server gave for holding a call, or None when the result is an ordinary one."""
    meta = result.get("_meta")
    if not isinstance(meta, Mapping):
        return None
    declared = meta.get(APPROVAL_REQUIRED)
    if not isinstance(declared, Mapping):
        return None
    reason = declared.get("reason")
    return str(reason)[:500] if reason else "the server requires approval for this call"
