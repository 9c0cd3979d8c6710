"""Render the stapelingsrapport as one self-contained HTML file (Jinja2 templates in `templates/`).

plotly.js is inlined once in the head: the basic bundle (bar, pie, scatter; `static/plotly-basic.min.js`,
about a quarter of the full bundle), so every chart must use those trace types; the wijk map is plain SVG
(`reports.kaart`). Every figure is a bare div with its own small script. Nothing is loaded from the network,
so the file opens offline and can be printed to PDF by headless chromium.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from disclosure.rules import default_rules
from reports import charts
from reports.figures import (
    DIVISION_MAP_KEY,
    KWALITEIT_FILE,
    MANIFEST_FILE,
    SAMENLOOP_FILE,
    Area,
    Cell,
    area_table,
    cell,
    data_quality,
    exclusive_combinations,
    indicator_frame,
    municipality,
    period_changes,
    read_kwaliteit,
    read_manifest,
    read_published,
    read_samenloop,
)
from reports.formatting import (
    SECRET,
    format_count,
    format_date,
    format_percentage,
    format_rate,
    format_signed_count,
    format_signed_rate,
    period_label,
)
from reports.groepen import group_chapter, own_divisions
from reports.kaart import wijk_map_svg
from reports.kosten import KOSTEN_FILE, cost_chapter, pyramid_chart, read_kosten
from reports.referenties import report_reference
from reports.stapeling import stacking_context
from reports.summary import plain_reading
from reports.toelichting import CHAPTERS, Toelichting, division_chapter, toelichting_context
from reports.wijkprofiel import TEST_EXPLANATION, wijk_profiles
from schemas.indicators import (
    DOMAIN_INDICATORS,
    DOMAIN_LABELS,
    DOMAINS,
    HOUSEHOLDS,
    INDICATOR_LABELS,
    INDICATORS,
    MULTI_DOMAIN,
    ORGANISATION_COUNT_INDICATORS,
    SERVICE_COUNT_INDICATORS,
    WITH_SERVICE,
)

TEMPLATES = Path(__file__).parent / "templates"
PLOTLY_CONFIG = {"displayModeBar": False, "displaylogo": False, "responsive": True, "scrollZoom": False}
PLOTLY_BUNDLE = Path(__file__).parent / "static" / "plotly-basic.min.js"
"""plotly.js-basic-dist-min from npm (MIT licence beside it), the plotly.js version plotly.py draws for."""
PLOTLY_TRACE_TYPES = frozenset({"bar", "pie", "scatter"})
"""The trace types the basic bundle can draw; `figure_div` refuses any other."""

TEMPLATE_INDICATORS = {
    "huishoudens": HOUSEHOLDS,
    "met_voorziening": WITH_SERVICE,
    "samenloop": MULTI_DOMAIN,
    "domein": DOMAIN_INDICATORS,
}
"""The indicator names the template refers to, taken from schemas.indicators rather than spelled out."""
CHANGE_WIJK_INDICATORS = (WITH_SERVICE, MULTI_DOMAIN)

@dataclass
class ReportData:
    """Everything the report shows: the protected output of one run, optionally of the previous run too."""

    out_dir: Path
    samenloop: pd.DataFrame
    kwaliteit: pd.DataFrame
    manifest: dict[str, Any]
    previous: pd.DataFrame | None = None
    previous_manifest: dict[str, Any] = field(default_factory=dict)
    geojson: dict[str, Any] | None = None
    toelichting: Toelichting | None = None
    series: list[Any] = field(default_factory=list)
    """Earlier outputs of the series (reports.reeks.SeriesMember), oldest first."""
    norms: list[Any] = field(default_factory=list)
    """The gemeente's norms (reports.normen.Norm)."""
    kosten: pd.DataFrame | None = None
    """kosten.csv (§12); None when the run wrote none: the report then has no chapter on costs."""
    extra: pd.DataFrame | None = None
    """The rows of samenloop.csv for groups and own divisions (§9, `figures.read_published`); None or
    empty when the run has none: the report then has no chapters on them."""
    division_maps: dict[str, dict[str, Any]] = field(default_factory=dict)
    """A map per own division (niveau -> `figures.read_division_geojson`), drawn beside its table."""


