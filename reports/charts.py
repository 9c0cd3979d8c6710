"""Plotly figures of the stapelingsrapport, drawn from published cells only.

Colours are Okabe-Ito (safe for colour-blind readers); labels are preformatted in Dutch so the charts
show the same numbers as the tables.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from reports.formatting import format_count, format_rate
from schemas.indicators import DOMAIN_LABELS, DOMAINS, MULTI_DOMAIN

OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
DEGREE_COLOURS = {1: OKABE_ITO["sky_blue"], 2: OKABE_ITO["orange"], 3: OKABE_ITO["vermillion"]}
"""Bar colour by the number of domains in a combination."""
DEGREE_PATTERNS = {1: "", 2: "/", 3: "x"}
"""Bar hatching by the number of domains, so the chart never tells by colour alone."""
SECRET_GREY = "#BBBBBB"
INK = "#222222"
FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif"


def _base_layout(fig: go.Figure, height: int) -> go.Figure:
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        font={"family": FONT, "size": 13, "color": INK},
        paper_bgcolor="white",
        plot_bgcolor="white",
        separators=",.",
        showlegend=False,
        hoverlabel={"font": {"family": FONT}},
    )
    return fig


def _count_text(aantal: Any) -> str:
    return "." if aantal is None or pd.isna(aantal) else format_count(int(aantal))


def _hover_text(row: Any) -> str:
    if row.geheim:
        return f"{row.label}: geheim (.)"
    return f"{row.label}: {format_count(int(row.aantal))} huishoudens ({format_rate(row.per_1000)} per 1.000)"


def combination_chart(combinations: pd.DataFrame) -> go.Figure:
    """UpSet-style chart: a bar per exclusive domain combination, a dot matrix of its domains below."""
    combos = combinations.reset_index(drop=True)
    x = [str(i) for i in range(len(combos))]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.68, 0.32], vertical_spacing=0.03)
    values = [0 if row.geheim else int(row.aantal) for row in combos.itertuples()]
    hover = [_hover_text(row) for row in combos.itertuples()]
    fig.add_trace(
        go.Bar(
            x=x,
            y=values,
            text=[_count_text(row.aantal) for row in combos.itertuples()],
            textposition="outside",
            cliponaxis=False,
            marker={
                "color": [DEGREE_COLOURS.get(int(n), SECRET_GREY) for n in combos["aantal_domeinen"]],
                "pattern": {
                    "shape": [DEGREE_PATTERNS.get(int(n), "") for n in combos["aantal_domeinen"]],
                    "fgcolor": INK,
                    "size": 7,
                    "solidity": 0.25,
                },
                "line": {"color": INK, "width": 0.5},
            },
            hovertext=hover,
            hoverinfo="text",
        ),
        row=1,
        col=1,
    )
    labels = [DOMAIN_LABELS[d] for d in DOMAINS]
    for i, row in enumerate(combos.itertuples()):
        members = [DOMAIN_LABELS[d] for d in DOMAINS if getattr(row, d)]
        if len(members) > 1:  # the line first, so the dots are drawn on top of it
            fig.add_trace(
                go.Scatter(
                    x=[x[i]] * len(members),
                    y=members,
                    mode="lines",
                    line={"color": INK, "width": 3},
                    hoverinfo="skip",
                ),
                row=2,
                col=1,
            )
        fig.add_trace(
            go.Scatter(
                x=[x[i]] * len(labels),
                y=labels,
                mode="markers",
                marker={"size": 14, "color": [INK if lab in members else "#E3E3E3" for lab in labels]},
                hovertext=[row.label] * len(labels),
                hoverinfo="text",
            ),
            row=2,
            col=1,
        )
    top = max(values) if any(values) else 1
    fig.update_yaxes(
        row=1, col=1, range=[0, top * 1.18], gridcolor="#E8E8E8", title_text="huishoudens", tickformat=",d"
    )
    fig.update_yaxes(
        row=2,
        col=1,
        categoryorder="array",
        categoryarray=labels[::-1],
        showgrid=False,
        range=[-0.6, len(labels) - 0.4],
    )
    fig.update_xaxes(showticklabels=False, showgrid=False, type="category")
    return _base_layout(fig, height=380)


def samenloop_per_wijk_chart(wijken: list[dict[str, Any]], gemeente_rate: float | None) -> go.Figure:
    """Horizontal bars: households with samenloop per 1 000 per wijk, with the gemeente as a line."""
    published = sorted(
        (w for w in wijken if w[MULTI_DOMAIN].per_1000 is not None), key=lambda w: w[MULTI_DOMAIN].per_1000
    )
    secret = [w for w in wijken if w[MULTI_DOMAIN].per_1000 is None]
    ordered = secret + published
    names = [w["naam"] for w in ordered]
    rates = [w[MULTI_DOMAIN].per_1000 or 0.0 for w in ordered]
    fig = go.Figure(
        go.Bar(
            x=rates,
            y=names,
            orientation="h",
            text=[format_rate(w[MULTI_DOMAIN].per_1000) for w in ordered],
            textposition="auto",
            insidetextanchor="end",
            insidetextfont={"color": INK},
            outsidetextfont={"color": INK},
            cliponaxis=False,
            marker={
                "color": [
                    OKABE_ITO["orange"] if w[MULTI_DOMAIN].per_1000 is not None else SECRET_GREY
                    for w in ordered
                ]
            },
            hovertext=[
                f"{w['naam']}: {format_rate(w[MULTI_DOMAIN].per_1000)} per 1.000 huishoudens" for w in ordered
            ],
            hoverinfo="text",
        )
    )
    for w in secret:
        fig.add_annotation(
            x=0, y=w["naam"], text=". afgeschermd", xanchor="left", showarrow=False, font={"color": "#5f5f5f"}
        )
    top = max([*rates, gemeente_rate or 0.0, 1.0])
    if gemeente_rate is not None:
        fig.add_vline(x=gemeente_rate, line={"color": INK, "dash": "dash", "width": 1.5}, layer="below")
        fig.add_annotation(
            x=gemeente_rate,
            y=1.0,
            yref="paper",
            yanchor="bottom",
            showarrow=False,
            text=f"gemeente {format_rate(gemeente_rate)}",
            font={"size": 12},
        )
    fig.update_xaxes(range=[0, top * 1.12], gridcolor="#E8E8E8", title_text="per 1.000 huishoudens")
    fig.update_yaxes(automargin=True)
    fig = _base_layout(fig, height=90 + 30 * max(len(ordered), 1))
    fig.update_layout(margin={"t": 28})
    return fig


def _class_label(indicator: str) -> str:
    """`voorzieningen:4+` -> `4 of meer`: the class alone, the axis title says what is counted."""
    return indicator.split(":", 1)[1].replace("+", " of meer")


def distribution_chart(frame: pd.DataFrame, colour: str, axis_title: str) -> go.Figure:
    """Bars of households per class (1, 2, 3, 4+ voorzieningen or organisaties)."""
    values = [0 if row.geheim else int(row.aantal) for row in frame.itertuples()]
    fig = go.Figure(
        go.Bar(
            x=[_class_label(name) for name in frame["indicator"]],
            y=values,
            text=[_count_text(row.aantal) for row in frame.itertuples()],
            textposition="outside",
            cliponaxis=False,
            marker={"color": colour, "line": {"color": INK, "width": 0.5}},
            hovertext=[_hover_text(row) for row in frame.itertuples()],
            hoverinfo="text",
        )
    )
    top = max(values) if any(values) else 1
    fig.update_yaxes(range=[0, top * 1.2], gridcolor="#E8E8E8", title_text="huishoudens", tickformat=",d")
    fig.update_xaxes(type="category", title_text=axis_title)
    return _base_layout(fig, height=300)
