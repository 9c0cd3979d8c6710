"""The formats of the files Factlab writes (docs/contract.md §6, §7): Parquet schemas, metadata, columns."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

DELIVERY_FORMAT = "factlab-levering"
REGISTER_FORMAT = "factlab-register"
FORMAT_VERSION = "1"

DELIVERY_SCHEMA = pa.schema(
    [
        ("adres_pseudoniem", pa.string()),
        ("pand_pseudoniem", pa.string()),
        ("voorziening", pa.string()),
        ("domein", pa.string()),
        ("begindatum", pa.date32()),
        ("einddatum", pa.date32()),
        # (v2, §12) eurocent; null = unknown. A file without the column (v1) has no amounts.
        ("bedrag", pa.int64()),
    ]
)
AMOUNT_KIND = "bedrag_soort"
"""Delivery metadata (§12): `periode` when `bedrag` is what was spent in the period (CSV), `toewijzing`
when it is the Budget of the whole toewijzing (301), to be pro-rated to the period when linking."""
AMOUNT_IN_PERIOD = "periode"
AMOUNT_WHOLE_ASSIGNMENT = "toewijzing"
REGISTER_SCHEMA = pa.schema(
    [
        ("adres_pseudoniem", pa.string()),
        ("pand_pseudoniem", pa.string()),
        ("buurtcode", pa.string()),
        ("wijkcode", pa.string()),
        ("gemeentecode", pa.string()),
        ("huishoudens", pa.int64()),
    ]
)
SAMENLOOP_COLUMNS = (
    "gebiedscode",
    "gebiedsnaam",
    "niveau",
    "indicator",
    "aantal",
    "per_1000_huishoudens",
    "geheim",
)
QUALITY_COLUMNS = (
    "partner",
    "key_id",
    "records",
    "records_in_periode",
    "gekoppeld_adres",
    "gekoppeld_pand",
    "niet_gekoppeld",
    "records_met_bedrag",  # (v2, §12) always the last column
)


class PseudonymisedFileError(Exception):
    """A Parquet file that is not a usable Factlab file (Dutch message)."""


def with_metadata(table: pa.Table, metadata: dict[str, str]) -> pa.Table:
    existing = table.schema.metadata or {}
    merged = {**existing, **{k.encode(): str(v).encode() for k, v in metadata.items()}}
    return table.replace_schema_metadata(merged)


def read_metadata(path: Path) -> dict[str, str]:
    try:
        raw = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowInvalid):
        raise PseudonymisedFileError(f"{path.name}: geen leesbaar Parquet-bestand") from None
    return {k.decode(): v.decode() for k, v in raw.items() if not k.startswith(b"ARROW")}


def expect_format(path: Path, expected: str) -> dict[str, str]:
    meta = read_metadata(path)
    if meta.get("format") != expected:
        kind = (
            "gepseudonimiseerde levering"
            if expected == DELIVERY_FORMAT
            else "gepseudonimiseerd adressenregister"
        )
        raise PseudonymisedFileError(
            f"{path.name}: dit is geen {kind} van Factlab (metadata 'format' ontbreekt)"
        )
    if meta.get("format_version") != FORMAT_VERSION:
        raise PseudonymisedFileError(f"{path.name}: onbekende formaatversie {meta.get('format_version')!r}")
    return meta
