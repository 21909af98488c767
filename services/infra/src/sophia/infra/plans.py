"""Saved plans: what `preview` showed, bound to the plan file, the stack's state and the program, so that
`up` applies exactly that or nothing."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sophia.kit import ToolError

PLAN_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class Plan:
    plan_id: str
    project: str
    stack: str
    created: float
    plan_sha256: str
    state_sha256: str
    program_sha256: str
    changes: dict[str, int]
    summary: dict[str, Any]
    steps: int  # resource steps the engine will report (progress total), the stack resource left out

    @property
    def plan_hash(self) -> str:
        """One hash for the whole binding: the plan file, the state it was made against, the program."""
        blob = f"{self.project}\0{self.stack}\0{self.plan_sha256}\0{self.state_sha256}\0{self.program_sha256}"
        return hashlib.sha256(blob.encode()).hexdigest()


class PlanStore:
    """Plans under <data_dir>/infra/plans: `<id>.plan.json` (pulumi's) and `<id>.json` (ours)."""

    def __init__(self, root: Path, ttl_s: int) -> None:
        self.root = root
        self.ttl_s = ttl_s
        root.mkdir(parents=True, exist_ok=True)

    def new_file(self) -> tuple[str, Path]:
        plan_id = secrets.token_hex(16)
        return plan_id, self.root / f"{plan_id}.plan.json"

    def save(self, plan: Plan) -> None:
        (self.root / f"{plan.plan_id}.json").write_text(json.dumps(asdict(plan)))

    def file_hash(self, plan_id: str) -> str:
        return hashlib.sha256(self.plan_file(plan_id).read_bytes()).hexdigest()

    def plan_file(self, plan_id: str) -> Path:
        return self.root / f"{plan_id}.plan.json"

    def load(self, plan_id: str) -> Plan:
        if not PLAN_ID.match(plan_id):
            raise ToolError("invalid plan_id: use the plan_id a preview returned")
        meta = self.root / f"{plan_id}.json"
        if not meta.exists() or not self.plan_file(plan_id).exists():
            raise ToolError(f"no saved plan {plan_id}: run preview first (plans are single-use)")
        plan = Plan(**json.loads(meta.read_text()))
        if time.time() - plan.created > self.ttl_s:
            self.discard(plan_id)
            raise ToolError(f"plan {plan_id} expired; run preview again")
        return plan

    def discard(self, plan_id: str) -> None:
        for path in (self.root / f"{plan_id}.json", self.plan_file(plan_id)):
            path.unlink(missing_ok=True)

    def prune(self) -> None:
        cutoff = time.time() - self.ttl_s
        for path in self.root.glob("*.json"):
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
