"""The model catalog: what each deployment costs and can do, and what each tier asks of a model.

It is a YAML file (`catalog.yaml` ships in this package; `SOPHIA_ROUTER_CATALOG_PATH` points at an
edited copy). One entry is one deployment: a provider account serving one model. The same model
behind two providers is two entries, so each can cool down on its own. Latency is not in the file:
it is learned from real calls (`usage.py`).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Capability = Literal["tools", "vision", "json"]
CAPABILITIES: tuple[Capability, ...] = ("tools", "vision", "json")


class Tier(StrEnum):
    SIMPLE = "simple"
    BALANCED = "balanced"
    PREMIUM = "premium"


TIERS = (Tier.SIMPLE, Tier.BALANCED, Tier.PREMIUM)


class CatalogError(ValueError):
    """The catalog file is missing, unreadable or invalid."""


class TierSpec(BaseModel):
    """What a tier asks of a model, and how long its answers usually are."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_quality: float = Field(ge=0, le=100, description="Models scoring below this are not adequate.")
    expected_output_tokens: int = Field(gt=0, description="Typical answer length, for cost estimates.")
    max_output_tokens: int = Field(gt=0, description="Cap sent to the model when the call sets no max_tokens.")


class Model(BaseModel):
    """One deployment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._:/-]{0,127}$", description="Catalog id, `<provider>/<model>`.")
    provider: str = Field(description="Name of a provider account in the settings.")
    model: str = Field(min_length=1, description="The model name the provider's API expects.")
    input_per_mtok: float = Field(ge=0, description="USD per million input tokens.")
    output_per_mtok: float = Field(ge=0, description="USD per million output tokens.")
    context_window: int = Field(gt=0, description="Tokens of input plus output the model accepts.")
    max_output_tokens: int = Field(gt=0, description="Most output tokens the model produces in one answer.")
    capabilities: frozenset[Capability] = Field(frozenset(), description="tools, vision, json.")
    quality: float = Field(ge=0, le=100, description="Editorial quality score, 0 to 100.")
    released: date = Field(description="Release date of this model version.")
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = Field(
        "max_tokens", description="Name of the output cap in OpenAI-style requests (reasoning models want the second)."
    )
    params: dict[str, Any] = Field(default_factory=dict, description="Extra request fields, e.g. reasoning_effort.")

    def cost(self, input_tokens: float, output_tokens: float) -> float:
        """USD for a call of these sizes."""
        return (input_tokens * self.input_per_mtok + output_tokens * self.output_per_mtok) / 1e6

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "provider": self.provider,
            "model": self.model,
            "input_per_mtok": self.input_per_mtok,
            "output_per_mtok": self.output_per_mtok,
            "context_window": self.context_window,
            "max_output_tokens": self.max_output_tokens,
            "capabilities": sorted(self.capabilities),
            "quality": self.quality,
            "released": self.released.isoformat(),
        }


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tiers: dict[Tier, TierSpec]
    models: tuple[Model, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Catalog:
        if set(self.tiers) != set(TIERS):
            raise ValueError(f"tiers must define exactly {[t.value for t in TIERS]}")
        ids = [m.id for m in self.models]
        if duplicates := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"duplicate model ids: {duplicates}")
        quality = [self.tiers[t].min_quality for t in TIERS]
        if quality != sorted(quality):
            raise ValueError("min_quality must not decrease from simple to balanced to premium")
        for tier in TIERS:
            if not any(m.quality >= self.tiers[tier].min_quality for m in self.models):
                raise ValueError(f"no model is adequate for tier {tier.value}")
        return self

    def get(self, model_id: str) -> Model | None:
        return next((m for m in self.models if m.id == model_id), None)

    def adequate(self, model: Model, tier: Tier) -> bool:
        return model.quality >= self.tiers[tier].min_quality

    def tier_of(self, model: Model) -> Tier:
        """The highest tier a model is adequate for."""
        return max((t for t in TIERS if self.adequate(model, t)), key=TIERS.index, default=Tier.SIMPLE)


def load_catalog(path: Path | None = None) -> Catalog:
    """Read and validate a catalog file (the shipped one when `path` is None)."""
    try:
        if path is None:
            text = resources.files("sophia.router").joinpath("catalog.yaml").read_text(encoding="utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        raw = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"model catalog {path or 'catalog.yaml'} is unreadable: {exc}") from exc
    try:
        return Catalog.model_validate(raw)
    except ValidationError as exc:
        raise CatalogError(f"model catalog {path or 'catalog.yaml'} is invalid: {exc}") from exc
