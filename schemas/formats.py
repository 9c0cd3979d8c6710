"""The formats of the files Factlab writes (docs/contract.md §6, §7): Parquet schemas, metadata, columns."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

DELIVERY_FORMAT = "factlab-levering"
REGISTER_FORMAT = "factlab-register"
DELIVERY_FORMAT_VERSION = "2"
"""v2 (docs/contract.md §3 step 8, §12) has `adres_pseudoniem_alt` and the nullable `bedrag`; version 1
deliveries are still read, and an older file may lack either column (read as null, linkage/linking.py)."""
REGISTER_FORMAT_VERSION = "1"
READABLE_VERSIONS = {DELIVERY_FORMAT: ("1", "2"), REGISTER_FORMAT: ("1",)}
ALTERNATIVE_COLUMN = "adres_pseudoniem_alt"
AMOUNT_COLUMN = "bedrag"

DELIVERY_SCHEMA = pa.schema(
    [
        ("adres_pseudoniem", pa.string()),
        ("pand_pseudoniem", pa.string()),
        ("voorziening", pa.string()),
        ("domein", pa.string()),
        ("begindatum", pa.date32()),
        ("einddatum", pa.date32()),
        # The adres pseudonym of the alternative reading (§3 step 8); null when there is none.
        (ALTERNATIVE_COLUMN, pa.string()),
        # (§12) eurocent; null = unknown. A file written before amounts existed has no amounts.
        (AMOUNT_COLUMN, pa.int64()),
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
    "groep",
    "indicator",
    "aantal",
    "per_1000_huishoudens",
    "geheim",
)
"""docs/contract.md §7 with (v2, §9) `groep` right after `niveau`: empty = all households."""
KOSTEN_COLUMNS = tuple({"aantal": "bedrag", "per_1000_huishoudens": "per_huishouden"}.get(c, c)
                       for c in SAMENLOOP_COLUMNS)
"""docs/contract.md §12: kosten.csv has the columns of samenloop.csv, `bedrag` for `aantal` and
`per_huishouden` for `per_1000_huishoudens`."""
QUALITY_COLUMNS = (
    "partner",
    "key_id",
    "records",
    "records_in_periode",
    "gekoppeld_adres",
    "gekoppeld_alternatief",
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
    if meta.get("format_version") not in READABLE_VERSIONS[expected]:
        raise PseudonymisedFileError(f"{path.name}: onbekende formaatversie {meta.get('format_version')!r}")
    return meta


def has_alternative_column(path: Path, meta: dict[str, str]) -> bool:
    """Whether a delivery (already through `expect_format`) carries `adres_pseudoniem_alt`.

    Version 1 has no such column: read as if it were null everywhere. A version 2 file without it is
    refused rather than silently read as version 1.
    """
    if meta.get("format_version") == "1":
        return False
    if ALTERNATIVE_COLUMN not in pq.read_schema(path).names:
        raise PseudonymisedFileError(
            f"{path.name}: formaatversie {meta.get('format_version')} hoort de kolom {ALTERNATIVE_COLUMN} "
            "te hebben, maar die ontbreekt; vraag de partner het bestand opnieuw te maken"
        )
    return True
