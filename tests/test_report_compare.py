"""Issue 22: the stacking table (§11), the wijkprofielen with their test, and the reference as data."""

from __future__ import annotations

import csv
import html
import math
import re
from pathlib import Path

import pytest
from scipy.stats import chi2_contingency, norm
from test_report_data import GEMEENTE, WIJKEN, expected_cells, write_synthetic_out

from reports.build import build_report
from reports.figures import municipality, read_samenloop
from reports.formatting import format_count
from reports.referenties import ReferenceFileError, load_references, report_reference
from reports.stapeling import STACK_INDICATORS, read_v2_cells, stacking_table
from reports.wijkprofiel import (
    ALPHA,
    PROFILE_INDICATORS,
    holm_adjust,
    two_proportion_z_test,
    wijk_profiles,
)
from schemas.indicators import (
    EXCLUSIVE_DOMAIN_SETS,
    HOUSEHOLDS,
    INDICATOR_LABELS,
    SERVICE_COUNT_INDICATORS,
)

SPLIT = {1: (0.55, 0.25, 0.12), 2: (0.0, 0.5, 0.3), 3: (0.0, 0.0, 0.3)}
"""Made-up shares of a combination over 1, 2, 3 voorzieningen (the rest is 4+), by number of domains."""


def _round5(n: int) -> int:
    return int(5 * ((n + 2.5) // 5))


def add_stacking_cells(out: Path, *, group_row: bool = True) -> None:
    """Append protected `<c>&voorzieningen:<k>` cells to samenloop.csv (true counts from the published
    combination, split by SPLIT; 1..9 secret, rounded to fives), plus a `groep` row that must stay out."""
    path = out / "samenloop.csv"
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    cells = {(r["gebiedscode"], r["indicator"]): r for r in rows}
    extra = []
    for (code, indicator), row in list(cells.items()):
        if indicator not in EXCLUSIVE_DOMAIN_SETS or row["geheim"] == "true":
            continue
        total = int(row["aantal"])
        parts = [int(total * s) for s in SPLIT[len(EXCLUSIVE_DOMAIN_SETS[indicator])]]
        parts.append(total - sum(parts))
        households = int(cells[(code, HOUSEHOLDS)]["aantal"])
        for k, n in zip(SERVICE_COUNT_INDICATORS, parts, strict=True):
            secret = 1 <= n <= 9
            extra.append({**row, "indicator": STACK_INDICATORS[(indicator, k)],
                          "aantal": "" if secret else str(_round5(n)),
                          "per_1000_huishoudens": "" if secret else f"{_round5(n) / households * 1000:.1f}",
                          "geheim": "true" if secret else "false"})
    for r in rows + extra:
        r["groep"] = ""
    if group_row:
        extra.append({**extra[0], "groep": "huishoudtype=eenouder", "aantal": "99995"})
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["gebiedscode", "gebiedsnaam", "niveau", "groep", "indicator",
                                               "aantal", "per_1000_huishoudens", "geheim"])
        writer.writeheader()
        writer.writerows(rows + extra)


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment))


def _table_rows(document: str, table_id: str, part: str = "tbody") -> list[list[str]]:
    start = document.index(f"<{part}>", document.index(f'id="{table_id}"'))
    body = document[start : document.index(f"</{part}>", start)]
    return [
        [_text(v).strip() for v in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S)
    ]


def _shown(row: dict[str, str] | None) -> str:
    if row is None or row["geheim"] == "true":
        return "."
    return format_count(int(row["aantal"]))


