"""A series of published outputs over periods (docs/contract.md §10): `factlab run --reeks DIR [DIR ...]`.

Only the published files of each earlier output are read (samenloop.csv and manifest.json). A period whose
output used other disclosure rules or other areas is named in the report and left out; a folder that is
not a Factlab output, a period given twice or a mix of kinds (half-years, quarters, years) is refused
before the run starts (`check_series`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from disclosure.rules import manifest_rules
from reports import charts
from reports.figures import (
    MANIFEST_FILE,
    SAMENLOOP_FILE,
    Cell,
    ReportInputError,
    areas,
    cell,
    municipality,
    read_manifest,
    read_samenloop,
)
from reports.formatting import format_count, format_rate
from schemas.indicators import (
    DOMAIN_INDICATORS,
    HOUSEHOLDS,
    INDICATOR_LABELS,
    INDICATORS,
    MULTI_DOMAIN,
    WITH_SERVICE,
)
from schemas.periods import PeriodError, parse_period

MAX_PERIODS = 12
"""The report shows at most this many periods (the current one included)."""
_FLOW_INDICATORS = ("instroom:met_voorziening", "instroom:domeinen:2+", "uitstroom:met_voorziening")
KEY_INDICATORS: tuple[str, ...] = (
    HOUSEHOLDS,
    WITH_SERVICE,
    MULTI_DOMAIN,
    *DOMAIN_INDICATORS.values(),
    *(name for name in _FLOW_INDICATORS if name in INDICATORS),
)
"""The indicators the chapter "Ontwikkeling" follows over time (the §10 flows once they are counted)."""
KIND_NAMES = {"jaar": "jaren", "halfjaar": "halfjaren", "kwartaal": "kwartalen", "peildatum": "peildatums"}


class SeriesError(ReportInputError):
    """A --reeks (or --herziening) folder that cannot be used; the Dutch message names the folder."""


def period_kind(label: str) -> str:
    """jaar, halfjaar, kwartaal or peildatum for a period label."""
    if len(label) == 4:
        return "jaar"
    return {"H": "halfjaar", "Q": "kwartaal"}.get(label[4:5], "peildatum")


@dataclass(frozen=True)
class SeriesMember:
    """One published output of the series."""

    folder: Path
    label: str
    samenloop: pd.DataFrame
    manifest: dict[str, Any]

    @property
    def start(self):
        return parse_period(self.label).start


def output_period(folder: Path, what: str = "--reeks") -> str:
    """The period label of a Factlab output folder; SeriesError when the folder is no Factlab output."""
    folder = Path(folder)
    if (
        not folder.is_dir()
        or not (folder / MANIFEST_FILE).is_file()
        or not (folder / SAMENLOOP_FILE).is_file()
    ):
        raise SeriesError(
            f"{what}: {folder} is geen Factlab-uitvoer (daarin horen {MANIFEST_FILE} en {SAMENLOOP_FILE})"
        )
    try:
        manifest = read_manifest(folder / MANIFEST_FILE)
    except ReportInputError as exc:
        raise SeriesError(f"{what}: {folder} is geen Factlab-uitvoer ({exc})") from exc
    periode = manifest.get("periode")
    label = str(periode.get("label") or "") if isinstance(periode, dict) else ""
    try:
        return parse_period(label).label
    except PeriodError:
        raise SeriesError(
            f"{what}: {folder} is geen Factlab-uitvoer ({MANIFEST_FILE} noemt geen periode)"
        ) from None


def check_series(folders: list[Path] | tuple[Path, ...], current: str) -> list[tuple[Path, str]]:
    """Check the --reeks folders against each other and the current period; (folder, label) per folder.

    Refused (SeriesError, naming the folder): no Factlab output, a period given twice or equal to the
    current one, a period of another kind (all half-years, all quarters or all years), a peildatum.
    """
    try:
        current = parse_period(current).label
    except PeriodError:
        raise SeriesError(f"--reeks: de periode van deze uitvoer ('{current}') is onbekend") from None
    kind = period_kind(current)
    if kind == "peildatum":
        raise SeriesError(
            f"--reeks: een reeks kan alleen over jaren, halfjaren of kwartalen, niet over "
            f"de peildatum {current}"
        )
    seen: dict[str, Path] = {}
    result = []
    for folder in folders:
        folder = Path(folder)
        label = output_period(folder)
        if label == current:
            raise SeriesError(f"--reeks: {folder} is van periode {label}, de periode van deze run zelf")
        if label in seen:
            raise SeriesError(
                f"--reeks: periode {label} staat twee keer in de reeks ({seen[label]} en {folder})"
            )
        if period_kind(label) != kind:
            raise SeriesError(
                f"--reeks: {folder} is van periode {label} ({period_kind(label)}), deze run van {current} "
                f"({kind}); een reeks bestaat uit alleen {KIND_NAMES[kind]}"
            )
        seen[label] = folder
        result.append((folder, label))
    return result


def load_series(folders: list[Path] | tuple[Path, ...], current: str) -> list[SeriesMember]:
    """The checked series, oldest first (the current period not included)."""
    members = [
        SeriesMember(
            folder, label, read_samenloop(folder / SAMENLOOP_FILE), read_manifest(folder / MANIFEST_FILE)
        )
        for folder, label in check_series(folders, current)
    ]
    return sorted(members, key=lambda m: m.start)


def _rules(manifest: dict[str, Any]) -> Any:
    beveiliging = manifest.get("beveiliging")
    return manifest_rules(beveiliging.get("regels")) if isinstance(beveiliging, dict) else None


def _area_codes(samenloop: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(samenloop["gebiedscode"], samenloop["niveau"], strict=True))


def incompatibility(member: SeriesMember, samenloop: pd.DataFrame, manifest: dict[str, Any]) -> str | None:
    """Why an earlier output cannot stand in the series with the current one (Dutch), or None.

    Rules: the manifest's beveiliging.regels. Areas: the manifest's niveaus and the published areas."""
    if _rules(member.manifest) != _rules(manifest):
        return "andere regels voor geheimhouding"
    levels_then, levels_now = member.manifest.get("niveaus"), manifest.get("niveaus")
    if (levels_then and levels_now and levels_then != levels_now) or _area_codes(
        member.samenloop
    ) != _area_codes(samenloop):
        return "andere gebieden"
    return None


@dataclass(frozen=True)
class SeriesPoint:
    label: str
    cell: Cell


def _points(periods: list[tuple[str, pd.DataFrame]], code: str, indicator: str) -> list[SeriesPoint]:
    return [SeriesPoint(label, cell(frame, code, indicator)) for label, frame in periods]


def _value(c: Cell, indicator: str) -> float | None:
    if not c.published:
        return None
    return float(c.aantal) if indicator == HOUSEHOLDS else c.per_1000  # type: ignore[arg-type]


def line_chart(points: list[SeriesPoint], indicator: str) -> go.Figure:
    """One indicator of the gemeente over the periods; a secret period is a gap in the line."""
    labels = [p.label for p in points]
    values = [_value(p.cell, indicator) for p in points]
    text = [
        "." if v is None else (format_count(int(v)) if indicator == HOUSEHOLDS else format_rate(v))
        for v in values
    ]
    fig = go.Figure(
        go.Scatter(
            x=labels,
            y=values,
            mode="lines+markers+text",
            text=text,
            textposition="top center",
            line={"color": charts.OKABE_ITO["blue"], "width": 2},
            marker={"size": 7},
            hovertemplate="%{x}: %{text}<extra></extra>",
            connectgaps=False,
            cliponaxis=False,
        )
    )
    charts._base_layout(fig, 220)
    fig.update_xaxes(type="category", showgrid=False)
    fig.update_yaxes(
        title_text="huishoudens" if indicator == HOUSEHOLDS else "per 1.000 huishoudens",
        rangemode="tozero",
        gridcolor="#E5E5E5",
    )
    return fig


def small_multiples(rows: list[dict[str, Any]], labels: list[str]) -> go.Figure:
    """Samenloop (domeinen:2+ per 1 000) per wijk over the periods, one small panel per wijk."""
    columns = 3
    n_rows = max(1, -(-len(rows) // columns))
    fig = make_subplots(
        rows=n_rows,
        cols=columns,
        subplot_titles=[r["naam"] for r in rows],
        shared_yaxes=True,
        vertical_spacing=min(0.12, 0.5 / n_rows),
        horizontal_spacing=0.05,
    )
    top = 1.0
    for i, row in enumerate(rows):
        values = [_value(p.cell, MULTI_DOMAIN) for p in row["punten"]]
        top = max([top, *(v for v in values if v is not None)])
        if all(v is None for v in values):
            fig.add_annotation(
                text="geheim (.)",
                showarrow=False,
                xref="x domain",
                yref="y domain",
                x=0.5,
                y=0.5,
                font={"color": charts.SECRET_GREY},
                row=i // columns + 1,
                col=i % columns + 1,
            )
        fig.add_trace(
            go.Scatter(
                x=labels,
                y=values,
                mode="lines+markers",
                connectgaps=False,
                line={"color": charts.OKABE_ITO["vermillion"], "width": 2},
                marker={"size": 5},
                hovertemplate=f"{row['naam']} %{{x}}: %{{y:.1f}} per 1.000<extra></extra>",
            ),
            row=i // columns + 1,
            col=i % columns + 1,
        )
    charts._base_layout(fig, 170 * n_rows + 20)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 30, "b": 10})
    fig.update_xaxes(type="category", showgrid=False, tickfont={"size": 10})
    # One scale for every wijk: small multiples are compared across panels.
    fig.update_yaxes(range=[0, top * 1.1], gridcolor="#E5E5E5", tickfont={"size": 10})
    return fig


def series_periods(
    members: list[SeriesMember], label: str, samenloop: pd.DataFrame, manifest: dict[str, Any]
) -> tuple[list[tuple[str, pd.DataFrame]], list[dict[str, str]]]:
    """The usable periods oldest first, ending with the current one (at most MAX_PERIODS), and the left-out
    periods with the reason."""
    usable: list[tuple[str, pd.DataFrame]] = []
    left_out: list[dict[str, str]] = []
    for member in members:
        reason = incompatibility(member, samenloop, manifest)
        if reason:
            left_out.append({"periode": member.label, "map": member.folder.name, "reden": reason})
        else:
            usable.append((member.label, member.samenloop))
    usable.append((label, samenloop))
    for dropped, _ in usable[:-MAX_PERIODS]:
        left_out.append({"periode": dropped, "map": "", "reden": f"meer dan {MAX_PERIODS} perioden"})
    return usable[-MAX_PERIODS:], left_out


def series_context(
    members: list[SeriesMember], label: str, samenloop: pd.DataFrame, manifest: dict[str, Any], figure_div
) -> dict[str, Any] | None:
    """What the chapter "Ontwikkeling" shows; None without a series. Published cells only."""
    if not members:
        return None
    periods, left_out = series_periods(members, label, samenloop, manifest)
    labels = [p for p, _ in periods]
    gemeente = municipality(samenloop)
    # The tables hold every published indicator (contract §10); the charts follow the key indicators.
    indicators = list(INDICATORS)
    charted = [name for name in KEY_INDICATORS if name in INDICATORS]
    gemeente_rows = [
        {"indicator": name, "label": INDICATOR_LABELS[name], "punten": _points(periods, gemeente.code, name)}
        for name in indicators
    ]
    wijk_rows = [
        {
            "code": area.code,
            "naam": area.naam,
            "punten": _points(periods, area.code, MULTI_DOMAIN),
            "indicatoren": [
                {
                    "indicator": name,
                    "label": INDICATOR_LABELS[name],
                    "punten": _points(periods, area.code, name),
                }
                for name in indicators
            ],
        }
        for area in areas(samenloop, "wijk")
    ]
    figures = {
        row["indicator"]: figure_div(line_chart(row["punten"], row["indicator"]), f"grafiek-reeks-{i}")
        for i, row in enumerate(r for r in gemeente_rows if r["indicator"] in charted)
    }
    if wijk_rows:
        figures["wijken"] = figure_div(small_multiples(wijk_rows, labels), "grafiek-reeks-wijken")
    return {
        "perioden": labels,
        "weggelaten": left_out,
        "gemeente": gemeente_rows,
        "grafieken": charted,
        "wijken": wijk_rows,
        "figuren": figures,
        "huishoudens": HOUSEHOLDS,
        "samenloop_label": INDICATOR_LABELS[MULTI_DOMAIN],
    }
