"""Accessibility in a real browser: axe-core (WCAG 2.1 A and AA) on the report, the validate page and every
portal page, with no violations; and what axe cannot see: lang="nl", a text alternative and a table for
every chart, and every control reachable with the Tab key.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from test_portal_support import PASSWORD, LiveServer, extract, make_portal
from test_report_data import (
    DIVISION,
    GROUP_COUNTS,
    add_groups,
    write_division_geojson,
    write_synthetic_out,
    write_wijk_geojson,
)

from pipelines.cli.main import main
from reports.build import build_report
from reports.pdf import CHROMIUM

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium ontbreekt (make system)"),
]
VISITED = ("inloggen", "fout", "aanleveren", "controle", "ontvangstbewijs", "pseudonimiseren", "overzicht")
"""The portal templates the portal test opens."""
WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


@pytest.fixture(scope="module")
def browser():
    from reports.pdf import chromium_browser

    with chromium_browser() as browser:
        yield browser


@pytest.fixture()
def page(browser):
    # the portal pages carry a strict Content-Security-Policy; axe is injected from the test, not the page
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    yield context.new_page()
    context.close()


def _axe_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=WCAG_21_AA)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:5]}"
        for v in results.response["violations"]
    ]


def _assert_accessible(page, what: str) -> None:
    assert page.evaluate("document.documentElement.lang") == "nl", what
    assert page.title().strip(), what
    assert _axe_violations(page) == [], what


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("rapport-toegankelijk")
    previous = write_synthetic_out(base / "vorige", period="2025H2", shift=-3)
    # with groups and an own division (§9): their chapters must be as accessible as the rest
    out = add_groups(write_synthetic_out(base / "uit"))
    geojson = write_wijk_geojson(base / "w.geojson")
    toelichting = base / "toelichting.md"  # the gemeente's own text is part of what must be accessible
    toelichting.write_text("## Samenloop per wijk\n\nZie [de raadsbrief](https://example.nl/brief).\n\n"
                           "## Iets anders\n\n### Kop\n\nTekst.\n", encoding="utf-8")
    division_map = write_division_geojson(base / "wijkteams.geojson")
    html_path, _ = build_report(out, vorige=previous, geojson=geojson, pdf=False, toelichting=toelichting,
                                indeling_kaarten={DIVISION: division_map})
    return html_path


def test_report_has_no_axe_violations_with_tables_open_and_closed(page, report_html: Path) -> None:
    from reports.pdf import open_report

    open_report(page, report_html)
    _assert_accessible(page, "rapport")
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    _assert_accessible(page, "rapport met open tabellen")


def test_every_chart_has_a_text_alternative_and_a_table(page, report_html: Path) -> None:
    from reports.pdf import open_report

    open_report(page, report_html)
    charts = page.evaluate(
        """() => [...document.querySelectorAll('.plotly-graph-div, svg.kaart')].map(el => {
            const alt = el.closest('[role=img]');
            const label = alt ? (alt.getAttribute('aria-label') ||
                [...alt.querySelectorAll(':scope > title')].map(t => t.textContent).join(' ')) : '';
            const section = el.closest('section');
            return {id: el.id, label: label, tables: section.querySelectorAll('table').length};
        })"""
    )
    assert len(charts) == 5 + len(GROUP_COUNTS) + 2  # a chart per kenmerk; chart and map of the division
    for chart in charts:
        assert chart["tables"] >= 1, chart["id"]
        assert len(chart["label"]) > 40 and any(ch.isdigit() for ch in chart["label"]), chart


def test_every_control_of_the_report_is_reached_with_the_tab_key(page, report_html: Path) -> None:
    from reports.pdf import open_report

    open_report(page, report_html)
    controls = page.evaluate(
        "() => [...document.querySelectorAll('a[href], button, summary')].filter(e => e.offsetParent)"
        ".map(e => e.outerHTML)"
    )
    reached: set[str] = set()
    for _ in range(len(controls) + 5):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.outerHTML"))
    assert controls and set(controls) <= reached
    # a sort button works from the keyboard too
    page.focus("#wijktabel thead th:nth-child(4) button")
    page.keyboard.press("Enter")
    assert page.get_attribute("#wijktabel thead th:nth-child(4)", "aria-sort") == "ascending"


def test_validate_page_has_no_axe_violations(page, tmp_path: Path) -> None:
    source = tmp_path / "levering.csv"
    source.write_bytes(
        extract(
            [
                ("1234AB", "12", "", "", "01", "01-02-2026", "", "Jansen"),
                ("1234 ab", "abc", "", "", "99", "31-02-2026", "", "De Vries"),
            ]
        )
    )
    result = CliRunner().invoke(main, ["validate", str(source)])
    assert result.exit_code == 1, result.output
    page.goto((tmp_path / "levering.controle.html").as_uri())
    _assert_accessible(page, "controlepagina")


def _log_in(page, url: str, naam: str, landing: str) -> None:
    page.goto(url + "/inloggen")
    page.fill("#naam", naam)
    page.fill("#wachtwoord", PASSWORD)
    page.click("button:has-text('Inloggen')")
    page.wait_for_url(url + landing)


def test_every_portal_page_has_no_axe_violations(page, tmp_path: Path, test_key) -> None:
    portal = make_portal(tmp_path, test_key)
    faulty, good = tmp_path / "fout.csv", tmp_path / "goed.csv"
    faulty.write_bytes(extract([("1234 ab", "abc", "", "", "99", "31-02-2026", "", "Jansen"),
                                ("1234AB", "2", "", "", "01", "01-02-2026", "", "Smit")]))
    good.write_bytes(extract([("1234AB", "2", "", "", "01", "01-02-2026", "", "Smit")]))
    with LiveServer(portal.app) as server:
        page.goto(server.url + "/inloggen")
        _assert_accessible(page, "inloggen")
        page.goto(server.url + "/bestaat-niet")
        _assert_accessible(page, "foutpagina")
        _log_in(page, server.url, "zorg-a", "/aanleveren")
        _assert_accessible(page, "aanleveren")
        page.set_input_files("#bestand", str(faulty))
        page.click("button:has-text('Controleer mijn bestand')")
        page.wait_for_url(server.url + "/aanleveren/controleren")
        _assert_accessible(page, "controle met fouten")
        page.click("button:has-text('Annuleren')")
        page.wait_for_url(server.url + "/aanleveren")
        page.set_input_files("#bestand", str(good))
        page.click("button:has-text('Controleer mijn bestand')")
        page.wait_for_selector("#alles-goed")
        _assert_accessible(page, "controle goed")
        page.click("#bevestigen")
        page.wait_for_selector("#ontvangen")
        _assert_accessible(page, "ontvangstbewijs")
        page.goto(server.url + "/offline")
        _assert_accessible(page, "pseudonimiseerpagina")
        page.context.clear_cookies()
        _log_in(page, server.url, "analist", "/overzicht")
        _assert_accessible(page, "overzicht analist")
    # every page template was seen (basis.html is the frame of all of them): a new page needs a line here
    templates = {p.stem for p in (Path(__file__).parents[1] / "portal" / "templates").glob("*.html")}
    assert templates - {"basis"} == set(VISITED)
