"""`factlab run --herziening DIR`: publish a revision only when both publications together are safe.

The earlier publication's samenloop.csv is read as published; `disclosure.revision.audit_revision` checks
both tables together (docs/disclosure.md §8). On failure the run stops before anything is written, naming
the cells (area and indicator, never a count).
"""

from __future__ import annotations

import pandas as pd

from disclosure.protect import DisclosureError
from disclosure.revision import audit_revision
from reports.figures import SAMENLOOP_FILE, ReportInputError, _parse_bool

MAX_NAMED = 20


def read_published_cells(path) -> pd.DataFrame:
    """Every published cell of an earlier samenloop.csv: all levels, groups and indicators, as written."""
    if not path.is_file():
        raise ReportInputError(f"{path} ontbreekt: een herziening vergelijkt met de eerdere {SAMENLOOP_FILE}")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    geheim = [_parse_bool(v, line=i + 2) for i, v in zip(raw.index, raw["geheim"], strict=True)]
    return pd.DataFrame({
        "gebiedscode": raw["gebiedscode"].str.strip(),
        "groep": raw["groep"].str.strip() if "groep" in raw.columns else "",
        "indicator": raw["indicator"].str.strip(),
        "aantal": pd.to_numeric(raw["aantal"].str.strip(), errors="coerce").round().astype("Int64"),
        "geheim": geheim,
    })


def check_revision(protected: pd.DataFrame, true_counts: pd.DataFrame, settings, report) -> None:
    """Raise DisclosureError (Dutch, naming cells) when both publications together are unsafe."""
    earlier = read_published_cells(settings.herziening / SAMENLOOP_FILE)
    result = audit_revision(protected, earlier, settings.rules, true_counts)
    report.info(
        "herziening van %s: %d cel(len) onvoldoende beschermd met beide publicaties samen",
        settings.herziening.name,
        len(result.findings),
    )
    if result.passed:
        return
    named = "; ".join(f.describe_nl() for f in result.findings[:MAX_NAMED])
    more = len(result.findings) - MAX_NAMED
    raise DisclosureError(
        f"herziening van {settings.herziening}: de nieuwe en de eerdere publicatie samen geven "
        f"{len(result.findings)} cel(len) prijs; er is niets gepubliceerd. Cellen: {named}"
        + (f" en nog {more}" if more > 0 else "")
        + ". Trek de eerdere publicatie in en publiceer zonder --herziening (docs/disclosure.md §8)."
    )
