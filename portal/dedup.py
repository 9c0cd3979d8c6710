"""The delivery's one deduplication (`pipelines.intake.delivery`), in memory and in bounded passes.

The named SQL units `delivery_repeated`, `delivery_duplicates` and `delivery_records` partition the
staged rows by address pseudonym (with voorziening and dates) and write records in pseudonym order.
So the staged rows can be split by the first hex digit of `adres_pseudoniem` into shards that share no
partition: each shard is deduplicated on its own in-memory DuckDB, which then needs only a fraction
of the memory, and the shards' records, taken in hex order, are the records of the whole delivery in
the same order.
Repeated rows are reported in the order of the whole delivery (file, then line), as the CLI does.

DuckDB may not spill (`temp_directory` empty): nothing reaches the disk. The records are kept as
zstd-compressed Parquet bytes, less than half of the Arrow table, until the partner confirms.
"""

from __future__ import annotations

import heapq
import io
from collections.abc import Iterator

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.intake.delivery import LISTED_ERRORS, STAGING_SCHEMA, DeliveryResult, duplicate_rows, records
from schemas.formats import DELIVERY_SCHEMA
from schemas.messages import RowError

SHARD_ROWS = 200_000
"""About this many staged rows per DuckDB pass."""
MAX_SHARDS = 16
HEX_DIGITS = [f"{digit:x}" for digit in range(16)]
DUCKDB_CONFIG = {"temp_directory": "", "threads": 1, "preserve_insertion_order": False}
DUPLICATE = "dubbele_regel"


def deduplicate(staged: list[pa.Table], result: DeliveryResult) -> bytes:
    """The kept records as Parquet bytes (zstd), in pseudonym order; repeated rows recorded in `result`."""
    rows = sum(table.num_rows for table in staged)
    shards = 1
    while shards < MAX_SHARDS and rows > shards * SHARD_ROWS:
        shards *= 2
    found: list[list[RowError]] = []
    duplicates = written = 0
    buffer = io.BytesIO()
    with pq.ParquetWriter(buffer, DELIVERY_SCHEMA, compression="zstd") as parquet:
        for shard in _shards(staged, shards):
            part = DeliveryResult(sources=result.sources, folder=result.folder)
            with duckdb.connect(config=DUCKDB_CONFIG) as con:
                con.register("staging", shard)
                found.append(_first_listed(duplicate_rows(con, part)))
                for table in records(con, DELIVERY_SCHEMA):
                    parquet.write_table(table)
            duplicates += part.rows_duplicate
            written += part.rows_written
    _record_duplicates(result, found, duplicates)
    result.rows_written = written
    return buffer.getvalue()


def _shards(staged: list[pa.Table], shards: int) -> Iterator[pa.Table]:
    """The staged rows per range of first hex digits of the address pseudonym, in hex order."""
    if shards == 1:
        yield pa.concat_tables(staged) if staged else STAGING_SCHEMA.empty_table()
        return
    digits = [
        pc.index_in(pc.utf8_slice_codeunits(t["adres_pseudoniem"], 0, 1), pa.array(HEX_DIGITS))
        for t in staged
    ]
    width = len(HEX_DIGITS) // shards
    for shard in range(shards):
        low, high = shard * width, (shard + 1) * width
        parts = [
            table.filter(pc.and_(pc.greater_equal(digit, low), pc.less(digit, high)))
            for table, digit in zip(staged, digits, strict=True)
        ]
        yield pa.concat_tables(parts)


def _first_listed(batches: Iterator[list[RowError]]) -> list[RowError]:
    """The first LISTED_ERRORS repeated rows of a shard (the shard's result counts them all)."""
    kept: list[RowError] = []
    for batch in batches:
        kept.extend(batch[: LISTED_ERRORS - len(kept)])
    return kept


def _record_duplicates(result: DeliveryResult, found: list[list[RowError]], total: int) -> None:
    """Record the shards' repeated rows in the order of the whole delivery: file, then line."""
    position = {name: index for index, name in enumerate(result.sources)}
    order = heapq.merge(*found, key=lambda e: (position.get(e.bestand, 0), e.regel))
    first = [error for _, error in zip(range(LISTED_ERRORS), order, strict=False)]
    result.record(first)
    if total > len(first):  # counted, beyond the listed ones
        result.errors_by_rule[DUPLICATE] += total - len(first)
    result.rows_duplicate += total
