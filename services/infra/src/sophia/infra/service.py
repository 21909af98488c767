"""The infra `Service`, its dependencies (engine, projects, plans, stack locks, prices) and argument types."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from pydantic import Field
from redis.asyncio import Redis

from sophia.infra.costs import PriceTable
from sophia.infra.engine import Engine
from sophia.infra.locks import StackLocks
from sophia.infra.names import stack_name
from sophia.infra.plans import PlanStore
from sophia.infra.projects import Project, Projects
from sophia.infra.settings import InfraSettings
from sophia.kit import Context, Depends, Service

logger = logging.getLogger("sophia.infra")
# One INFO line per change to a stack: who (call id), what, which stack; never values or secrets.
audit = logging.getLogger("sophia.infra.audit")

service = Service(
    "infra",
    settings=InfraSettings,
    stream_responses=True,
    instructions="Infrastructure as code with Pulumi (Automation API): list stacks, preview (a saved plan with its "
    "hash and a cost estimate), apply exactly a previewed plan (up), destroy, refresh and drift, outputs, history, "
    "cancel, rollback of configuration, config get/set, new stacks. Secrets are never returned.",
)

T = TypeVar("T")


@dataclass
class Runtime:
    settings: InfraSettings
    engine: Engine
    projects: Projects
    plans: PlanStore
    locks: StackLocks
    prices: PriceTable

    def target(self, project: str | None, stack: str) -> tuple[Project, str]:
        """The configured project and the checked stack name (ToolError otherwise)."""
        return self.projects.get(project), stack_name(stack)


def infra_settings(settings: InfraSettings) -> InfraSettings:
    return settings


async def open_runtime(settings: InfraSettings) -> AsyncIterator[Runtime]:
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    if redis is None:
        logger.warning("no Redis configured: stack locks hold in this process only (run one replica)")
    plans = PlanStore(settings.state_dir / "plans", settings.plan_ttl_s)
    plans.prune()
    try:
        yield Runtime(
            settings=settings,
            engine=Engine(settings),
            projects=Projects(settings.projects),
            plans=plans,
            locks=StackLocks(redis, settings.lock_ttl_s),
            prices=PriceTable(settings.price_table),
        )
    finally:
        if redis is not None:
            await redis.aclose()


Settings = Depends(infra_settings)
Rt = Depends(open_runtime)

Stack = Annotated[str, Field(description="Pulumi stack name (e.g. 'dev', 'staging', 'prod').", max_length=300)]
ProjectName = Annotated[
    str | None,
    Field(description="Pulumi project name, as the stacks tool lists it; optional when only one is configured.",
          max_length=100),
]  # fmt: skip

TAGS = {"infra", "pulumi"}


def call_id(ctx: Context | None) -> str:
    """Who holds a lock: the MCP request id of the call (the gateway's audit log has the rest)."""
    try:
        return f"call {ctx.request_id}" if ctx is not None else "an internal call"
    except (ValueError, AttributeError):
        return "an unidentified call"


def progress_reporter(ctx: Context | None) -> Callable[[int, int | None, str], None] | None:
    """A callback the Automation API's event thread can call: it hands progress to the event loop."""
    if ctx is None:
        return None
    loop = asyncio.get_running_loop()

    def report(done: int, total: int | None, message: str) -> None:
        # The loop may be gone (shutdown): progress is best effort.
        with contextlib.suppress(RuntimeError):
            asyncio.run_coroutine_threadsafe(ctx.report_progress(done, total, message[:200]), loop)

    return report


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """The Automation API blocks on the CLI: keep it off the event loop."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args))
