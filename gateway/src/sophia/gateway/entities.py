"""Arguments from live state: the names the fleet knows (repositories, stacks, Slack channels, Asana
projects, Salesforce deals, memory namespaces) fill a plan's steps.

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
    """Where the names for one kind of argument come from: a list tool and the field of its result.

    `names` are the item fields a request may say (a deal by its name or its account's); `value` is the
    field that becomes the argument (a deal's id). A name's trailing qualifier in parentheses ("Renewals
    (EMEA)") may be left unsaid. `cue`, when set, is what must stand right before or after a name for it
    to count (a channel as "#sales", "in sales" or "the sales channel": "post the sales numbers" names
    no channel); `hint` is a word the request must hold before the list is even read. `only` keeps the
    items whose field has that value (Salesforce's deals, for a Salesforce opportunity id). `preset`: the
    plan's value is the caller's default, not words of the request, so a name the request says wins."""

    tool: str
    key: str  # the list in the tool's structured result
    argument: str  # the step argument its names fill
    noun: str
    names: tuple[str, ...] = ("name",)
    value: str = "name"
    cue: tuple[re.Pattern[str], re.Pattern[str]] | None = None  # (before the name, after it)
    hint: re.Pattern[str] | None = None
    only: tuple[tuple[str, str], ...] = ()
    preset: bool = False
    listing: tuple[tuple[str, int], ...] = ()  # arguments of the list call (its largest page)

    @property
    def by_name(self) -> bool:
        """Its values are the names said (not ids): it can tell a conversation what an earlier turn named."""
        return self.names == (self.value,)


_QUOTE = "[\"'\u201c\u201d\u2018\u2019]?"  # a name may be quoted, straight or curly


def _cue(before: str, after: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    return re.compile(rf"(?:{before}){_QUOTE}$", re.IGNORECASE), re.compile(rf"^{_QUOTE}(?:{after})", re.IGNORECASE)


SOURCES = (
    Source(tool="code_list_repos", key="repos", argument="repo", noun="repository"),
    Source(tool="infra_stacks", key="stacks", argument="stack", noun="stack"),
    Source(
        tool="business_slack_channels",
        key="channels",
        argument="channel",
        noun="channel",
        listing=(("limit", 100),),
        cue=_cue(r"#|\b(?:in|to|into|on|from|at)\s+(?:the\s+)?(?:slack\s+)?", r"\s+(?:slack\s+)?channel\b"),
    ),
    Source(
        tool="business_asana_projects", key="projects", argument="project", noun="project", listing=(("limit", 100),)
    ),
    Source(
        tool="business_crm_deals",
        key="deals",
        argument="opportunity_id",
        noun="deal",
        names=("Name", "Account.Name"),
        value="Id",
        listing=(("limit", 100),),
        only=(("source", "salesforce"),),
    ),
    Source(
        tool="memory_namespaces",
        key="namespaces",
        argument="namespace",
        noun="namespace",
        cue=_cue(r"\bnamespace\s+", r"\s+namespace\b"),
        hint=re.compile(r"\bnamespace\b", re.IGNORECASE),
        preset=True,
    ),
)
_QUALIFIER = re.compile(r"\s*\([^()]{1,80}\)$")  # "Renewals (EMEA)": the parenthesised part may go unsaid


def clean_name(value: Any) -> str | None:
    """A name from a tool result as a value: control and format characters removed, bounded; else None."""
    if not isinstance(value, str):
        return None
    text = "".join(ch for ch in value if not unicodedata.category(ch).startswith("C")).strip()
    return text if 0 < len(text) <= MAX_NAME_CHARS else None


def mentioned(names: list[str], request: str, cue: tuple[re.Pattern[str], re.Pattern[str]] | None = None) -> list[str]:
    """The names the request mentions as whole words (any case, quoted or not), in the service's spelling;
    a name is not found inside a longer word or name ("staging" in "heron-staging", "sophia" in "sophia.py").
    With a `cue`, only mentions with it right before or after them count."""
    if not names:
        return []
    spelled = {name.lower(): name for name in names}
    found = []
    for match in _pattern(tuple(spelled)).finditer(request):
        if cue is None or cue[0].search(request[: match.start()]) or cue[1].search(request[match.end() :]):
            found.append(spelled[match.group(0).lower()])
    return list(dict.fromkeys(found))


_NAME_PARTS = re.compile(r"[-_.\s]+")


def described(names: list[str], request: str, noun: str) -> list[str]:
    """The names of two or more words (split at -, _, . or spaces) whose every word the request says, when it
    also says the noun ("the Acme shared channel" for acme-shared); a one-word name must be said as it is."""
    said = set(re.findall(r"[a-z0-9]+", request.lower()))
    if noun not in said:
        return []
    found = []
    for name in names:
        parts = [part for part in _NAME_PARTS.split(name.lower().lstrip("#")) if part]
        if len(parts) >= 2 and all(len(part) >= 2 and part in said for part in parts):
            found.append(name)
    return found


@functools.lru_cache(maxsize=64)
def _pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern for a list (longest names first, so the longer of two overlapping names wins)."""
    alternatives = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![\w.-])(?:{alternatives})(?![\w-]|\.\w)", re.IGNORECASE)


Entry = tuple[str, str]  # (a name a request may say, the argument's value for it)


class LiveNames:
    def __init__(self, executor: Executor, planner: Planner, ttl_s: float = TTL_S) -> None:
        self._executor = executor
        self._planner = planner
        self._ttl_s = ttl_s
        self._cache: OrderedDict[tuple[str, str], tuple[float, list[Entry]]] = OrderedDict()

    async def names(self, source: Source) -> list[str]:
        """The names `source` lists for the current caller (cached briefly); [] when it cannot be read."""
        return list(dict.fromkeys(name for name, _ in await self.entries(source)))

    async def entries(self, source: Source) -> list[Entry]:
        """The (name, value) pairs `source` lists for the current caller, cached briefly; [] when the list
        cannot be read (not cached: a server that is back in a moment should be asked again)."""
        principal = current.get()
        key = (principal.key if principal is not None else "", source.tool)
        cached = self._cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < self._ttl_s:
            self._cache.move_to_end(key)
            return cached[1]
        route = self._planner.catalog.find(source.tool)
        takes = (route.input_schema.get("properties") or {}) if route is not None else {}
        listing = {name: value for name, value in source.listing if name in takes}  # what this server accepts
        outcome = await self._executor.call(source.tool, listing, f"read the {source.noun} names")
        if outcome.status != "ok":
            return []
        data = structured(outcome.result)
        items = data.get(source.key) if isinstance(data, dict) else None
        entries: list[Entry] = []
        for item in items if isinstance(items, list) else []:
            entries += [e for e in _entries(source, item) if e not in entries]
            if len(entries) >= MAX_NAMES:
                break
        self._cache[key] = (time.monotonic(), entries)
        self._cache.move_to_end(key)
        while len(self._cache) > MAX_CACHED:
            self._cache.popitem(last=False)
        return entries

    async def known(self) -> dict[str, list[str]]:
        """The names a conversation's earlier turns may have said, by the argument they fill ("repo": [...]):
        those of every source that serves and names things by what is said, without a cue (a channel or a
        namespace counts only with its cue, which a bare list cannot carry; "#sales" is read anyway)."""
        return {
            s.argument: await self.names(s)
            for s in SOURCES
            if s.by_name and s.cue is None and self._planner.catalog.has(s.tool)
        }

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
                texts = [step.why, query]
                if source.hint is not None and not any(source.hint.search(text) for text in texts):
                    continue
                value = await self._chosen(source, step.arguments.get(source.argument), texts)
                if value is not None and value != step.arguments.get(source.argument):
                    step.arguments[source.argument] = value
                    if all(step is not other for other in changed):
                        changed.append(step)
        for step in changed:
            step.missing = self._planner.check(self._planner.catalog.route(step.tool), step.arguments)
        # A named stack or channel can change whether its server holds the call (production, a channel
        # shared with another company): ask again.
        await self._planner.probe_declared(changed)

    async def _chosen(self, source: Source, current_value: Any, texts: list[str]) -> str | None:
        """The known value for the argument: the one the step's clause names, else the one the request
        names; None when the list is unknown or the words name two or none."""
        entries = await self.entries(source)
        if not entries:
            return None
        values: dict[str, set[str]] = {}
        for name, value in entries:
            values.setdefault(name.lower(), set()).add(value)
        spelled = {value.lower(): value for _, value in entries}
        now = _bare(current_value)
        for text in texts:
            said = mentioned([name for name, _ in entries], text, source.cue)
            meant = {value for name in said for value in values[name.lower()]}
            if now is not None and not source.preset and (now in values or now in spelled):
                # The reading found a known name; a longer known one around it is what was meant.
                wider = [n for n in said if now in n.lower() and n.lower() != now]
                if len(wider) == 1 and len(values[wider[0].lower()]) == 1:
                    return next(iter(values[wider[0].lower()]))
                return current_value if now in spelled else _one(values[now])
            if meant:
                return _one(meant)  # two different things named: ambiguous, the answer asks
        if source.cue is not None and (now is None or now not in values):
            # Not said by its name, but by all its words and its noun: "tell Acme on our shared channel" is
            # acme-shared when that is the one channel whose words are all there.
            for text in texts:
                meant = {
                    value
                    for name in described([n for n, _ in entries], text, source.noun)
                    for value in values[name.lower()]
                }
                if meant:
                    return _one(meant)
        return None


def _entries(source: Source, item: Any) -> list[Entry]:
    """The (name, value) pairs one listed item gives: each of its names, with and without a trailing
    parenthesised qualifier; nothing when it is not one `source` keeps."""
    if not isinstance(item, dict):
        value = clean_name(item) if source.by_name else None  # a bare list of names
        return [(value, value)] if value is not None else []
    if any(item.get(field) != wanted for field, wanted in source.only):
        return []
    value = clean_name(item.get(source.value))
    if value is None:
        return []
    found: list[Entry] = []
    for field in source.names:
        name = clean_name(item.get(field))
        if name is None:
            continue
        for said in (name, _QUALIFIER.sub("", name)):
            if said and (said, value) not in found:
                found.append((said, value))
    return found


def _bare(value: Any) -> str | None:
    """An argument's value as compared with names: "#sales" is the sales channel."""
    if not isinstance(value, str):
        return None
    return value.strip().lstrip("#").lower() or None


def _one(values: set[str]) -> str | None:
    return next(iter(values)) if len(values) == 1 else None
