"""Look at the report as a reader does: screenshots in headless chromium and the printed A4 PDF.

Set FACTLAB_RAPPORT_BEELDEN to a folder to keep the screenshots and page images for a human to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest
from pypdf import PdfReader
from test_report_data import (
    GEMEENTE,
    SMALL_WIJK,
    WIJKEN,
    expected_cells,
    write_synthetic_out,
    write_wijk_geojson,
)

from reports.build import build_report
from reports.formatting import format_count, format_rate
from reports.pdf import CHROMIUM
from schemas.indicators import DOMAIN_INDICATORS, DOMAINS, HOUSEHOLDS, MULTI_DOMAIN, WITH_SERVICE

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() or shutil.which("pdftoppm") is None,
    reason="Debian chromium en poppler-utils zijn nodig (make system)",
)


CHARTS_FIT = "w => [...document.querySelectorAll('.main-svg')].every(s => s.clientWidth <= w)"


def _shown(row: dict[str, str], field: str = "aantal") -> str:
    if row["geheim"] == "true":
        return "."
    return (
        format_count(int(row["aantal"]))
        if field == "aantal"
        else format_rate(float(row["per_1000_huishoudens"]))
    )


def _keep(path: Path) -> None:
    if target := os.environ.get("FACTLAB_RAPPORT_BEELDEN"):
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    base = tmp_path_factory.mktemp("rapport-visueel")
    previous = write_synthetic_out(base / "vorige", period="2025H2", shift=-3)
    out = write_synthetic_out(base / "uit")
    geojson = write_wijk_geojson(base / "wijken.geojson")
    start = time.perf_counter()
    html_path, pdf_path = build_report(out, vorige=previous, geojson=geojson, pdf=True)
    seconds = time.perf_counter() - start
    assert pdf_path is not None and pdf_path.stat().st_size > 10_000
    return {"out": out, "html": html_path, "pdf": pdf_path, "seconds": seconds, "base": base}


def test_report_and_pdf_build_in_seconds(built: dict[str, object]) -> None:
    # generous: the PDF is a chromium start plus parsing plotly.js once; a hang would take the 30 s timeout
    assert built["seconds"] < 45


def test_pdf_is_a4_with_page_numbers(built: dict[str, object]) -> None:
    pdf = built["pdf"]
    info = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", "99", str(pdf)], capture_output=True, text=True, check=True
    )
    pages = int(re.search(r"^Pages:\s+(\d+)", info.stdout, flags=re.M).group(1))
    sizes = re.findall(r"^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", info.stdout, flags=re.M)
    assert pages >= 3 and len(sizes) == pages
    for width, height in sizes:  # A4 is 595.3 x 841.9 pt
        assert abs(float(width) - 595.3) < 2 and abs(float(height) - 841.9) < 2
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for page in range(1, pages + 1):
        assert f"pagina {page} van {pages}" in text


def test_pdf_text_shows_the_numbers_of_samenloop_csv(built: dict[str, object]) -> None:
    out, pdf = built["out"], built["pdf"]
    cells = expected_cells(out)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    gemeente = GEMEENTE[0]
    for indicator in (HOUSEHOLDS, WITH_SERVICE, MULTI_DOMAIN):
        assert _shown(cells[(gemeente, indicator)]) in text
    for indicator in (WITH_SERVICE, MULTI_DOMAIN):
        assert f"{_shown(cells[(gemeente, indicator)], 'rate')} per 1.000 huishoudens" in text
    for code, naam in WIJKEN.items():
        expected = [
            _shown(cells[(code, HOUSEHOLDS)]),
            _shown(cells[(code, MULTI_DOMAIN)]),
            _shown(cells[(code, MULTI_DOMAIN)], "rate"),
            _shown(cells[(code, WITH_SERVICE)], "rate"),
            *(_shown(cells[(code, DOMAIN_INDICATORS[d])], "rate") for d in DOMAINS),
        ]
        row = re.escape(naam) + r"\s+" + r"\s+".join(re.escape(v) for v in expected) + r"\s*$"
        assert re.search(row, text, flags=re.M), f"wijk {naam} staat niet zo in de PDF: {expected}"
    assert "minder dan 10 huishoudens of afgeschermd" in text


def _structure(node: object, kinds: list[str], alts: dict[str, list[str]]) -> None:
    node = node.get_object() if hasattr(node, "get_object") else node
    if isinstance(node, dict):
        if "/S" in node:
            kinds.append(str(node["/S"]))
            if "/Alt" in node:
                alts.setdefault(str(node["/S"]), []).append(str(node["/Alt"]))
        if node.get("/K") is not None:
            _structure(node["/K"], kinds, alts)
    elif isinstance(node, list):
        for child in node:
            _structure(child, kinds, alts)


def _outline_titles(outline: list) -> list[str]:
    titles: list[str] = []
    for item in outline:
        titles.extend(_outline_titles(item) if isinstance(item, list) else [item.title])
    return titles


def test_pdf_is_tagged_with_language_title_structure_and_outline(built: dict[str, object]) -> None:
    reader = PdfReader(built["pdf"])
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "nl"
    assert root["/MarkInfo"]["/Marked"].value is True
    assert reader.metadata.title.startswith("Stapelingsrapport Voorbeeldstad")
    kinds: list[str] = []
    alts: dict[str, list[str]] = {}
    _structure(root["/StructTreeRoot"], kinds, alts)
    for kind in ("/Document", "/H1", "/H2", "/H3", "/Table", "/TR", "/TH", "/TD", "/Figure", "/Caption"):
        assert kind in kinds, kind
    assert kinds.count("/H1") == 1
    figure_alts = " ".join(alts.get("/Figure", []))
    for text in ("Staafdiagram, huishoudens per combinatie van domeinen", "Kaart: huishoudens met samenloop",
                 "Staafdiagram, huishoudens naar aantal voorzieningen"):
        assert text in figure_alts, text
    for naam in WIJKEN.values():  # the map's alternative names every wijk
        assert naam in figure_alts, naam
    titles = _outline_titles(reader.outline)
    for chapter in ("Kerncijfers", "Welke domeinen komen samen?", "Samenloop per wijk",
                    "Kwaliteit van de aanlevering", "Methode en privacy"):
        assert chapter in titles, chapter


def test_pdf_pages_are_not_blank(built: dict[str, object]) -> None:
    pdf, base = built["pdf"], built["base"]
    prefix = Path(base) / "pagina"
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(prefix)], check=True, timeout=60)
    images = sorted(Path(base).glob("pagina-*.png"))
    assert len(images) >= 3
    for image in images:
        _keep(image)
        width, height = _png_size(image)
        assert abs(width - 496) <= 1 and abs(height - 702) <= 1  # A4 at 60 dpi
        assert image.stat().st_size > 8_000, f"{image.name} lijkt leeg"


CHART_BOXES = """() => [...document.querySelectorAll('.plotly-graph-div, svg.kaart')].map(el => {
  const box = el.getBoundingClientRect();
  const drawn = (el.querySelector('.main-svg') || el).getBoundingClientRect();
  const column = el.closest('figure').getBoundingClientRect();
  const marks = el.querySelectorAll('.point, path.wijk').length;
  return {id: el.id, left: box.left, right: box.right, drawnLeft: drawn.left, drawnRight: drawn.right,
          columnLeft: column.left, columnRight: column.right, width: box.width, marks: marks};
})"""


def test_every_chart_fits_its_column_on_laptop_tablet_and_phone(built: dict[str, object]) -> None:
    """Each chart's drawn box lies inside its figure (its grid column) at 1280, 768 and 390 px wide."""
    from reports.pdf import chromium_browser, open_report

    html_path, base = built["html"], Path(built["base"])
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        requested = open_report(page, html_path)
        assert requested == [html_path.resolve().as_uri()]
        # one load, three screens: the charts follow when the window narrows, like a phone turning
        for name, width in (("laptop", 1280), ("tablet", 768), ("telefoon", 390)):
            page.set_viewport_size({"width": width, "height": 900})
            page.wait_for_function(CHARTS_FIT, arg=width)
            # the page itself never scrolls sideways; wide tables scroll inside their own box
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            page.wait_for_timeout(300)  # the resize observer redraws on the next frame
            charts = page.evaluate(CHART_BOXES)
            assert [c["id"] for c in charts] == [
                "grafiek-combinaties", "grafiek-wijken", "grafiek-kaart",
                "grafiek-voorzieningen", "grafiek-organisaties",
            ]
            for chart in charts:
                assert 200 < chart["width"] <= width, chart
                assert chart["marks"] > 0, f"{chart['id']} is leeg"
                for side in ("left", "drawnLeft"):
                    assert chart[side] >= chart["columnLeft"] - 1, (name, chart)
                for side in ("right", "drawnRight"):
                    assert chart[side] <= chart["columnRight"] + 1, (name, chart)
                shot = base / f"grafiek-{name}-{chart['id']}.png"
                page.locator(f"#{chart['id']}").screenshot(path=str(shot))
                _keep(shot)
            shot = base / f"scherm-{name}.png"
            # the whole page only when a person will look at it: a 10 000 px phone page costs seconds
            page.screenshot(path=str(shot), full_page=bool(os.environ.get("FACTLAB_RAPPORT_BEELDEN")))
            _keep(shot)
            assert _png_size(shot)[0] == width
        small = page.locator("#wijktabel tbody tr", has_text=WIJKEN[SMALL_WIJK])
        assert small.locator("td").all_inner_texts() == ["40"] + ["."] * (2 + len(DOMAINS) + 1)
