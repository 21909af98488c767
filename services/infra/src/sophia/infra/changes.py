"""Engine events (resource by resource) into change summaries, drift reports and progress."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pulumi.automation import EngineEvent, OpType

# Steps that change nothing in the cloud; they are counted, never listed.
QUIET_OPS = {OpType.SAME, OpType.READ, OpType.REFRESH}
# Replacements show up as one `replace` step plus its create/delete halves; the halves are not listed twice.
REPLACE_HALVES = {OpType.CREATE_REPLACEMENT, OpType.DELETE_REPLACED}

Progress = Callable[[int, int | None, str], None]


@dataclass
class Change:
    op: str
    type: str
    urn: str
    name: str
    diffs: list[str]
    old_inputs: dict[str, Any]
    new_inputs: dict[str, Any]


@dataclass
class EventCollector:
    """Called by the Automation API for every engine event (on its log-watcher thread)."""

    progress: Progress | None = None
    total: int | None = None
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    done: int = 0
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    summary: dict[str, int] = field(default_factory=dict)

    def __call__(self, event: EngineEvent) -> None:
        if event.resource_pre_event is not None:
            meta = event.resource_pre_event.metadata
            if meta.type == "pulumi:pulumi:Stack":
                return
            if meta.op in QUIET_OPS:
                self.unchanged += 1
            elif meta.op not in REPLACE_HALVES:
                self.changes.append(
                    Change(
                        op=meta.op.value,
                        type=meta.type,
                        urn=meta.urn,
                        name=meta.urn.rsplit("::", 1)[-1],
                        diffs=list(meta.diffs or []),
                        old_inputs=dict((meta.old.inputs if meta.old else None) or {}),
                        new_inputs=dict((meta.new.inputs if meta.new else None) or {}),
                    )
                )
            if event.resource_pre_event.planning and self.progress:
                self.progress(
                    len(self.changes) + self.unchanged, None, f"{meta.op.value} {meta.type} {_name(meta.urn)}"
                )
        elif event.res_outputs_event is not None:
            meta = event.res_outputs_event.metadata
            if meta.type == "pulumi:pulumi:Stack":
                return
            self.done += 1
            if self.progress:
                self.progress(self.done, self.total, f"{meta.op.value} {meta.type} {_name(meta.urn)}: done")
        elif event.res_op_failed_event is not None:
            meta = event.res_op_failed_event.metadata
            self.failed.append(meta.urn)
            if self.progress:
                self.progress(self.done, self.total, f"{meta.op.value} {meta.type} {_name(meta.urn)}: FAILED")
        elif event.diagnostic_event is not None and event.diagnostic_event.severity == "error":
            self.errors.append(event.diagnostic_event.message.strip())
        elif event.summary_event is not None:
            self.summary = {
                str(getattr(k, "value", k)): int(v) for k, v in event.summary_event.resource_changes.items()
            }


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def by_type(changes: list[Change]) -> dict[str, dict[str, int]]:
    """{op: {resource type: count}}: what a reviewer reads first."""
    grouped: dict[str, dict[str, int]] = {}
    for change in changes:
        per_type = grouped.setdefault(change.op, {})
        per_type[change.type] = per_type.get(change.type, 0) + 1
    return grouped
