"""Amounts in a delivery (docs/contract.md §12): formats, rejected values, and how duplicates add up."""

from __future__ import annotations

import csv

import pyarrow.parquet as pq
import pytest

from linkage.keys import new_key
from pipelines.intake.delivery import pseudonymise_delivery
from schemas.codelist import load_code_list
from schemas.row_rules import MAX_AMOUNT_CENTS, amount_cents

HEADER = "postcode;huisnummer;voorziening;begindatum;einddatum;bedrag"


@pytest.fixture(scope="module")
def codes():
    return load_code_list()


@pytest.mark.parametrize(
    ("text", "cents"),
    [("1234,56", 123456), ("1.234,56", 123456), ("1234.56", 123456), ("1,234.56", 123456),
     ("1.234", 123400), ("1,234", 123400), ("12,5", 1250), ("0", 0), (" 7 ", 700), ("€ 12,50", 1250),
     ("1.000.000", MAX_AMOUNT_CENTS)],
)
def test_dutch_and_english_amounts_are_read_as_eurocent(text, cents):
    assert amount_cents(text) == (cents, None)


@pytest.mark.parametrize(
    ("text", "code"),
    [("-5", "bedrag_negatief"), ("-1.234,56", "bedrag_negatief"), ("abc", "bedrag_ongeldig"),
     ("1.234.56", "bedrag_ongeldig"), ("12,345", None), ("12.345,678", "bedrag_ongeldig"),
     ("1.000.000,01", "bedrag_te_hoog"), ("2000000", "bedrag_te_hoog"), ("1e5", "bedrag_ongeldig")],
)
def test_unreadable_negative_and_huge_amounts_are_faults(text, code):
    cents, fault = amount_cents(text)
    assert fault == code
    assert (cents is None) == (code is not None)


def test_empty_amount_is_unknown():
    assert amount_cents("") == (None, None)
    assert amount_cents("  ") == (None, None)


def _deliver(tmp_path, lines, codes):
    source = tmp_path / "levering.csv"
    source.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    out, rejects = tmp_path / "uit.parquet", tmp_path / "afgekeurd.csv"
    result = pseudonymise_delivery(source, new_key(), "partner", out, codes, rejects)
    with rejects.open(encoding="utf-8-sig") as handle:
        listed = list(csv.DictReader(handle, delimiter=";"))
    return result, pq.read_table(out), listed


def test_rejected_amount_names_line_column_value_and_rule(tmp_path, codes):
    result, table, listed = _deliver(tmp_path, [
        "1234AB;1;01;2026-01-01;;-12,00",
        "1234AB;2;01;2026-01-01;;twaalf",
        "1234AB;3;01;2026-01-01;;5000000",
        "1234AB;4;01;2026-01-01;;1.234,56",
        "1234AB;5;01;2026-01-01;;",
    ], codes)
    assert [(r["regel"], r["kolom"], r["waarde"], r["code"]) for r in listed] == [
        ("2", "bedrag", "-12,00", "bedrag_negatief"),
        ("3", "bedrag", "twaalf", "bedrag_ongeldig"),
        ("4", "bedrag", "5000000", "bedrag_te_hoog"),
    ]
    assert all("bedrag" in r["melding"] and r["waarde"] in r["melding"] for r in listed)
    assert result.rows_rejected == 3
    assert sorted(table["bedrag"].to_pylist(), key=lambda v: (v is None, v)) == [123456, None]


def test_rows_equal_count_once_and_rows_differing_in_amount_add_up(tmp_path, codes):
    result, table, listed = _deliver(tmp_path, [
        "1234AB;1;PW01;2026-01-01;;1.000,00",
        "1234AB;1;PW01;2026-01-01;;1.000,00",   # the same row again: counts once
        "1234AB;1;PW01;2026-01-01;;250,50",     # another payment of the same record: added
        "1234AB;1;PW01;2026-01-01;;",           # no amount: adds nothing
        "1234AB;2;PW01;2026-01-01;;",
        "1234AB;2;PW01;2026-01-01;;",
    ], codes)
    assert table.num_rows == 2 == result.rows_written
    assert sorted(table["bedrag"].to_pylist(), key=lambda v: (v is None, v)) == [125050, None]
    assert [(r["regel"], r["code"]) for r in listed] == [
        ("3", "dubbele_regel"), ("4", "bedrag_opgeteld"), ("5", "bedrag_opgeteld"), ("7", "dubbele_regel"),
    ]


def test_a_delivery_without_the_column_has_unknown_amounts(tmp_path, codes):
    source = tmp_path / "levering.csv"
    source.write_text("postcode;huisnummer;voorziening;begindatum\n1234AB;1;01;2026-01-01\n",
                      encoding="utf-8")
    out = tmp_path / "uit.parquet"
    pseudonymise_delivery(source, new_key(), "partner", out, codes)
    assert pq.read_table(out)["bedrag"].to_pylist() == [None]
