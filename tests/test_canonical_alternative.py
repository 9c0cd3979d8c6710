"""The alternative reading of docs/contract.md §3 step 8, held to its own test vectors.

`tests/testdata/vectors/pseudoniemen-alt-v1.csv` (same key as pseudoniemen-v1.csv) lists addresses typed in
one huisnummer column, with the canonical string, the pseudonyms, and the alternative reading with its
adres pseudonym (empty when there is none; `ONGELDIG` = rejected). The first test checks the file itself
against the contract text, with Python's `re`, `hmac` and `hashlib` only; the others hold the code to it:
the scalar and Arrow canonicalisers, the pseudonym column of a delivery, and the delivery Parquet.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sample_loader import load_module
from testdata_paths import VECTORS

from linkage.pseudonyms import optional_address_pseudonym_column
from pipelines.intake.delivery import pseudonymise_delivery
from schemas.canonical import canonical_address, canonicalise_arrow
from schemas.codelist import load_code_list
from schemas.formats import read_metadata

VECTOR_FILE = VECTORS / "pseudoniemen-alt-v1.csv"
INPUT = ("postcode", "huisnummer", "huisletter", "huisnummertoevoeging")
# The contract's reading in plain Python (tests/truth.py, no project code).
truth = load_module("factlab_truth", Path(__file__).with_name("truth.py"))


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with VECTOR_FILE.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def hmac_hex(secret: bytes, text: str) -> str:
    return hmac.new(secret, text.encode("utf-8"), hashlib.sha256).hexdigest()


def test_vector_file_follows_the_contract_text(rows, test_key):
    assert len(rows) >= 20
    with_alternative = [r for r in rows if r["canoniek_alt"]]
    assert len(with_alternative) >= 10 and len(rows) - len(with_alternative) >= 5
    for row in rows:
        reading = truth.contract_reading(*(row[c] for c in INPUT))
        if row["canoniek"] == "ONGELDIG":
            assert reading is None, row
            assert row["canoniek_alt"] == row["adres_pseudoniem_alt"] == "", row
            continue
        canonical, pand, alternative = reading
        assert (row["canoniek"], row["canoniek_alt"] or None) == (canonical, alternative), row
        assert row["adres_pseudoniem"] == hmac_hex(test_key.secret, "adres:v1:" + canonical)
        assert row["pand_pseudoniem"] == hmac_hex(test_key.secret, "pand:v1:" + pand)
        expected_alt = hmac_hex(test_key.secret, "adres:v1:" + alternative) if alternative else ""
        assert row["adres_pseudoniem_alt"] == expected_alt, row


def test_main_pseudonyms_agree_with_the_v1_vectors(rows, vector_rows):
    """Where both files hold the same canonical string, they hold the same pseudonym (one key, one rule)."""
    known = {r["canoniek"]: r["adres_pseudoniem"] for r in vector_rows if r["canoniek"] != "ONGELDIG"}
    shared = [r for r in rows if r["canoniek"] in known]
    assert shared
    assert all(known[r["canoniek"]] == r["adres_pseudoniem"] for r in shared)


def test_scalar_canonicaliser_reproduces_the_vectors(rows):
    for row in rows:
        address = canonical_address(*(row[c] for c in INPUT))
        if row["canoniek"] == "ONGELDIG":
            assert address is None, row
            continue
        assert address.canonical == row["canoniek"], row
        assert (address.alternative or "") == row["canoniek_alt"], row


def test_arrow_canonicaliser_and_pseudonym_column_reproduce_the_vectors(rows, test_key):
    columns = [pa.array([row[c] for row in rows], pa.string()) for c in INPUT]
    alternative = canonicalise_arrow(*columns)["canoniek_alt"]
    assert alternative.to_pylist() == [row["canoniek_alt"] or None for row in rows]
    assert optional_address_pseudonym_column(test_key, alternative).to_pylist() == [
        row["adres_pseudoniem_alt"] or None for row in rows
    ]


def test_delivery_parquet_carries_the_alternative_pseudonyms(rows, test_key, tmp_path):
    """`factlab pseudonymise` end to end: format version 2, adres_pseudoniem_alt per record, null if none."""
    extract = tmp_path / "levering.csv"
    frame = pd.DataFrame({c: [row[c] for row in rows] for c in INPUT})
    frame["voorziening"] = "01"
    frame["begindatum"] = [f"2026-01-{1 + i % 28:02d}" for i in range(len(rows))]  # no two rows alike
    frame.to_csv(extract, sep=";", index=False)
    out = tmp_path / "levering.parquet"
    result = pseudonymise_delivery(extract, test_key, "wmo_b", out, load_code_list())
    invalid = sum(row["canoniek"] == "ONGELDIG" for row in rows)
    assert (result.rows_rejected, result.rows_written) == (invalid, len(rows) - invalid)
    assert read_metadata(out)["format_version"] == "2"
    table = pq.read_table(out)
    assert table.schema.field("adres_pseudoniem_alt").type == pa.string()
    columns = table.to_pydict()
    pairs = zip(columns["adres_pseudoniem"], columns["adres_pseudoniem_alt"], strict=True)
    expected = [(row["adres_pseudoniem"], row["adres_pseudoniem_alt"] or None) for row in rows
                if row["canoniek"] != "ONGELDIG"]
    assert sorted(pairs, key=str) == sorted(expected, key=str)