def load_report_data(
    out_dir: Path,
    vorige: Path | None = None,
    geojson: dict[str, Any] | None = None,
    toelichting: Toelichting | None = None,
    reeks: list[Path] | None = None,
    normen: Path | None = None,
    division_maps: dict[str, dict[str, Any]] | None = None,
) -> ReportData:
    """Read samenloop.csv, kwaliteit.csv and manifest.json of a run, and samenloop.csv of the previous run."""
    samenloop, extra = read_published(out_dir / SAMENLOOP_FILE)
    data = ReportData(
        out_dir=out_dir,
        samenloop=samenloop,
        extra=extra,
        kwaliteit=read_kwaliteit(out_dir / KWALITEIT_FILE),
        manifest=read_manifest(out_dir / MANIFEST_FILE),
        geojson=geojson,
        toelichting=toelichting,
        kosten=read_kosten(out_dir / KOSTEN_FILE),
        division_maps=division_maps or {},
    )
    if vorige is not None:
        data.previous = read_samenloop(vorige / SAMENLOOP_FILE)
        data.previous_manifest = read_manifest(vorige / MANIFEST_FILE)
    if reeks:
        from reports.ontwikkeling import period_code
        from reports.reeks import load_series

        data.series = load_series(reeks, period_code(data.manifest))
    if normen is not None:
        from reports.normen import load_norms

        data.norms = load_norms(normen)
    return data


def figure_div(fig: go.Figure, div_id: str) -> Markup:
    """A plotly figure as a div plus script, without plotly.js (that is inlined once in the head)."""
    unsupported = {trace.type for trace in fig.data} - PLOTLY_TRACE_TYPES
    if unsupported:
        raise ValueError(f"trace types not in the basic plotly.js bundle: {sorted(unsupported)}")
    height = fig.layout.height or 360
    html = pio.to_html(
        fig,
        full_html=False,
        include_plotlyjs=False,
        config=PLOTLY_CONFIG,
        div_id=div_id,
        default_width="100%",
        default_height=f"{height}px",
        validate=False,
    )
    return Markup(html)


@cache
def _plotly_js() -> Markup:
    return Markup(PLOTLY_BUNDLE.read_text(encoding="utf-8"))


