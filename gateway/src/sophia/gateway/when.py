"""Time windows in a request ("in the last 3 days", "yesterday", "since March 1") as `since`/`until`.

Tools that filter by time (memory recall, Gong calls, visual search) take ISO 8601 `since`/`until`; people
say it in words. After planning, a step whose tool takes them and whose request (its clause first) says
a window gets them, in UTC. Only plain, unambiguous phrasings are read; anything else leaves the
arguments unset (the tool's own default applies), never a guess.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sophia.gateway.planner import Plan, Planner

ARGUMENTS = ("since", "until")
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
            "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "couple of": 2, "few": 3}  # fmt: skip
_UNIT = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1),
         "month": timedelta(days=30), "year": timedelta(days=365)}  # fmt: skip
_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}  # fmt: skip
_COUNT = r"(\d{1,4}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|twelve|couple of|few)"
_LAST_N = re.compile(rf"\b(the\s+)?(last|past|previous)\s+(?:{_COUNT}\s+)?(hour|day|week|month|year)s?\b", re.I)
_THIS = re.compile(r"\bthis\s+(week|month|year)\b", re.I)
_DAY = re.compile(r"\b(today|yesterday)\b", re.I)
_MONTH_NAME = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DATE = (
    rf"(\d{{4}}-\d{{2}}-\d{{2}})|{_MONTH_NAME}\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?|"
    rf"(\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH_NAME}(?:\s+(\d{{4}}))?"
)
_SINCE = re.compile(rf"\b(?:since|after|from)\s+(?:{_DATE})", re.I)
_UNTIL = re.compile(rf"\b(?:until|till|before|up to)\s+(?:{_DATE})", re.I)


def window(text: str, now: datetime) -> dict[str, datetime]:
    """The `since`/`until` the text says, relative to `now` (aware, UTC); {} when it says none."""
    found: dict[str, datetime] = {}
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if match := _LAST_N.search(text):
        rolling, count, unit = (
            match.group(1) or match.group(2).lower() == "past",
            match.group(3),
            match.group(4).lower(),
        )
        if count is None and not rolling and unit in ("week", "month", "year"):
            # "last week": the calendar week before this one; "the last week", "past week": the 7 days to now
            start = _start_of(unit, midnight)
            found = {"since": _start_of(unit, start - timedelta(days=1)), "until": start}
        else:
            number = int(count) if count and count.isdigit() else _NUMBERS.get((count or "one").lower(), 1)
            found = {"since": now - number * _UNIT[unit]}
    elif match := _THIS.search(text):
        found = {"since": _start_of(match.group(1).lower(), midnight)}
    elif match := _DAY.search(text):
        found = (
            {"since": midnight}
            if match.group(1).lower() == "today"
            else {"since": midnight - timedelta(days=1), "until": midnight}
        )
    for name, pattern in (("since", _SINCE), ("until", _UNTIL)):
        if (match := pattern.search(text)) and (day := _date(match, now)) is not None:
            found[name] = day
    return found


def _start_of(unit: str, day: datetime) -> datetime:
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def _date(match: re.Match[str], now: datetime) -> datetime | None:
    iso, month_a, day_a, year_a, day_b, month_b, year_b = match.groups()
    try:
        if iso:
            return datetime.fromisoformat(iso).replace(tzinfo=UTC)
        month = _MONTHS[(month_a or month_b)[:3].lower()]
        day = int(day_a or day_b)
        year = year_a or year_b
        when = datetime(int(year) if year else now.year, month, day, tzinfo=UTC)
    except ValueError:
        return None  # "February 30": not a date
    if not year and when > now:
        when = when.replace(year=now.year - 1)  # "since March 1" said in February: last March
    return when


def fill(plan: Plan, query: str, planner: Planner, now: datetime | None = None) -> None:
    """Set `since`/`until` on the steps whose tool takes them, from the step's clause or else the request."""
    now = now or datetime.now(UTC)
    for step in plan.steps:
        route = planner.catalog.find(step.tool)
        properties: dict[str, Any] = (route.input_schema.get("properties") or {}) if route else {}
        if not any(name in properties and name not in step.arguments for name in ARGUMENTS):
            continue
        said = window(step.why, now) or window(query, now)
        for name, value in said.items():
            if name in properties and name not in step.arguments:
                step.arguments[name] = value.isoformat().replace("+00:00", "Z")
