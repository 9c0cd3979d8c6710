"""The delivery's deduplication (linkage/sql/delivery_*.sql) against a plain Python reading of the contract.

Staged rows are drawn from a tiny pool of addresses, codes, dates and amounts, so that records repeat
in every way the contract names (§3 step 8, §12): equal rows, rows that differ only in `bedrag`, open
end dates (null), missing amounts, alternative readings that differ between rows of one record, and
repeats across the files of a folder. The reference below knows nothing of SQL.
"""

from __future__ import annotations

import datetime as dt
import random

import duckdb
import pyarrow as pa
import pytest

from pipelines.intake.delivery import STAGING_SCHEMA, DeliveryResult, duplicate_rows, records
from schemas.formats import DELIVERY_SCHEMA

KEY = ("adres_pseudoniem", "voorziening", "begindatum", "einddatum")


def _staged_rows(seed: int, count: int) -> list[dict]:
    rng = random.Random(seed)
    lines = rng.sample(range(2, 10 * count), count)
    rows = []
    for line in lines:
        rows.append({
            "adres_pseudoniem": rng.choice(["a" * 64, "b" * 64, "0" * 64]),
            "pand_pseudoniem": rng.choice(["c" * 64, "d" * 64]),
            "voorziening": rng.choice(["PW01", "45"]),
            "domein": rng.choice(["wmo", "jeugd"]),
            "begindatum": rng.choice([dt.date(2026, 1, 1), dt.date(2026, 3, 1)]),
            "einddatum": rng.choice([None, dt.date(2026, 12, 31)]),
            "adres_pseudoniem_alt": rng.choice([None, "e" * 64]),
            "bedrag": rng.choice([None, 100, 250, 0]),
            "bron": rng.choice([0, 1]),
            "regel": line,
        })
    return rows


def _reference(rows: list[dict]) -> tuple[list[tuple], list[dict]]:
    """(bron, regel, first bron, first regel, same amount) per repeated row, and the kept records."""
    groups: dict[tuple, list[dict]] = {}
    for row in sorted(rows, key=lambda r: (r["bron"], r["regel"])):
        groups.setdefault(tuple(row[c] for c in KEY), []).append(row)
    repeated, kept = [], []
    for members in groups.values():
        first = members[0]
        for position, row in enumerate(members[1:], start=1):
            same = any(earlier["bedrag"] == row["bedrag"] for earlier in members[:position])
            repeated.append((row["bron"], row["regel"], first["bron"], first["regel"], same))
        amounts = {m["bedrag"] for m in members if m["bedrag"] is not None}
        record = {c: first[c] for c in DELIVERY_SCHEMA.names}
        record["bedrag"] = sum(amounts) if amounts else None
        kept.append(record)
    kept.sort(key=lambda r: (r["adres_pseudoniem"], r["voorziening"], r["begindatum"],
                             r["einddatum"] is None, r["einddatum"] or dt.date.min))
    return sorted(repeated), kept


@pytest.mark.parametrize("seed", range(6))
def test_duplicates_and_records_follow_the_contract(seed: int) -> None:
    rows = _staged_rows(seed, 120)
    expected_repeated, expected_records = _reference(rows)
    result = DeliveryResult(sources=["een.xml", "twee.xml"], folder=True)
    with duckdb.connect() as con:
        con.register("staging", pa.Table.from_pylist(rows, STAGING_SCHEMA))
        errors = [error for batch in duplicate_rows(con, result) for error in batch]
        kept = [row for table in records(con, DELIVERY_SCHEMA) for row in table.to_pylist()]
    by_line = {(["een.xml", "twee.xml"][r["bron"]], r["regel"]): r for r in rows}
    found = []
    for error in errors:
        row = by_line[(error.bestand, error.regel)]
        first = next(e for e in expected_repeated if e[:2] == (row["bron"], row["regel"]))
        found.append((row["bron"], row["regel"], first[2], first[3], error.code == "dubbele_regel"))
        assert str(first[3]) in error.melding
    assert found == expected_repeated  # also in file-then-line order
    assert kept == expected_records
    assert result.rows_duplicate == len(expected_repeated)
    assert result.rows_written == len(expected_records)
    assert len(expected_repeated) > 20 and any(not e[4] for e in expected_repeated)
