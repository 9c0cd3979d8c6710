"""The report's chapter on costs (docs/contract.md §12), from the published kosten.csv alone.

The pyramid sets the share of households against the share of costs for households with 1, 2 and 3
domains; then the cost per household per combination of domains and per wijk. Every number is a
published cell or a ratio of published cells; a secret cell is shown as secret, never estimated. The
chapter is shown only when kosten.csv exists, and its figures only when enough of the records in the
period have an amount (kwaliteit.csv); otherwise it says why not.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from reports.figures import Cell, cell
from schemas.indicators import DOMAINS, EXCLUSIVE_DOMAIN_SETS, INDICATOR_LABELS, MULTI_DOMAIN, WITH_SERVICE
from schemas.rejects import restore_formula

KOSTEN_FILE = "kosten.csv"
MIN_SHARE_WITH_AMOUNT = 0.5
"""The chapter shows figures only when at least this share of the records in the period has an amount."""
DOMAIN_COUNTS = (1, 2, 3)


@dataclass(frozen=True)
class CostCell:
    """One published (or secret) cell of kosten.csv, in euros."""

    bedrag: int | None
    per_huishouden: int | None
    geheim: bool


NOT_PUBLISHED = CostCell(None, None, True)


def read_kosten(path: Path) -> pd.DataFrame | None:
    """kosten.csv as a frame (gebiedscode, gebiedsnaam, niveau, indicator, bedrag, per_huishouden, geheim)
    for all households (the rows with an empty `groep`, §9: the chapter shows no groups); None when the run
    wrote none."""
    if not path.is_file():
        return None
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    frame = raw[raw["groep"].str.strip() == ""].copy() if "groep" in raw.columns else raw.copy()
    frame["gebiedsnaam"] = frame["gebiedsnaam"].map(restore_formula)
    for column in ("bedrag", "per_huishouden"):
        frame[column] = pd.to_numeric(frame[column].str.strip(), errors="coerce").astype("Int64")
    frame["geheim"] = frame["geheim"].str.strip().str.lower().eq("true") | frame["bedrag"].isna()
    return frame


def cost_cell(kosten: pd.DataFrame, gebiedscode: str, indicator: str) -> CostCell:
    rows = kosten[(kosten["gebiedscode"] == gebiedscode) & (kosten["indicator"] == indicator)]
    if rows.empty or bool(rows["geheim"].iat[0]):
        return NOT_PUBLISHED
    per = rows["per_huishouden"].iat[0]
    return CostCell(int(rows["bedrag"].iat[0]), None if pd.isna(per) else int(per), False)


def format_euros(value: int | None) -> str:
    """`€ 1.234.000`; the secret sign for a missing value."""
    return "." if value is None else "€ " + f"{value:,}".replace(",", ".")


def _sets_of_size(k: int) -> list[str]:
    return [name for name, dset in EXCLUSIVE_DOMAIN_SETS.items() if len(dset) == k]


def _households_with(samenloop: pd.DataFrame, code: str, k: int) -> int | None:
    """Published households with exactly k domains: `domeinen:k`, else the sum of its published parts."""
    direct = cell(samenloop, code, f"domeinen:{k}")
    if direct.published:
        return direct.aantal
    parts: list[Cell] = [cell(samenloop, code, name) for name in _sets_of_size(k)]
    return sum(p.aantal for p in parts) if all(p.published for p in parts) else None


def _costs_with(kosten: pd.DataFrame, code: str, k: int) -> int | None:
    direct = cost_cell(kosten, code, f"domeinen:{k}")
    if not direct.geheim:
        return direct.bedrag
    parts = [cost_cell(kosten, code, name) for name in _sets_of_size(k)]
    return sum(p.bedrag for p in parts) if all(not p.geheim for p in parts) else None


def pyramid(samenloop: pd.DataFrame, kosten: pd.DataFrame, code: str) -> list[dict[str, Any]]:
    """Per number of domains: share of households and share of costs (None where a cell is secret)."""
    households = cell(samenloop, code, WITH_SERVICE)
    total = cost_cell(kosten, code, WITH_SERVICE)
    rows = []
    for k in DOMAIN_COUNTS:
        n, euros = _households_with(samenloop, code, k), _costs_with(kosten, code, k)
        rows.append({
            "domeinen": k,
            "label": "1 domein" if k == 1 else f"{k} domeinen",
            "aandeel_huishoudens": n / households.aantal if n is not None and households.aantal else None,
            "aandeel_kosten": euros / total.bedrag if euros is not None and total.bedrag else None,
        })
    return rows


def pyramid_chart(rows: list[dict[str, Any]]) -> go.Figure:
    """Households to the left, costs to the right, 3 domains on top: the cost pyramid."""
    labels = [r["label"] for r in reversed(rows)]
    left = [-(r["aandeel_huishoudens"] or 0) * 100 for r in reversed(rows)]
    right = [(r["aandeel_kosten"] or 0) * 100 for r in reversed(rows)]
    figure = go.Figure([
        go.Bar(y=labels, x=left, orientation="h", name="aandeel huishoudens", marker_color="#56B4E9",
               customdata=[-v for v in left],
               hovertemplate="%{customdata:.1f}% van de huishoudens<extra></extra>"),
        go.Bar(y=labels, x=right, orientation="h", name="aandeel kosten", marker_color="#D55E00",
               hovertemplate="%{x:.1f}% van de kosten<extra></extra>"),
    ])
    figure.update_layout(barmode="relative", height=260, margin={"l": 90, "r": 20, "t": 10, "b": 40},
                         xaxis={"title": "procent (links huishoudens, rechts kosten)", "tickformat": ".0f"},
                         legend={"orientation": "h", "y": -0.35}, font={"family": "sans-serif"})
    return figure


def partners_with_amounts(kwaliteit: pd.DataFrame) -> tuple[list[dict[str, Any]], float | None]:
    """Per partner its records in the period and the share with an amount; and that share over all."""
    rows, total, known = [], 0, 0
    for row in kwaliteit.itertuples(index=False):
        in_period = 0 if pd.isna(row.records_in_periode) else int(row.records_in_periode)
        with_amount = 0 if pd.isna(row.records_met_bedrag) else int(row.records_met_bedrag)
        total, known = total + in_period, known + with_amount
        share = with_amount / in_period if in_period else None
        rows.append({"partner": row.partner, "records_in_periode": in_period,
                     "records_met_bedrag": with_amount, "aandeel": share})
    return rows, (known / total if total else None)


def cost_chapter(samenloop: pd.DataFrame, kosten: pd.DataFrame | None, kwaliteit: pd.DataFrame,
                 code: str, wijken: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The template's `kosten`: None without kosten.csv; else the partners, shares and (when enough
    records have an amount) the pyramid, the combinations and the wijken."""
    if kosten is None:
        return None
    partners, share = partners_with_amounts(kwaliteit)
    chapter: dict[str, Any] = {
        "partners": partners, "aandeel_met_bedrag": share, "drempel": MIN_SHARE_WITH_AMOUNT,
        "voldoende": share is not None and share >= MIN_SHARE_WITH_AMOUNT,
        "totaal": format_euros(cost_cell(kosten, code, WITH_SERVICE).bedrag),
        "samenloop": format_euros(cost_cell(kosten, code, MULTI_DOMAIN).bedrag),
    }
    if not chapter["voldoende"]:
        return chapter
    chapter["piramide"] = pyramid(samenloop, kosten, code)
    chapter["combinaties"] = [
        {"label": INDICATOR_LABELS[name], "domeinen": dset,
         "bedrag": format_euros(cost_cell(kosten, code, name).bedrag),
         "per_huishouden": format_euros(cost_cell(kosten, code, name).per_huishouden)}
        for name, dset in EXCLUSIVE_DOMAIN_SETS.items()
    ]
    chapter["wijken"] = [
        {"naam": w["naam"],
         **{key: format_euros(cost_cell(kosten, w["code"], name).per_huishouden)
            for key, name in (("met_voorziening", WITH_SERVICE), ("samenloop", MULTI_DOMAIN))}}
        for w in wijken
    ]
    chapter["domeinen"] = DOMAINS
    return chapter
