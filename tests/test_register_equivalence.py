"""The Arrow register equals, row for row and error for error, a plain per-row reading of the rules.

The reference below reads the CSV with the csv module and judges every row with the one-address
canonicaliser, so it shares no vectorised code with pipelines/intake/register.py. Messy registers with every
rule broken somewhere, duplicates and odd household counts must give the same Parquet content, the
same counts and the same list of rejected rows.
"""

from __future__ import annotations

import csv
import random
import re

import pandas as pd
import pyarrow.parquet as pq
import pytest

from linkage.pseudonyms import address_pseudonyms, building_pseudonyms
from pipelines.intake.register import pseudonymise_register
from schemas.canonical import canonicalise_addresses
from schemas.rejects import neutralise_formula

HEADER = "postcode;huisnummer;huisletter;huisnummertoevoeging;buurtcode;huishoudens"
# Per column: spellings that are valid (often messy), and spellings that break a rule.
POSTCODES = (["1234AB", "1234 ab", " 9999zz ", "5678\u00a0CD", "1234AC"], ["1234SA", "0123AB", "12345", ""])
NUMBERS = (["1", "12", "012", "12a", "12-2", " 7 ", "3"], ["12 bis", "0", "123456", "", "x"])
LETTERS = (["", "", "", "a", "B"], ["ab", "1"])
ADDITIONS = (["", "", "", "2", "HS"], ["boven", "-3"])
BUURTEN = (["BU12340101", "bu12340101", " BU56780202 ", "\u2003BU12340303"], ["BU1234", "", "BU1234010A"])
HOUSEHOLDS = (["", "", "1", "3", " 2 ", "2.0", "0", "1e1", "007"], ["-1", "1.5", "drie"])


def _reference(text: str) -> tuple[list[tuple], list[tuple], dict[str, int]]:
    """(register rows sorted, rejected rows in order, counts) by reading one row at a time."""
    rows = list(csv.reader(text.splitlines()[1:], delimiter=";"))
    kept: dict[str, tuple[int, str, str, int]] = {}
    rejected: list[tuple] = []
    rejected_lines: set[int] = set()
    duplicates: list[tuple] = []
    for line, row in enumerate(rows, start=2):
        postcode, number, letter, addition, buurt, households = (row + [""] * 6)[:6]
        address = canonicalise_addresses(pd.Series([postcode]), pd.Series([number]),
                                         pd.Series([letter]), pd.Series([addition])).iloc[0]
        errors = [(column, value, address[f"fout_{name}"])
                  for column, name, value in (("postcode", "postcode", postcode),
                                              ("huisnummer", "huisnummer", number),
                                              ("huisletter", "huisletter", letter),
                                              ("huisnummertoevoeging", "toevoeging", addition))
                  if not pd.isna(address[f"fout_{name}"])]
        code = buurt.strip().upper()
        if not re.fullmatch(r"BU[0-9]{8}", code):
            errors.append(("buurtcode", buurt, "buurtcode_ongeldig"))
        count = pd.to_numeric(households.strip() or "1", errors="coerce")
        if pd.isna(count) or count < 0 or count % 1:
            errors.append(("huishoudens", households, "huishoudens_ongeldig"))
        if errors:
            rejected_lines.add(line)
            rejected.extend((line, column, value, rule) for column, value, rule in errors)
            continue
        canonical = address["canoniek"]
        if canonical in kept:
            duplicates.append((line, "(regel)", "", "dubbel_adres"))
            continue
        kept[canonical] = (line, address["pand"], code, int(count))
    return kept, rejected + duplicates, {"rejected": len(rejected_lines), "duplicates": len(duplicates)}


def _messy_register(seed: int, size: int) -> str:
    rng = random.Random(seed)
    lines = [HEADER]
    for _ in range(size):
        lines.append(";".join(rng.choice(wrong if rng.random() < 0.04 else right) for right, wrong in
                              (POSTCODES, NUMBERS, LETTERS, ADDITIONS, BUURTEN, HOUSEHOLDS)))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", range(6))
def test_register_matches_row_by_row_reference(tmp_path, test_key, seed):
    text = _messy_register(seed, 400)
    source = tmp_path / "adressen.csv"
    source.write_text(text, encoding="utf-8")
    rejects = tmp_path / "afgekeurd.csv"
    result = pseudonymise_register(source, test_key, tmp_path / "reg.parquet", rejects)

    kept, errors, counts = _reference(text)
    assert kept, "the generator must leave some valid rows"
    assert counts["rejected"] and counts["duplicates"], "every kind of row must occur"
    assert (result.rows_read, result.rows_rejected, result.rows_duplicate) == (
        400, counts["rejected"], counts["duplicates"])

    table = pq.read_table(tmp_path / "reg.parquet").to_pylist()
    canonical = list(kept)
    expected = sorted(
        (
            {"adres_pseudoniem": adres, "pand_pseudoniem": pand, "buurtcode": buurt,
             "wijkcode": "WK" + buurt[2:8], "gemeentecode": "GM" + buurt[2:6], "huishoudens": count}
            for adres, pand, (_, _, buurt, count) in zip(
                address_pseudonyms(test_key, canonical),
                building_pseudonyms(test_key, [kept[c][1] for c in canonical]), kept.values(), strict=True)
        ),
        key=lambda row: row["adres_pseudoniem"],
    )
    assert table == expected
    assert result.households == sum(row["huishoudens"] for row in expected)

    with rejects.open(encoding="utf-8-sig", newline="") as handle:
        listed = [(int(r["regel"]), r["kolom"], r["waarde"], r["code"])
                  for r in csv.DictReader(handle, delimiter=";")]
    # The list of rejected rows is a CSV for Excel: values that start a formula carry the guard's apostrophe.
    errors = [(line, column, neutralise_formula(value), code) for line, column, value, code in errors]
    rejected_part = [e for e in listed if e[3] != "dubbel_adres"]
    assert rejected_part == errors[:len(rejected_part)]
    assert [e for e in listed if e[3] == "dubbel_adres"] == [e for e in errors if e[3] == "dubbel_adres"]



def test_pseudonym_order_sorts_like_the_text_and_marks_repeats():
    import secrets

    import pyarrow as pa
    import pyarrow.compute as pc

    from pipelines.intake.register import _pseudonym_order

    values = [secrets.token_hex(32) for _ in range(2000)]
    repeated = values[:50] + values[7:9]
    # Equal first 16 digits of different pseudonyms force the full sort.
    clash = ["0" * 16 + "b" + "0" * 47, "0" * 16 + "a" + "0" * 47, "f" * 64, "9" + "a" * 63]
    for case in (values, values + repeated, values + repeated + clash + clash[:1]):
        column = pa.array(case)
        order, repeats = _pseudonym_order(column)
        assert order.tolist() == pc.sort_indices(column).to_pylist()
        ordered = [case[i] for i in order]
        assert repeats.tolist() == [i > 0 and ordered[i] == ordered[i - 1] for i in range(len(case))]
    sliced = pa.array(values + repeated).slice(10)
    order, _ = _pseudonym_order(sliced)
    assert order.tolist() == pc.sort_indices(sliced).to_pylist()
