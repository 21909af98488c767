"""The router's tools. Input is checked here, at the edge, before anything is read or spent."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field
from redis.exceptions import RedisError

from sophia.kit import Context, Depends, Risk, Service, ToolError
from sophia.router import completion
from sophia.router.budgets import Period
from sophia.router.catalog import Capability, Tier
from sophia.router.engine import Request, Router, open_router
from sophia.router.inputs import images_of, tool_choice_of, tools_of
from sophia.router.settings import RouterSettings

service = Service(
    "router",
    settings=RouterSettings,
    instructions="Smart LLM router: estimates how hard a prompt is, picks the cheapest adequate model within "
    "budget, calls it with fallbacks, and tracks usage, cost and a semantic cache.",
    stream_responses=True,
)

Routing = Depends(open_router)
PRINCIPAL = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
DEFAULT_PRINCIPAL = "anonymous"

PromptArg = Field(description="The prompt, as the user or the planner wrote it.")
SystemArg = Field(None, description="System instructions that frame the reply.")
MaxTokensArg = Field(None, description="Upper bound on the reply's tokens; default: the tier's cap.")
PresetArg = Field(None, description="Policy weights: default, cheap, fast, quality (or one configured).")
JsonArg = Field(False, description="The reply must be one JSON object; only models with JSON support are used.")
RequiresArg: Any = Field(default_factory=list, description="Capabilities the model must have: tools, vision, json.")
ModelArg = Field(None, description="Catalog id of a model to use first (see the models tool), e.g. openai/gpt-5-mini.")
TierArg = Field(None, description="Force a tier instead of estimating it: simple, balanced or premium.")
NamespaceArg = Field(None, description="Whose budget and usage this counts against (the gateway fills it).")
PrincipalArg = Field(None, description="Same as namespace, under its own name; give one of the two.")
ToolsArg: Any = Field(
    default_factory=list,
    description="Functions the model may call: {name, description, parameters (JSON schema)} or OpenAI's "
    "{type: function, function: {...}}; only models with tool support are used; the reply's tool_calls lists "
    "the calls the model made (the caller runs them).",
)
ToolChoiceArg = Field(None, description="auto, none, required, or the name of the one tool the model must call.")
ImagesArg: Any = Field(
    default_factory=list,
    description="Images for the model to look at: https URLs or data:image/png|jpeg|gif|webp;base64 URIs "
    "(at most 8, 5 MB each); only models with vision are used.",
)
MinQualityArg = Field(
    None,
    description="Quality/cost knob, 0 to 1: the cheapest tier whose expected quality (calibrated chance the prompt "
    "needs nothing stronger) reaches it. Default: the preset's (0.6; cheap 0.35, quality 0.8).",
)


def principal_of(namespace: str | None, principal: str | None) -> str:
    if namespace and principal and namespace != principal:
        raise ToolError(f"namespace {namespace!r} and principal {principal!r} disagree; give one of them")
    who = principal or namespace or DEFAULT_PRINCIPAL
    if not PRINCIPAL.match(who):
        raise ToolError(f"invalid principal {who!r}: 1 to 64 letters, digits, '_', '.', '@' or '-'")
    return who


def request_of(router: Router, prompt: str, system: str | None, max_tokens: int | None, **rest: Any) -> Request:
    if not prompt or not prompt.strip():
        raise ToolError("prompt is empty")
    size = len(prompt) + len(system or "")
    if size > router.settings.max_prompt_chars:
        raise ToolError(f"prompt is too long: {size:,} characters, at most {router.settings.max_prompt_chars:,}")
    if max_tokens is not None and not 1 <= max_tokens <= router.settings.max_output_tokens:
        raise ToolError(f"max_tokens must be between 1 and {router.settings.max_output_tokens}, got {max_tokens}")
    knob = rest.get("min_quality")
    if knob is not None and not 0 <= knob <= 1:
        raise ToolError(f"min_quality must be between 0 and 1, got {knob}")
    temperature = rest.get("temperature")
    if temperature is not None and not 0 <= temperature <= 2:
        raise ToolError(f"temperature must be between 0 and 2, got {temperature}")
    if rest.get("model") is not None:
        router.model(rest["model"])
    router.weights(rest.get("preset"))
    requires = frozenset(rest.pop("requires", None) or ())
    tools = tools_of(rest.pop("tools", None))
    choice = tool_choice_of(rest.pop("tool_choice", None), tools)
    images = images_of(rest.pop("images", None))
    return Request(
        prompt=prompt, system=system or None, max_tokens=max_tokens, requires=requires, tools=tools,
        tool_choice=choice, images=images, **rest,
    )  # fmt: skip


@service.tool(read_only=True, tags={"llm", "routing"}, consumes=["text"], produces=["route"])
async def route(
    prompt: str = PromptArg,
    system: str | None = SystemArg,
    max_tokens: int | None = MaxTokensArg,
    preset: str | None = PresetArg,
    json: bool = JsonArg,
    requires: list[Capability] = RequiresArg,
    model: str | None = ModelArg,
    tier: Tier | None = TierArg,
    min_quality: float | None = MinQualityArg,
    namespace: str | None = NamespaceArg,
    principal: str | None = PrincipalArg,
    router: Router = Routing,
) -> dict[str, Any]:
    """Choose the model tier (simple, balanced or premium) and the model for a prompt, with the reasons and the
    estimated cost, without calling any model. The tier comes from what the prompt asks (code, mathematics,
    multi-step reasoning, constraints, stakes, requested length), not from its length; the model is the best
    eligible one under the policy (cost, quality, latency, freshness) within budget."""
    who = principal_of(namespace, principal)
    request = request_of(
        router, prompt, system, max_tokens, preset=preset, json=json, requires=requires, model=model, tier=tier,
        principal=who, min_quality=min_quality,
    )  # fmt: skip
    return await router.route(request)


@service.tool(tags={"llm", "generation"}, consumes=["text"], produces=["text"])
async def complete(
    ctx: Context,
    prompt: str = PromptArg,
    system: str | None = SystemArg,
    max_tokens: int | None = MaxTokensArg,
    model: str | None = ModelArg,
    preset: str | None = PresetArg,
    tier: Tier | None = TierArg,
    min_quality: float | None = MinQualityArg,
    json: bool = JsonArg,
    temperature: float | None = Field(None, description="Sampling temperature, 0 to 2; the model's default."),
    stream: bool = Field(
        False, description="Stream from the provider and send the text as progress notifications while it arrives."
    ),
    cache: bool = Field(
        False, description="Reuse an earlier answer to the same or a near-identical prompt (same system, settings)."
    ),
    fallback: bool = Field(True, description="On failure, try the next best models (with `model`: of its tier)."),
    requires: list[Capability] = RequiresArg,
    tools: list[dict[str, Any]] = ToolsArg,
    tool_choice: str | None = ToolChoiceArg,
    images: list[str] = ImagesArg,
    namespace: str | None = NamespaceArg,
    principal: str | None = PrincipalArg,
    router: Router = Routing,
) -> dict[str, Any]:
    """Route a prompt to the cheapest adequate model within budget and call it; on a 429, 5xx, timeout or
    context overflow, fall back to the next candidate (a short Retry-After is first waited out on the same model).
    Tools and images go only to models that support them; tool calls the model makes come back in `tool_calls`.
    Return the reply `text` with the model used, tier, token
    counts, cost in USD, latency and any failed attempts. No call starts that could exceed a budget."""
    who = principal_of(namespace, principal)
    request = request_of(
        router, prompt, system, max_tokens, model=model, preset=preset, tier=tier, json=json,
        temperature=temperature, stream=stream, cache=cache, fallback=fallback, requires=requires, principal=who,
        min_quality=min_quality, tools=tools, tool_choice=tool_choice, images=images,
    )  # fmt: skip

    async def report(done: float, message: str | None) -> None:
        # Streamed text and fallbacks reach the caller as MCP progress notifications (no-ops without a token).
        await ctx.report_progress(done, None, message)

    return await completion.complete(router, request, report)


@service.tool(read_only=True, tags={"llm", "usage", "cost"}, produces=["usage"])
async def stats(
    namespace: str | None = Field(None, description="One principal's usage; omitted: everyone's together."),
    principal: str | None = PrincipalArg,
    router: Router = Routing,
) -> dict[str, Any]:
    """Report LLM usage so far, as counted from real calls: completions, failures and fallbacks, tokens and spend
    per model, the tier distribution, the semantic cache hit rate, latency per model and the router's own
    overhead, and spend against each budget."""
    who = principal_of(namespace, principal) if (namespace or principal) else None
    try:
        usage = await router.usage.stats(who)
        budget = await router.budgets.status(who)
    except RedisError as exc:
        raise ToolError("the usage store (Redis) is unavailable") from exc
    return {**usage, "budgets": budget}


@service.tool(read_only=True, tags={"llm", "catalog"}, produces=["models"])
async def models(router: Router = Routing) -> dict[str, Any]:
    """List the model catalog: prices per million tokens, context window, capabilities, quality score, release
    date, the highest tier each is adequate for, whether its provider is configured, its learned latency and any
    cooldown; plus the tiers' thresholds, the providers and their circuit breakers."""
    return await router.models()


