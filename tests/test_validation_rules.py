"""Every row rule of docs/contract.md §4, run by the GX suites, with line, column, value and reason."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from pipelines.intake.delivery import validate_delivery
from schemas import canonical, expectation_suites
from schemas.codelist import load_code_list
from schemas.expectation_suites import CSV_SUITE, MESSAGE_SUITE, SUITE_DIR, rule_checks, suite_definition
from schemas.messages import fix, message, rule_codes
from schemas.row_rules import parse_dates, validate_rows

EXTRACTS = Path(__file__).parent / "testdata" / "extracts"


@pytest.fixture(scope="module")
def codes():
    return load_code_list()


def test_fouten_csv_lists_every_invalid_row_with_line_column_value_and_rule(codes, tmp_path):
    expected = list(csv.DictReader((EXTRACTS / "fouten.verwacht.csv").open(encoding="utf-8"), delimiter=";"))
    rejects = tmp_path / "afgekeurd.csv"
    result = validate_delivery(EXTRACTS / "fouten.csv", codes, rejects)
    with rejects.open(encoding="utf-8-sig") as handle:
        listed = list(csv.DictReader(handle, delimiter=";"))
    assert [(r["regel"], r["kolom"], r["waarde"], r["code"]) for r in listed] == [
        (e["regel"], e["kolom"], e["waarde"], e["code"]) for e in expected
    ]
    assert all(r["bestand"] == "fouten.csv" and r["melding"] for r in listed)
    assert result.rows_read == 18
    assert result.rows_rejected == len({e["regel"] for e in expected if e["code"] != "dubbele_regel"})
    assert result.rows_duplicate == 1
    assert result.rows_written == 1
    assert result.ignored_columns == ["naam"]
    assert "Goed Regel" not in rejects.read_text(encoding="utf-8-sig")


def test_messages_name_the_value_and_the_fix(codes):
    rows = pd.DataFrame({"regel": [2], "postcode": ["12345"], "huisnummer": ["1"], "voorziening": ["01"],
                         "begindatum": ["2026-01-01"]})
    _, [error] = validate_rows(rows, codes)
    assert error.melding.startswith("postcode '12345' heeft 4 cijfers")
    assert "bijv. 1234 AB" in error.melding


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2026-01-31", "2026-01-31"), ("31-01-2026", "2026-01-31"), ("1-2-2026", "2026-02-01"),
     ("31/01/2026", "2026-01-31"), ("2026/1/31", "2026-01-31"), (" 31-1-2026 ", "2026-01-31"),
     ("31-01-2026 00:00", "2026-01-31"), ("2026-01-31 00:00:00", "2026-01-31"),
     ("29-02-2024", "2024-02-29"), ("29-02-2025", None), ("31-1-26", None), ("46053", None),
     ("2026-13-01", None), ("1-1-1850", None), ("31-01-2026 13:45", None), ("", None)],
)
def test_all_date_forms(raw, expected):
    [parsed] = parse_dates(pd.Series([raw])).tolist()
    assert (None if pd.isna(parsed) else parsed.isoformat()) == expected


@pytest.mark.parametrize(("raw", "expected"), [("1", "01"), ("2.0", "02"), ("01", "01"), ("45,0", "45"),
                                               (" pw01 ", "PW01"), ("18", "18"), ("19", None),
                                               ("45A11", None)])
def test_excel_mangled_codes(codes, raw, expected):
    rows = pd.DataFrame({"regel": [2], "postcode": ["1234AB"], "huisnummer": ["1"], "voorziening": [raw],
                         "begindatum": ["2026-01-01"]})
    valid, errors = validate_rows(rows, codes)
    assert (valid["voorziening"].tolist() or [None]) == [expected]
    assert bool(errors) == (expected is None)


def test_every_rule_code_has_a_message_and_a_fix_and_every_suite_code_is_known():
    known = set(rule_codes())
    for code in known:
        assert message(code, "x", "y") and fix(code), code
    for name in (CSV_SUITE, MESSAGE_SUITE):
        checks = rule_checks(name)
        assert {c.regel_code for c in checks} <= known
        definition = suite_definition(name)
        assert all("regel_code" in e["meta"] and "kolom" in e["meta"] for e in definition["expectations"])
    suffixes = ("_MISSING", "_INVALID", "_RANGE", "_FORBIDDEN")
    canonicaliser_codes = {getattr(canonical, n) for n in dir(canonical) if n.endswith(suffixes)}
    assert canonicaliser_codes <= {c.regel_code for c in rule_checks(CSV_SUITE)}


def test_suites_are_plain_gx_json_files():
    files = sorted(p.name for p in SUITE_DIR.glob("*.json"))
    assert files == ["istandaarden_301.json", "levering_csv.json"]
    for path in SUITE_DIR.glob("*.json"):
        document = json.loads(path.read_text(encoding="utf-8"))
        assert {"name", "expectations"} <= set(document)
        assert all(e["type"].startswith("expect_") for e in document["expectations"])


def test_gx_writes_nothing_to_disk(codes, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    before = set(os.listdir(tmp_path))
    expectation_suites._suite_for.cache_clear()  # build the GX context and suite here, not earlier
    validate_delivery(EXTRACTS / "fouten.csv", codes)
    assert set(os.listdir(tmp_path)) == before
    assert not (Path.cwd() / "gx").exists()


def test_schoon_csv_is_all_valid(codes):
    result = validate_delivery(EXTRACTS / "schoon.csv", codes)
    counts = (result.rows_read, result.rows_rejected, result.rows_duplicate, result.rows_written)
    assert counts == (5, 0, 0, 5)
    assert not result.errors_by_rule
