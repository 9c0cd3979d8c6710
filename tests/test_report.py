"""The stapelingsrapport: built from protected output only, self-contained, offline, true to samenloop.csv."""

from __future__ import annotations

import html
import json
import re
import threading
from pathlib import Path

import pandas as pd
import pytest
from plotly.offline import get_plotlyjs_version
from test_report_data import (
    GEMEENTE,
    SMALL_WIJK,
    WIJKEN,
    expected_cells,
    write_synthetic_out,
    write_wijk_geojson,
)

import disclosure.rules
import reports.build
import reports.pdf
from reports.build import build_report
from reports.figures import ReportInputError, rd_to_wgs84, read_samenloop, read_wijk_geojson
from reports.formatting import format_count, format_date, format_rate, period_label
from reports.html import PLOTLY_BUNDLE, PLOTLY_TRACE_TYPES, figure_div
from reports.pdf import CHROMIUM
from schemas.indicators import DOMAIN_INDICATORS, DOMAINS, HOUSEHOLDS, MULTI_DOMAIN, WITH_SERVICE

needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian chromium ontbreekt (make system)"
)


def _published(row: dict[str, str], field: str = "aantal") -> str:
    """A cell of samenloop.csv formatted as the report shows it."""
    if row["geheim"] == "true":
        return "."
    if field == "aantal":
        return format_count(int(row["aantal"]))
    return format_rate(float(row["per_1000_huishoudens"]))


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    base = tmp_path_factory.mktemp("rapport")
    previous = write_synthetic_out(base / "vorige", period="2025H2", shift=-3)
    out = write_synthetic_out(base / "uit")
    geojson = write_wijk_geojson(base / "wijken.geojson")
    html_path, pdf_path = build_report(out, vorige=previous, geojson=geojson, pdf=False)
    assert pdf_path is None
    return out, html_path.read_text(encoding="utf-8")


def _without_plotly(document: str) -> str:
    return document.replace(_plotly_js(), "")


def test_report_is_written_atomically_with_nothing_left_over(report: tuple[Path, str]) -> None:
    out, _ = report
    assert (out / "rapport.html").is_file()
    assert not (out / "rapport.pdf").exists()
    assert not [p.name for p in out.iterdir() if p.name.startswith(".rapport-")]


def _plotly_js() -> str:
    return PLOTLY_BUNDLE.read_text(encoding="utf-8")


def test_plotly_js_is_inlined_exactly_once_and_nothing_is_fetched(report: tuple[Path, str]) -> None:
    _, document = report
    bundle = _plotly_js()
    assert document.count(bundle[:2000]) == 1
    assert document.count(bundle[-2000:]) == 1
    assert document.count("Plotly.newPlot(") == 4  # four charts (the map is SVG), none with its own plotly.js
    rest = _without_plotly(document)
    for pattern in ('src="http', "src='http", 'href="http', "href='http", "@import", "url(http", "<link"):
        assert pattern not in rest, pattern
    assert not re.search(r"<script[^>]+src=", rest)


def test_every_wijk_and_the_key_numbers_are_in_the_report(report: tuple[Path, str]) -> None:
    out, document = report
    text = html.unescape(re.sub(r"<[^>]+>", " ", _without_plotly(document)))
    cells = expected_cells(out)
    for naam in WIJKEN.values():
        assert naam in text, naam
    for indicator in (HOUSEHOLDS, WITH_SERVICE, MULTI_DOMAIN):
        row = cells[(GEMEENTE[0], indicator)]
        assert f'data-cijfer="{html.escape(indicator)}">{_published(row)}<' in document
        if indicator != HOUSEHOLDS:
            assert _published(row, "rate") in text
    assert "minder dan 10 huishoudens of afgeschermd om terugrekenen te voorkomen" in text
    assert "9,7%" in text and "CBS" in text and "Niet helemaal vergelijkbaar" in text


