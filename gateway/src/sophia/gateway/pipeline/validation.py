"""Stage 5, argument validation: the arguments must match the tool's input schema before anything is
held or sent. A call that needs approval is therefore checked before it is queued: an approver never
approves a call that cannot run.

Bounds come first (nesting depth, sizes), so a hostile body is refused before the schema walks it.
Messages name the argument and the rule, cut short: they never repeat a long value back.
"""

from __future__ import annotations

from typing import Any

from sophia.gateway.catalog import Catalog
from sophia.gateway.errors import InvalidArguments
from sophia.gateway.pipeline.call import Call, Next, Outcome, Stage

MAX_DEPTH = 32
MAX_ERRORS_SHOWN = 5
MAX_MESSAGE_CHARS = 200


def nesting_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether `value` nests deeper than `limit` (iterative: a deep value cannot overflow the stack)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return False


class ValidationStage(Stage):
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    async def handle(self, call: Call, next: Next) -> Outcome:
        assert call.route is not None
        if nesting_depth_exceeds(call.arguments, MAX_DEPTH):
            raise InvalidArguments(f"invalid arguments for {call.name}: nested deeper than {MAX_DEPTH} levels")
        validator = self.catalog.validator(call.route)
        if validator is not None and not validator.is_valid(call.arguments):
            problems = []
            errors = sorted(validator.iter_errors(call.arguments), key=lambda e: [str(p) for p in e.instance_path])
            for error in errors[:MAX_ERRORS_SHOWN]:
                where = ".".join(map(str, error.instance_path)) or "arguments"
                message = error.message
                if len(message) > MAX_MESSAGE_CHARS:  # it quotes a long value back: keep the rule, not the value
                    message = f"{message[: MAX_MESSAGE_CHARS // 2]}…{message[-MAX_MESSAGE_CHARS // 2 :]}"
                problems.append(f"{where}: {message}")
            raise InvalidArguments(f"invalid arguments for {call.name}: " + "; ".join(problems))
        return await next(call)
