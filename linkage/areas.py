"""The areas and groups every aggregation of linking publishes (docs/contract.md §7, §9).

One path for counts (linking.area_indicator_counts) and costs (costs.cost_cells): the levels in their
order with the column that holds each level's area code, the gemeente's own divisions as levels under the
gemeente, every area's parent, and the groups (`""` = all households, then `<naam>=<waarde>` per kenmerk
value of the register).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from schemas.indicators import LEVELS

LEVEL_COLUMNS = {"gemeente": "gemeentecode", "wijk": "wijkcode", "buurt": "buurtcode"}
KENMERK_PREFIX = "kenmerk_"
"""Register columns that define groups (docs/contract.md §9)."""


def kenmerk_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if str(c).startswith(KENMERK_PREFIX)]


@dataclass(frozen=True)
class Levels:
    """The published levels in order (gemeente, wijk, buurt as asked, then own divisions), their columns."""

    ordered: tuple[str, ...]
    columns: dict[str, str]

    def parent_column(self, level: str) -> str | None:
        """The column of the parent area: the next coarser standard level; gemeente for an own division."""
        if level not in LEVELS:
            return "gemeentecode" if "gemeente" in self.ordered else None
        position = self.ordered.index(level)
        return self.columns[self.ordered[position - 1]] if position else None

    def areas(self, denominators: pd.DataFrame, level: str) -> pd.Series:
        """Every area of `level` in the register (sorted code) -> its parent area code (None at the top)."""
        column, parent = self.columns[level], self.parent_column(level)
        codes = denominators.groupby(column)
        if parent is None:
            return pd.Series(None, index=pd.Index(sorted(codes.groups), name=column), dtype=object)
        return codes[parent].first()


def published_levels(levels: tuple[str, ...], divisions: dict[str, dict[str, str]] | None,
                     frames: list[pd.DataFrame]) -> Levels:
    """The levels of a run; adds each own division's area code (`gebied_<naam>`, by buurt) to `frames`."""
    divisions = divisions or {}
    columns = dict(LEVEL_COLUMNS)
    for name, mapping in divisions.items():
        columns[name] = f"gebied_{name}"
        for frame in frames:
            frame[f"gebied_{name}"] = frame["buurtcode"].map(mapping)
    return Levels(tuple([level for level in LEVELS if level in levels] + list(divisions)), columns)


def kenmerk_groups(denominators: pd.DataFrame) -> list[tuple[str, str, str]]:
    """Per kenmerk value of the register: (column, value, groep `<naam>=<waarde>`), in publication order."""
    return [(column, value, f"{column[len(KENMERK_PREFIX):]}={value}")
            for column in kenmerk_columns(denominators)
            for value in sorted(denominators[column].astype(str).unique())]
