"""Cost estimates for a preview from the editable price table (`prices.yaml`): always labelled an estimate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from sophia.infra.changes import Change

NOTE = (
    "Estimate from the price table ({table}), not a bill or a quote: list prices per month for the resource types it "
    "knows, before discounts, usage, traffic and storage. Unpriced types are left out."
)


class CostLine(BaseModel):
    urn: str
    type: str
    op: str
    monthly_before: float
    monthly_after: float


class CostEstimate(BaseModel):
    estimate: bool = Field(True, description="Always true: these numbers are estimates.")
    currency: str
    period: str
    monthly_delta: float = Field(description="Estimated change of the monthly cost if the preview is applied.")
    lines: list[CostLine]
    unpriced_types: list[str]
    note: str


class PriceTable:
    def __init__(self, path: Path) -> None:
        data = yaml.safe_load(path.read_text()) or {}
        self.path = path
        self.currency = str(data.get("currency", "USD"))
        self.period = str(data.get("period", "month"))
        self.types: dict[str, dict[str, Any]] = dict(data.get("types") or {})

    def price(self, type_: str, inputs: dict[str, Any]) -> float | None:
        """Monthly price of one resource with these inputs; None when the table cannot price it."""
        entry = self.types.get(type_)
        if entry is None:
            return None
        if "size_property" in entry:
            size = _lookup(inputs, entry["size_property"])
            sizes = entry.get("sizes") or {}
            if size not in sizes:
                if "monthly" not in entry:
                    return None
                base = float(entry["monthly"])
            else:
                base = float(sizes[size])
        else:
            base = float(entry.get("monthly", 0.0))
        if "count_property" in entry:
            base *= _count(_lookup(inputs, entry["count_property"]))
        return base

    def estimate(self, changes: list[Change]) -> CostEstimate:
        lines: list[CostLine] = []
        unpriced: set[str] = set()
        for change in changes:
            before = self.price(change.type, change.old_inputs) if change.op not in ("create", "import") else 0.0
            after = self.price(change.type, change.new_inputs) if change.op != "delete" else 0.0
            if before is None or after is None:
                unpriced.add(change.type)
                continue
            if before or after:
                lines.append(CostLine(urn=change.urn, type=change.type, op=change.op,
                                      monthly_before=round(before, 2), monthly_after=round(after, 2)))  # fmt: skip
        delta = sum(line.monthly_after - line.monthly_before for line in lines)
        return CostEstimate(
            currency=self.currency,
            period=self.period,
            monthly_delta=round(delta, 2),
            lines=lines,
            unpriced_types=sorted(unpriced),
            note=NOTE.format(table=self.path.name),
        )


def _lookup(inputs: dict[str, Any], dotted: str) -> Any:
    value: Any = inputs
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _count(value: Any) -> float:
    """A count property: a number or a numeric string (config values are strings); anything else is 1."""
    if isinstance(value, bool):
        return 1.0
    try:
        count = float(value)
    except (TypeError, ValueError):
        return 1.0
    return count if 0 <= count < 1e6 else 1.0
