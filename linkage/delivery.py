"""Pseudonymising a partner delivery (CONTRACT §4, §6): validate, canonicalise, HMAC, write Parquet.

Runs at the partner. A delivery is one CSV extract, one iJw/iWmo 301 message (`.xml`), or a folder
of 301 messages. The output holds no address, name or BSN: only the two pseudonyms, the voorziening
with its domain, and the dates. Rows are written in pseudonym order, so the file order says nothing
about the partner's own records.

Memory stays bounded whatever the file size: rows are read, checked and pseudonymised per chunk,
staged in a Parquet file on disk, and deduplicated by DuckDB (which spills to disk) while the result
is streamed into the output file batch by batch.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from linkage.atomic import atomic_path
from linkage.canonical import CANONICAL_VERSION
from linkage.keys import Key, new_key
from linkage.parquet_meta import DELIVERY_FORMAT, FORMAT_VERSION, with_metadata
from linkage.pseudonyms import address_pseudonym_column, building_pseudonym_column
from schemas.codelist import CodeList
from schemas.controle_rapport import ErrorListWriter
from schemas.expectation_suites import CSV_SUITE, MESSAGE_SUITE, suite_for
from schemas.extract_reader import CHUNK_ROWS, FileFault, iter_tables, read_layout
from schemas.istandaard import looks_like_message, read_message
from schemas.messages import RowError
from schemas.row_rules import judge_rows, prepare_rows

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
_STAGING_SCHEMA = DELIVERY_SCHEMA.append(pa.field("bron", pa.int32())).append(pa.field("regel", pa.int64()))
EXAMPLES_PER_RULE = 10
LISTED_ERRORS = 5_000
OUTPUT_BATCH_ROWS = 65_536
MAX_FAULTS_LISTED = 10
DUCKDB_MEMORY_LIMIT = "256MB"  # DuckDB spills beyond it: with CHUNK_ROWS this bounds memory per delivery

DEDUPLICATE_SQL = """
SELECT adres_pseudoniem, pand_pseudoniem, voorziening, domein, begindatum, einddatum
FROM read_parquet($staging)
QUALIFY row_number() OVER (
    PARTITION BY adres_pseudoniem, voorziening, begindatum, einddatum ORDER BY bron, regel) = 1
ORDER BY adres_pseudoniem, voorziening, begindatum, einddatum
"""

DUPLICATE_LINES_SQL = """
SELECT bron, regel,
    first_value(bron) OVER duplicates AS eerste_bron,
    first_value(regel) OVER duplicates AS eerste_regel
FROM read_parquet($staging)
WINDOW duplicates AS (
    PARTITION BY adres_pseudoniem, voorziening, begindatum, einddatum ORDER BY bron, regel)
