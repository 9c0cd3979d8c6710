"""Pseudonymising the address register (CONTRACT §6 `factlab register`), done by the key custodian."""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from linkage.atomic import atomic_path
from linkage.canonical import CANONICAL_VERSION, canonicalise_addresses
from linkage.keys import Key
from linkage.parquet_meta import FORMAT_VERSION, REGISTER_FORMAT, with_metadata
from linkage.pseudonyms import address_pseudonyms, building_pseudonyms
from linkage.rejects import RejectsWriter
from schemas.extract_reader import iter_rows, read_layout
from schemas.messages import RowError
from schemas.row_rules import ADDRESS_ERROR_COLUMNS

REGISTER_REQUIRED = ("postcode", "huisnummer", "buurtcode")
REGISTER_COLUMNS = (
    "postcode",
    "huisnummer",
    "huisletter",
    "huisnummertoevoeging",
    "buurtcode",
    "huishoudens",
)
BUURT_PATTERN = r"^BU[0-9]{8}$"

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


@dataclass
class RegisterResult:
    rows_read: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0
    addresses: int = 0
    households: int = 0
    errors_by_rule: Counter[str] = field(default_factory=Counter)


def area_codes(buurtcode: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Wijk and gemeente codes nested in a buurt code (CONTRACT §6)."""
    return "WK" + buurtcode.str[2:8], "GM" + buurtcode.str[2:6]


def _validate_register_rows(rows: pd.DataFrame) -> tuple[pd.DataFrame, list[RowError]]:
    address = canonicalise_addresses(
        rows["postcode"], rows["huisnummer"], rows.get("huisletter"), rows.get("huisnummertoevoeging")
    )
    buurt = rows["buurtcode"].astype(str).str.strip().str.upper()
    raw_households = rows["huishoudens"].astype(str).str.strip()
    households = pd.to_numeric(raw_households.where(raw_households != "", "1"), errors="coerce")
    failures = {column: address[error] for error, column in ADDRESS_ERROR_COLUMNS.items()}
    failures["buurtcode"] = pd.Series(pd.NA, index=rows.index, dtype="object").mask(
        ~buurt.str.fullmatch(BUURT_PATTERN), "buurtcode_ongeldig"
    )
    bad_households = households.isna() | (households < 0) | (households % 1 != 0)
    failures["huishoudens"] = pd.Series(pd.NA, index=rows.index, dtype="object").mask(
        bad_households, "huishoudens_ongeldig"
    )
    failed = pd.DataFrame(failures)
    rejected = failed.notna().any(axis=1)
    errors = [
        RowError.of(int(rows.at[idx, "regel"]), column, str(rows.at[idx, column]), rule)
        for (idx, column), rule in failed[rejected].stack().dropna().items()
    ]
    keep = ~rejected
    valid = pd.DataFrame(
        {
            "regel": rows.loc[keep, "regel"],
            "canoniek": address.loc[keep, "canoniek"].astype(str),
            "pand": address.loc[keep, "pand"].astype(str),
            "buurtcode": buurt[keep],
            "huishoudens": households[keep].astype("int64"),
        }
    )
    return valid, errors


def pseudonymise_register(source: Path, key: Key, out: Path, rejects: Path | None = None) -> RegisterResult:
    """Pseudonymise the address register; an address listed twice counts once (first line wins)."""
    layout = read_layout(source, required=REGISTER_REQUIRED, known=REGISTER_COLUMNS)
    result = RegisterResult()
    chunks: list[pd.DataFrame] = []
    with tempfile.TemporaryDirectory(prefix="factlab-") as work:
        rejects_writer = RejectsWriter(Path(work) / "afgekeurd.csv", source.name)
        try:
            for rows, structural in iter_rows(source, layout, known=REGISTER_COLUMNS):
                valid, errors = _validate_register_rows(rows)
                all_errors = sorted(structural + errors, key=lambda e: e.regel)
                result.rows_read += len(rows) + len(structural)
                result.rows_rejected += len({e.regel for e in all_errors})
                result.errors_by_rule.update(e.code for e in all_errors)
                rejects_writer.write(all_errors)
                chunks.append(valid)
            register = (
                pd.concat(chunks, ignore_index=True)
                if chunks
                else pd.DataFrame(columns=["regel", "canoniek", "pand", "buurtcode", "huishoudens"])
            )
            first_line = register.groupby("canoniek")["regel"].transform("min")
            duplicate = register["regel"] != first_line
            dup_errors = [
                RowError.of(int(line), "(regel)", "", "dubbel_adres", str(int(first)))
                for line, first in zip(register.loc[duplicate, "regel"], first_line[duplicate], strict=True)
            ]
            result.rows_duplicate = len(dup_errors)
            result.errors_by_rule.update(e.code for e in dup_errors)
            rejects_writer.write(dup_errors)
        finally:
            rejects_writer.close()
        register = register[~duplicate]
        wijk, gemeente = area_codes(register["buurtcode"])
        table = pa.table(
            {
                "adres_pseudoniem": address_pseudonyms(key, register["canoniek"]),
                "pand_pseudoniem": building_pseudonyms(key, register["pand"]),
                "buurtcode": register["buurtcode"].tolist(),
                "wijkcode": wijk.tolist(),
                "gemeentecode": gemeente.tolist(),
                "huishoudens": register["huishoudens"].tolist(),
            },
            schema=REGISTER_SCHEMA,
        ).sort_by("adres_pseudoniem")
        result.addresses = table.num_rows
        result.households = int(register["huishoudens"].sum())
        metadata = {
            "format": REGISTER_FORMAT,
            "format_version": FORMAT_VERSION,
            "key_id": key.key_id,
            "canonical_version": CANONICAL_VERSION,
            "rows_read": result.rows_read,
            "rows_rejected": result.rows_rejected,
            "rows_duplicate": result.rows_duplicate,
            "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
        }
        with atomic_path(out) as tmp:
            pq.write_table(with_metadata(table, metadata), tmp)
        if rejects is not None:
            with atomic_path(rejects) as tmp:
                shutil.copyfile(Path(work) / "afgekeurd.csv", tmp)
    return result
