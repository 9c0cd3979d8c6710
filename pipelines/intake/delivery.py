"""Pseudonymising a partner delivery (docs/contract.md §4, §6): validate, canonicalise, HMAC, write Parquet.

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
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from linkage.keys import Key, new_key
from linkage.pseudonyms import (
    address_pseudonym_column,
    building_pseudonym_column,
    optional_address_pseudonym_column,
)
from linkage.sql_units import execute, stream
from pipelines.progress import Progress, count_lines_later
from schemas.atomic import private_workdir
from schemas.canonical import CANONICAL_VERSION
from schemas.clock import now_iso
from schemas.codelist import CodeList
from schemas.expectation_suites import suite_for
from schemas.formats import (
    ALTERNATIVE_COLUMN,
    AMOUNT_COLUMN,
    AMOUNT_IN_PERIOD,
    AMOUNT_KIND,
    AMOUNT_WHOLE_ASSIGNMENT,
    DELIVERY_FORMAT,
    DELIVERY_FORMAT_VERSION,
    DELIVERY_SCHEMA,
    with_metadata,
)
from schemas.messages import RowError, nothing_accepted
from schemas.outpaths import atomic_files
from schemas.readers.csv_reader import FileFault
from schemas.readers.registry import READERS, Reader, reader_of_path
from schemas.rejects import RejectsWriter
from schemas.row_rules import judge_rows, prepare_rows

STAGING_SCHEMA = DELIVERY_SCHEMA.append(pa.field("bron", pa.int32())).append(pa.field("regel", pa.int64()))
EXAMPLES_PER_RULE = 10
LISTED_ERRORS = 5_000
OUTPUT_BATCH_ROWS = 65_536
PSEUDONYM_COLUMNS = ("adres_pseudoniem", "pand_pseudoniem", ALTERNATIVE_COLUMN)
# The delivery file: random hex pseudonyms have no repeats for a dictionary to find and compress by
# less than a tenth with snappy (4 bits of entropy per character, no repeated strings): both only cost
# time. The code columns repeat a handful of values and keep both.
DELIVERY_DICTIONARY = ["voorziening", "domein"]
DELIVERY_COMPRESSION = {
    name: "none" if name in PSEUDONYM_COLUMNS else "snappy" for name in DELIVERY_SCHEMA.names
}
DUCKDB_MEMORY_LIMIT = "256MB"  # DuckDB spills beyond it: with CHUNK_ROWS this bounds memory per delivery

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
    superseded: int = 0
    """301 ToegewezenProducten replaced by a later version of their toewijzing (not in rows_read)."""
    withdrawn: int = 0
    """301 ToegewezenProducten of toewijzingen withdrawn with RedenWijziging 13 (not in rows_read)."""
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


def checked_chunks(
    source: Path, codes: CodeList, result: DeliveryResult
) -> Iterator[tuple[pd.DataFrame, list[RowError], int]]:
    """(valid rows, errors, rows read) per chunk of a delivery; raises FileFault for a file-level fault.

    The format is found by the reader registry (`schemas.readers.registry`); a folder holds 301 messages.
    """
    sources, ignored = delivery_sources(source)
    result.sources = [p.name for p in sources]
    result.folder = source.is_dir()
    result.ignored_files = ignored
    reader = READERS["301-xml"] if result.folder else reader_of_path(source)
    yield from judged_chunks(reader, sources, codes, result, named=result.folder)


def judged_chunks(
    reader: Reader, sources: list, codes: CodeList, result: DeliveryResult, named: bool
) -> Iterator[tuple[pd.DataFrame, list[RowError], int]]:
    """The reader's raw chunks judged by its rule suite: (valid rows, errors in line order, rows read).

    `sources` are paths, or in-memory stand-ins for them (the portal); with `named` errors name their file.
    """
    suite = suite_for(reader.suite, codes.codes())
    names = [p.name for p in sources] if named else None
    for rows, structural in reader.read(sources, result, named):
        valid, errors = judge_rows(prepare_rows(rows, codes), suite, codes, bestanden=names)
        if structural:  # the CSV reader's own row errors, merged into line order
            errors = sorted(structural + errors, key=lambda e: e.regel)
        yield valid, errors, len(rows) + len(structural)


def pseudonymise_delivery(
    source: Path,
    key: Key,
    partner: str,
    out: Path | None,
    codes: CodeList,
    rejects: Path | None = None,
    progress: Progress | None = None,
) -> DeliveryResult:
    """Validate and pseudonymise a delivery (CSV, 301 message or folder of messages) into Parquet.

    Raises FileFault for a file-level fault, before anything is written. With `out` None the
    file is only checked (see `validate_delivery`). `rejects` receives every rejected or merged row.
    `progress` hears of each stage and chunk (counts only).
    """
    bar = progress or Progress.off()
    bar.stage("controleren" if out is None else "controleren en pseudonimiseren")
    count_lines_later(source, bar)
    result = DeliveryResult()
    targets = [path for path in (out, rejects) if path is not None]
    with private_workdir("levering") as work_dir, atomic_files(*targets) as staged:
        out_tmp = staged[0] if out is not None else None
        staging = work_dir / "staging.parquet"
        error_list = RejectsWriter(work_dir / "afgekeurd.csv", source.name)
        # Staging is read once by DuckDB and then deleted: no compression, and no dictionary for the
        # pseudonyms (random hex, every value distinct), which only cost time to attempt.
        writer = pq.ParquetWriter(staging, STAGING_SCHEMA, compression="none",
                                  use_dictionary=["voorziening", "domein"])
        try:
            accepted = 0
            for valid, errors, rows_read in checked_chunks(source, codes, result):
                result.rows_read += rows_read
                result.rows_rejected += len({(e.bestand, e.regel) for e in errors})
                result.record(errors)
                error_list.write(errors)
                if len(valid):
                    accepted += len(valid)
                    writer.write_table(staging_table(valid, key))
                bar.advance(rows_read)
            writer.close()
            if out is not None and not accepted and result.rows_rejected:
                # Checking only (`validate`) lists every rejected row; a delivery to send must hold one.
                # A file with no rows to judge (every 301 toewijzing withdrawn) is empty, not faulty.
                raise FileFault(nothing_accepted(source.name, result.rows_read, result.errors_by_rule))
            with _duckdb(work_dir) as con:
                con.read_parquet(str(staging)).create_view("staging")
                bar.stage("dubbele rijen zoeken")
                for dup_errors in duplicate_rows(con, result):
                    error_list.write(dup_errors)
                if out_tmp is not None:
                    bar.stage("records schrijven", result.rows_written)
                    _write_delivery(con, out_tmp, delivery_metadata(result, partner, key), bar)
        finally:
            writer.close()
            error_list.close()
        if rejects is not None:
            # The delivery and its list of rejected rows replace their targets together, or neither does.
            shutil.copyfile(work_dir / "afgekeurd.csv", staged[-1])
    return result


def _duckdb(work_dir: Path) -> duckdb.DuckDBPyConnection:
    spill = work_dir / "duckdb"
    spill.mkdir()
    return duckdb.connect(config={"memory_limit": DUCKDB_MEMORY_LIMIT, "temp_directory": str(spill)})


def delivery_metadata(result: DeliveryResult, partner: str, key: Key) -> dict[str, object]:
    """The file metadata of a pseudonymised delivery (docs/contract.md §6)."""
    return {
        "format": DELIVERY_FORMAT,
        "format_version": DELIVERY_FORMAT_VERSION,
        "partner": partner,
        "key_id": key.key_id,
        "canonical_version": CANONICAL_VERSION,
        "rows_read": result.rows_read,
        "rows_rejected": result.rows_rejected,
        "rows_duplicate": result.rows_duplicate,
        # 301 messages carry the Budget of the whole toewijzing, pro-rated when linking (§12).
        AMOUNT_KIND: AMOUNT_WHOLE_ASSIGNMENT if result.messages else AMOUNT_IN_PERIOD,
        "created": now_iso(),
    }


def duplicate_rows(con: duckdb.DuckDBPyConnection, result: DeliveryResult) -> Iterator[list[RowError]]:
    """Report the repeated rows of the staged delivery (view `staging`) into `result`, batch by batch.

    Also sets `result.rows_written`: the records the delivery keeps (`records`), and leaves the rows of
    records with more than one row in the temporary table `repeated`, which `records` reads.
    """
    names = result.sources if result.folder else None
    execute(con, "delivery_repeated")
    for batch in stream(con, "delivery_duplicates", OUTPUT_BATCH_ROWS):
        dup_errors = _duplicate_errors(batch, names)
        result.rows_duplicate += len(dup_errors)
        result.record(dup_errors)
        yield dup_errors
    staged = execute(con, "staging_rows").fetchall()[0][0]
    result.rows_written = int(staged) - result.rows_duplicate


def records(con: duckdb.DuckDBPyConnection, schema: pa.Schema) -> Iterator[pa.Table]:
    """The kept records of the staged delivery (view `staging`), in pseudonym order, as `schema`.

    Reads the table `repeated` that `duplicate_rows` leaves: call it first.
    """
    for batch in stream(con, "delivery_records", OUTPUT_BATCH_ROWS):
        yield pa.Table.from_batches([batch]).cast(schema)


def _write_delivery(con: duckdb.DuckDBPyConnection, out: Path, metadata: dict[str, object],
                    bar: Progress) -> None:
    schema = with_metadata(DELIVERY_SCHEMA.empty_table(), metadata).schema
    with pq.ParquetWriter(out, schema, use_dictionary=DELIVERY_DICTIONARY,
                          compression=DELIVERY_COMPRESSION) as parquet:
        for table in records(con, schema):
            parquet.write_table(table)
            bar.advance(table.num_rows)


def _duplicate_errors(batch: pa.RecordBatch, sources: list[str] | None) -> list[RowError]:
    errors = []
    columns = batch.to_pydict()
    for bron, regel, first_bron, first_regel, same in zip(
        columns["bron"], columns["regel"], columns["eerste_bron"], columns["eerste_regel"],
        columns["zelfde_bedrag"], strict=True
    ):
        name = sources[bron] if sources else ""
        same_file = first_bron == bron or not sources
        first = str(first_regel) if same_file else f"{first_regel} van {sources[first_bron]}"
        # A row that differs only in `bedrag` is merged into the record, its amount added (§12).
        code = "dubbele_regel" if same else "bedrag_opgeteld"
        errors.append(RowError.of(int(regel), "(regel)", "", code, first, bestand=name))
    return errors


def staging_table(
    valid: pd.DataFrame, key: Key, pseudonyms: tuple[pa.Array, pa.Array] | None = None
) -> pa.Table:
    """The staging table of a chunk's valid rows: columns go to Arrow whole, no Python object per row.

    The pseudonyms are computed from `canoniek`, `pand` and `canoniek_alt` (docs/contract.md §3 step 8)
    with `key`, or given (adres, pand) when the partner's browser already made them; the browser makes no
    alternative reading, so such rows have none (null).
    """
    bron = valid["bron"].to_numpy() if "bron" in valid else np.zeros(len(valid), dtype=np.int32)
    if pseudonyms is None:
        pseudonyms = (
            address_pseudonym_column(key, valid["canoniek"]), building_pseudonym_column(key, valid["pand"])
        )
        alternative = optional_address_pseudonym_column(key, valid["canoniek_alt"])
    else:
        alternative = pa.nulls(len(valid), pa.string())
    return pa.table(
        {
            "adres_pseudoniem": pseudonyms[0],
            "pand_pseudoniem": pseudonyms[1],
            "voorziening": pa.array(valid["voorziening"], pa.string()),
            "domein": pa.array(valid["domein"], pa.string()),
            # `datetime.date` objects, NaT where einddatum is open: Arrow converts them in one call.
            "begindatum": pa.array(valid["begindatum"], pa.date32(), from_pandas=True),
            "einddatum": pa.array(valid["einddatum"], pa.date32(), from_pandas=True),
            ALTERNATIVE_COLUMN: alternative,
            AMOUNT_COLUMN: _amount_column(valid),
            "bron": pa.array(bron, pa.int32()),
            "regel": pa.array(valid["regel"].to_numpy(), pa.int64()),
        },
        schema=STAGING_SCHEMA,
    )


def _amount_column(valid: pd.DataFrame) -> pa.Array:
    """The rows' `bedrag` in eurocent (null = unknown); rows without the column have no amounts."""
    if "bedrag" not in valid:
        return pa.nulls(len(valid), pa.int64())
    return pa.array(valid["bedrag"].astype("Int64"), pa.int64(), from_pandas=True)


def validate_delivery(source: Path, codes: CodeList, rejects: Path | None = None,
                      progress: Progress | None = None) -> DeliveryResult:
    """Check a delivery exactly as pseudonymisation would, without writing a delivery.

    Duplicates are found on pseudonyms under a throw-away key that is never stored.
    """
    return pseudonymise_delivery(source, new_key(), "validatie", None, codes, rejects, progress)
