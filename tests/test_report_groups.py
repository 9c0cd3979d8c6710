"""The report's chapter "Bij welke groepen?" and the own divisions (docs/contract.md §9), from a hand-made
protected samenloop.csv with groups (tests/test_report_data.py `add_groups`)."""

from __future__ import annotations

import csv
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_report_data import (
    DIVISION,
    DIVISION_AREAS,
    GEMEENTE,
    GROUP_COUNTS,
    add_groups,
    write_division_geojson,
    write_synthetic_out,
    write_wijk_geojson,
)

import reports.build
from reports.build import build_report
from reports.figures import Cell, MapFileError
from reports.formatting import format_count, format_rate
from reports.groepen import UNKNOWN, group_phrase, html_id, kenmerk_title, largest_difference
from reports.pdf import CHROMIUM
from schemas.indicators import DOMAIN_INDICATORS, DOMAINS, HOUSEHOLDS, MULTI_DOMAIN, WITH_SERVICE


@pytest.fixture(scope="module")
def grouped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = add_groups(write_synthetic_out(tmp_path_factory.mktemp("groepen") / "uit"))
    html_path, _ = build_report(out, pdf=False)
    return out, html_path.read_text(encoding="utf-8")


def _rows(out: Path) -> dict[tuple[str, str, str], dict[str, str]]:
    """samenloop.csv as written, keyed by (gebiedscode, groep, indicator)."""
    with (out / "samenloop.csv").open(encoding="utf-8") as f:
        return {(r["gebiedscode"], r["groep"], r["indicator"]): r for r in csv.DictReader(f)}


def _shown(row: dict[str, str], field: str = "aantal") -> str:
    if row["geheim"] == "true":
        return "."
    if field == "aantal":
        return format_count(int(row["aantal"]))
    return format_rate(float(row["per_1000_huishoudens"]))


CELL = re.compile(r"<t[hd][^>]*>(.*?)</t[hd]>", flags=re.S)


