"""The gemeente's own words in the report (docs/contract.md §14): per chapter, marked, never executed."""

from __future__ import annotations

import hashlib
import html
import inspect
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_report_data import DIVISION, add_groups, write_synthetic_out

from pipelines.cli.main import main
from pipelines.run_outputs import RunSettings, _optional_inputs
from pipelines.stapeling_steps import check_toelichting
from reports.build import build_report
from reports.toelichting import (
    CHAPTERS,
    ToelichtingError,
    chapter_of,
    division_chapter,
    parse_toelichting,
    read_toelichting,
    render_markdown,
)

TOELICHTING = """Dit staat voor de eerste kop.

## Samenloop per wijk

In **Oost** loopt sinds maart een wijkteamproef; zie [de raadsbrief](https://example.nl/raadsbrief)
of mail [het team](mailto:wijkteam@example.nl).

### Achtergrond

<script>alert('xss')</script>

## welke domeinen komen samen

Klik [hier](javascript:alert(1)) of <javascript:alert(2)> of [data](data:text/html,<b>x</b>).
![logo](https://example.nl/logo.png)

## Begroting 2027

Dit hoofdstuk bestaat niet in het rapport.

## Verandering sinds het tweede halfjaar 2025

Vergelijk voorzichtig.
"""


def _section(document: str, section_id: str) -> str:
    start = document.index(f'<section id="{section_id}"')
    return document[start:document.index("</section>", start)]


def test_parts_go_to_their_chapter_and_unknown_headings_are_named_in_a_warning() -> None:
    parsed = parse_toelichting(TOELICHTING, "TOELICHTING.md")
    assert set(parsed.chapters) == {"wijken", "combinaties", "verandering"}
    assert [p.heading for p in parsed.unplaced] == ["", "Begroting 2027"]
    warnings = parsed.warnings(set(CHAPTERS) - {"verandering"})
    assert any("'Begroting 2027'" in w and "regel 17" in w and "TOELICHTING.md" in w for w in warnings)
    assert any("'Verandering sinds het tweede halfjaar 2025'" in w for w in warnings)
    assert not any("'Samenloop per wijk'" in w for w in warnings)


def test_chapter_titles_match_loosely_but_not_any_text() -> None:
    assert chapter_of("  SAMENLOOP   per wijk ") == "wijken"
    assert chapter_of("Welke domeinen komen samen?") == "combinaties"
    assert chapter_of("methode") == "methode"
    assert chapter_of("Samenloop") is None
    assert chapter_of("Verandering") == "verandering"
    assert chapter_of("Veranderingen in het beleid") is None
    assert chapter_of("Bij welke groepen?") == chapter_of("groepen") == "groepen"
    assert chapter_of("Samenloop per Wijkteam") == division_chapter("wijkteam")
    assert chapter_of("Samenloop per wijk") == "wijken"
    assert chapter_of("Samenloop per") is None


def test_markdown_shows_raw_html_as_text_and_links_only_to_the_web_and_mail() -> None:
    rendered = str(render_markdown(TOELICHTING))
    assert "<script" not in rendered and "&lt;script&gt;alert" in rendered
    assert 'href="https://example.nl/raadsbrief"' in rendered
    assert 'href="mailto:wijkteam@example.nl"' in rendered
    hrefs = re.findall(r'href="([^"]*)"', rendered)
    assert all(h.startswith(("https://", "mailto:")) for h in hrefs), hrefs
    assert "javascript:" in rendered  # shown as text, not as a link
    assert "<img" not in rendered


def test_report_shows_each_part_at_its_chapter_marked_as_the_gemeentes_own(tmp_path: Path) -> None:
    out = write_synthetic_out(tmp_path / "uit")
    source = tmp_path / "TOELICHTING.md"
    source.write_text(TOELICHTING, encoding="utf-8")
    html_path, _ = build_report(out, pdf=False, toelichting=source)
    document = html_path.read_text(encoding="utf-8")
    wijken = _section(document, "wijken")
    assert "Toelichting van de gemeente Voorbeeldstad" in wijken
    assert "wijkteamproef" in wijken and "<strong>Oost</strong>" in wijken
    assert "<h4>Achtergrond</h4>" in wijken
    assert "wijkteamproef" not in _section(document, "combinaties")
    assert "Toelichting van de gemeente" in _section(document, "combinaties")
    rest = _section(document, "toelichting")
    for text in ("Dit staat voor de eerste kop.", "Begroting 2027", "Vergelijk voorzichtig."):
        assert text in rest, text  # no chapter "verandering" in a report without a previous period
    assert "<script>alert" not in document
    assert not re.search(r'href="(javascript|data):', document[document.index("<body>"):])
    assert "(TOELICHTING.md)" in html.unescape(_section(document, "methode"))


def test_report_without_toelichting_says_so(tmp_path: Path) -> None:
    out = write_synthetic_out(tmp_path / "uit")
    document = build_report(out, pdf=False)[0].read_text(encoding="utf-8")
    assert "De gemeente heeft bij dit rapport geen eigen toelichting geschreven." in document
    assert 'class="toelichting"' not in document


