"""Writing the run's output files (docs/contract.md §7): samenloop.csv, kwaliteit.csv, huishoudens.parquet."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from schemas.formats import QUALITY_COLUMNS, SAMENLOOP_COLUMNS
from schemas.rejects import neutralise_formula

QUALITY_TEXT_COLUMNS = ("partner", "key_id")
"""Text from file metadata: guarded against spreadsheet formulas (a real key_id never starts with one)."""


def _format_count(value: object) -> str:
    return "" if pd.isna(value) else str(int(value))


def _format_rate(value: object) -> str:
    return "" if pd.isna(value) else f"{float(value):.1f}"


def write_samenloop(protected: pd.DataFrame, names: dict[str, str], path: Path) -> None:
    """One row per area, group and indicator; secret cells have empty aantal and rate.

    The area name comes from the municipality's areas file and is the one free text cell: it goes through
    the formula guard. Codes, levels, groups, indicators and numbers are written as they are, for machines.
    """
    groups = protected["groep"] if "groep" in protected.columns else pd.Series("", index=protected.index)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(SAMENLOOP_COLUMNS)
        for row, group in zip(protected.itertuples(index=False), groups, strict=True):
            writer.writerow(
                (
                    row.gebiedscode,
                    neutralise_formula(names.get(row.gebiedscode, row.gebiedscode)),
                    row.niveau,
                    neutralise_formula(group or ""),
                    row.indicator,
                    _format_count(row.aantal),
                    _format_rate(row.per_1000_huishoudens),
                    "true" if row.geheim else "false",
                )
            )


def write_quality(quality: pd.DataFrame, path: Path) -> None:
    table = quality.loc[:, list(QUALITY_COLUMNS)].copy()
    for column in QUALITY_TEXT_COLUMNS:
        table[column] = table[column].map(neutralise_formula)
    table.to_csv(path, index=False, lineterminator="\n")


def write_households(households: pd.DataFrame, path: Path) -> None:
    pq.write_table(pa.Table.from_pandas(households, preserve_index=False), path)
