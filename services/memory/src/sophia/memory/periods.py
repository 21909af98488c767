"""Dates and periods named in a question ("in May 2023", "on 2023-05-14", "during 2022"), as event-time
windows recall boosts by. Only explicit calendar words count: a relative "last week" needs a clock the
asker and the memories may not share, so it is left to the words themselves.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for name in names
}
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
ISO_DAY = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
ISO_MONTH = re.compile(r"\b(\d{4})-(\d{2})\b")
DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH})\.?,?\s+(\d{{4}})\b", re.IGNORECASE)
MONTH_DAY_YEAR = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.IGNORECASE)
MONTH_YEAR = re.compile(rf"\b({_MONTH})\.?,?\s+(?:of\s+)?(\d{{4}})\b", re.IGNORECASE)
YEAR = re.compile(r"\b(?:in|during|of|since|throughout)\s+((?:19|20)\d{2})\b", re.IGNORECASE)


def _stamp(year: int, month: int = 1, day: int = 1) -> float:
    return datetime(year, month, day, tzinfo=UTC).timestamp()


def _next_month(year: int, month: int) -> float:
    return _stamp(year + month // 12, month % 12 + 1)


def period(text: str) -> tuple[float, float] | None:
    """The first, most precise period the text names, as [start, end) Unix seconds; None if none."""
    try:
        if m := ISO_DAY.search(text):
            start = _stamp(int(m[1]), int(m[2]), int(m[3]))
            return start, start + 86_400
        for pattern, order in ((DAY_MONTH_YEAR, (3, 2, 1)), (MONTH_DAY_YEAR, (3, 1, 2))):
            if m := pattern.search(text):
                year, month, day = (m[i] for i in order)
                start = _stamp(int(year), MONTHS[month.lower()], int(day))
                return start, start + 86_400
        if m := MONTH_YEAR.search(text):
            year, month = int(m[2]), MONTHS[m[1].lower()]
            return _stamp(year, month), _next_month(year, month)
        if m := ISO_MONTH.search(text):
            year, month = int(m[1]), int(m[2])
            return _stamp(year, month), _next_month(year, month)
        if m := YEAR.search(text):
            return _stamp(int(m[1])), _stamp(int(m[1]) + 1)
    except ValueError:  # "2023-13" or "31 February 2023": not a date after all
        return None
    return None