def test_wijk_table_equals_samenloop_csv_with_secret_cells_as_a_dot(report: tuple[Path, str]) -> None:
    out, document = report
    cells = expected_cells(out)
    start = document.index("<tbody>", document.index('id="wijktabel"'))
    table = document[start : document.index("</tbody>", start)]
    rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)
    assert len(rows) == len(WIJKEN)
    by_name = {code: naam for code, naam in WIJKEN.items()}
    seen = set()
    for row in rows:
        values = [html.unescape(v).strip() for v in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)]
        code = next(c for c, n in by_name.items() if n == values[0])
        seen.add(code)
        expected = [
            by_name[code],
            _published(cells[(code, HOUSEHOLDS)]),
            _published(cells[(code, MULTI_DOMAIN)]),
            _published(cells[(code, MULTI_DOMAIN)], "rate"),
            _published(cells[(code, WITH_SERVICE)], "rate"),
            *(_published(cells[(code, DOMAIN_INDICATORS[d])], "rate") for d in DOMAINS),
        ]
        assert values == expected
    assert seen == set(WIJKEN)
    small = [r for r in rows if WIJKEN[SMALL_WIJK] in r][0]
    assert re.findall(r">\.<", small) and len(re.findall(r">\.<", small)) == 3 + len(DOMAINS)


def test_previous_period_is_compared_and_secret_in_either_period_shows_a_dot(
    report: tuple[Path, str],
) -> None:
    out, document = report
    section = document[document.index('id="verandering"') : document.index('id="kwaliteit"')]
    assert "tweede halfjaar 2025" in section and "2025H2" in section
    assert "5 of minder" in section
    veld = re.search(r"<tr><th scope=\"row\">&#39;t Veld</th>(.*?)</tr>", section, flags=re.S)
    assert veld is not None
    values = [v.strip() for v in re.findall(r"<td[^>]*>(.*?)</td>", veld.group(1), flags=re.S)]
    # 't Veld: samenloop is secret (under 10) in the previous period, published now -> difference "."
    assert values[3] == "." and values[4] != "." and values[5] == "."


def test_data_quality_shows_records_and_rejected_rows_per_partner(report: tuple[Path, str]) -> None:
    out, document = report
    section = document[document.index('id="kwaliteit"') : document.index('id="methode"')]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for levering in manifest["leveringen"]:
        assert levering["partner"] in section
        assert format_count(levering["rijen_gelezen"]) in section
    assert "geen huishoudens" in section
    assert "96,6%" in section  # Jeugdhulp Regio: (1380 + 10 + 61) linked of 1502 records in the period


def test_method_section_carries_the_manifest_rules_and_key_id(report: tuple[Path, str]) -> None:
    out, document = report
    section = document[document.index('id="methode"') :]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for regel in manifest["beveiliging"]["regels_nl"]:
        assert html.escape(regel) in section
    assert manifest["key_id"] in section
    assert "geslaagd" in section
    assert "Instellingen" in section and "gekoppeld konden worden" in section


