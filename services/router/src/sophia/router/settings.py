"""Settings of the router service (``SOPHIA_ROUTER_*``; ``REDIS_URL`` too)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, model_validator

from sophia.kit import ServiceSettings
from sophia.router.tiers import DEFAULT_MIN_QUALITY

ProviderKind = Literal["openai", "anthropic"]

# Base URLs of the providers people name most; any other name needs its own `base_url`.
KNOWN_BASE_URLS: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "openrouter": "https://openrouter.ai/api/v1",
    "portkey": "https://api.portkey.ai/v1",
    "ollama": "http://127.0.0.1:11434/v1",
    "vllm": "http://127.0.0.1:8000/v1",
}


class Provider(BaseModel):
    """One provider account: where to send requests and with which key.

    `kind` picks the wire format: `openai` (`POST <base_url>/chat/completions`: OpenAI, OpenRouter,
    Portkey, vLLM, Ollama, LiteLLM) or `anthropic` (`POST <base_url>/v1/messages`).
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,31}$", description="The name catalog entries refer to.")
    kind: ProviderKind | None = Field(
        None, description="Wire format; defaults to anthropic for 'anthropic', else openai."
    )
    base_url: str | None = Field(None, description="API root; defaults for openai, anthropic, openrouter, portkey, ...")
    api_key: SecretStr | None = Field(None, description="The key itself (prefer api_key_env).")
    api_key_env: str | None = Field(None, description="Name of the environment variable holding the key.")
    headers: dict[str, SecretStr] = Field(
        default_factory=dict, description="Extra headers (Portkey's x-portkey-*, OpenRouter's HTTP-Referer)."
    )

    @model_validator(mode="after")
    def _resolvable(self) -> Provider:
        if self.base_url is None and self.name not in KNOWN_BASE_URLS:
            raise ValueError(f"provider {self.name!r} needs a base_url (known names: {sorted(KNOWN_BASE_URLS)})")
        if self.api_key is not None and self.api_key_env is not None:
            raise ValueError(f"provider {self.name!r}: give api_key or api_key_env, not both")
        return self

    @property
    def wire(self) -> ProviderKind:
        return self.kind or ("anthropic" if self.name == "anthropic" else "openai")

    @property
    def url(self) -> str:
        return (self.base_url or KNOWN_BASE_URLS[self.name]).rstrip("/")

    def key(self) -> str | None:
        """The API key, read now (an environment variable may be set after start-up in tests)."""
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        if self.api_key_env is not None:
            return os.environ.get(self.api_key_env) or None
        return None

    def missing(self) -> str | None:
        """Why this provider cannot be called, or None when it can."""
        if self.api_key_env is not None and not os.environ.get(self.api_key_env):
            return f"its key variable {self.api_key_env} is not set"
        return None