@cache
def report_environment() -> Environment:
    """The Jinja environment of every page in reports/templates (report and comparison): escaping, filters."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        aantal=format_count,
        per1000=format_rate,
        procent=format_percentage,
        verschil=format_signed_count,
        verschil_per1000=format_signed_rate,
    )
    env.globals.update(SECRET=SECRET)
    return env


def _period(manifest: dict[str, Any]) -> dict[str, str]:
    """The period in words (label), as its code (kort, for table headers), and its first and last day."""
    periode = manifest.get("periode") or {}
    if not isinstance(periode, dict):
        periode = {"label": str(periode)}
    code = str(periode.get("label") or "").strip()
    words = period_label(code)
    article = "de " if words.startswith("peildatum") else "het " if words != code else ""
    return {
        "label": words or "onbekende periode",
        "met_lidwoord": article + words,
        "kort": code or "?",
        "start": format_date(str(periode.get("start") or "")),
        "eind": format_date(str(periode.get("eind") or "")),
    }


def disclosure_parameters(manifest: dict[str, Any]) -> tuple[int, int]:
    """(threshold, rounding base) of the run's disclosure rules (manifest `beveiliging.regels`).

    A value the manifest lacks, or holds in a form that is not a number, comes from the packaged rules
    (`disclosure.rules.default_rules`, i.e. `disclosure/regels.toml`).
    """
    beveiliging = manifest.get("beveiliging") or {}
    regels = beveiliging.get("regels") if isinstance(beveiliging, dict) else None
    regels = regels if isinstance(regels, dict) else {}

    def positive(name: str, default: int) -> int:
        try:
            return max(int(regels.get(name, default)), 1)
        except (TypeError, ValueError):
            return default

    defaults = default_rules()
    return (
        positive("min_publiceerbaar", defaults.min_publiceerbaar),
        positive("afronden_op", defaults.afronden_op),
    )


def secret_legend(threshold: int) -> str:
    """What "." means, in the words of the legend."""
    return f"minder dan {threshold} huishoudens of afgeschermd om terugrekenen te voorkomen"


def _sort_value(c: Cell, field: str = "per_1000") -> str:
    """The data-sort value of a table cell: empty for secret cells, which the script keeps at the bottom."""
    value = getattr(c, field)
    return "" if value is None or c.geheim else repr(float(value))


def report_context(data: ReportData) -> dict[str, Any]:
    """All values the template needs; every number is a published cell or a ratio of published cells."""
    samenloop, manifest = data.samenloop, data.manifest
    threshold, rounding = disclosure_parameters(manifest)
    gemeente: Area = municipality(samenloop)
    gemeente_info = manifest.get("gemeente") or {}
    gemeente_naam = str(gemeente_info.get("naam") or gemeente.naam)

    wijken = area_table(samenloop, "wijk", INDICATORS)
    combos = exclusive_combinations(samenloop, gemeente.code)
    voorzieningen = indicator_frame(samenloop, gemeente.code, SERVICE_COUNT_INDICATORS)
    organisaties = indicator_frame(samenloop, gemeente.code, ORGANISATION_COUNT_INDICATORS)
    figures = _figures(data, gemeente, wijken, combos, voorzieningen, organisaties)
    previous_period = _previous_period(data)
    kosten = cost_chapter(samenloop, data.kosten, data.kwaliteit, gemeente.code, wijken)
    if kosten and kosten.get("piramide"):
        figures["kosten_piramide"] = figure_div(pyramid_chart(kosten["piramide"]), "grafiek-kosten")

    return {
        "titel": f"Stapelingsrapport {gemeente_naam}",
        "gemeente": {
            "code": str(gemeente_info.get("code") or gemeente.code),
            "naam": gemeente_naam,
            "gebiedscode": gemeente.code,
        },
        "periode": _period(manifest),
        "vorige_periode": previous_period,
        "kerncijfers": {name: cell(samenloop, gemeente.code, name) for name in INDICATORS},
        "samenvatting": plain_reading(
            samenloop,
            gemeente,
            wijken,
            data.previous,
            previous_period["met_lidwoord"] if previous_period else None,
            rounding,
        ),
        "aandeel_samenloop": _share(samenloop, gemeente.code),
        "combinaties": combos.to_dict("records"),
        "voorzieningen": voorzieningen.to_dict("records"),
        "organisaties": organisaties.to_dict("records"),
        "wijken": wijken,
        "ind": TEMPLATE_INDICATORS,
        "heeft_kaart": "kaart" in figures,
        "kaart_gevraagd": data.geojson is not None,
        "referentie": report_reference(),
        "veranderingen": _changes(data, gemeente),
        "verandering_indicatoren": {"gemeente": INDICATORS, "wijken": CHANGE_WIJK_INDICATORS},
        "kwaliteit": data_quality(data.kwaliteit, manifest),
        "kosten": kosten,
        **_run_details(manifest),
        "labels": INDICATOR_LABELS,
        "domein_labels": DOMAIN_LABELS,
        "domeinen": DOMAINS,
        "geheim_legenda": secret_legend(threshold),
        "afronding": rounding,
        "figuren": figures,
        "sort_value": _sort_value,
        "plotly_js": _plotly_js(),
        "bestanden": {"samenloop": SAMENLOOP_FILE, "kwaliteit": KWALITEIT_FILE, "manifest": MANIFEST_FILE,
                      "kosten": KOSTEN_FILE},
    }


def _figures(
    data: ReportData,
    gemeente: Area,
    wijken: list[dict[str, Any]],
    combos: pd.DataFrame,
    voorzieningen: pd.DataFrame,
    organisaties: pd.DataFrame,
) -> dict[str, Markup]:
    """The plotly figures as divs; the wijk chart only with wijken, the map only when it can be drawn."""
    figures = {
        "combinaties": figure_div(charts.combination_chart(combos), "grafiek-combinaties"),
        "voorzieningen": figure_div(
            charts.distribution_chart(voorzieningen, charts.OKABE_ITO["blue"], "aantal voorzieningen"),
            "grafiek-voorzieningen",
        ),
        "organisaties": figure_div(
            charts.distribution_chart(organisaties, charts.OKABE_ITO["bluish_green"], "aantal organisaties"),
            "grafiek-organisaties",
        ),
    }
    if wijken:
        multi = cell(data.samenloop, gemeente.code, MULTI_DOMAIN)
        figures["wijken"] = figure_div(
            charts.samenloop_per_wijk_chart(wijken, multi.per_1000), "grafiek-wijken"
        )
    mapped = {(f.get("properties") or {}).get("wijkcode") for f in (data.geojson or {}).get("features", [])}
    if data.geojson is not None and any(w["code"] in mapped for w in wijken):
        figures["kaart"] = wijk_map_svg(data.geojson, wijken, "Kaart: huishoudens met samenloop per 1.000 "
                                        "huishoudens, per wijk")
    return figures


def _previous_period(data: ReportData) -> dict[str, str] | None:
    """The previous run's period (`_period`), in general words when its manifest does not name it."""
    if data.previous is None:
        return None
    previous_period = _period(data.previous_manifest)
    if previous_period["kort"] == "?":
        previous_period.update(label="de vorige periode", met_lidwoord="de vorige periode", kort="vorige")
    return previous_period