def _table(document: str, table_id: str) -> list[list[str]]:
    """The cells of each body row of one table, as text."""
    start = document.index("<tbody>", document.index(f'id="{table_id}"'))
    body = document[start : document.index("</tbody>", start)]
    return [
        [html.unescape(re.sub(r"<[^>]+>", "", v)).strip() for v in CELL.findall(row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)
    ]


def _expected_sentence(rows: dict[tuple[str, str, str], dict[str, str]], kenmerk: str) -> tuple[str, str]:
    """(the sentence's start, its direction) for the group of `kenmerk` that differs most from the gemeente,
    worked out from samenloop.csv: the published rates, `onbekend` left out."""
    whole = float(rows[(GEMEENTE[0], "", MULTI_DOMAIN)]["per_1000_huishoudens"])
    published = {
        waarde: float(row["per_1000_huishoudens"])
        for waarde in GROUP_COUNTS[kenmerk]
        if waarde != UNKNOWN
        and (row := rows[(GEMEENTE[0], f"{kenmerk}={waarde}", MULTI_DOMAIN)])["geheim"] == "false"
    }
    waarde = max(published, key=lambda w: abs(published[w] - whole))
    direction = "het vaakst" if published[waarde] > whole else "het minst vaak"
    return (
        f"Bij {group_phrase(kenmerk, waarde)} komt samenloop {direction} voor: "
        f"{format_rate(published[waarde])} per 1.000 huishoudens, tegen {format_rate(whole)} in de hele "
        "gemeente.",
        direction,
    )


def test_sentence_names_the_group_that_differs_most_from_the_gemeente(grouped: tuple[Path, str]) -> None:
    out, document = grouped
    rows = _rows(out)
    directions = set()
    for kenmerk in GROUP_COUNTS:
        expected, direction = _expected_sentence(rows, kenmerk)
        directions.add(direction)
        start = document.index(f'id="kop-groep-{kenmerk}"')
        sentence = html.unescape(re.search(r'<p class="groep-zin">(.*?)</p>', document[start:], re.S)[1])
        assert sentence.startswith(expected), sentence
    assert directions == {"het vaakst", "het minst vaak"}  # the test data has a group far above and far below


def test_group_tables_are_the_published_gemeente_cells_with_secret_cells_as_a_dot(
    grouped: tuple[Path, str],
) -> None:
    out, document = grouped
    rows = _rows(out)
    secret_seen = 0
    for kenmerk, values in GROUP_COUNTS.items():
        table = _table(document, f"tabel-groep-{kenmerk}")
        expected = []
        for waarde in sorted(values, key=lambda w: w == UNKNOWN):
            key = (GEMEENTE[0], f"{kenmerk}={waarde}")
            expected.append([
                waarde.replace("_", " ") + ("*" if waarde == UNKNOWN else ""),
                _shown(rows[(*key, HOUSEHOLDS)]),
                _shown(rows[(*key, WITH_SERVICE)]), _shown(rows[(*key, WITH_SERVICE)], "rate"),
                _shown(rows[(*key, MULTI_DOMAIN)]), _shown(rows[(*key, MULTI_DOMAIN)], "rate"),
            ])
            secret_seen += rows[(*key, MULTI_DOMAIN)]["geheim"] == "true"
        assert table == expected
    assert secret_seen >= 2  # overig (samenloop 1..9) and onbekend (under 50 households)
    assert "* Onbekend: huishoudens van wie de gemeente het huishoudtype niet kent" in document
    assert "het inkomen niet kent" not in document  # inkomen has no onbekend


def test_group_chart_shows_only_the_published_rates(grouped: tuple[Path, str]) -> None:
    out, document = grouped
    rows = _rows(out)
    for kenmerk, values in GROUP_COUNTS.items():
        pattern = rf'Plotly\.newPlot\(\s*"grafiek-groep-{kenmerk}",\s*(\[.*?\]),\s*\{{'
        call = re.search(pattern, document, re.S)
        bars = json.loads(call[1])[0]
        shown = dict(zip(bars["y"], bars["text"], strict=True))
        assert shown == {
            waarde.replace("_", " "): _shown(rows[(GEMEENTE[0], f"{kenmerk}={waarde}", MULTI_DOMAIN)], "rate")
            for waarde in values
        }


def test_own_division_has_a_table_and_chart_like_the_wijken(grouped: tuple[Path, str]) -> None:
    out, document = grouped
    rows = _rows(out)
    assert '<a href="#indeling-wijkteam">Samenloop per wijkteam</a>' in document
    assert 'id="grafiek-indeling-wijkteam"' in document
    table = _table(document, f"tabel-indeling-{DIVISION}")
    expected = [
        [naam, _shown(rows[(code, "", HOUSEHOLDS)]), _shown(rows[(code, "", MULTI_DOMAIN)]),
         _shown(rows[(code, "", MULTI_DOMAIN)], "rate"), _shown(rows[(code, "", WITH_SERVICE)], "rate"),
         *(_shown(rows[(code, "", DOMAIN_INDICATORS[d])], "rate") for d in DOMAINS)]
        for code, (naam, _wijken) in sorted(DIVISION_AREAS.items())
    ]
    assert table == expected


def test_without_groups_and_own_divisions_the_chapters_are_absent(tmp_path: Path) -> None:
    plain = write_synthetic_out(tmp_path / "v1")
    document = build_report(plain, pdf=False)[0].read_text(encoding="utf-8")
    for text in ('id="groepen"', "Bij welke groepen?", 'id="indeling-', "grafiek-groep-"):
        assert text not in document, text
    assert document.count("Plotly.newPlot(") == 4
    # a v2 samenloop.csv whose groep column is empty everywhere is the same report
    v2 = add_groups(write_synthetic_out(tmp_path / "v2"))
    path = v2 / "samenloop.csv"
    with path.open(encoding="utf-8") as f:
        kept = [r for r in csv.DictReader(f) if r["groep"] == "" and r["niveau"] != DIVISION]
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(kept[0]))
        writer.writeheader()
        writer.writerows(kept)
    assert "Bij welke groepen?" not in build_report(v2, pdf=False)[0].read_text(encoding="utf-8")


def test_sentence_when_cells_are_secret() -> None:
    secret = Cell(None, None, True)
    whole = Cell(275, 17.4, False)
    rows = [
        {"waarde": "laag", MULTI_DOMAIN: secret},
        {"waarde": "hoog", MULTI_DOMAIN: secret},
        {"waarde": UNKNOWN, MULTI_DOMAIN: Cell(20, 500.0, False)},  # never the subject of the sentence
    ]
    assert "elke groep afgeschermd" in largest_difference("inkomen", rows, whole)
    rows[0][MULTI_DOMAIN] = Cell(100, 30.0, False)
    sentence = largest_difference("inkomen", rows, whole)
    assert sentence.startswith("Bij huishoudens met een laag inkomen komt samenloop het vaakst voor: 30,0")
    assert sentence.endswith("Voor huishoudens met een hoog inkomen is het cijfer afgeschermd (.).")
    assert "afgeschermd" in largest_difference("inkomen", rows, secret)