def test_failed_pdf_leaves_no_report_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = write_synthetic_out(tmp_path / "uit")

    def broken_printer(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("printer kapot")

    monkeypatch.setattr(reports.pdf, "print_pdf", broken_printer)
    with pytest.raises(RuntimeError):
        build_report(out, pdf=True)
    assert sorted(p.name for p in out.iterdir()) == ["kwaliteit.csv", "manifest.json", "samenloop.csv"]


def test_legend_and_rounding_note_follow_the_rules_of_the_run(tmp_path: Path) -> None:
    previous = write_synthetic_out(tmp_path / "vorige", period="2025H2", shift=-3)
    out = write_synthetic_out(tmp_path / "uit")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    manifest["beveiliging"]["regels"].update(min_publiceerbaar=15, afronden_op=10)
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    document = build_report(out, vorige=previous, pdf=False)[0].read_text(encoding="utf-8")
    assert "minder dan 15 huishoudens" in document and "minder dan 10 huishoudens" not in document
    assert "een verschil van 10 of minder" in document


def test_rules_missing_from_the_manifest_come_from_the_packaged_rules_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The report has no threshold or rounding of its own: change the packaged regels.toml and it follows.
    packaged = disclosure.rules._packaged_rules_text()
    changed = re.sub(r"(?m)^min_publiceerbaar = \d+$", "min_publiceerbaar = 20", packaged)
    changed = re.sub(r"(?m)^afronden_op = \d+$", "afronden_op = 10", changed)
    assert changed.count("= 20") == 1 and changed.count("= 10") == 1
    previous = write_synthetic_out(tmp_path / "vorige", period="2025H2", shift=-3)
    out = write_synthetic_out(tmp_path / "uit")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    del manifest["beveiliging"]["regels"]
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    monkeypatch.setattr(disclosure.rules, "_packaged_rules_text", lambda: changed)
    disclosure.rules.default_rules.cache_clear()
    try:
        document = build_report(out, vorige=previous, pdf=False)[0].read_text(encoding="utf-8")
    finally:
        disclosure.rules.default_rules.cache_clear()
    assert "minder dan 20 huishoudens" in document and "minder dan 10 huishoudens" not in document
    assert "een verschil van 10 of minder" in document


def test_report_builds_from_samenloop_alone(tmp_path: Path) -> None:
    out = write_synthetic_out(tmp_path / "uit")
    (out / "kwaliteit.csv").unlink()
    (out / "manifest.json").unlink()
    html_path, _ = build_report(out, pdf=False)
    document = html_path.read_text(encoding="utf-8")
    assert GEMEENTE[1] in document and "onbekende periode" in document


def test_secret_cells_lose_their_numbers_and_bad_input_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "samenloop.csv"
    path.write_text(
        "gebiedscode,gebiedsnaam,niveau,indicator,aantal,per_1000_huishoudens,geheim\n"
        "GM0001,Stad,gemeente,huishoudens,100,1000.0,false\n"
        "GM0001,Stad,gemeente,met_voorziening,5,50.0,true\n"
        "GM0001,Stad,gemeente,iets_nieuws,5,50.0,false\n",
        encoding="utf-8",
    )
    frame = read_samenloop(path)
    assert list(frame["indicator"]) == [HOUSEHOLDS, WITH_SERVICE]
    secret = frame[frame["indicator"] == WITH_SERVICE].iloc[0]
    assert secret["geheim"] and pd.isna(secret["aantal"]) and pd.isna(secret["per_1000"])
    path.write_text("gebiedscode,indicator\nGM0001,huishoudens\n", encoding="utf-8")
    with pytest.raises(ReportInputError, match="mist de kolom"):
        read_samenloop(path)


def test_dutch_number_and_date_formatting() -> None:
    assert format_count(1234567) == "1.234.567"
    assert format_count(None) == "."
    assert format_rate(12.345) == "12,3"
    assert format_rate(1234.56) == "1.234,6"
    assert format_rate(None) == "."
    assert period_label("2026H1") == "eerste halfjaar 2026"
    assert period_label("2026Q4") == "vierde kwartaal 2026"
    assert format_date("2026-06-30") == "30 juni 2026"


def test_rd_coordinates_become_longitude_latitude(tmp_path: Path) -> None:
    lon, lat = rd_to_wgs84(155000, 463000)  # Amersfoort, the origin of RD: 52.15517440 N, 5.38720621 E
    assert abs(lon - 5.38721) < 2e-5 and abs(lat - 52.15517) < 2e-5
    lon, lat = rd_to_wgs84(233883.131, 582065.167)  # Martinitoren, Groningen
    assert abs(lon - 6.56820) < 1e-4 and abs(lat - 53.21938) < 1e-4
    square = [[[121000, 487000], [121000, 488000], [122000, 488000], [122000, 487000], [121000, 487000]]]
    path = tmp_path / "rd.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"wijkcode": "WK036300"},
                        "geometry": {"type": "Polygon", "coordinates": square},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    ring = read_wijk_geojson(path)["features"][0]["geometry"]["coordinates"][0]
    assert all(4.8 < x < 5.0 and 52.3 < y < 52.4 for x, y in ring)


@needs_chromium
def test_report_opens_offline_in_chromium_and_sorts(report: tuple[Path, str]) -> None:
    from reports.pdf import chromium_browser, open_report

    out, _ = report
    html_path = out / "rapport.html"
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        requested = open_report(page, html_path)
        assert requested == [html_path.resolve().as_uri()]
        assert errors == []
        assert page.locator(".plotly-graph-div .main-svg").count() >= 4
        assert page.locator("svg#grafiek-kaart path.wijk").count() == len(WIJKEN)

        column = page.locator("#wijktabel thead th").nth(3)
        column.locator("button").click()
        ascending = page.eval_on_selector_all(
            "#wijktabel tbody tr", "rows => rows.map(r => r.cells[3].textContent)"
        )
        column.locator("button").click()
        descending = page.eval_on_selector_all(
            "#wijktabel tbody tr", "rows => rows.map(r => r.cells[3].textContent)"
        )
        numbers = [float(v.replace(".", "").replace(",", ".")) for v in ascending if v != "."]
        assert numbers == sorted(numbers) and ascending[-1] == "."
        assert descending[0] != "." and descending[-1] == "."
        assert column.get_attribute("aria-sort") == "descending"


def test_kwaliteit_counts_the_alternative_reading_and_reads_contract_v1(tmp_path: Path) -> None:
    """docs/contract.md §7: `gekoppeld_alternatief` (v2) counts as linked; a v1 file without it has none."""
    from reports.figures import data_quality, read_kwaliteit

    v2 = tmp_path / "v2.csv"
    v2.write_text("partner,key_id,records,records_in_periode,gekoppeld_adres,gekoppeld_alternatief,"
                  "gekoppeld_pand,niet_gekoppeld\na,0123456789abcdef,12,10,5,3,1,1\n", encoding="utf-8")
    v1 = tmp_path / "v1.csv"
    v1.write_text("partner,key_id,records,records_in_periode,gekoppeld_adres,gekoppeld_pand,niet_gekoppeld\n"
                  "a,0123456789abcdef,12,10,5,1,4\n", encoding="utf-8")
    assert [q.gekoppeld for q in data_quality(read_kwaliteit(v2), {})] == [9]
    assert [q.gekoppeld for q in data_quality(read_kwaliteit(v1), {})] == [6]


def test_report_weighs_under_two_and_a_half_megabytes(report: tuple[Path, str]) -> None:
    out, _ = report
    assert (out / "rapport.html").stat().st_size < 2_500_000


def test_vendored_plotly_bundle_is_the_version_plotly_py_draws_for() -> None:
    header = PLOTLY_BUNDLE.read_text(encoding="utf-8")[:200]
    assert f"plotly.js (basic - minified) v{get_plotlyjs_version()}" in header
    assert (PLOTLY_BUNDLE.parent / "plotly-basic.LICENSE.txt").read_text().startswith("MIT License")


def test_a_chart_the_basic_bundle_cannot_draw_is_refused() -> None:
    import plotly.graph_objects as go

    assert {"bar", "scatter"} <= PLOTLY_TRACE_TYPES
    with pytest.raises(ValueError, match="choropleth"):
        figure_div(go.Figure(go.Choropleth(locations=["a"], z=[1])), "x")


def test_wijk_map_is_svg_labelled_per_wijk_and_hatched_when_secret(report: tuple[Path, str]) -> None:
    out, document = report
    cells = expected_cells(out)
    svg = re.search(r'<svg class="kaart".*?</svg>', document, flags=re.S).group(0)
    assert 'role="img"' in svg and '<title id="kaart-titel">' in svg
    for code, naam in WIJKEN.items():
        path = re.search(rf'<path class="wijk" data-wijkcode="{code}"[^>]*>\s*<title>([^<]*)</title>', svg)
        shown = _published(cells[(code, MULTI_DOMAIN)], "rate")
        assert html.unescape(path.group(1)).startswith(f"{naam}: "), naam
        assert (shown in path.group(1)) or shown == "."
        if shown == ".":
            assert 'fill="url(#kaart-afgeschermd)"' in path.group(0)
        label = f'<tspan x="[^"]+" dy="1.2em" font-weight="bold">{re.escape(shown)}</tspan>'
        assert re.search(rf'{re.escape(naam)}</tspan>{label}', html.unescape(svg)), naam


def _luminance(colour: str) -> float:
    channels = [int(colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_text_in_the_charts_and_map_has_contrast_of_at_least_4_5() -> None:
    """axe cannot measure text inside SVG; the colours the charts draw text in are checked here."""
    from reports import charts, kaart

    assert _contrast("#5f5f5f", "#ffffff") >= 4.5 > _contrast("#8a8a8a", "#ffffff")  # the check can fail
    assert _contrast(charts.INK, "#ffffff") >= 4.5  # axis labels, values above bars, map labels (white halo)
    assert _contrast(charts.INK, charts.OKABE_ITO["orange"]) >= 4.5  # values inside the wijk bars
    assert _contrast("#5f5f5f", "#ffffff") >= 4.5  # ". afgeschermd" in the wijk chart
    assert _contrast(kaart.INK, "#ffffff") >= 4.5  # legend text beside its swatch, on white
    css = (Path(reports.build.__file__).parent / "templates" / "rapport.css").read_text(encoding="utf-8")
    # labels on the darker map classes sit on a white halo, so they are read ink on white
    assert re.search(r"\.kaart-label \{ paint-order: stroke; stroke: #fff;", css)
    grey = re.search(r"--grijs:\s*(#[0-9a-fA-F]{6})", css).group(1)
    surface = re.search(r"--vlak:\s*(#[0-9a-fA-F]{6})", css).group(1)
    assert _contrast(grey, "#ffffff") >= 4.5 and _contrast(grey, surface) >= 4.5


@needs_chromium
def test_a_browser_launched_ahead_prints_the_same_pdf_and_closes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`factlab run` starts Chromium beside the protection (reports.pdf.browser_ahead); the print job then
    runs on that browser, the PDF has the same pages, and the browser's thread ends with the block."""
    out = write_synthetic_out(tmp_path / "uit")
    launches: list[str] = []
    original = reports.pdf.chromium_browser

    def counted():
        launches.append(threading.current_thread().name)
        return original()

    pages: list[str] = []
    open_page = reports.pdf._print_page

    def counted_page(browser):
        pages.append(threading.current_thread().name)
        return open_page(browser)

    monkeypatch.setattr(reports.pdf, "chromium_browser", counted)
    monkeypatch.setattr(reports.pdf, "_print_page", counted_page)
    build_report(out, pdf=True)
    inline = (out / "rapport.pdf").read_bytes()
    assert launches == ["MainThread"] and pages == ["MainThread"]
    with reports.pdf.browser_ahead():
        ahead = reports.pdf._ahead
        assert ahead is not None
        build_report(out, pdf=True)  # on the page opened ahead, at the launch
        assert pages == ["MainThread", "factlab-chromium"] and not reports.pdf._spare_pages
        build_report(out, pdf=True)  # a retried step prints on the same browser, on a page of its own
    assert launches == ["MainThread", "factlab-chromium"]
    assert pages == ["MainThread", "factlab-chromium", "factlab-chromium"]
    assert not ahead._thread.is_alive() and reports.pdf._ahead is None and not reports.pdf._spare_pages
    printed = (out / "rapport.pdf").read_bytes()
    assert printed.count(b"/Type /Page\n") == inline.count(b"/Type /Page\n") > 1


def test_a_browser_that_cannot_start_ahead_is_started_at_print_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the launch ahead fails, printing launches the browser itself and reports its own fault."""
    monkeypatch.setattr(reports.pdf.Path, "exists", lambda self: True)  # as if chromium were installed
    attempts: list[str] = []

    def broken():
        attempts.append(threading.current_thread().name)
        raise reports.pdf.PdfError("Chromium start niet")

    monkeypatch.setattr(reports.pdf, "chromium_browser", broken)
    with reports.pdf.browser_ahead(), pytest.raises(reports.pdf.PdfError, match="Chromium start niet"):
        reports.pdf.print_pdf(tmp_path / "rapport.html", tmp_path / "rapport.pdf")
    assert attempts == ["factlab-chromium", "MainThread"]
    with reports.pdf.browser_ahead(wanted=False):
        assert reports.pdf._ahead is None


@needs_chromium
def test_a_killed_run_leaves_no_browser_launched_ahead_behind(tmp_path: Path) -> None:
    """Chromium now runs beside the protection; when the run is killed (SIGKILL, no clean-up of its own),
    Playwright's driver sees its pipe close and takes the browser down with it."""
    import os
    import signal
    import subprocess
    import sys
    import time
    import uuid

    marker = f"FACTLAB_TEST_RUN={uuid.uuid4().hex}"
    script = (
        "import os, signal\nimport reports.pdf as pdf\n"
        "with pdf.browser_ahead():\n"
        "    pdf.with_browser(lambda browser: browser.version)  # the browser is up\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    root = Path(__file__).resolve().parents[1]
    name, value = marker.split("=")
    env = {**os.environ, "PYTHONPATH": str(root), name: value}
    process = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, timeout=120)
    assert process.returncode == -signal.SIGKILL

    def marked() -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:  # gone meanwhile, or not ours to read
                continue
        return found

    deadline = time.monotonic() + 20
    while marked() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert marked() == []
