"""The gateway's pipeline, assembled in its one order."""

from __future__ import annotations

from sophia.gateway.approvals import ApprovalStore
from sophia.gateway.catalog import Catalog, Route
from sophia.gateway.metrics import GatewayMetrics
from sophia.gateway.pipeline import Pipeline
from sophia.gateway.pipeline.approval import ApprovalStage
from sophia.gateway.pipeline.audit import AuditStage
from sophia.gateway.pipeline.breaker import BreakerStage
from sophia.gateway.pipeline.policy import PolicyStage
from sophia.gateway.pipeline.principal import PrincipalStage
from sophia.gateway.pipeline.ratelimit import RateLimitStage
from sophia.gateway.pipeline.retry import RetryStage
from sophia.gateway.pipeline.scoping import ScopingStage
from sophia.gateway.pipeline.timeout import TimeoutStage
from sophia.gateway.pipeline.upstream import send
from sophia.gateway.pipeline.validation import ValidationStage
from sophia.gateway.security.guard import Guard
from sophia.kit import Risk
from sophia.kit.breaker import CircuitBreakers
from sophia.kit.security import InternalCredential


def build_pipeline(
    *,
    catalog: Catalog,
    local: dict[str, Route],
    guard: Guard,
    approvals: ApprovalStore | None,
    credential: InternalCredential,
    approval_risk: Risk | None,
    breakers: CircuitBreakers,
    retries: int,
    call_timeout_s: float,
    metrics: GatewayMetrics,
) -> Pipeline:
    return Pipeline(
        [
            PrincipalStage(guard),
            PolicyStage(catalog, guard, local),
            RateLimitStage(guard),
            ScopingStage(guard),
            ValidationStage(catalog),
            ApprovalStage(guard, approvals, credential, approval_risk),
            BreakerStage(breakers),
            RetryStage(retries),
            TimeoutStage(call_timeout_s),
            AuditStage(guard, metrics),
        ],
        send,
    )