def _changes(data: ReportData, gemeente: Area) -> dict[str, list[dict[str, Any]]] | None:
    """Changes since the previous run, for the gemeente (every indicator) and per wijk; None without one."""
    if data.previous is None:
        return None
    return {
        "gemeente": [
            row
            for row in period_changes(data.samenloop, data.previous, gemeente.niveau, INDICATORS)
            if row["code"] == gemeente.code
        ],
        "wijken": period_changes(data.samenloop, data.previous, "wijk", CHANGE_WIJK_INDICATORS),
    }


def _run_details(manifest: dict[str, Any]) -> dict[str, Any]:
    """What the manifest says about the run: deliveries, quality signals, keys, rules, audit, version."""
    beveiliging = manifest.get("beveiliging") or {}
    audit = beveiliging.get("audit") if isinstance(beveiliging, dict) else None
    pseudonimisering = manifest.get("pseudonimisering") or {}
    return {
        "leveringen": [lev for lev in manifest.get("leveringen") or [] if isinstance(lev, dict)],
        "kwaliteit_signalen": [
            str(sig.get("signaal"))
            for sig in manifest.get("kwaliteit_signalen") or []
            if isinstance(sig, dict) and sig.get("signaal")
        ],
        "ttp_key_id": str(pseudonimisering.get("ttp_key_id") or "")
        if isinstance(pseudonimisering, dict)
        else "",
        "regels": [str(r) for r in (beveiliging.get("regels_nl") or [])]
        if isinstance(beveiliging, dict)
        else [],
        "audit_geslaagd": audit.get("geslaagd") if isinstance(audit, dict) else None,
        "key_id": str(manifest.get("key_id") or ""),
        "niveaus": manifest.get("niveaus") or [],
        "versie": str(manifest.get("factlab_versie") or ""),
        "gemaakt": format_date(str(manifest.get("gemaakt") or "")),
    }


def _share(samenloop: pd.DataFrame, gebiedscode: str) -> float | None:
    """Samenloop as a share of households with a voorziening: a ratio of two published cells."""
    multi, with_service = (
        cell(samenloop, gebiedscode, MULTI_DOMAIN),
        cell(samenloop, gebiedscode, WITH_SERVICE),
    )
    if multi.published and with_service.published and with_service.aantal:
        return multi.aantal / with_service.aantal  # type: ignore[operator]
    return None


def report_title(data: ReportData) -> str:
    """The title of the report, e.g. "Stapelingsrapport Zaanstad – 2026H1"; also used in the PDF footer."""
    gemeente_info = data.manifest.get("gemeente") or {}
    naam = str(gemeente_info.get("naam") or municipality(data.samenloop).naam)
    return f"Stapelingsrapport {naam}, {_period(data.manifest)['label']}"


