"""The wijk map of the report as plain inline SVG: no plotly.js geo module, no script, no base map.

Every wijk carries its own label (name and value), so the map never tells by colour alone; a secret wijk
is hatched, not only grey. The numbers are in the wijk table beside it as well.
"""

from __future__ import annotations

import math
from typing import Any

from markupsafe import Markup, escape

from reports.formatting import format_rate
from schemas.indicators import MULTI_DOMAIN

WIDTH = 640
PADDING = 8
CLASS_COLOURS = ("#DCEAF5", "#9CC9EA", "#56B4E9", "#0072B2")
"""Light to dark blue on the Okabe-Ito blues, four classes; reads in greyscale too."""
INK = "#222222"


def _polygons(geometry: dict[str, Any]) -> list[list[list[list[float]]]]:
    coords = geometry.get("coordinates") or []
    return coords if geometry.get("type") == "MultiPolygon" else [coords]


def _bounds(features: list[dict[str, Any]]) -> tuple[float, float, float, float]:
    xs = [p[0] for f in features for poly in _polygons(f["geometry"]) for ring in poly for p in ring]
    ys = [p[1] for f in features for poly in _polygons(f["geometry"]) for ring in poly for p in ring]
    return min(xs), min(ys), max(xs), max(ys)


class _Projection:
    """Longitude and latitude (WGS84) to SVG pixels: equirectangular at the map's middle latitude."""

    def __init__(self, bounds: tuple[float, float, float, float]) -> None:
        lon0, lat0, lon1, lat1 = bounds
        self.lon0, self.lat1 = lon0, lat1
        self.kx = math.cos(math.radians((lat0 + lat1) / 2))
        span_x = max((lon1 - lon0) * self.kx, 1e-9)
        span_y = max(lat1 - lat0, 1e-9)
        self.scale = (WIDTH - 2 * PADDING) / span_x
        self.height = round(span_y * self.scale + 2 * PADDING)

    def __call__(self, lon: float, lat: float) -> tuple[float, float]:
        x = PADDING + (lon - self.lon0) * self.kx * self.scale
        y = PADDING + (self.lat1 - lat) * self.scale
        return round(x, 1), round(y, 1)


def _path(geometry: dict[str, Any], project: _Projection) -> str:
    parts = []
    for polygon in _polygons(geometry):
        for ring in polygon:
            points = [project(p[0], p[1]) for p in ring]
            if points:
                parts.append("M" + " L".join(f"{x},{y}" for x, y in points) + " Z")
    return " ".join(parts)


def _label_point(geometry: dict[str, Any], project: _Projection) -> tuple[float, float]:
    """Centre of the bounding box of the largest outer ring; good enough to place a label."""
    ring = max((poly[0] for poly in _polygons(geometry) if poly and poly[0]), key=len)
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    return project((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2)


def map_classes(rates: list[float]) -> list[tuple[float, float, str]]:
    """Four equal classes from 0 to the highest published rate: (from, to, colour)."""
    top = max([*rates, 1.0])
    step = top / len(CLASS_COLOURS)
    return [(i * step, (i + 1) * step, colour) for i, colour in enumerate(CLASS_COLOURS)]


def _colour(rate: float, classes: list[tuple[float, float, str]]) -> str:
    for _low, high, colour in classes:
        if rate <= high:
            return colour
    return classes[-1][2]


def _legend(classes: list[tuple[float, float, str]], y: float, hatch_id: str | None) -> list[str]:
    """The classes, and the hatching when an area is secret (`hatch_id` = the id of its pattern)."""
    items = [(colour, f"{format_rate(low)} – {format_rate(high)}") for low, high, colour in classes]
    if hatch_id:
        items.append((f"url(#{hatch_id})", "afgeschermd"))
    out = ['<g class="kaart-legenda" aria-hidden="true">']
    x = PADDING
    for fill, text in items:
        out.append(f'<rect x="{x}" y="{y}" width="18" height="14" fill="{fill}" stroke="{INK}" '
                   'stroke-width="0.5"/>')
        out.append(f'<text x="{x + 24}" y="{y + 11.5}" font-size="12" fill="{INK}">{escape(text)}</text>')
        x += 34 + 7.2 * len(text)
    out.append("</g>")
    return out


def _in_words(features: list[dict[str, Any]], rates: list[float | None], by_code: dict[str, Any],
              key: str) -> str:
    """The map's text alternative: every area with its value, as the labels show them."""
    parts = [
        f"{by_code[f['properties'][key]]['naam']} {'.' if r is None else format_rate(r)}"
        for f, r in zip(features, rates, strict=True)
    ]
    return "; ".join(parts) + ". Een punt is afgeschermd."


def wijk_map_svg(geojson: dict[str, Any], wijken: list[dict[str, Any]], title: str, key: str = "wijkcode",
                 prefix: str = "kaart") -> Markup:
    """Samenloop per 1 000 households per wijk as an accessible SVG (role img, title, per-wijk titles).

    The areas of another level (an own division, §9) are drawn the same way: `key` is the property of
    the features that holds the area code, `prefix` makes the ids of the SVG unique in the report.
    """
    by_code = {w["code"]: w for w in wijken}
    features = [
        f for f in geojson["features"] if (f.get("properties") or {}).get(key) in by_code
    ]
    hatch_id = f"{prefix}-afgeschermd"
    project = _Projection(_bounds(features))
    rates = [by_code[f["properties"][key]][MULTI_DOMAIN].per_1000 for f in features]
    classes = map_classes([r for r in rates if r is not None])
    legend_y = project.height + 6
    height = legend_y + 22
    shapes, labels = [], []
    for feature, rate in zip(features, rates, strict=True):
        wijk = by_code[feature["properties"][key]]
        value = "afgeschermd (.)" if rate is None else f"{format_rate(rate)} per 1.000 huishoudens"
        fill = f"url(#{hatch_id})" if rate is None else _colour(rate, classes)
        shapes.append(
            f'<path class="wijk" data-{key}="{escape(wijk["code"])}" '
            f'd="{_path(feature["geometry"], project)}" '
            f'fill="{fill}" fill-rule="evenodd" stroke="#ffffff" stroke-width="1.5">'
            f"<title>{escape(wijk['naam'])}: {escape(value)}</title></path>"
        )
        x, y = _label_point(feature["geometry"], project)
        shown = "." if rate is None else format_rate(rate)
        labels.append(
            f'<text x="{x}" y="{y}" text-anchor="middle" class="kaart-label">'
            f'<tspan x="{x}" dy="-0.2em">{escape(wijk["naam"])}</tspan>'
            f'<tspan x="{x}" dy="1.2em" font-weight="bold">{escape(shown)}</tspan></text>'
        )
    hatch = (
        f'<defs><pattern id="{hatch_id}" width="8" height="8" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="8" height="8" fill="#e3e3e3"/>'
        f'<line x1="0" y1="0" x2="0" y2="8" stroke="#6b6b6b" stroke-width="3"/></pattern></defs>'
    )
    svg = [
        f'<svg class="kaart" id="grafiek-{prefix}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{prefix}-titel" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{prefix}-titel">{escape(title)}: '
        f"{escape(_in_words(features, rates, by_code, key))}</title>",
        hatch,
        '<g class="wijken">', *shapes, "</g>",
        f'<g class="labels" aria-hidden="true" font-size="12" fill="{INK}">', *labels, "</g>",
        *_legend(classes, legend_y, hatch_id if None in rates else None),
        "</svg>",
    ]
    return Markup("\n".join(svg))