@service.tool(risk=Risk.MEDIUM, idempotent=True, tags={"llm", "budget", "cost"}, produces=["budget"])
async def set_budget(
    daily_usd: float | None = Field(None, description="Spend limit per UTC day in USD; omitted: unchanged."),
    monthly_usd: float | None = Field(None, description="Spend limit per UTC month in USD; omitted: unchanged."),
    namespace: str | None = Field(None, description="The principal whose limits to set; omitted: the global limits."),
    principal: str | None = PrincipalArg,
    clear: list[Literal["daily", "monthly"]] = Field(
        default_factory=list, description="Periods whose limit returns to the configured default."
    ),
    router: Router = Routing,
) -> dict[str, Any]:
    """Set the daily and/or monthly spend limit of one principal, or the global limits that all principals share.
    A limit of 0 stops all spending; calls in flight keep their reservation. Returns the budgets after the change."""
    who = principal_of(namespace, principal) if (namespace or principal) else None
    for name, value in (("daily_usd", daily_usd), ("monthly_usd", monthly_usd)):
        if value is not None and (value < 0 or value != value or value == float("inf")):
            raise ToolError(f"{name} must be a finite amount of 0 or more, got {value}")
    periods: list[Period] = list(dict.fromkeys(clear))
    if daily_usd is None and monthly_usd is None and not periods:
        raise ToolError("nothing to change: give daily_usd, monthly_usd or clear")
    if (daily_usd is not None and "daily" in periods) or (monthly_usd is not None and "monthly" in periods):
        raise ToolError("a period cannot be both set and cleared")
    try:
        await router.budgets.set_limits(who, daily_usd, monthly_usd, periods)
    except RedisError as exc:
        raise ToolError("the budget store (Redis) is unavailable: nothing was changed") from exc
    return {
        "principal": who,
        "scope": "global" if who is None else "principal",
        "budgets": await router.budgets.status(who),
    }
