"""True cost cells per area, group and indicator (docs/contract.md §12), from the household amounts.

A cost cell sums the amounts (eurocent) of the households of one area (and group, §9) with one indicator.
The areas, own divisions and groups are those of the counts (linkage/areas.py). A cell also keeps
the number of households and the two largest household amounts, which the p%-rule needs
(disclosure/magnitude.py). Nothing here leaves the run unprotected.
"""

from __future__ import annotations

import pandas as pd

from linkage.areas import Levels, kenmerk_groups, published_levels
from schemas.indicators import EXCLUSIVE_DOMAIN_SETS, MULTI_DOMAIN, WITH_SERVICE

DOMAIN_COUNT_INDICATORS: tuple[str, ...] = ("domeinen:1", "domeinen:2", "domeinen:3")
"""Households with exactly 1, 2 or 3 domains (§12); the names samenloop.csv uses for them."""
COST_INDICATORS: tuple[str, ...] = (
    WITH_SERVICE,
    MULTI_DOMAIN,
    *EXCLUSIVE_DOMAIN_SETS,
    *DOMAIN_COUNT_INDICATORS,
)
"""The indicators of kosten.csv, in publication order."""
CELL_COLUMNS = ("gebiedscode", "niveau", "groep", "bovenliggend", "indicator", "huishoudens", "bedrag",
                "grootste", "tweede")


def cost_indicators_of(domains: frozenset[str]) -> list[str]:
    """The cost indicators a household with these domains counts in."""
    names = [WITH_SERVICE, f"domeinen:{len(domains)}"]
    if len(domains) >= 2:
        names.append(MULTI_DOMAIN)
    names += [name for name, dset in EXCLUSIVE_DOMAIN_SETS.items() if dset == domains]
    return names


def cost_cells(costs: pd.DataFrame, denominators: pd.DataFrame, levels: tuple[str, ...],
               divisions: dict[str, dict[str, str]] | None = None) -> pd.DataFrame:
    """Every cost indicator for every area of `levels` and own division, for all households (groep "")
    and per kenmerk value (zeros included): CELL_COLUMNS, amounts in eurocent.

    `costs` has one row per household (buurtcode, wijkcode, gemeentecode, any kenmerk_<naam>, domeinen,
    bedrag); `denominators` the register's buurten (with kenmerk values) with their wijk and gemeente: every
    area and group comes from there, also without costs. Rows of groep "" come first, as in the counts.
    """
    costs, denominators = costs.copy(), denominators.copy()
    published = published_levels(levels, divisions, [costs, denominators])
    memberships = {d: cost_indicators_of(frozenset(d.split("+"))) for d in costs["domeinen"].unique()}
    exploded = costs.assign(indicator=costs["domeinen"].map(memberships)).explode("indicator")
    exploded = exploded.sort_values("bedrag", ascending=False, kind="stable")
    frames = [_group_cells(exploded, denominators, published, "")]
    for column, value, group in kenmerk_groups(denominators):
        in_group = exploded[exploded[column].astype(str) == value]
        frames.append(_group_cells(in_group, denominators, published, group))
    result = pd.concat(frames, ignore_index=True).loc[:, list(CELL_COLUMNS)]
    for name in ("huishoudens", "bedrag", "grootste", "tweede"):
        result[name] = result[name].astype("int64")
    parents = result["bovenliggend"].astype("object")
    result["bovenliggend"] = parents.where(parents.notna(), None)
    return result


def _group_cells(exploded: pd.DataFrame, denominators: pd.DataFrame, published: Levels,
                 group: str) -> pd.DataFrame:
    """The cells of one group; `exploded` has one row per household and indicator, largest amount first."""
    frames = []
    for level in published.ordered:
        column = published.columns[level]
        parents = published.areas(denominators, level)
        grid = pd.MultiIndex.from_product([parents.index, COST_INDICATORS],
                                          names=["gebiedscode", "indicator"])
        ranked = exploded.groupby([column, "indicator"])
        second = exploded[ranked.cumcount() == 1].groupby([column, "indicator"])["bedrag"].sum()
        cells = pd.DataFrame({
            "huishoudens": ranked["bedrag"].size(),
            "bedrag": ranked["bedrag"].sum(),
            "grootste": ranked["bedrag"].first(),
            "tweede": second,
        }).rename_axis(["gebiedscode", "indicator"]).reindex(grid).fillna(0).reset_index()
        cells["niveau"] = level
        cells["groep"] = group
        cells["bovenliggend"] = cells["gebiedscode"].map(parents)
        frames.append(cells)
    return pd.concat(frames, ignore_index=True)
