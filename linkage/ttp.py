"""Step two of two-step pseudonymisation: a trusted third party (TTP) rekeys pseudonymised files.

Partners pseudonymise at the source with the custodian's key K1 (docs/contract.md §3). The TTP holds a
second key K2 and replaces every pseudonym p by HMAC-SHA256(K2, prefix + p), lowercase hex, with
the prefixes below. The register and every delivery of a period go through the same K2, so links
survive exactly, while neither a partner (K1 only) nor the analyst (no key at all) can connect an
address to a pseudonym in the files the analyst holds.

A delivery's `adres_pseudoniem_alt` (docs/contract.md §3 step 8) is rekeyed exactly like
`adres_pseudoniem`, with the same prefix: it is looked up among the register's adres pseudonyms, so it
must land on the same rekeyed value. Its nulls (no alternative reading) stay null; a version 1 delivery
has no such column and gets none.

The rekeyed file keeps the metadata of the original (`key_id` = K1) and adds `ttp_key_id` (K2) and
`stappen` = "2". Rows are re-sorted on the new pseudonyms, so the row order does not map the old
file onto the new one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from linkage.keys import Key
from schemas.atomic import atomic_path
from schemas.clock import now_iso
from schemas.formats import (
    ALTERNATIVE_COLUMN,
    DELIVERY_FORMAT,
    REGISTER_FORMAT,
    PseudonymisedFileError,
    read_metadata,
    with_metadata,
)

TTP_ADDRESS_PREFIX = "ttp:v1:"
TTP_BUILDING_PREFIX = "ttp:pand:v1:"
PSEUDONYM_COLUMNS = {"adres_pseudoniem": TTP_ADDRESS_PREFIX, "pand_pseudoniem": TTP_BUILDING_PREFIX}
OPTIONAL_PSEUDONYM_COLUMNS = {ALTERNATIVE_COLUMN: TTP_ADDRESS_PREFIX}
"""Columns whose null means "no pseudonym here" (only in deliveries of format version 2)."""
ONE_STEP, TWO_STEP = "1", "2"
_PSEUDONYM = re.compile(r"^[0-9a-f]{64}$")
SORT_COLUMNS = {
    DELIVERY_FORMAT: ("adres_pseudoniem", "voorziening", "begindatum", "einddatum"),
    REGISTER_FORMAT: ("adres_pseudoniem",),
}
KIND_NL = {DELIVERY_FORMAT: "levering", REGISTER_FORMAT: "adressenregister"}


class TtpError(Exception):
    """A file the TTP cannot rekey (Dutch message, never a pseudonym or key)."""


@dataclass(frozen=True)
class RekeyResult:
    kind: str
    """`levering` or `adressenregister`."""
    rows: int
    key_id: str
    ttp_key_id: str
    partner: str = ""


def steps_of(meta: dict[str, str]) -> str:
    """The number of pseudonymisation steps a file went through: "1" (source only) or "2" (source + TTP)."""
    return meta.get("stappen", "").strip() or (TWO_STEP if meta.get("ttp_key_id") else ONE_STEP)


def ttp_pseudonyms(key: Key, prefix: str, pseudonyms: list[str]) -> list[str]:
    """HMAC-SHA256(K2, prefix + pseudonym) as lowercase hex, for a list of step-one pseudonyms."""
    digest = hmac.digest
    secret, encoded_prefix = key.secret, prefix.encode("ascii")
    return [digest(secret, encoded_prefix + p.encode("ascii"), hashlib.sha256).hex() for p in pseudonyms]


def _check_pseudonyms(source: Path, column: str, values: pa.ChunkedArray,
                      optional: bool = False) -> list[str | None]:
    """Step-one pseudonyms as a list; refuses anything that is not 64 lowercase hex (names the row only).

    With `optional` a null is allowed (and left out of the match: `pc.all` skips nulls).
    """
    if values.null_count and not optional:
        first = pc.index(pc.is_null(values), True).as_py()
        raise TtpError(f"{source.name}, rij {first + 1}, kolom {column}: leeg; elk record hoort een "
                       "pseudoniem te hebben")
    valid = pc.match_substring_regex(values, _PSEUDONYM.pattern)
    if pc.all(valid).as_py() is False:  # None: no value to check (empty, or only nulls)
        first = pc.index(valid, False).as_py()
        raise TtpError(
            f"{source.name}, rij {first + 1}, kolom {column}: geen pseudoniem van 64 kleine hexadecimale "
            "tekens (de waarde wordt niet getoond); is dit wel een Factlab-bestand?"
        )
    return values.to_pylist()


def _rekey_optional(source: Path, key: Key, table: pa.Table, column: str, prefix: str) -> pa.Table:
    """`column` rekeyed where it has a pseudonym; its nulls stay null."""
    step_one = _check_pseudonyms(source, column, table.column(column), optional=True)
    new = iter(ttp_pseudonyms(key, prefix, [p for p in step_one if p is not None]))
    rekeyed = pa.array([None if p is None else next(new) for p in step_one], pa.string())
    return table.set_column(table.column_names.index(column), table.schema.field(column), rekeyed)


def rekey_file(source: Path, key: Key, out: Path) -> RekeyResult:
    """Apply the TTP step to one pseudonymised delivery or register and write it atomically to `out`."""
    source, out = Path(source), Path(out)
    try:
        meta = read_metadata(source)
    except PseudonymisedFileError as exc:
        raise TtpError(str(exc)) from None
    kind = meta.get("format", "")
    if kind not in SORT_COLUMNS:
        raise TtpError(f"{source.name}: geen gepseudonimiseerde levering of adressenregister van Factlab")
    if steps_of(meta) != ONE_STEP:
        raise TtpError(
            f"{source.name}: deze {KIND_NL[kind]} is al door de TTP bewerkt (ttp_key_id "
            f"{meta.get('ttp_key_id', '?')}); een bestand wordt nooit twee keer omgezet"
        )
    if meta.get("key_id") == key.key_id:
        raise TtpError(
            f"{source.name}: de TTP-sleutel is dezelfde sleutel als die van de bron (key_id {key.key_id}); "
            "de tweede stap vraagt een eigen sleutel die alleen de TTP heeft"
        )
    if source.resolve() == out.resolve():
        raise TtpError(f"{out.name}: kies een ander uitvoerbestand dan het invoerbestand")
    table = pq.read_table(source)
    missing = [c for c in PSEUDONYM_COLUMNS if c not in table.column_names]
    if missing:
        raise TtpError(f"{source.name}: kolom {', '.join(missing)} ontbreekt")
    for column, prefix in PSEUDONYM_COLUMNS.items():
        step_one = _check_pseudonyms(source, column, table.column(column))
        rekeyed = pa.array(ttp_pseudonyms(key, prefix, step_one), pa.string())
        table = table.set_column(table.column_names.index(column), table.schema.field(column), rekeyed)
    for column, prefix in OPTIONAL_PSEUDONYM_COLUMNS.items():
        if kind == DELIVERY_FORMAT and column in table.column_names:
            table = _rekey_optional(source, key, table, column, prefix)
    table = table.sort_by([(c, "ascending") for c in SORT_COLUMNS[kind] if c in table.column_names])
    stamped = {
        **meta,
        "ttp_key_id": key.key_id,
        "stappen": TWO_STEP,
        "ttp_created": now_iso(),
    }
    with atomic_path(out) as tmp:
        pq.write_table(with_metadata(table.replace_schema_metadata(None), stamped), tmp)
    return RekeyResult(KIND_NL[kind], table.num_rows, meta.get("key_id", ""), key.key_id,
                       meta.get("partner", ""))
