"""No live formula in any CSV a run writes, and the report still shows the real (escaped) names."""

from __future__ import annotations

import csv
import html
from pathlib import Path

import pandas as pd
import pytest
from test_report_data import GEMEENTE, write_synthetic_out

from pipelines.outputs import write_quality, write_samenloop
from reports.build import build_report
from reports.figures import read_kwaliteit, read_samenloop
from schemas.rejects import FORMULA_START, neutralise_formula, restore_formula

HOSTILE = {
    "WK999901": '=HYPERLINK("http://x","klik")',
    "WK999902": "+1+1",
    "WK999903": "@SUM(1)",
    "WK999904": "\t=1+1",
    "WK999905": "-2+3 <b>vet</b>",
    "WK999906": "'t Veld",
}


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = write_synthetic_out(tmp_path / "uit")
    published = pd.read_csv(folder / "samenloop.csv", dtype=str, keep_default_na=False)
    protected = pd.DataFrame({
        "gebiedscode": published["gebiedscode"],
        "niveau": published["niveau"],
        "indicator": published["indicator"],
        "aantal": pd.to_numeric(published["aantal"]),
        "per_1000_huishoudens": pd.to_numeric(published["per_1000_huishoudens"]),
        "geheim": published["geheim"] == "true",
    })
    write_samenloop(protected, {GEMEENTE[0]: "=cmd|' /C calc'!A0", **HOSTILE}, folder / "samenloop.csv")
    quality = pd.DataFrame([{"partner": "=1+1", "key_id": "@evil", "records": 3, "records_in_periode": 2,
                             "gekoppeld_adres": 1, "gekoppeld_alternatief": 0, "gekoppeld_pand": 0,
                             "niet_gekoppeld": 1, "records_met_bedrag": 0},
                            {"partner": "wijkteam", "key_id": "0123456789abcdef", "records": 3,
                             "records_in_periode": 2, "gekoppeld_adres": 2, "gekoppeld_alternatief": 0,
                             "gekoppeld_pand": 0, "niet_gekoppeld": 0, "records_met_bedrag": 1}])
    write_quality(quality, folder / "kwaliteit.csv")
    return folder


def _cells(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_no_text_cell_starts_a_formula_and_codes_and_numbers_stay(out: Path):
    for name in ("samenloop.csv", "kwaliteit.csv"):
        for row in _cells(out / name):
            for column, value in row.items():
                assert not value.startswith(FORMULA_START), (name, column, value)
    rows = _cells(out / "samenloop.csv")
    names = {r["gebiedscode"]: r["gebiedsnaam"] for r in rows}
    assert names["WK999902"] == "'+1+1" and names["WK999904"] == "'\t=1+1"
    assert names["WK999906"] == "'t Veld", "a name that starts no formula is written as it is"
    assert all(r["gebiedscode"].startswith(("GM", "WK")) for r in rows)
    assert any(r["aantal"].isdigit() for r in rows) and {r["geheim"] for r in rows} == {"true", "false"}
    quality = _cells(out / "kwaliteit.csv")
    assert [r["partner"] for r in quality] == ["'=1+1", "wijkteam"]
    assert [r["key_id"] for r in quality] == ["'@evil", "0123456789abcdef"]
    assert [r["records"] for r in quality] == ["3", "3"]


def test_the_report_reads_the_real_names_back_and_escapes_them(out: Path):
    frame = read_samenloop(out / "samenloop.csv")
    names = dict(zip(frame["gebiedscode"], frame["gebiedsnaam"], strict=False))
    for code, name in HOSTILE.items():
        assert names[code] == name, code
    assert list(read_kwaliteit(out / "kwaliteit.csv")["partner"]) == ["=1+1", "wijkteam"]
    html_path, _ = build_report(out, pdf=False)
    page = html_path.read_text(encoding="utf-8")
    assert "<b>vet</b>" not in page
    assert html.escape("-2+3 <b>vet</b>", quote=False) in page
    assert "'+1+1" not in page and "+1+1" in page


@pytest.mark.parametrize("value", ["=1", "+1", "-1", "@x", "\tx", "\rx", "'x", "''=1", "gewoon", ""])
def test_restore_undoes_the_guard(value: str):
    assert restore_formula(neutralise_formula(value)) == value
