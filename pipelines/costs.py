"""kosten.csv (docs/contract.md §12): the protected cost sums per area, group (§9) and indicator.

Runs when the outputs are assembled, after the counts are protected: a cost cell's secrecy follows its
count cell in the protected samenloop table (disclosure/magnitude.py). Written only when at least one
record in the period has an amount; the report then has its chapter on costs.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from disclosure.magnitude import audit_costs, protect_costs
from disclosure.rules import DisclosureRules
from linkage.linking import LinkageResult
from schemas.formats import KOSTEN_COLUMNS
from schemas.rejects import neutralise_formula

COSTS_FILE = "kosten.csv"
COSTS_COLUMNS = KOSTEN_COLUMNS


def has_amounts(linkage: LinkageResult) -> bool:
    """Whether any record in the period has an amount (else there is no cost table)."""
    return linkage.costs is not None and int(linkage.quality["records_met_bedrag"].sum()) > 0


def _number(value: object) -> str:
    return "" if pd.isna(value) else str(int(value))


def write_costs(table: pd.DataFrame, names: dict[str, str], path: Path) -> None:
    """One row per area, group and indicator; secret cells have empty bedrag and per_huishouden."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COSTS_COLUMNS)
        for row in table.itertuples(index=False):
            writer.writerow((
                row.gebiedscode,
                neutralise_formula(names.get(row.gebiedscode, row.gebiedscode)),
                row.niveau,
                neutralise_formula(row.groep or ""),
                row.indicator,
                _number(row.bedrag),
                _number(row.per_huishouden),
                "true" if row.geheim else "false",
            ))


def publish_costs(linkage: LinkageResult, protected: pd.DataFrame, rules: DisclosureRules,
                  names: dict[str, str], out: Path) -> dict[str, object]:
    """Protect and write kosten.csv into `out` (when there are amounts); its summary for the manifest.

    Raises disclosure.magnitude.CostDisclosureError when the cost table cannot be made safe.
    """
    if not has_amounts(linkage):
        return {"geschreven": False}
    table = protect_costs(linkage.costs, protected, rules)
    intervals = audit_costs(table, linkage.costs.reset_index(drop=True), rules)
    write_costs(table, names, out / COSTS_FILE)
    return {
        "geschreven": True,
        "cellen": int(len(table)),
        "cellen_geheim": int(table["geheim"].sum()),
        "redenen": {str(k): int(v) for k, v in table["reden"].value_counts().items()},
        "audit": {"cellen": len(intervals), "geslaagd": all(i.voldoet for i in intervals)},
    }