class Weights(BaseModel):
    """How much each criterion counts when choosing among the models adequate for a tier."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cost: float = Field(ge=0, description="Cheaper estimated cost of this call.")
    quality: float = Field(ge=0, description="Higher quality score in the catalog.")
    latency: float = Field(ge=0, description="Lower latency observed at run time.")
    freshness: float = Field(ge=0, description="More recent release.")
    min_quality: float = Field(
        DEFAULT_MIN_QUALITY,
        ge=0,
        le=1,
        description="The quality/cost knob: the cheapest tier whose expected quality (the calibrated chance the "
        "prompt does not need a stronger tier) reaches this is chosen. Higher pays for stronger tiers sooner.",
    )

    @model_validator(mode="after")
    def _some_weight(self) -> Weights:
        if self.cost + self.quality + self.latency + self.freshness <= 0:
            raise ValueError("at least one weight must be positive")
        return self


# The default is "cheapest adequate": every eligible model already meets the tier's quality bar, so
# cost leads and quality above the bar only breaks near-ties. Presets lean elsewhere on request.
DEFAULT_WEIGHTS = Weights(cost=0.6, quality=0.2, latency=0.1, freshness=0.1)
DEFAULT_PRESETS = {
    "cheap": Weights(cost=0.85, quality=0.05, latency=0.05, freshness=0.05, min_quality=0.35),
    "fast": Weights(cost=0.15, quality=0.1, latency=0.65, freshness=0.1),
    "quality": Weights(cost=0.1, quality=0.7, latency=0.05, freshness=0.15, min_quality=0.8),
}


class RouterSettings(ServiceSettings):
    """What the router reads from its environment.

    Providers are a JSON list, for example
    ``SOPHIA_ROUTER_PROVIDERS='[{"name": "openai", "api_key_env": "OPENAI_API_KEY"}]'``.
    ``REDIS_URL`` (exported by `sophia up`) is accepted without the prefix; the prefixed name wins.
    """

    redis_url: str = Field(
        "redis://127.0.0.1:6379/0",
        validation_alias=AliasChoices("SOPHIA_ROUTER_REDIS_URL", "REDIS_URL", "redis_url"),
        description="Redis for budgets, usage, learned latency, cooldowns and the semantic cache.",
    )
    providers: list[Provider] = Field(
        default_factory=list, description="Provider accounts; none configured: `complete` refuses, `route` works."
    )
    catalog_path: Path | None = Field(
        None, description="Model catalog YAML; unset: the catalog shipped in the package."
    )
    weights: Weights = Field(DEFAULT_WEIGHTS, description="Policy weights used when a call names no preset.")
    presets: dict[str, Weights] = Field(
        default_factory=lambda: dict(DEFAULT_PRESETS), description="Named weight sets a call may ask for."
    )
    freshness_half_life_days: float = Field(365, gt=0, description="A model this many days old scores half as fresh.")
    max_prompt_chars: int = Field(400_000, gt=0, description="Longest prompt (plus system) accepted, in characters.")
    max_output_tokens: int = Field(32_768, gt=0, description="Largest max_tokens a call may ask for.")
    max_attempts: int = Field(
        4, ge=1, le=10, description="Most models one `complete` tries (first choice + fallbacks)."
    )
    connect_timeout_s: float = Field(5, gt=0, description="Seconds to open a connection to a provider.")
    request_timeout_s: float = Field(60, gt=0, description="Seconds one provider attempt may take in all.")
    complete_timeout_s: float = Field(120, gt=0, description="Seconds one `complete` may take, fallbacks included.")
    cooldown_s: float = Field(15, ge=0, description="A deployment that failed (5xx, timeout, garbage) rests this long.")
    rate_limit_cooldown_s: float = Field(30, ge=0, description="Rest after a 429 that carries no Retry-After.")
    max_cooldown_s: float = Field(600, ge=0, description="Longest rest a Retry-After can impose.")
    retry_same_max_s: float = Field(
        2.0,
        ge=0,
        le=30,
        description="A 429 or 503 whose Retry-After is at most this many seconds is waited out and retried on "
        "the same deployment before falling back (a longer one, or none, falls back at once).",
    )
    retry_same_times: int = Field(1, ge=0, le=3, description="Most such retries on one deployment per call.")
    breaker_failures: int = Field(5, ge=1, description="Consecutive failures that open a provider's circuit breaker.")
    breaker_open_s: float = Field(30, gt=0, description="How long an open breaker refuses before one trial call.")
    global_daily_usd: float | None = Field(None, ge=0, description="Default spend limit per UTC day, all principals.")
    global_monthly_usd: float | None = Field(
        None, ge=0, description="Default spend limit per UTC month, all principals."
    )
    principal_daily_usd: float | None = Field(None, ge=0, description="Default spend limit per UTC day per principal.")
    principal_monthly_usd: float | None = Field(
        None, ge=0, description="Default spend limit per UTC month per principal."
    )
    cache_threshold: float = Field(
        0.95, gt=0, le=1, description="Cosine similarity from which an earlier prompt's answer is reused."
    )
    cache_ttl_s: int = Field(3600, gt=0, description="How long a cached answer may be reused.")
    cache_max_entries: int = Field(2000, gt=0, description="Most cached answers kept per principal and context.")
    tier_embeddings: bool = Field(
        False,
        description="Blend a nearest-neighbour vote over the example library (local sentence model, ~5 ms a prompt) "
        "into the tier estimate. Off: features and a logistic model only (well under 2 ms).",
    )
    gain_model: bool = Field(
        True,
        description="Decide premium for closed questions on the expected gain of the strong model (gain.py: P(strong "
        "right and weaker wrong)) instead of the tier model's premium probability; open tasks keep the tier model's. "
        "On by default: on the blind replay it needs fewer strong calls for 95% of strong quality (see the README).",
    )
    gain_data: list[Path] = Field(
        [],
        description="Extra strong/weak correctness files (JSON lines: prompt, strong_correct, weak_correct) the gain "
        "model also trains on at start: your own models' graded answers. A JSON list of paths.",
    )
    preload_embeddings: bool = Field(
        False, description="Load the sentence model at start, not at the first cache call."
    )
    embedding_threads: int = Field(2, gt=0, description="CPU threads the local sentence model may use.")
    latency_samples: int = Field(500, gt=0, description="Recent latencies kept per model for the percentiles in stats.")
    latency_alpha: float = Field(0.2, gt=0, le=1, description="Weight of the newest observation in learned latency.")

    @model_validator(mode="after")
    def _unique_providers(self) -> RouterSettings:
        names = [p.name for p in self.providers]
        if len(names) != len(set(names)):
            raise ValueError(f"provider names must be unique, got {names}")
        if self.request_timeout_s > self.complete_timeout_s:
            raise ValueError("request_timeout_s cannot exceed complete_timeout_s")
        return self

    @property
    def hold_ttl_s(self) -> float:
        """A budget reservation outlives any `complete` (which is cut at complete_timeout_s), so a
        replica that dies mid-call frees its reservation soon after."""
        return self.complete_timeout_s + 30