def chapter_context(data: ReportData) -> dict[str, Any]:
    """The stacking table (§11, when published), the wijkprofielen, the groups and own divisions (§9)."""
    gemeente = municipality(data.samenloop)
    return {
        "stapeling": stacking_context(data.out_dir, data.samenloop, gemeente.code),
        "wijkprofielen": wijk_profiles(data.samenloop, gemeente),
        "wijkprofiel_uitleg": TEST_EXPLANATION,
        **group_context(data, gemeente),
    }


def group_context(data: ReportData, gemeente: Area) -> dict[str, Any]:
    """"Bij welke groepen?" per kenmerk and a table per own division, each with its chart; both lists
    are empty (and the chapters absent) when samenloop.csv has no groups or own divisions."""
    extra = data.extra if data.extra is not None else pd.DataFrame()
    rate = cell(data.samenloop, gemeente.code, MULTI_DOMAIN).per_1000
    groepen = group_chapter(extra, data.samenloop, gemeente)
    for kenmerk in groepen:
        kenmerk["figuur"] = figure_div(
            charts.samenloop_per_wijk_chart(kenmerk["rijen"], rate), f"grafiek-groep-{kenmerk['id']}"
        )
    indelingen = own_divisions(extra)
    for indeling in indelingen:
        niveau = indeling["niveau"]
        chart = charts.samenloop_per_wijk_chart(indeling["gebieden"], rate)
        indeling["figuur"] = figure_div(chart, f"grafiek-indeling-{indeling['id']}")
        indeling["kaart_gevraagd"] = niveau in data.division_maps
        indeling["kaart"] = _division_map(data.division_maps.get(niveau), indeling)
        indeling["toelichting"] = division_chapter(indeling["titel"])
    return {"groepen": groepen, "indelingen": indelingen, "groep_minimum": _minimum_households(data.manifest)}


def _division_map(geojson: dict[str, Any] | None, indeling: dict[str, Any]) -> Markup | None:
    """The SVG map of an own division, when its map has at least one of its areas."""
    codes = {(f.get("properties") or {}).get(DIVISION_MAP_KEY) for f in (geojson or {}).get("features", [])}
    if geojson is None or not any(area["code"] in codes for area in indeling["gebieden"]):
        return None
    title = f"Kaart: huishoudens met samenloop per 1.000 huishoudens, per {indeling['titel']}"
    prefix = f"kaart-indeling-{indeling['id']}"
    return wijk_map_svg(geojson, indeling["gebieden"], title, DIVISION_MAP_KEY, prefix)


def _minimum_households(manifest: dict[str, Any]) -> int:
    """The run's `min_huishoudens_gebied` (a group below it publishes only its households); 0 = none."""
    beveiliging = manifest.get("beveiliging") or {}
    regels = beveiliging.get("regels") if isinstance(beveiliging, dict) else None
    value = regels.get("min_huishoudens_gebied") if isinstance(regels, dict) else None
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return default_rules().min_huishoudens_gebied


def report_chapters(data: ReportData, context: dict[str, Any] | None = None) -> set[str]:
    """The chapters this report has (a toelichting can comment on these): the fixed ones, and from the
    `context` of `group_context` "Bij welke groepen?" and the chapter of each own division."""
    present = set(CHAPTERS) - {"groepen"} - ({"verandering"} if data.previous is None else set())
    if context is not None:
        present |= {"groepen"} if context.get("groepen") else set()
        present |= {indeling["toelichting"] for indeling in context.get("indelingen") or []}
    return present


def render_report(data: ReportData) -> str:
    """The complete report as an HTML string."""
    from reports.ontwikkeling import time_context

    context = {**report_context(data), **chapter_context(data)}
    context.update(time_context(data, figure_div))
    context["samenvatting"] = [*context["samenvatting"], *context.pop("normzinnen", [])]
    context["toelichting"] = toelichting_context(data.toelichting, report_chapters(data, context))
    return report_environment().get_template("rapport.html.j2").render(**context)