def test_groups_are_named_in_plain_dutch() -> None:
    assert group_phrase("leeftijd", "75+") == "huishoudens met een oudste bewoner van 75 jaar of ouder"
    assert group_phrase("leeftijd", "27-44") == "huishoudens met een oudste bewoner van 27 tot en met 44 jaar"
    assert group_phrase("huishoudtype", "eenouder") == "eenoudergezinnen"
    assert group_phrase("wijkgebruik", "veel_bezoek") == "huishoudens met wijkgebruik veel bezoek"
    assert kenmerk_title("leeftijd") == "Leeftijd van de oudste bewoner"
    assert kenmerk_title("eigen_kenmerk") == "Eigen kenmerk"


@pytest.mark.skipif(not Path(CHROMIUM).exists() or shutil.which("pdftotext") is None,
                    reason="Debian chromium en poppler-utils zijn nodig (make system)")
def test_groups_and_own_division_are_in_the_pdf_and_its_outline(tmp_path: Path) -> None:
    from pypdf import PdfReader

    out = add_groups(write_synthetic_out(tmp_path / "uit"))
    _, pdf = build_report(out, pdf=True)
    titles: list[str] = []
    todo = list(PdfReader(pdf).outline)
    while todo:
        item = todo.pop()
        todo.extend(item) if isinstance(item, list) else titles.append(item.title)
    assert "Bij welke groepen?" in titles and "Samenloop per wijkteam" in titles
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = " ".join(text.split())
    for kenmerk in GROUP_COUNTS:
        assert _expected_sentence(_rows(out), kenmerk)[0] in flat, kenmerk
    for naam, _wijken in DIVISION_AREAS.values():
        assert naam in text


def test_own_division_map_is_drawn_from_its_geojson_with_ids_of_its_own(tmp_path: Path) -> None:
    out = add_groups(write_synthetic_out(tmp_path / "uit"))
    rows = _rows(out)
    division_map = write_division_geojson(tmp_path / "wijkteams.geojson")
    wijk_map = write_wijk_geojson(tmp_path / "wijken.geojson")
    reports.build.main([str(out), "--zonder-pdf", "--kaart", str(wijk_map),
                        "--kaart-indeling", f"{DIVISION}={division_map}"])
    document = (out / "rapport.html").read_text(encoding="utf-8")
    svg = re.search(rf'<svg class="kaart" id="grafiek-kaart-indeling-{DIVISION}".*?</svg>', document, re.S)[0]
    for code, (naam, _wijken) in DIVISION_AREAS.items():
        path = rf'<path class="wijk" data-gebiedscode="{code}"[^>]*>\s*<title>([^<]*)</title>'
        title = re.search(path, svg)
        assert html.unescape(title[1]) == (
            f"{naam}: {_shown(rows[(code, '', MULTI_DOMAIN)], 'rate')} per 1.000 huishoudens"
        )
    assert "WT99" not in svg
    ids = re.findall(r'\sid="([^"]+)"', _without_scripts(document))
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert 'id="grafiek-kaart"' in document  # the wijk map is still there, with its own ids


def _without_scripts(document: str) -> str:
    return re.sub(r"<script>.*?</script>", "", document, flags=re.S)


def test_a_map_without_codes_of_the_division_is_a_clear_error(tmp_path: Path) -> None:
    out = add_groups(write_synthetic_out(tmp_path / "uit"))
    wrong = write_wijk_geojson(tmp_path / "wijken.geojson")  # has wijkcode, no wijkteam codes
    with pytest.raises(MapFileError, match=r"geen vlak heeft een code van de indeling 'wijkteam'.*wijkcode"):
        build_report(out, pdf=False, indeling_kaarten={DIVISION: wrong})
    with pytest.raises(SystemExit) as exit_info:
        reports.build.main([str(out), "--zonder-pdf", "--kaart-indeling", "wijkteam"])
    assert exit_info.value.code == 2


def test_names_from_the_file_become_safe_unique_html_ids() -> None:
    taken: set[str] = set()
    assert html_id("wijkteam", taken) == "wijkteam"
    assert html_id('Wijk"team</script>', taken) == "wijk-team-script"
    assert html_id("wijkteam", taken) == "wijkteam-2"
    assert html_id("é", taken) == "x"
