from datetime import date

import pytest

from schemas.periods import PeriodError, parse_period


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026", date(2026, 1, 1), date(2026, 12, 31)),
        ("2026H1", date(2026, 1, 1), date(2026, 6, 30)),
        ("2026h2", date(2026, 7, 1), date(2026, 12, 31)),
        ("2024Q1", date(2024, 1, 1), date(2024, 3, 31)),
        ("2026Q4", date(2026, 10, 1), date(2026, 12, 31)),
        ("2026-06-30", date(2026, 6, 30), date(2026, 6, 30)),
    ],
)
def test_periods(text, start, end):
    period = parse_period(text)
    assert (period.start, period.end) == (start, end)


@pytest.mark.parametrize("text", ["2026H3", "2026Q5", "26", "2026-02-30", "half 2026", ""])
def test_unreadable_periods_get_a_dutch_message(text):
    with pytest.raises(PeriodError, match="periode"):
        parse_period(text)


def test_record_counts_when_it_overlaps_the_period():
    period = parse_period("2026H1")
    assert period.contains_record(date(2026, 6, 30), None)
    assert period.contains_record(date(2020, 1, 1), date(2026, 1, 1))
    assert not period.contains_record(date(2026, 7, 1), None)
    assert not period.contains_record(date(2020, 1, 1), date(2025, 12, 31))
