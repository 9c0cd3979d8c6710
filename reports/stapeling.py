"""The CBS stacking table (docs/contract.md §11): the seven domain combinations by number of voorzieningen.

Read from the `<combinatie>&voorzieningen:<k>` cells of samenloop.csv when the run published them; the
row totals are the combinations, the column totals `voorzieningen:<k>`, the corner `met_voorziening`,
all published cells of the same file. Without the cells the chapter is left out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from reports import charts
from reports.figures import SAMENLOOP_FILE, ReportInputError, _parse_bool, cell
from reports.formatting import SECRET, format_rate
from schemas.indicators import (
    EXCLUSIVE_DOMAIN_SETS,
    INDICATOR_LABELS,
    SERVICE_COUNT_INDICATORS,
    WITH_SERVICE,
)

STACK_INDICATORS: dict[tuple[str, str], str] = {
    (combination, services): f"{combination}&{services}"
    for combination in EXCLUSIVE_DOMAIN_SETS
    for services in SERVICE_COUNT_INDICATORS
}
"""§11: (combination, voorzieningen:k) -> `<c>&voorzieningen:<k>`, the names samenloop.csv uses."""
SERVICE_CODE_PREFIX = "voorziening:"
"""§11: `voorziening:<code>`, households with that voorziening."""

COLUMNS = ("gebiedscode", "gebiedsnaam", "niveau", "indicator", "aantal", "per_1000", "geheim")


def _is_v2_cell(name: str) -> bool:
    return name in _STACK_NAMES or name.startswith(SERVICE_CODE_PREFIX)


_STACK_NAMES = frozenset(STACK_INDICATORS.values())


def read_v2_cells(path: Path) -> pd.DataFrame:
    """The §11 cells of samenloop.csv (stacking table, `voorziening:<code>`) for all households.

    Same columns as `figures.read_samenloop`, so `figures.cell` reads them; rows of a group (§9, a
    non-empty `groep`) are left out. A file without such cells gives an empty frame.
    """
    if not path.is_file():
        raise ReportInputError(f"{path} ontbreekt: het rapport heeft {SAMENLOOP_FILE} nodig.")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    if "indicator" not in raw.columns:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})
    keep = raw["indicator"].str.strip().map(_is_v2_cell)
    if "groep" in raw.columns:
        keep &= raw["groep"].str.strip() == ""
    raw = raw[keep]
    geheim = [_parse_bool(v, line=i + 2) for i, v in zip(raw.index, raw["geheim"], strict=True)]
    frame = pd.DataFrame(
        {
            "gebiedscode": raw["gebiedscode"].str.strip(),
            "gebiedsnaam": raw["gebiedsnaam"].str.strip(),
            "niveau": raw["niveau"].str.strip().str.lower(),
            "indicator": raw["indicator"].str.strip(),
            "aantal": pd.to_numeric(raw["aantal"].str.strip(), errors="coerce").round().astype("Int64"),
            "per_1000": pd.to_numeric(raw["per_1000_huishoudens"].str.strip(), errors="coerce").astype(
                "Float64"
            ),
            "geheim": pd.Series(geheim, index=raw.index, dtype=bool),
        }
    )
    frame.loc[frame["geheim"], ["aantal", "per_1000"]] = pd.NA
    return frame.reset_index(drop=True)


def column_label(services: str) -> str:
    """`voorzieningen:4+` -> `4 of meer`."""
    return services.split(":", 1)[1].replace("+", " of meer")


def stacking_table(
    v2_cells: pd.DataFrame, samenloop: pd.DataFrame, gebiedscode: str
) -> dict[str, Any] | None:
    """Rows (combination, cells per k, row total), column totals and the corner; None without the cells."""
    present = set(v2_cells.loc[v2_cells["gebiedscode"] == gebiedscode, "indicator"])
    if not present & _STACK_NAMES:
        return None
    rows = []
    for combination, domains in EXCLUSIVE_DOMAIN_SETS.items():
        rows.append(
            {
                "indicator": combination,
                "label": INDICATOR_LABELS[combination],
                "aantal_domeinen": len(domains),
                "cellen": [
                    cell(v2_cells, gebiedscode, STACK_INDICATORS[(combination, k)])
                    for k in SERVICE_COUNT_INDICATORS
                ],
                "totaal": cell(samenloop, gebiedscode, combination),
            }
        )
    return {
        "kolommen": [column_label(k) for k in SERVICE_COUNT_INDICATORS],
        "rijen": rows,
        "kolomtotalen": [cell(samenloop, gebiedscode, k) for k in SERVICE_COUNT_INDICATORS],
        "totaal": cell(samenloop, gebiedscode, WITH_SERVICE),
    }


HEAT_SCALE = [[0.0, "#DCEAF5"], [0.5, charts.OKABE_ITO["sky_blue"]], [1.0, charts.OKABE_ITO["blue"]]]
"""Light to dark blue (Okabe-Ito), as the report's other sequential colours."""


def _mix(low: str, high: str, share: float) -> tuple[int, int, int]:
    a = [int(low[i:i + 2], 16) for i in (1, 3, 5)]
    b = [int(high[i:i + 2], 16) for i in (1, 3, 5)]
    return tuple(round(x + (y - x) * share) for x, y in zip(a, b, strict=True))


def _luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG relative luminance."""
    def channel(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def heat_colour(share: float) -> tuple[str, str]:
    """(background, text colour) for a share 0..1 of the largest rate, on the report's sequential scale.

    The text colour is black or white, whichever contrasts more, so every number stays readable (≥ 4.5:1).
    """
    stops = HEAT_SCALE
    share = min(max(share, 0.0), 1.0)
    for (at_low, low), (at_high, high) in zip(stops, stops[1:], strict=False):
        if share <= at_high:
            rgb = _mix(low, high, (share - at_low) / (at_high - at_low))
            break
    light = _luminance(rgb)
    text = "#000000" if (light + 0.05) / 0.05 >= 1.05 / (light + 0.05) else "#ffffff"
    return "#{:02x}{:02x}{:02x}".format(*rgb), text


def heat_cells(table: dict[str, Any]) -> list[dict[str, Any]]:
    """Per combination the cells of the heat table: rate text, colours; a secret cell has no colour and ".".

    An HTML table rather than a chart: the numbers are printed in every cell, so it reads without colour,
    with a screen reader and in print.
    """
    rates = [c.per_1000 for row in table["rijen"] for c in row["cellen"] if c.published and c.per_1000]
    top = max(rates, default=0.0)
    rows = []
    for row in table["rijen"]:
        cells = []
        for c in row["cellen"]:
            if c.geheim or c.per_1000 is None:
                cells.append({"tekst": SECRET, "achtergrond": None, "kleur": None})
            else:
                background, colour = heat_colour(c.per_1000 / top if top else 0.0)
                cells.append({"tekst": format_rate(c.per_1000), "achtergrond": background, "kleur": colour})
        rows.append({"label": row["label"], "cellen": cells})
    return rows


def stacking_context(
    out_dir: Path, samenloop: pd.DataFrame, gebiedscode: str
) -> dict[str, Any] | None:
    """The chapter's values (table and heat map div), or None when samenloop.csv has no stacking cells."""
    table = stacking_table(read_v2_cells(out_dir / SAMENLOOP_FILE), samenloop, gebiedscode)
    if table is None:
        return None
    return {**table, "hittekaart": heat_cells(table)}
