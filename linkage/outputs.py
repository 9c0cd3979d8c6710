"""Writing the run's output files (CONTRACT §7): samenloop.csv, kwaliteit.csv, huishoudens.parquet."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

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
)


def read_area_names(path: Path) -> dict[str, str]:
    """AREAS.csv (`code;naam`, `;` or `,`, UTF-8 or Windows-1252) as a code → name mapping."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return {}
    delimiter = ";" if lines[0].count(";") >= lines[0].count(",") else ","
    reader = csv.reader(lines, delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader)]
    try:
        code_at, name_at = header.index("code"), header.index("naam")
    except ValueError:
        code_at, name_at = 0, 1
    return {
        row[code_at].strip().upper(): row[name_at].strip()
        for row in reader
        if len(row) > max(code_at, name_at)
    }


def _format_count(value: object) -> str:
    return "" if pd.isna(value) else str(int(value))


def _format_rate(value: object) -> str:
    return "" if pd.isna(value) else f"{float(value):.1f}"


def write_samenloop(protected: pd.DataFrame, names: dict[str, str], path: Path) -> None:
    """One row per area and indicator; secret cells have empty aantal and rate."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(SAMENLOOP_COLUMNS)
        for row in protected.itertuples(index=False):
            writer.writerow(
                (
                    row.gebiedscode,
                    names.get(row.gebiedscode, row.gebiedscode),
                    row.niveau,
                    row.indicator,
                    _format_count(row.aantal),
                    _format_rate(row.per_1000_huishoudens),
                    "true" if row.geheim else "false",
                )
            )


def write_quality(quality: pd.DataFrame, path: Path) -> None:
    quality.loc[:, list(QUALITY_COLUMNS)].to_csv(path, index=False, lineterminator="\n")


def write_households(households: pd.DataFrame, path: Path) -> None:
    pq.write_table(pa.Table.from_pandas(households, preserve_index=False), path)