def test_every_chapter_a_toelichting_can_name_is_an_h2_of_the_report(tmp_path: Path) -> None:
    previous = write_synthetic_out(tmp_path / "vorige", period="2025H2", shift=-3)
    out = write_synthetic_out(tmp_path / "uit")
    add_groups(out)  # with "Bij welke groepen?" and the chapter of the own division
    document = build_report(out, vorige=previous, pdf=False)[0].read_text(encoding="utf-8")
    headings = dict(re.findall(r'<h2 id="kop-([a-z]+)">([^<]+)</h2>', document))
    for key in CHAPTERS:
        assert chapter_of(html.unescape(headings[key])) == key, key
    own = re.search(rf'<h2 id="kop-indeling-{DIVISION}">([^<]+)</h2>', document)[1]
    assert chapter_of(html.unescape(own)) == division_chapter(DIVISION)


def test_report_shows_parts_at_the_groups_and_at_each_own_division(tmp_path: Path) -> None:
    out = add_groups(write_synthetic_out(tmp_path / "uit"))
    source = tmp_path / "TOELICHTING.md"
    source.write_text(f"## Bij welke groepen?\n\nOver de groepen.\n\n## Samenloop per {DIVISION}\n\n"
                      "Over de wijkteams.\n\n## Samenloop per stadsdeel\n\nGeen stadsdelen.\n",
                      encoding="utf-8")
    document = build_report(out, pdf=False, toelichting=source)[0].read_text(encoding="utf-8")
    groups, division = _section(document, "groepen"), _section(document, f"indeling-{DIVISION}")
    assert "Over de groepen." in groups and "Over de wijkteams." not in groups
    assert "Over de wijkteams." in division and "Toelichting van de gemeente" in division
    assert "Geen stadsdelen." in _section(document, "toelichting")
    without = build_report(write_synthetic_out(tmp_path / "zonder"), pdf=False, toelichting=source)[0]
    rest = _section(without.read_text(encoding="utf-8"), "toelichting")  # no groups, no own division
    assert all(text in rest for text in ("Over de groepen.", "Over de wijkteams.", "Geen stadsdelen."))


def test_unreadable_toelichting_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "toelichting.md"
    path.write_bytes("## Kerncijfers\n\nCafé".encode("cp1252"))
    with pytest.raises(ToelichtingError, match="toelichting.md: geen UTF-8"):
        read_toelichting(path)
    with pytest.raises(ToelichtingError, match="kan niet gelezen worden"):
        read_toelichting(tmp_path / "bestaat-niet.md")


class _Warnings:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def warning(self, message: str, *args: object) -> None:
        self.lines.append(message % args)


def test_the_run_records_the_toelichting_as_an_input_and_warns_about_unknown_headings(tmp_path: Path) -> None:
    source = tmp_path / "TOELICHTING.md"
    source.write_text(TOELICHTING + "\n## Samenloop per wijkteam\n\nEigen.\n\n## Samenloop per stadsdeel\n",
                      encoding="utf-8")
    (tmp_path / "gebieden.csv").write_text("code;naam;gebied_wijkteam\nGM0001;Proefstad;\n"
                                           "BU00010001;Kern;WT01\n", encoding="utf-8")
    settings = RunSettings(
        deliveries=tmp_path, register=tmp_path / "register.parquet", areas=tmp_path / "gebieden.csv",
        period=None, out=tmp_path / "uit", levels=("gemeente", "wijk"), rules=None, toelichting=source,
    )
    assert _optional_inputs(settings)["toelichting"] == {
        "bestand": "TOELICHTING.md", "sha256": hashlib.sha256(source.read_bytes()).hexdigest()
    }
    reporter = _Warnings()
    check_toelichting(settings, reporter)
    # text before the first heading, Begroting 2027, no previous period, no division stadsdeel
    assert len(reporter.lines) == 4
    assert any("'Begroting 2027'" in line for line in reporter.lines)
    assert any("'Samenloop per stadsdeel'" in line for line in reporter.lines)
    assert not any("wijkteam" in line for line in reporter.lines)


def test_flows_and_cli_take_a_toelichting(tmp_path: Path) -> None:
    from pipelines.inbox_flow import inbox_stapelingsmonitor
    from pipelines.stapeling_flow import stapelingsmonitor

    for flow in (stapelingsmonitor, inbox_stapelingsmonitor):
        assert inspect.signature(flow.fn).parameters["toelichting"].default is None
    bad = tmp_path / "toelichting.md"
    bad.write_bytes(b"## Kerncijfers\n\n\xe9")
    result = CliRunner().invoke(main, ["run", "--deliveries", str(tmp_path), "--register", "r.parquet",
                                       "--areas", "g.csv", "--period", "2026H1", "--out", str(tmp_path / "u"),
                                       "--toelichting", str(bad)])
    assert result.exit_code == 2
    assert "toelichting.md: geen UTF-8" in result.output
