"""Arguments from live state: the names the fleet knows (repositories, stacks) fill a plan's steps.

The request's words alone cannot tell a repository called `sophia` from any other word, nor that
"heron-staging" is one stack and not the `staging` stack. So after planning, for each step whose tool
takes such a name, the gateway asks the service that owns the names for its list (`code_list_repos`,
`infra_stacks`) through its own call pipeline (the caller's policy and scoping apply, as to any step),
keeps the list briefly per principal, and looks for those names in the request: whole words, any
case, quoted or not. A name found fills the argument when the request's own reading left it unset or
set it to something no service knows; two different names found is ambiguous and fills nothing (the
answer then asks). Names from a service are data: they are used only as values, after control
characters are removed and the length is bounded, and never read as instructions.
"""

from __future__ import annotations

import functools
import re
import time
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sophia.gateway.executor import Executor
from sophia.gateway.planner import Plan, Planner, Step, is_ref
from sophia.gateway.render import structured
from sophia.gateway.security.principals import current

MAX_NAME_CHARS = 100
MAX_NAMES = 500  # per list: a workspace with more is cut here, not a reason to grow the gateway's memory
TTL_S = 30.0  # a repository added a minute ago should be found
MAX_CACHED = 256  # (principal, list) pairs kept


@dataclass(frozen=True)
class Source:
    """Where the names for one kind of argument come from: a list tool and the field of its result."""

    tool: str
    key: str  # the list in the tool's structured result
    argument: str  # the step argument its names fill
    noun: str


SOURCES = (
    Source(tool="code_list_repos", key="repos", argument="repo", noun="repository"),
    Source(tool="infra_stacks", key="stacks", argument="stack", noun="stack"),
)


def clean_name(value: Any) -> str | None:
    """A name from a tool result as a value: control and format characters removed, bounded; else None."""
    if not isinstance(value, str):
        return None
    text = "".join(ch for ch in value if not unicodedata.category(ch).startswith("C")).strip()
    return text if 0 < len(text) <= MAX_NAME_CHARS else None


def mentioned(names: list[str], request: str) -> list[str]:
    """The names the request mentions as whole words (any case, quoted or not), in the service's spelling;
    a name is not found inside a longer word or name ("staging" in "heron-staging", "sophia" in "sophia.py")."""
    if not names:
        return []
    spelled = {name.lower(): name for name in names}
    found = _pattern(tuple(spelled)).findall(request)
    return list(dict.fromkeys(spelled[match.lower()] for match in found))


@functools.lru_cache(maxsize=64)
def _pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern for a list (longest names first, so the longer of two overlapping names wins)."""
    alternatives = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![\w.-])(?:{alternatives})(?![\w-]|\.\w)", re.IGNORECASE)


class LiveNames:
    def __init__(self, executor: Executor, planner: Planner, ttl_s: float = TTL_S) -> None:
        self._executor = executor
        self._planner = planner
        self._ttl_s = ttl_s
        self._cache: OrderedDict[tuple[str, str], tuple[float, list[str]]] = OrderedDict()

    async def names(self, source: Source) -> list[str]:
        """The names `source` lists for the current caller (cached briefly); [] when it cannot be read."""
        principal = current.get()
        key = (principal.key if principal is not None else "", source.tool)
        cached = self._cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < self._ttl_s:
            self._cache.move_to_end(key)
            return cached[1]
        outcome = await self._executor.call(source.tool, {}, f"read the {source.noun} names")
        if outcome.status != "ok":
            return []  # not cached: a server that is back in a moment should be asked again
        data = structured(outcome.result)
        items = data.get(source.key) if isinstance(data, dict) else None
        names: list[str] = []
        for item in items if isinstance(items, list) else []:
            name = clean_name(item.get("name") if isinstance(item, dict) else item)
            if name is not None and name not in names:
                names.append(name)
            if len(names) >= MAX_NAMES:
                break
        self._cache[key] = (time.monotonic(), names)
        self._cache.move_to_end(key)
        while len(self._cache) > MAX_CACHED:
            self._cache.popitem(last=False)
        return names

    async def known(self) -> dict[str, list[str]]:
        """The names of every source that serves, by the argument they fill ("repo", "stack")."""
        return {s.argument: await self.names(s) for s in SOURCES if self._planner.catalog.has(s.tool)}

    async def fill(self, plan: Plan, query: str) -> None:
        """Set the name arguments of `plan`'s steps from the names the fleet knows and the request says."""
        changed: list[Step] = []
        for step in plan.steps:
            route = self._planner.catalog.find(step.tool)
            if route is None:
                continue
            properties = route.input_schema.get("properties") or {}
            for source in SOURCES:
                if source.argument not in properties or is_ref(step.arguments.get(source.argument)):
                    continue
                if not self._planner.catalog.has(source.tool):
                    continue
                value = await self._chosen(source, step.arguments.get(source.argument), [step.why, query])
                if value is not None and value != step.arguments.get(source.argument):
                    step.arguments[source.argument] = value
                    if all(step is not other for other in changed):
                        changed.append(step)
        for step in changed:
            step.missing = self._planner.check(self._planner.catalog.route(step.tool), step.arguments)
        # A named stack can change whether its server holds the call (production): ask again.
        await self._planner.probe_declared(changed)

    async def _chosen(self, source: Source, current_value: Any, texts: list[str]) -> str | None:
        """The known name for the argument: the one the step's clause says, else the one the request says;
        None when the list is unknown or the words name two or none."""
        names = await self.names(source)
        if not names:
            return None
        known = {name.lower(): name for name in names}
        for text in texts:
            said = mentioned(names, text)
            if isinstance(current_value, str) and current_value.lower() in known:
                # The reading found a known name; a longer known one around it is what was meant.
                wider = [n for n in said if current_value.lower() in n.lower() and n.lower() != current_value.lower()]
                return wider[0] if len(wider) == 1 else known[current_value.lower()]
            if said:
                return said[0] if len(said) == 1 else None
        return None
