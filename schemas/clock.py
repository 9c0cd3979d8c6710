"""The one clock of every timestamp Factlab writes, honouring SOURCE_DATE_EPOCH.

When the environment variable SOURCE_DATE_EPOCH (seconds since 1970-01-01 UTC; the reproducible-builds.org
convention) is set, that moment is "now" for every timestamp in an output: `gemaakt` in manifest.json and
so in rapport.html, `created` in the Parquet metadata of deliveries and registers, `ttp_created` of the TTP
step, and the time on the controle page. Two runs on the same inputs then write the same bytes
(docs/prefect.md says what else differs without it). Key files keep the real time: their age is checked.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

ENVIRONMENT_VARIABLE = "SOURCE_DATE_EPOCH"


class ClockError(ValueError):
    """SOURCE_DATE_EPOCH is set but is not a whole number of seconds (Dutch message)."""


def source_date_epoch() -> datetime | None:
    """The moment SOURCE_DATE_EPOCH names, or None when it is not set (or empty)."""
    raw = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise ClockError(
            f"{ENVIRONMENT_VARIABLE}={raw[:40]!r} is geen geheel aantal seconden sinds 1970-01-01 (UTC); "
            "zet bijv. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) of laat de variabele weg"
        )
    return datetime.fromtimestamp(int(raw), UTC)


def now() -> datetime:
    """The current time in UTC (whole seconds), or SOURCE_DATE_EPOCH's moment when that is set."""
    return (source_date_epoch() or datetime.now(UTC)).replace(microsecond=0)


def now_iso() -> str:
    """`now()` as ISO 8601 with offset, e.g. 2026-07-01T09:30:00+00:00."""
    return now().isoformat()


def now_local() -> datetime:
    """`now()` in the machine's time zone, for pages a person reads; UTC under SOURCE_DATE_EPOCH."""
    fixed = source_date_epoch()
    return fixed if fixed is not None else now().astimezone()
