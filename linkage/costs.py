"""True cost cells per area and indicator (docs/contract.md §12), from the household amounts of linking.

A cost cell sums the amounts (eurocent) of the households of one area with one indicator; it also keeps
the number of households and the two largest household amounts, which the p%-rule needs
(disclosure/magnitude.py). Nothing here leaves the run unprotected.
"""

from __future__ import annotations

import pandas as pd

from schemas.indicators import (
    EXCLUSIVE_DOMAIN_SETS,
    LEVELS,
    MULTI_DOMAIN,
    WITH_SERVICE,
)

LEVEL_COLUMNS = {"gemeente": "gemeentecode", "wijk": "wijkcode", "buurt": "buurtcode"}
DOMAIN_COUNT_INDICATORS: tuple[str, ...] = ("domeinen:1", "domeinen:2", "domeinen:3")
"""Households with exactly 1, 2 or 3 domains (§12); the names samenloop.csv uses for them."""
COST_INDICATORS: tuple[str, ...] = (
    WITH_SERVICE,
    MULTI_DOMAIN,
    *EXCLUSIVE_DOMAIN_SETS,
    *DOMAIN_COUNT_INDICATORS,
)
"""The indicators of kosten.csv, in publication order."""
CELL_COLUMNS = ("gebiedscode", "niveau", "bovenliggend", "indicator", "huishoudens", "bedrag", "grootste",
                "tweede")


def cost_indicators_of(domains: frozenset[str]) -> list[str]:
    """The cost indicators a household with these domains counts in."""
    names = [WITH_SERVICE, f"domeinen:{len(domains)}"]
    if len(domains) >= 2:
        names.append(MULTI_DOMAIN)
    names += [name for name, dset in EXCLUSIVE_DOMAIN_SETS.items() if dset == domains]
    return names


def cost_cells(costs: pd.DataFrame, denominators: pd.DataFrame, levels: tuple[str, ...]) -> pd.DataFrame:
    """Every cost indicator for every area of `levels` (zeros included): CELL_COLUMNS, amounts in eurocent.

    `costs` has one row per household (buurtcode, wijkcode, gemeentecode, domeinen, bedrag);
    `denominators` the register's buurten with their wijk and gemeente (every area, also without costs).
    """
    memberships = {d: cost_indicators_of(frozenset(d.split("+"))) for d in costs["domeinen"].unique()}
    exploded = costs.assign(indicator=costs["domeinen"].map(memberships)).explode("indicator")
    ordered = [level for level in LEVELS if level in levels]
    frames = []
    for position, level in enumerate(ordered):
        column = LEVEL_COLUMNS[level]
        parent = LEVEL_COLUMNS[ordered[position - 1]] if position else None
        areas = denominators.drop_duplicates(column).set_index(column)
        grid = pd.MultiIndex.from_product([areas.index, COST_INDICATORS], names=["gebiedscode", "indicator"])
        ranked = exploded.sort_values("bedrag", ascending=False, kind="stable").groupby([column, "indicator"])
        cells = pd.DataFrame({
            "huishoudens": ranked["bedrag"].size(),
            "bedrag": ranked["bedrag"].sum(),
            "grootste": ranked["bedrag"].first(),
            "tweede": ranked["bedrag"].agg(lambda s: int(s.iloc[1]) if len(s) > 1 else 0),
        }).rename_axis(["gebiedscode", "indicator"]).reindex(grid, fill_value=0).reset_index()
        cells["niveau"] = level
        cells["bovenliggend"] = cells["gebiedscode"].map(areas[parent]) if parent else None
        frames.append(cells)
    result = pd.concat(frames, ignore_index=True).loc[:, list(CELL_COLUMNS)]
    for name in ("huishoudens", "bedrag", "grootste", "tweede"):
        result[name] = result[name].astype("int64")
    parents = result["bovenliggend"].astype("object")
    result["bovenliggend"] = parents.where(parents.notna(), None)
    return result
