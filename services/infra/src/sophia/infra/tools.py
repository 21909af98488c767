"""The infra tools: stacks, preview, up, destroy, refresh, outputs, history, cancel, rollback, config_get,
config_set, new_stack."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from pulumi import automation as auto
from pydantic import Field

from sophia.infra.approvals import (
    config_set_needs_approval,
    new_stack_needs_approval,
    production,
    refresh_needs_approval,
    rollback_needs_approval,
    up_needs_approval,
)
from sophia.infra.changes import Change, EventCollector, by_type
from sophia.infra.engine import SECRET
from sophia.infra.names import config_key, stack_name
from sophia.infra.plans import Plan
from sophia.infra.projects import Project
from sophia.infra.results import (
    CancelResult,
    ConfigResult,
    DestroyResult,
    DriftResult,
    HistoryEntry,
    HistoryResult,
    NewStackResult,
    OutputsResult,
    PreviewResult,
    ResourceChange,
    RollbackResult,
    StackInfo,
    StacksResult,
    UpResult,
)
from sophia.infra.service import (
    TAGS,
    ProjectName,
    Rt,
    Runtime,
    Settings,
    Stack,
    audit,
    call_id,
    in_thread,
    progress_reporter,
    service,
)
from sophia.infra.settings import InfraSettings
from sophia.kit import Context, Risk, ToolError


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() + ("Z" if value and value.tzinfo is None else "") if value else None


def _listed(changes: list[Change], bound: int) -> tuple[list[ResourceChange], int]:
    listed = [ResourceChange(op=c.op, type=c.type, urn=c.urn, diffs=c.diffs) for c in changes[:bound]]
    return listed, max(0, len(changes) - bound)


# -- reads ------------------------------------------------------------------------------------------


@service.tool(read_only=True, tags=TAGS, produces=["stack"])
async def stacks(project: ProjectName = None, rt: Runtime = Rt) -> StacksResult:
    """List the Pulumi stacks of the infrastructure program with their last update time and resource count,
    whether each is production, and whether an operation holds it."""
    chosen = [rt.projects.get(project)] if project else rt.projects.all
    found: list[StackInfo] = []
    for proj in chosen:
        for summary in await in_thread(rt.engine.list_stacks, proj):
            holder = await rt.locks.holder(f"{proj.name}/{summary.name}")
            found.append(
                StackInfo(
                    project=proj.name,
                    name=summary.name,
                    current=summary.current,
                    last_update=_iso(summary.last_update),
                    resource_count=summary.resource_count,
                    update_in_progress=summary.update_in_progress,
                    production=production(rt.settings, summary.name),
                    busy=f"{holder.operation} since {holder.started} by {holder.call}" if holder else None,
                )
            )
    return StacksResult(stacks=found, projects=[p.name for p in rt.projects.all])


@service.tool(read_only=True, tags=TAGS, consumes=["deployment"], produces=["outputs"])
async def outputs(stack: Stack, project: ProjectName = None, rt: Runtime = Rt) -> OutputsResult:
    """Return a Pulumi stack's exported outputs, such as endpoints, URLs and resource ids, with secrets
    masked."""
    proj, stack = rt.target(project, stack)

    def read() -> dict[str, Any]:
        return rt.engine.outputs(rt.engine.select(proj, stack))

    return OutputsResult(project=proj.name, stack=stack, outputs=await in_thread(read))


@service.tool(read_only=True, tags=TAGS, produces=["history"])
async def history(
    stack: Stack,
    project: ProjectName = None,
    limit: int = Field(10, ge=1, le=100, description="How many past updates to return at most."),
    rt: Runtime = Rt,
) -> HistoryResult:
    """List a Pulumi stack's past updates (who deployed what, and when), newest first, with kind, result,
    time and resource changes; the version numbers are what rollback takes. Secrets are masked."""
    proj, stack = rt.target(project, stack)

    def read() -> list[auto.UpdateSummary]:
        return rt.engine.history(rt.engine.select(proj, stack), limit)

    entries = [
        HistoryEntry(
            version=u.version,
            kind=u.kind,
            result=u.result,
            start_time=_iso(u.start_time) or "",
            end_time=_iso(u.end_time),
            message=u.message or "",
            resource_changes={str(getattr(k, "value", k)): v for k, v in (u.resource_changes or {}).items()},
            config={k: SECRET if v.secret else v.value for k, v in (u.config or {}).items()},
        )
        for u in await in_thread(read)
    ]
    return HistoryResult(project=proj.name, stack=stack, updates=entries)


@service.tool(read_only=True, tags=TAGS | {"config"})
async def config_get(
    stack: Stack,
    key: str = Field(
        description="Config key, 'namespace:key' or a bare key in the project's namespace.", max_length=200
    ),
    project: ProjectName = None,
    rt: Runtime = Rt,
) -> ConfigResult:
    """Read one configuration setting (a key such as replicas) of a Pulumi stack; secrets are masked."""
    proj, stack = rt.target(project, stack)
    full = _full_key(proj, config_key(key))

    def read() -> auto.ConfigValue | None:
        return rt.engine.get_config(rt.engine.select(proj, stack), full)

    value = await in_thread(read)
    if value is None:
        raise ToolError(f"stack {stack} has no config key {full}")
    return ConfigResult(project=proj.name, stack=stack, key=full, secret=value.secret,
                        value=SECRET if value.secret else value.value)  # fmt: skip


# -- preview and apply ------------------------------------------------------------------------------


def _preview(rt: Runtime, proj: Project, stack: str, events: EventCollector, destroy: bool) -> PreviewResult:
    """Run a preview (in a worker thread, the stack lock held) and save its plan bound to state and program."""
    selected = rt.engine.select(proj, stack)
    state = rt.engine.state_hash(selected)
    program = proj.program_hash(stack)
    plan_id, plan_file = rt.plans.new_file()
    try:
        rt.engine.preview(selected, plan_file, events, destroy=destroy)
    except BaseException:
        plan_file.unlink(missing_ok=True)
        raise
    plan: Plan | None = None
    if not destroy:
        plan = Plan(
            plan_id=plan_id,
            project=proj.name,
            stack=stack,
            created=time.time(),
            plan_sha256=rt.plans.file_hash(plan_id),
            state_sha256=state,
            program_sha256=program,
            changes=events.summary,
            summary=by_type(events.changes),
            steps=len(events.changes) + events.unchanged,
        )
        rt.plans.save(plan)
    listed, truncated = _listed(events.changes, rt.settings.max_changes)
    prod = production(rt.settings, stack)
    if destroy:
        next_step = f"destroy(stack={stack!r}, project={proj.name!r}) deletes these resources after approval"
    elif not events.changes:
        next_step = "nothing to apply: the stack matches the program"
    else:
        next_step = (
            f"up(stack={stack!r}, project={proj.name!r}, plan_id={plan_id!r}) applies exactly this plan after an "
            "approver accepts it; it is refused if the stack or the program changes first"
        )
    return PreviewResult(
        project=proj.name,
        stack=stack,
        production=prod,
        plan_id=plan.plan_id if plan else None,
        plan_hash=plan.plan_hash if plan else None,
        changes=events.summary,
        by_type=by_type(events.changes),
        resources=listed,
        truncated=truncated,
        unchanged=events.unchanged,
        cost=rt.prices.estimate(events.changes),
        next_step=next_step,
    )


@service.tool(read_only=True, tags=TAGS, consumes=["commit"], produces=["preview"])
async def preview(
    stack: Stack,
    project: ProjectName = None,
    destroy: bool = Field(False, description="Preview a destroy instead: what would be deleted."),
    ctx: Context | None = None,
    rt: Runtime = Rt,
) -> PreviewResult:
    """Dry-run a deploy of a Pulumi stack: show which resources an update would create, change or delete,
    without touching anything. Saves the plan that up applies, with an estimated monthly cost."""
    proj, stack = rt.target(project, stack)
    events = EventCollector(progress_reporter(ctx))
    async with rt.locks.hold(f"{proj.name}/{stack}", "preview", call_id(ctx)):
        return await in_thread(_preview, rt, proj, stack, events, destroy)


@service.tool(
    risk=Risk.HIGH, tags=TAGS | {"deploy"}, consumes=["preview"], produces=["deployment"], approval=up_needs_approval
)
async def up(
    stack: Stack,
    plan_id: str = Field(description="The plan_id a preview of this stack returned.", max_length=64),
    project: ProjectName = None,
    ctx: Context | None = None,
    rt: Runtime = Rt,
    settings: InfraSettings = Settings,
) -> UpResult:
    """Deploy a Pulumi stack: apply its pending changes to the live cloud resources and return the new
    outputs. Applies exactly the plan a preview saved (plan_id), refused if the stack or program changed since."""
    proj, stack = rt.target(project, stack)
    plan = rt.plans.load(plan_id)
    if (plan.project, plan.stack) != (proj.name, stack):
        raise ToolError(f"plan {plan_id} was made for stack {plan.stack} of project {plan.project}, not {stack}")
    events = EventCollector(progress_reporter(ctx), total=plan.steps or None)
    who = call_id(ctx)

    def apply() -> dict[str, Any]:
        selected = rt.engine.select(proj, stack)
        if rt.plans.file_hash(plan_id) != plan.plan_sha256:
            raise ToolError(f"plan {plan_id} no longer matches its hash (the plan file changed); preview again")
        if rt.engine.state_hash(selected) != plan.state_sha256:
            raise ToolError(f"stack {stack} changed since plan {plan_id} was made (another update or refresh); "
                            "preview again")  # fmt: skip
        if proj.program_hash(stack) != plan.program_sha256:
            raise ToolError(f"the program of project {proj.name} or the stack's config changed since plan {plan_id} "
                            "was made; preview again")  # fmt: skip
        audit.info("up", extra={"stack": stack, "project": proj.name, "plan_id": plan_id, "call": who})
        try:
            rt.engine.up(selected, rt.plans.plan_file(plan_id), events, message=f"sophia: plan {plan_id}")
        finally:
            rt.plans.discard(plan_id)  # single use: applied, or made stale by a partial update
        return rt.engine.outputs(selected)

    async with rt.locks.hold(f"{proj.name}/{stack}", "up", who):
        outs = await in_thread(apply)
    return UpResult(project=proj.name, stack=stack, plan_id=plan_id, changes=events.summary,
                    resources_done=events.done, outputs=outs)  # fmt: skip


@service.tool(risk=Risk.CRITICAL, destructive=True, tags=TAGS | {"deploy"}, consumes=["stack"])
async def destroy(
    stack: Stack,
    project: ProjectName = None,
    ctx: Context | None = None,
    rt: Runtime = Rt,
) -> DestroyResult:
    """Tear down every cloud resource a Pulumi stack manages; this cannot be undone. preview with
    destroy=true shows what would go."""
    proj, stack = rt.target(project, stack)
    events = EventCollector(progress_reporter(ctx))
    who = call_id(ctx)

    def run() -> None:
        selected = rt.engine.select(proj, stack)
        audit.info("destroy", extra={"stack": stack, "project": proj.name, "call": who})
        rt.engine.destroy(selected, events, message="sophia: destroy")

    async with rt.locks.hold(f"{proj.name}/{stack}", "destroy", who):
        await in_thread(run)
    deleted, _ = _listed([c for c in events.changes if c.op == "delete"], rt.settings.max_changes)
    return DestroyResult(project=proj.name, stack=stack, deleted=deleted, changes=events.summary)


@service.tool(
    risk=Risk.MEDIUM, idempotent=True, tags=TAGS | {"drift"}, produces=["drift"], approval=refresh_needs_approval
)
async def refresh(
    stack: Stack,
    project: ProjectName = None,
    preview_only: bool = Field(False, description="Only report the drift; leave the recorded state as it is."),
    ctx: Context | None = None,
    rt: Runtime = Rt,
    settings: InfraSettings = Settings,
) -> DriftResult:
    """Compare a Pulumi stack's recorded state with the live cloud resources, report the drift and update the
    state to match (preview_only: report only)."""
    proj, stack = rt.target(project, stack)
    events = EventCollector(progress_reporter(ctx))
    who = call_id(ctx)

    def run() -> None:
        selected = rt.engine.select(proj, stack)
        if not preview_only:
            audit.info("refresh", extra={"stack": stack, "project": proj.name, "call": who})
        rt.engine.refresh(selected, events, preview_only)

    async with rt.locks.hold(f"{proj.name}/{stack}", "refresh", who):
        await in_thread(run)
    drifted, _ = _listed(events.changes, rt.settings.max_changes)
    return DriftResult(project=proj.name, stack=stack, applied=not preview_only, drifted=drifted,
                       in_sync=events.unchanged, changes=events.summary)  # fmt: skip


@service.tool(risk=Risk.MEDIUM, tags=TAGS | {"deploy"})
async def cancel(
    stack: Stack, project: ProjectName = None, ctx: Context | None = None, rt: Runtime = Rt
) -> CancelResult:
    """Abort the operation currently in progress on a Pulumi stack."""
    proj, stack = rt.target(project, stack)

    def run() -> None:
        rt.engine.cancel(rt.engine.select(proj, stack))

    audit.info("cancel", extra={"stack": stack, "project": proj.name, "call": call_id(ctx)})
    await in_thread(run)
    return CancelResult(project=proj.name, stack=stack, cancelled=True)


# -- configuration ----------------------------------------------------------------------------------


def _full_key(proj: Project, key: str) -> str:
    return key if ":" in key else f"{proj.name}:{key}"


@service.tool(risk=Risk.MEDIUM, tags=TAGS | {"config"}, approval=config_set_needs_approval)
async def config_set(
    stack: Stack,
    key: str = Field(
        description="Config key, 'namespace:key' or a bare key in the project's namespace.", max_length=200
    ),
    value: str = Field(description="The value, passed to pulumi as one argument (never through a shell)."),
    secret: bool = Field(False, description="Store encrypted; the value is never shown again."),
    project: ProjectName = None,
    ctx: Context | None = None,
    rt: Runtime = Rt,
    settings: InfraSettings = Settings,
) -> ConfigResult:
    """Change one configuration setting (a key and its value) of a Pulumi stack, optionally as an
    encrypted secret. The value is never returned."""
    proj, stack = rt.target(project, stack)
    full = _full_key(proj, config_key(key))
    if len(value.encode()) > rt.settings.max_config_value_bytes:
        raise ToolError(f"value too long: at most {rt.settings.max_config_value_bytes} bytes")
    if "\0" in value:
        raise ToolError("value contains a NUL character")
    who = call_id(ctx)

    def run() -> None:
        rt.engine.set_config(rt.engine.select(proj, stack), full, value, secret)

    async with rt.locks.hold(f"{proj.name}/{stack}", "config_set", who):
        await in_thread(run)
    audit.info("config_set", extra={"stack": stack, "project": proj.name, "key": full, "secret": secret, "call": who})
    return ConfigResult(project=proj.name, stack=stack, key=full, secret=secret, value=None)


@service.tool(
    risk=Risk.MEDIUM, tags=TAGS | {"deploy", "config"}, produces=["preview"], approval=rollback_needs_approval
)
async def rollback(
    stack: Stack,
    version: int = Field(ge=1, description="The deployment version (from history) whose configuration to restore."),
    project: ProjectName = None,
    ctx: Context | None = None,
    rt: Runtime = Rt,
    settings: InfraSettings = Settings,
) -> RollbackResult:
    """Roll back the config settings of a Pulumi stack to an earlier version's (from history); returns a
    preview whose plan_id up applies. Program code is not rolled back."""
    proj, stack = rt.target(project, stack)
    events = EventCollector(progress_reporter(ctx))
    who = call_id(ctx)

    def run() -> tuple[list[str], list[str], PreviewResult]:
        selected = rt.engine.select(proj, stack)
        entries = rt.engine.history(selected, 100, show_secrets=True)
        target = next((e for e in entries if e.version == version), None)
        if target is None:
            raise ToolError(f"stack {stack} has no deployment version {version} in its last 100 updates")
        old = dict(target.config or {})
        rt.engine.remember_secrets(str(v.value) for v in old.values() if v.secret)
        current = rt.engine.all_config(selected)
        restored = [k for k, v in old.items() if k not in current or current[k].value != v.value
                    or current[k].secret != v.secret]  # fmt: skip
        removed = [k for k in current if k not in old]
        audit.info("rollback", extra={"stack": stack, "project": proj.name, "version": version, "call": who})
        for key in restored:
            config_key(key)
            rt.engine.set_config(selected, key, str(old[key].value), old[key].secret)
        for key in removed:
            rt.engine.remove_config(selected, config_key(key))
        return restored, removed, _preview(rt, proj, stack, events, destroy=False)

    async with rt.locks.hold(f"{proj.name}/{stack}", "rollback", who):
        restored, removed, result = await in_thread(run)
    return RollbackResult(
        project=proj.name,
        stack=stack,
        version=version,
        restored_keys=restored,
        removed_keys=removed,
        preview=result,
        note="Configuration restored; nothing is deployed until up applies the preview's plan_id. Program code is "
        "not rolled back: check out the matching commit for that.",
    )


@service.tool(risk=Risk.MEDIUM, tags=TAGS | {"deploy"}, produces=["stack"], approval=new_stack_needs_approval)
async def new_stack(
    stack: Stack,
    project: ProjectName = None,
    copy_config_from: str | None = Field(
        None,
        description="An existing stack of the same project whose configuration the new one starts with.",
        max_length=300,
    ),
    ctx: Context | None = None,
    rt: Runtime = Rt,
    settings: InfraSettings = Settings,
) -> NewStackResult:
    """Create an empty Pulumi stack for a new environment, optionally copying another stack's settings."""
    proj, stack = rt.target(project, stack)
    source = stack_name(copy_config_from) if copy_config_from else None
    who = call_id(ctx)

    def run() -> list[str]:
        config: dict[str, auto.ConfigValue] = {}
        if source:
            config = rt.engine.all_config(rt.engine.select(proj, source))
        created = rt.engine.create(proj, stack)
        for key, value in config.items():
            rt.engine.set_config(created, config_key(key), str(value.value), value.secret)
        audit.info("new_stack", extra={"stack": stack, "project": proj.name, "from": source, "call": who})
        return sorted(config)

    async with rt.locks.hold(f"{proj.name}/{stack}", "new_stack", who):
        copied = await in_thread(run)
    return NewStackResult(project=proj.name, stack=stack, production=production(rt.settings, stack), copied_keys=copied)
