"""The report's chapter on costs (reports/kosten.py): published cells only, skipped without kosten.csv."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from test_report_data import GEMEENTE, WIJKEN, write_synthetic_out

from reports.figures import read_samenloop
from reports.html import load_report_data, render_report, report_context
from reports.kosten import cost_cell, cost_chapter, pyramid, read_kosten

COMBOS = ("alleen:jeugd", "alleen:wmo", "alleen:werk_inkomen", "combinatie:jeugd+wmo",
          "combinatie:jeugd+werk_inkomen", "combinatie:wmo+werk_inkomen", "combinatie:jeugd+wmo+werk_inkomen")


def _write_kosten(out: Path, secret: set[str] = frozenset(), group_first: bool = False) -> None:
    amounts = {"met_voorziening": 9_000_000, "domeinen:2+": 3_000_000, "domeinen:1": 6_000_000,
               "domeinen:2": 2_000_000, "domeinen:3": 1_000_000,
               **dict(zip(COMBOS, (2_000_000, 3_000_000, 1_000_000, 500_000, 1_000_000, 500_000, 1_000_000),
                          strict=True))}
    with (out / "kosten.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["gebiedscode", "gebiedsnaam", "niveau", "groep", "indicator", "bedrag",
                         "per_huishouden", "geheim"])
        groups = ["huishoudtype=eenouder", ""] if group_first else [""]
        for group in groups:  # a group's cells (§9) carry other amounts; the chapter shows groep "" only
            for code, naam, niveau in [(*GEMEENTE, "gemeente"), *((c, n, "wijk") for c, n in WIJKEN.items())]:
                for name, value in amounts.items():
                    hidden = name in secret or niveau == "wijk" and name == "domeinen:2+"
                    value = value // 10 if group else value
                    writer.writerow([code, naam, niveau, group, name, "" if hidden else value,
                                     "" if hidden else 1234, "true" if hidden else "false"])


def _with_amounts(out: Path, with_amount: tuple[int, ...]) -> None:
    path = out / "kwaliteit.csv"
    frame = pd.read_csv(path, dtype=str)
    frame["records_met_bedrag"] = [str(v) for v in with_amount]
    frame.to_csv(path, index=False)


def test_no_kosten_csv_no_chapter(tmp_path):
    out = write_synthetic_out(tmp_path / "uit")
    data = load_report_data(out)
    assert data.kosten is None and report_context(data)["kosten"] is None
    assert 'id="kosten"' not in render_report(data)


def test_chapter_with_pyramid_combinations_and_wijken(tmp_path):
    out = write_synthetic_out(tmp_path / "uit")
    _write_kosten(out)
    _with_amounts(out, (1502, 1975, 0))
    html = render_report(load_report_data(out))
    assert 'id="kosten"' in html and "Tegen welke kosten?" in html
    assert "€ 9.000.000" in html and "€ 1.234" in html
    assert "Jeugdhulp Regio (100,0% van de registraties" in html and "Werk en Inkomen (" not in html
    assert "grafiek-kosten" in html


@pytest.mark.parametrize("group_first", [False, True])
def test_pyramid_shares_come_from_published_cells_and_secret_stays_secret(tmp_path, group_first):
    out = write_synthetic_out(tmp_path / "uit")
    _write_kosten(out, secret={"domeinen:3", "combinatie:jeugd+wmo+werk_inkomen"}, group_first=group_first)
    samenloop, kosten = read_samenloop(out / "samenloop.csv"), read_kosten(out / "kosten.csv")
    rows = {r["domeinen"]: r for r in pyramid(samenloop, kosten, GEMEENTE[0])}
    assert rows[1]["aandeel_kosten"] == 6_000_000 / 9_000_000
    assert cost_cell(kosten, GEMEENTE[0], "met_voorziening").bedrag == 9_000_000
    assert rows[3]["aandeel_kosten"] is None
    gm = samenloop[(samenloop["gebiedscode"] == GEMEENTE[0])].set_index("indicator")["aantal"]
    singles = sum(int(gm[c]) for c in COMBOS[:3])
    assert rows[1]["aandeel_huishoudens"] == singles / int(gm["met_voorziening"])


def test_too_few_records_with_an_amount_shows_no_distribution(tmp_path):
    out = write_synthetic_out(tmp_path / "uit")
    _write_kosten(out)
    _with_amounts(out, (100, 0, 0))
    data = load_report_data(out)
    chapter = cost_chapter(data.samenloop, data.kosten, data.kwaliteit, GEMEENTE[0], [])
    assert chapter is not None and not chapter["voldoende"] and "piramide" not in chapter
    html = render_report(data)
    assert 'id="kosten"' in html and "grafiek-kosten" not in html