@pytest.fixture(scope="module")
def with_cells(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = write_synthetic_out(tmp_path_factory.mktemp("stapeling") / "uit")
    add_stacking_cells(out)
    html_path, _ = build_report(out, pdf=False)
    return out, html_path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def without_cells(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = write_synthetic_out(tmp_path_factory.mktemp("zonder") / "uit")
    html_path, _ = build_report(out, pdf=False)
    return out, html_path.read_text(encoding="utf-8")


def test_stacking_table_equals_the_published_cells(with_cells: tuple[Path, str]) -> None:
    out, document = with_cells
    with (out / "samenloop.csv").open(encoding="utf-8") as f:
        cells = {(r["gebiedscode"], r["indicator"]): r for r in csv.DictReader(f) if r["groep"] == ""}
    code = GEMEENTE[0]
    rows = _table_rows(document, "stapelingstabel")
    assert len(rows) == len(EXCLUSIVE_DOMAIN_SETS)
    for values, combination in zip(rows, EXCLUSIVE_DOMAIN_SETS, strict=True):
        expected = [
            _shown(cells.get((code, STACK_INDICATORS[(combination, k)]))) for k in SERVICE_COUNT_INDICATORS
        ]
        assert values[1:] == [*expected, _shown(cells[(code, combination)])]
    totals = _table_rows(document, "stapelingstabel", "tfoot")[0]
    assert totals[1:] == [*(_shown(cells[(code, k)]) for k in SERVICE_COUNT_INDICATORS),
                          _shown(cells[(code, "met_voorziening")])]
    assert "." in [v for r in rows for v in r[1:]]  # the fixture has secret cells, shown as a dot
    assert 'id="grafiek-stapeling"' in document
    assert "99.995" not in document  # the group row stays out


def test_stacking_chapter_is_left_out_without_the_cells(without_cells: tuple[Path, str]) -> None:
    out, document = without_cells
    assert 'id="stapeling"' not in document and "grafiek-stapeling" not in document
    assert read_v2_cells(out / "samenloop.csv").empty
    samenloop = read_samenloop(out / "samenloop.csv")
    assert stacking_table(read_v2_cells(out / "samenloop.csv"), samenloop, GEMEENTE[0]) is None


# ---- the test of the wijkprofielen ------------------------------------------------------------------------


def test_two_proportion_z_test_by_hand_and_against_scipy() -> None:
    # by hand: pooled p = 50/200 = 0.25, se = sqrt(0.25 * 0.75 * (1/100 + 1/100)) = 0.0612372
    z, p = two_proportion_z_test(30, 100, 20, 100)
    assert z == pytest.approx(0.10 / math.sqrt(0.25 * 0.75 * 0.02), rel=1e-12)
    assert z == pytest.approx(1.632993, abs=1e-6)
    assert p == pytest.approx(2 * norm.sf(1.632993), abs=1e-6)
    cases = ((30, 100, 20, 100), (115, 4210, 540, 11530), (5, 880, 310, 14860), (0, 50, 40, 900))
    for x1, n1, x2, n2 in cases:
        z, p = two_proportion_z_test(x1, n1, x2, n2)
        chi2, p_chi2, _, _ = chi2_contingency([[x1, n1 - x1], [x2, n2 - x2]], correction=False)
        assert z * z == pytest.approx(chi2, rel=1e-9)
        assert p == pytest.approx(p_chi2, rel=1e-9)
    assert two_proportion_z_test(0, 100, 0, 100) is None
    assert two_proportion_z_test(5, 0, 3, 10) is None


def test_holm_adjustment_by_hand() -> None:
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> kept monotone at 0.06
    assert holm_adjust([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    adjusted = holm_adjust([0.2, None, 0.01])
    assert adjusted[1] is None
    assert adjusted[0] == pytest.approx(0.2) and adjusted[2] == pytest.approx(0.02)
    assert holm_adjust([0.6, 0.9]) == pytest.approx([1.0, 1.0])


def _expected_marks(out: Path, indicator: str) -> dict[str, str]:
    """Recompute the marks from samenloop.csv with scipy's chi-square test and Holm by hand."""
    cells = expected_cells(out)
    g, gh = cells[(GEMEENTE[0], indicator)], cells[(GEMEENTE[0], HOUSEHOLDS)]
    tests = {}
    for code in WIJKEN:
        w, wh = cells[(code, indicator)], cells[(code, HOUSEHOLDS)]
        if "true" in (w["geheim"], wh["geheim"], g["geheim"], gh["geheim"]):
            continue
        x1, n1 = int(w["aantal"]), int(wh["aantal"])
        x2, n2 = int(g["aantal"]) - x1, int(gh["aantal"]) - n1
        _, p, _, _ = chi2_contingency([[x1, n1 - x1], [x2, n2 - x2]], correction=False)
        tests[code] = (p, x1 / n1 > x2 / n2)
    order = sorted(tests, key=lambda c: tests[c][0])
    marks, running = {}, 0.0
    for rank, code in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * tests[code][0]))
        if running < ALPHA:
            marks[code] = "▲ hoger" if tests[code][1] else "▼ lager"
    return marks


def test_wijkprofiel_marks_ranks_and_untested_cells(with_cells: tuple[Path, str]) -> None:
    out, document = with_cells
    cells = expected_cells(out)
    tables = {code: _table_rows(document, f"wijkprofiel-{code}") for code in WIJKEN}
    marked = 0
    for indicator in PROFILE_INDICATORS:
        expected = _expected_marks(out, indicator)
        marked += len(expected)
        rates = {c: float(cells[(c, indicator)]["per_1000_huishoudens"]) for c in WIJKEN
                 if cells[(c, indicator)]["geheim"] == "false"}
        for code in WIJKEN:
            row = next(r for r in tables[code] if r[0] == INDICATOR_LABELS[indicator])
            untested = "true" in (cells[(code, indicator)]["geheim"], cells[(code, HOUSEHOLDS)]["geheim"])
            assert row[5] == expected.get(code, "niet getoetst" if untested else ""), (indicator, code)
            if code in rates:
                assert row[4] == f"{1 + sum(1 for r in rates.values() if r > rates[code])} van {len(rates)}"
            else:
                assert row[4] == "."
    assert marked >= 5, "the fixture should have wijken that differ beyond chance"
    assert "Holm" in document and "z-toets" in document and "rest van de gemeente" in document


def test_wijk_profiles_cover_every_wijk_and_indicator(with_cells: tuple[Path, str]) -> None:
    out, _ = with_cells
    samenloop = read_samenloop(out / "samenloop.csv")
    profiles = wijk_profiles(samenloop, municipality(samenloop))
    assert [p["code"] for p in profiles] == sorted(WIJKEN)
    assert all(len(p["vergelijkingen"]) == len(profiles[0]["vergelijkingen"]) for p in profiles)


# ---- the reference -----------------------------------------------------------------------------------------


def test_report_names_the_reference_from_the_data_file(without_cells: tuple[Path, str]) -> None:
    _, document = without_cells
    text = _text(document)
    chosen = next(r for r in load_references() if r.rapport)
    assert chosen.text() in text
    assert chosen.bron.tabel_id in text and chosen.bron.url in text and str(chosen.jaar) in text
    assert "BSN" in text and "adres" in text


@pytest.mark.parametrize(
    ("remove", "message"),
    [("jaar = 2023\n", "mist jaar"), ('tabel_id = "85637NED"\n', "de bron mist tabel_id")],
)
def test_reference_without_year_or_source_is_refused(tmp_path: Path, remove: str, message: str) -> None:
    from reports.referenties import REFERENCES_FILE

    text = REFERENCES_FILE.read_text(encoding="utf-8")
    assert remove in text
    broken = tmp_path / "referenties.toml"
    broken.write_text(text.replace(remove, "", 1), encoding="utf-8")
    with pytest.raises(ReferenceFileError, match=message) as caught:
        report_reference(broken)
    assert str(broken) in str(caught.value) and "referentie 1" in str(caught.value)
    entry = text.index("[referentie.bron]")
    no_source = tmp_path / "zonder_bron.toml"
    no_source.write_text(text[:entry], encoding="utf-8")
    with pytest.raises(ReferenceFileError, match="de bron ontbreekt"):
        load_references(no_source)


def _contrast(background: str, text: str) -> float:
    from reports.stapeling import _luminance

    def rgb(colour: str) -> tuple[int, int, int]:
        return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))

    light, dark = sorted((_luminance(rgb(background)), _luminance(rgb(text))), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("share", [0.0, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 1.0])
def test_every_heat_cell_keeps_its_number_readable(share: float) -> None:
    from reports.stapeling import heat_colour

    background, text = heat_colour(share)
    assert _contrast(background, text) >= 4.5


def test_heat_table_shows_rates_and_dots_in_the_table_order(with_cells: tuple[Path, str]) -> None:
    out, document = with_cells
    rows = _table_rows(document, "grafiek-stapeling")
    assert len(rows) == len(EXCLUSIVE_DOMAIN_SETS)
    assert all(len(r) == 1 + len(SERVICE_COUNT_INDICATORS) for r in rows)
    assert "." in [v for r in rows for v in r[1:]]
    assert "Plotly.newPlot(\"grafiek-stapeling\"" not in document
