"""Reporting periods (docs/contract.md §6): `2026`, `2026H1`, `2026Q3` or a peildatum `2026-06-30`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta


class PeriodError(ValueError):
    """An unreadable period (Dutch message)."""


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date

    def contains_record(self, begin: date, end: date | None) -> bool:
        """A record counts when it starts on or before the period end and has not ended before its start."""
        return begin <= self.end and (end is None or end >= self.start)


def _month_end(year: int, month: int) -> date:
    first_next = date(year + (month == 12), month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def parse_period(text: str) -> Period:
    value = text.strip().upper()
    if m := re.fullmatch(r"([0-9]{4})", value):
        year = int(m[1])
        return Period(value, date(year, 1, 1), date(year, 12, 31))
    if m := re.fullmatch(r"([0-9]{4})H([12])", value):
        year, half = int(m[1]), int(m[2])
        start_month = 1 if half == 1 else 7
        return Period(value, date(year, start_month, 1), _month_end(year, start_month + 5))
    if m := re.fullmatch(r"([0-9]{4})Q([1-4])", value):
        year, quarter = int(m[1]), int(m[2])
        start_month = 3 * (quarter - 1) + 1
        return Period(value, date(year, start_month, 1), _month_end(year, start_month + 2))
    if m := re.fullmatch(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", value):
        try:
            day = date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            raise PeriodError(f"periode '{text}': {value} is geen bestaande datum") from None
        return Period(value, day, day)
    raise PeriodError(
        f"periode '{text}' is niet te lezen; gebruik een jaar (2026), halfjaar (2026H1), kwartaal (2026Q1) "
        "of peildatum (2026-06-30)"
    )
