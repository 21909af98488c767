"""Readable words for `ask`'s events, one wording for every place a person watches an `ask` run: the MCP
tool's progress notifications and `sophia ask`'s live lines (which read the `/v1/ask` event stream).

The event names are the wire contract (`intent`, `plan`, `step_started`, …); people read what happens
("planning 3 steps", "running memory_recall"), never "intent: intent".
"""

from __future__ import annotations

from typing import Any

#: Said before the first event: classification and planning happen before anything is emitted.
STARTING = "classifying"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def describe(event: str, data: dict[str, Any]) -> str:
    """One short line for an `ask` event; unknown events still read as words."""
    tool = str(data.get("tool") or "a step")
    if event == "intent":
        capabilities = ", ".join(data.get("capabilities") or [])
        return f"classified as {data.get('action', 'a request')}" + (f" ({capabilities})" if capabilities else "")
    if event == "plan":
        steps = data.get("steps") or []
        tools = ", ".join(str(step.get("tool")) for step in steps)
        return f"planning {_plural(len(steps), 'step')}" + (f": {tools}" if tools else "")
    if event == "round":
        steps = data.get("steps") or []
        tools = ", ".join(str(step.get("tool")) for step in steps)
        return f"round {data.get('round')}: following up with {_plural(len(steps), 'step')}" + (
            f": {tools}" if tools else ""
        )
    if event == "step_started":
        return f"running {tool}"
    if event == "step_finished":
        return f"{tool} done"
    if event == "step_failed":
        error = data.get("error") or {}
        return f"{tool} failed" + (f": {error.get('message')}" if error.get("message") else "")
    if event == "step_held":
        approval = (data.get("approval") or {}).get("id")
        return f"{tool} held for approval" + (f" (sophia approve {approval})" if approval else "")
    if event == "step_skipped":
        reason = (data.get("error") or {}).get("message")
        return f"{tool} skipped" + (f" ({reason})" if reason else "")
    if event == "answer":
        return "answered"
    return event.replace("_", " ")
