"""Per-call approval checks (the kit's server-declared approvals): a production stack makes a call wait for
an approver; the same call on a dev stack runs now. No side effects: the gateway may call these as a dry
probe while planning."""

from __future__ import annotations

from typing import Any

from sophia.infra.names import matches
from sophia.infra.settings import InfraSettings


def production(settings: InfraSettings, stack: object) -> bool:
    return isinstance(stack, str) and matches(stack, settings.production_stacks)


def _on_production(action: str, args: dict[str, Any]) -> str | None:
    settings = args.get("settings")
    stack = args.get("stack")
    if not isinstance(settings, InfraSettings):
        # Fail closed: without settings we cannot tell production apart.
        return f"{action} needs an approver (settings unavailable)"
    if production(settings, stack):
        return f"{action} on production stack {stack}"
    return None


def up_needs_approval(args: dict[str, Any]) -> str | None:
    """`up` is risk high, so the gateway holds every call; on production the server also refuses to run it
    without an approver's grant (the critical case), so nothing that reaches the server directly applies
    to production unapproved."""
    return _on_production("apply", args)


def refresh_needs_approval(args: dict[str, Any]) -> str | None:
    if args.get("preview_only"):
        return None
    return _on_production("refresh (rewrites recorded state)", args)


def rollback_needs_approval(args: dict[str, Any]) -> str | None:
    return _on_production("rollback of configuration", args)


def config_set_needs_approval(args: dict[str, Any]) -> str | None:
    return _on_production("config change", args)


def new_stack_needs_approval(args: dict[str, Any]) -> str | None:
    return _on_production("new stack", args)
