"""The tools' output models (their MCP output schemas)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from sophia.infra.costs import CostEstimate


class StackInfo(BaseModel):
    project: str
    name: str
    current: bool
    last_update: str | None = Field(description="When the last update finished (UTC, ISO 8601); null if never.")
    resource_count: int | None
    update_in_progress: bool | None
    production: bool
    busy: str | None = Field(None, description="The operation of this service holding the stack, if any.")


class StacksResult(BaseModel):
    stacks: list[StackInfo]
    projects: list[str]


class ResourceChange(BaseModel):
    op: str = Field(description="create, update, replace or delete.")
    type: str
    urn: str
    diffs: list[str] = Field(description="Names of the changed properties (values are never shown).")


class PreviewResult(BaseModel):
    project: str
    stack: str
    production: bool
    plan_id: str | None = Field(description="Pass to up to apply exactly this plan (null for a destroy preview).")
    plan_hash: str | None = Field(description="SHA-256 binding the plan file, the stack's state and the program.")
    changes: dict[str, int] = Field(description="Steps per operation, from the engine's summary.")
    by_type: dict[str, dict[str, int]] = Field(description="{operation: {resource type: count}}.")
    resources: list[ResourceChange]
    truncated: int = Field(0, description="Changes left out of `resources` (over the listing bound).")
    unchanged: int
    cost: CostEstimate | None
    next_step: str


class UpResult(BaseModel):
    project: str
    stack: str
    plan_id: str
    changes: dict[str, int]
    resources_done: int
    outputs: dict[str, Any] = Field(description="Stack outputs after the update; secrets are '[secret]'.")


class DestroyResult(BaseModel):
    project: str
    stack: str
    deleted: list[ResourceChange]
    changes: dict[str, int]


class DriftResult(BaseModel):
    project: str
    stack: str
    applied: bool = Field(description="True when the recorded state was updated to match the cloud.")
    drifted: list[ResourceChange] = Field(
        description="Resources whose live state differs (update) or is gone (delete)."
    )
    in_sync: int
    changes: dict[str, int]


class OutputsResult(BaseModel):
    project: str
    stack: str
    outputs: dict[str, Any] = Field(description="Exported outputs; secret ones are '[secret]'.")


class HistoryEntry(BaseModel):
    version: int | None
    kind: str
    result: str
    start_time: str
    end_time: str | None
    message: str
    resource_changes: dict[str, int] | None
    config: dict[str, Any] = Field(description="The configuration of that deployment; secrets are '[secret]'.")


class HistoryResult(BaseModel):
    project: str
    stack: str
    updates: list[HistoryEntry]


class ConfigResult(BaseModel):
    project: str
    stack: str
    key: str
    secret: bool
    value: Any = Field(None, description="The value; '[secret]' for secrets, which are never returned.")


class CancelResult(BaseModel):
    project: str
    stack: str
    cancelled: bool


class RollbackResult(BaseModel):
    project: str
    stack: str
    version: int
    restored_keys: list[str] = Field(description="Config keys set back to that deployment's values.")
    removed_keys: list[str]
    preview: PreviewResult
    note: str


class NewStackResult(BaseModel):
    project: str
    stack: str
    production: bool
    copied_keys: list[str]
