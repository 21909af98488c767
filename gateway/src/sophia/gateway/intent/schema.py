"""The intent contract (../shared/ARCHITECTURE.md): what a request is about, what it does, how risky it is."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Domain = Literal["business", "technical", "infrastructure", "creative", "administrative"]
Action = Literal["analyze", "create", "modify", "delete", "deploy", "query", "monitor", "optimize"]
Capability = Literal["router", "code", "infra", "business", "memory", "visual"]
RiskLevel = Literal["low", "medium", "high", "critical"]
Urgency = Literal["immediate", "planned", "exploratory"]

DOMAINS: tuple[Domain, ...] = get_args(Domain)
ACTIONS: tuple[Action, ...] = get_args(Action)
CAPABILITIES: tuple[Capability, ...] = get_args(Capability)
RISK_LEVELS: tuple[RiskLevel, ...] = get_args(RiskLevel)
URGENCIES: tuple[Urgency, ...] = get_args(Urgency)

# A request is a sentence or a paragraph; 8,000 characters leaves room for a pasted error message
# while keeping a 100 KB paste (or an attack) out of the classifier and the planner.
MAX_QUERY_CHARS = 8000

Query = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUERY_CHARS),
    Field(description=f"The request in plain words (1 to {MAX_QUERY_CHARS} characters).", examples=["rollback prod"]),
]


class Intent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    domain: Domain
    action: Action = Field(description="For 'X, then Y' the step that carries the outcome.")
    capabilities: list[Capability] = Field(description="The smallest set of services that can fulfil the request.")
    targets: list[str] = Field(description="What the request acts on: services, stacks, branches, channels, files.")
    risk_level: RiskLevel
    requires_approval: bool = Field(
        description="True for deploys, production changes, deletions, pushes to protected branches and "
        "messages outside the company; such steps are held until an approver says yes."
    )
    confidence: float = Field(
        ge=0.0, le=1.0, description="Calibrated probability that domain, action and capabilities are all right."
    )
    urgency: Urgency
