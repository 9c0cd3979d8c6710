"""Pseudonymising a partner delivery (CONTRACT §4, §6): validate, canonicalise, HMAC, write Parquet.

Runs at the partner. The output holds no address, name or BSN: only the two pseudonyms, the
voorziening with its domain, and the dates. Rows are written in pseudonym order, so the file
order says nothing about the partner's own records.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from linkage.atomic import atomic_path
from linkage.canonical import CANONICAL_VERSION
from linkage.keys import Key, new_key
from linkage.parquet_meta import DELIVERY_FORMAT, FORMAT_VERSION, with_metadata
from linkage.pseudonyms import address_pseudonyms, building_pseudonyms
from linkage.rejects import RejectsWriter
from schemas.codelist import CodeList
from schemas.extract_reader import iter_rows, read_layout
from schemas.messages import RowError
from schemas.row_rules import validate_rows

DELIVERY_SCHEMA = pa.schema(
    [
        ("adres_pseudoniem", pa.string()),
        ("pand_pseudoniem", pa.string()),
        ("voorziening", pa.string()),
        ("domein", pa.string()),
        ("begindatum", pa.date32()),
        ("einddatum", pa.date32()),
    ]
)
_STAGING_SCHEMA = DELIVERY_SCHEMA.append(pa.field("regel", pa.int64()))

DEDUPLICATE_SQL = """
SELECT adres_pseudoniem, pand_pseudoniem, voorziening, domein, begindatum, einddatum
FROM read_parquet($staging)
QUALIFY row_number() OVER (
    PARTITION BY adres_pseudoniem, voorziening, begindatum, einddatum ORDER BY regel) = 1
ORDER BY adres_pseudoniem, voorziening, begindatum, einddatum
"""

DUPLICATE_LINES_SQL = """
SELECT regel, first_value(regel) OVER (
    PARTITION BY adres_pseudoniem, voorziening, begindatum, einddatum ORDER BY regel) AS eerste
FROM read_parquet($staging)
QUALIFY regel <> eerste
ORDER BY regel
"""


@dataclass
class DeliveryResult:
    rows_read: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0
    rows_written: int = 0
    errors_by_rule: Counter[str] = field(default_factory=Counter)
    examples: list[RowError] = field(default_factory=list)
    encoding: str = ""
    delimiter: str = ""
    ignored_columns: list[str] = field(default_factory=list)


def _record(result: DeliveryResult, errors: list[RowError], example_limit: int = 200) -> None:
    result.errors_by_rule.update(e.code for e in errors)
    room = example_limit - len(result.examples)
    if room > 0:
        result.examples.extend(errors[:room])


def pseudonymise_delivery(
    source: Path,
    key: Key,
    partner: str,
    out: Path | None,
    codes: CodeList,
    rejects: Path | None = None,
) -> DeliveryResult:
    """Validate and pseudonymise one CSV extract into a delivery Parquet file.

    Raises FileFault for a file-level fault, before anything is written. With `out` None the
    file is only checked (see `validate_delivery`).
    """
    layout = read_layout(source)
    result = DeliveryResult(encoding=layout.encoding, delimiter=layout.delimiter,
                            ignored_columns=list(layout.ignored_columns))
    with tempfile.TemporaryDirectory(prefix="factlab-") as work:
        staging = Path(work) / "staging.parquet"
        rejects_writer = RejectsWriter(Path(work) / "afgekeurd.csv", source.name)
        writer = pq.ParquetWriter(staging, _STAGING_SCHEMA)
        try:
            for rows, structural in iter_rows(source, layout):
                valid, errors = validate_rows(rows, codes)
                all_errors = sorted(structural + errors, key=lambda e: e.regel)
                result.rows_read += len(rows) + len(structural)
                result.rows_rejected += len({e.regel for e in all_errors})
                _record(result, all_errors)
                rejects_writer.write(all_errors)
                if len(valid):
                    writer.write_table(_pseudonymise_rows(valid, key))
            writer.close()
            with duckdb.connect() as con:
                duplicates = con.execute(DUPLICATE_LINES_SQL, {"staging": str(staging)}).fetchall()
                table = con.sql(DEDUPLICATE_SQL, params={"staging": str(staging)}).to_arrow_table()
            dup_errors = [
                RowError.of(int(line), "(regel)", "", "dubbele_regel", str(first)) for line, first in duplicates
            ]
            result.rows_duplicate = len(dup_errors)
            _record(result, dup_errors)
            rejects_writer.write(dup_errors)
        finally:
            writer.close()
            rejects_writer.close()
        result.rows_written = table.num_rows
        metadata = {
            "format": DELIVERY_FORMAT,
            "format_version": FORMAT_VERSION,
            "partner": partner,
            "key_id": key.key_id,
            "canonical_version": CANONICAL_VERSION,
            "rows_read": result.rows_read,
            "rows_rejected": result.rows_rejected,
            "rows_duplicate": result.rows_duplicate,
            "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
        }
        if out is not None:
            with atomic_path(out) as tmp:
                pq.write_table(with_metadata(table.cast(DELIVERY_SCHEMA), metadata), tmp)
        if rejects is not None:
            with atomic_path(rejects) as tmp:
                shutil.copyfile(Path(work) / "afgekeurd.csv", tmp)
    return result


def _pseudonymise_rows(valid: pd.DataFrame, key: Key) -> pa.Table:
    return pa.table(
        {
            "adres_pseudoniem": address_pseudonyms(key, valid["canoniek"]),
            "pand_pseudoniem": building_pseudonyms(key, valid["pand"]),
            "voorziening": valid["voorziening"].tolist(),
            "domein": valid["domein"].tolist(),
            "begindatum": pa.array(valid["begindatum"].tolist(), pa.date32()),
            "einddatum": pa.array([None if d is None or d != d else d for d in valid["einddatum"].tolist()], pa.date32()),
            "regel": valid["regel"].tolist(),
        },
        schema=_STAGING_SCHEMA,
    )


def validate_delivery(source: Path, codes: CodeList, rejects: Path | None = None) -> DeliveryResult:
    """Check an extract exactly as pseudonymisation would, without writing a delivery.

    Duplicates are found on pseudonyms under a throw-away key that is never stored.
    """
    return pseudonymise_delivery(source, new_key(), "validatie", None, codes, rejects)
