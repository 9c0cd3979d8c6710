"""The CBS stacking table (docs/contract.md §11): the seven domain combinations by number of voorzieningen.

Read from the `<combinatie>&voorzieningen:<k>` cells of samenloop.csv when the run published them; the
row totals are the combinations, the column totals `voorzieningen:<k>`, the corner `met_voorziening`,
all published cells of the same file. Without the cells the chapter is left out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from reports import charts
from reports.figures import SAMENLOOP_FILE, Cell, ReportInputError, _parse_bool, cell
from reports.formatting import SECRET, format_count, format_rate
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


def _heat_text(c: Cell) -> str:
    return SECRET if c.geheim or c.per_1000 is None else format_rate(c.per_1000)


def _heat_hover(label: str, column: str, c: Cell) -> str:
    if c.geheim or c.aantal is None:
        return f"{label}, {column} voorzieningen: geheim (.)"
    return (
        f"{label}, {column} voorzieningen: {format_count(c.aantal)} huishoudens "
        f"({format_rate(c.per_1000)} per 1.000)"
    )


def heat_map(table: dict[str, Any]) -> go.Figure:
    """Combinations (rows) by number of voorzieningen (columns), coloured by households per 1 000.

    A secret cell has no colour and shows "."; the numbers are printed in every cell, so the map reads
    without colour too.
    """
    labels = [row["label"] for row in table["rijen"]]
    z = [[c.per_1000 if c.published else None for c in row["cellen"]] for row in table["rijen"]]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=table["kolommen"],
            y=labels,
            text=[[_heat_text(c) for c in row["cellen"]] for row in table["rijen"]],
            texttemplate="%{text}",
            hovertext=[
                [
                    _heat_hover(row["label"], column, c)
                    for column, c in zip(table["kolommen"], row["cellen"], strict=True)
                ]
                for row in table["rijen"]
            ],
            hoverinfo="text",
            colorscale=charts.SEQUENTIAL,
            xgap=2,
            ygap=2,
            colorbar={"title": {"text": "per 1.000"}, "thickness": 12},
        )
    )
    fig.update_xaxes(type="category", title_text="aantal voorzieningen", side="top")
    fig.update_yaxes(type="category", autorange="reversed")
    fig = charts._base_layout(fig, height=360)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return fig


def stacking_context(
    out_dir: Path, samenloop: pd.DataFrame, gebiedscode: str, figure_div: Any
) -> dict[str, Any] | None:
    """The chapter's values (table and heat map div), or None when samenloop.csv has no stacking cells."""
    table = stacking_table(read_v2_cells(out_dir / SAMENLOOP_FILE), samenloop, gebiedscode)
    if table is None:
        return None
    return {**table, "figuur": figure_div(heat_map(table), "grafiek-stapeling")}