QUALIFY bron <> eerste_bron OR regel <> eerste_regel
ORDER BY bron, regel
"""


@dataclass
class DeliveryResult:
    rows_read: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0
    rows_written: int = 0
    errors_by_rule: Counter[str] = field(default_factory=Counter)
    examples: list[RowError] = field(default_factory=list)
    """Up to EXAMPLES_PER_RULE errors of every rule, in the order found."""
    encoding: str = ""
    delimiter: str = ""
    ignored_columns: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    messages: Counter[str] = field(default_factory=Counter)
    """301 messages read, per kind (JW301, WMO301)."""
    ignored_files: list[str] = field(default_factory=list)
    folder: bool = False
    """True when the delivery is a folder of messages: errors then name their message."""
    listed: list[RowError] = field(default_factory=list)
    """The first LISTED_ERRORS errors in the order of the full list (for the partner's page)."""

    def record(self, errors: list[RowError]) -> None:
        room = LISTED_ERRORS - len(self.listed)
        if room > 0:
            self.listed.extend(errors[:room])
        for error in errors:
            if self.errors_by_rule[error.code] < EXAMPLES_PER_RULE:
                self.examples.append(error)
            self.errors_by_rule[error.code] += 1


def delivery_sources(source: Path) -> tuple[list[Path], list[str]]:
    """The files of a delivery and the names of files in its folder that are not 301 messages."""
    if not source.is_dir():
        return [source], []
    try:
        entries = sorted(
            (p for p in source.iterdir() if p.is_file() and not p.name.startswith(".")), key=lambda p: p.name
        )
    except OSError as exc:
        raise FileFault(f"{source}: de map kan niet gelezen worden ({exc.strerror or 'leesfout'})") from None
    messages = [p for p in entries if p.suffix.lower() == ".xml"]
    if not messages:
        raise FileFault(
            f"{source.name}: de map bevat geen 301-berichten (.xml); geef een CSV-bestand los "
            "op, of een map met JW301- of WMO301-berichten"
        )
    return messages, [p.name for p in entries if p.suffix.lower() != ".xml"]


def _csv_chunks(
    source: Path, codes: CodeList, result: DeliveryResult
) -> Iterator[tuple[pd.DataFrame, list[RowError], int]]:
    layout = read_layout(source)
    result.encoding, result.delimiter = layout.encoding, layout.delimiter
    result.ignored_columns = list(layout.ignored_columns)
    suite = suite_for(CSV_SUITE, codes.codes())
    for table, structural in iter_tables(source, layout, chunk_rows=CHUNK_ROWS):
        # The chunk as Arrow-backed `str` columns: the row rules work on them without a copy per value.
        rows = table.to_pandas()
        valid, errors = judge_rows(prepare_rows(rows, codes), suite, codes)
        yield valid, sorted(structural + errors, key=lambda e: e.regel), len(rows) + len(structural)


def _message_chunks(
    sources: list[Path], codes: CodeList, result: DeliveryResult, folder: bool
) -> Iterator[tuple[pd.DataFrame, list[RowError], int]]:
    """Rows of many small messages, checked together in chunks (one suite run per chunk, not per message)."""
    suite = suite_for(MESSAGE_SUITE, codes.codes())
    names = [p.name for p in sources] if folder else None
    faults: list[str] = []
    pending: list[pd.DataFrame] = []
    pending_rows = 0

    def judge() -> tuple[pd.DataFrame, list[RowError], int]:
        rows = pd.concat(pending, ignore_index=True)
        pending.clear()
        valid, errors = judge_rows(prepare_rows(rows, codes), suite, codes, bestanden=names)
        return valid, errors, len(rows)

    for index, path in enumerate(sources):
        try:
            kind, rows = read_message(path)
        except FileFault as fault:
            if not folder:
                raise
            faults.append(str(fault))
            continue
        result.messages[kind.name] += 1
        rows.insert(0, "bron", index)
        pending.append(rows)
        pending_rows += len(rows)
        if pending_rows >= CHUNK_ROWS:
            yield judge()
            pending_rows = 0
    if faults:
        listed = "\n  ".join(faults[:MAX_FAULTS_LISTED])
        hidden = len(faults) - MAX_FAULTS_LISTED
        more = f"\n  (en nog {hidden} bericht(en))" if hidden > 0 else ""
        raise FileFault(
            f"{len(faults)} van de {len(sources)} berichten zijn niet te lezen; er is niets "
            f"geschreven. Haal ze uit de map of maak ze opnieuw aan:\n  {listed}{more}"
        )
    if pending:
        yield judge()


def checked_chunks(
    source: Path, codes: CodeList, result: DeliveryResult
) -> Iterator[tuple[pd.DataFrame, list[RowError], int]]:
    """(valid rows, errors, rows read) per chunk of a delivery; raises FileFault for a file-level fault."""
    sources, ignored = delivery_sources(source)
    result.sources = [p.name for p in sources]
    result.folder = source.is_dir()
    result.ignored_files = ignored
    if result.folder or looks_like_message(source):
        yield from _message_chunks(sources, codes, result, result.folder)
    else:
        yield from _csv_chunks(source, codes, result)


def pseudonymise_delivery(
    source: Path,
    key: Key,
    partner: str,
    out: Path | None,
    codes: CodeList,
    rejects: Path | None = None,
) -> DeliveryResult:
    """Validate and pseudonymise a delivery (CSV, 301 message or folder of messages) into Parquet.

    Raises FileFault for a file-level fault, before anything is written. With `out` None the
    file is only checked (see `validate_delivery`). `rejects` receives every rejected or merged row.
    """
    result = DeliveryResult()
    with tempfile.TemporaryDirectory(prefix="factlab-") as work:
        work_dir = Path(work)
        staging = work_dir / "staging.parquet"
        error_list = ErrorListWriter(work_dir / "afgekeurd.csv", source.name)
        # Staging is read once by DuckDB and then deleted: no compression, and no dictionary for the
        # pseudonyms (random hex, every value distinct), which only cost time to attempt.
        writer = pq.ParquetWriter(staging, _STAGING_SCHEMA, compression="none",
                                  use_dictionary=["voorziening", "domein"])
        try:
            for valid, errors, rows_read in checked_chunks(source, codes, result):
                result.rows_read += rows_read
                result.rows_rejected += len({(e.bestand, e.regel) for e in errors})
                result.record(errors)
                error_list.write(errors)
                if len(valid):
                    writer.write_table(_pseudonymise_rows(valid, key))
            writer.close()
            with _duckdb(work_dir) as con:
                staged = {"staging": str(staging)}
                for batch in con.sql(DUPLICATE_LINES_SQL, params=staged).to_arrow_reader(OUTPUT_BATCH_ROWS):
                    dup_errors = _duplicate_errors(batch, result.sources if result.folder else None)
                    result.rows_duplicate += len(dup_errors)
                    result.record(dup_errors)
                    error_list.write(dup_errors)
                kept = con.sql("SELECT count(*) FROM read_parquet($staging)", params=staged).fetchall()[0][0]
                result.rows_written = int(kept) - result.rows_duplicate
                if out is not None:
                    _write_delivery(con, staged, out, delivery_metadata(result, partner, key))
        finally:
            writer.close()
            error_list.close()
        if rejects is not None:
            with atomic_path(rejects) as tmp:
                shutil.copyfile(work_dir / "afgekeurd.csv", tmp)
    return result


def _duckdb(work_dir: Path) -> duckdb.DuckDBPyConnection:
    spill = work_dir / "duckdb"
    spill.mkdir()
    return duckdb.connect(config={"memory_limit": DUCKDB_MEMORY_LIMIT, "temp_directory": str(spill)})


def delivery_metadata(result: DeliveryResult, partner: str, key: Key) -> dict[str, object]:
    """The file metadata of a pseudonymised delivery (CONTRACT §6)."""
    return {
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


def _write_delivery(
    con: duckdb.DuckDBPyConnection, params: dict[str, str], out: Path, metadata: dict[str, object]
) -> None:
    schema = with_metadata(DELIVERY_SCHEMA.empty_table(), metadata).schema
    with atomic_path(out) as tmp:
        with pq.ParquetWriter(tmp, schema) as parquet:
            for batch in con.sql(DEDUPLICATE_SQL, params=params).to_arrow_reader(OUTPUT_BATCH_ROWS):
                parquet.write_table(pa.Table.from_batches([batch]).cast(schema))


def _duplicate_errors(batch: pa.RecordBatch, sources: list[str] | None) -> list[RowError]:
    errors = []
    columns = batch.to_pydict()
    for bron, regel, first_bron, first_regel in zip(
        columns["bron"], columns["regel"], columns["eerste_bron"], columns["eerste_regel"], strict=True
    ):
        name = sources[bron] if sources else ""
        same_file = first_bron == bron or not sources
        first = str(first_regel) if same_file else f"{first_regel} van {sources[first_bron]}"
        errors.append(RowError.of(int(regel), "(regel)", "", "dubbele_regel", first, bestand=name))
    return errors


def _pseudonymise_rows(valid: pd.DataFrame, key: Key) -> pa.Table:
    """The staging table of a chunk's valid rows: columns go to Arrow whole, no Python object per row."""
    bron = valid["bron"].to_numpy() if "bron" in valid else np.zeros(len(valid), dtype=np.int32)
    return pa.table(
        {
            "adres_pseudoniem": address_pseudonym_column(key, valid["canoniek"]),
            "pand_pseudoniem": building_pseudonym_column(key, valid["pand"]),
            "voorziening": pa.array(valid["voorziening"], pa.string()),
            "domein": pa.array(valid["domein"], pa.string()),
            # `datetime.date` objects, NaT where einddatum is open: Arrow converts them in one call.
            "begindatum": pa.array(valid["begindatum"], pa.date32(), from_pandas=True),
            "einddatum": pa.array(valid["einddatum"], pa.date32(), from_pandas=True),
            "bron": pa.array(bron, pa.int32()),
            "regel": pa.array(valid["regel"].to_numpy(), pa.int64()),
        },
        schema=_STAGING_SCHEMA,
    )


def validate_delivery(source: Path, codes: CodeList, rejects: Path | None = None) -> DeliveryResult:
    """Check a delivery exactly as pseudonymisation would, without writing a delivery.

    Duplicates are found on pseudonyms under a throw-away key that is never stored.
    """
    return pseudonymise_delivery(source, new_key(), "validatie", None, codes, rejects)
