"""The linear structure of a samenloop table, and the attacker's linear programme over it.

A table has one cell per (area, indicator). What links the cells is public knowledge: the sums of
`schemas.indicators.additive_relations()` within an area, the area sums (children add up to their
parent for every indicator), and two inequalities that follow from the definitions. Protection and
audit both reason about that structure through `TableModel` and `AttackerLP`.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

import highspy
import numpy as np
import pandas as pd

from disclosure.rules import DisclosureRules
from schemas.codelist import CodeListError, load_code_list
from schemas.indicators import (
    DOMAIN_INDICATORS,
    DOMAINS,
    EXCLUSIVE_DOMAIN_SETS,
    FIXED_INDICATORS,
    HOUSEHOLDS,
    INDICATOR_FAMILIES,
    INDICATORS,
    LEVELS,
    SERVICE_CODE_PREFIX,
    SERVICE_COUNT_INDICATORS,
    STACK_INDICATORS,
    WITH_SERVICE,
    additive_relations,
    inequality_relations,
    service_count_indicator,
)

STRUCTURE_COLUMNS = ("gebiedscode", "niveau", "bovenliggend", "indicator")
_EPS = 1e-6
IPM_ITERATION_LIMIT = 300
INTERIOR_POINT_CELLS = 2000
INTERIOR_POINT_SHARE = 0.25
"""A model of at least INTERIOR_POINT_CELLS cells of which at least this share is secret solves its LPs (the
attacker's and the repair LP) by the interior point method instead of the warm-started simplex.

Measured (docs/disclosure.md §6e): with many secret cells, as groups bring (docs/contract.md §9), the
simplex needs thousands of pivots per cell; the sample gemeente with one kenmerk (8 064 cells, 48 %
secret): 1.9 s per extreme against 0.35 s, repair LP 9.4 s against 2.3 s. With few secret cells the warm
start wins (Amsterdam-size without groups, 10 % secret: 0.10 s against 0.19 s, repair 0.44 s against
3.7 s). The choice changes only the speed: every extreme is still exact and every point is checked by us."""
REACH_SECRET_CELLS = 1000
"""A model with at least this many secret cells at the start first tries to prove a cell with
`AttackerLP.reach` (feasibility solves of the dual simplex towards the values that would prove it, warm
from the last basis) before it solves the cell's exact extremes. Measured (docs/disclosure.md §6j): 21 %
less time with 1 287 and 1 587 secret cells (buurten, a kenmerk), where exact LPs are costly; 2 % less,
within the noise, with 566 (Amsterdam-size, wijken only); 2-7 % more with 142 and 215 (wijken only),
whose exact LPs take 10-30 ms. Decisions rest only on exact intervals either way, so the table is the same."""
_PUBLISHED_SPAN = 20.0
"""A published cell's interval is the rounding's (a few units wide); a secret cell's is wider or open."""
TIE_BREAK = 1e-5
_UNBOUNDED = (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible)

REASON_THRESHOLD = "drempel"
REASON_SMALL_AREA = "klein_gebied"
REASON_SECONDARY = "secundair"
REASONS = (REASON_THRESHOLD, REASON_SMALL_AREA, REASON_SECONDARY)


class TableInputError(ValueError):
    """A table that cannot be protected as given (message in Dutch, never with counts)."""


@dataclass(frozen=True)
class LinearRow:
    """One piece of public knowledge: sum(coef * x[cells]) == 0, or <= 0 when `inequality`."""

    cells: np.ndarray
    coefs: np.ndarray
    inequality: bool
    area: int
    kind: str


@dataclass(frozen=True)
class TableModel:
    """Units, cells and the linear rows that link them.

    A unit is one area for one group (docs/contract.md §9; groep "" = all households). Every unit has
    every indicator of the table: cell index = unit * len(indicators) + indicator.
    """

    codes: tuple[str, ...]
    levels: tuple[str, ...]
    parents: tuple[int | None, ...]
    rows: tuple[LinearRow, ...]
    indicators: tuple[str, ...] = INDICATORS
    groups: tuple[str, ...] = ()
    """groep per unit; empty tuple = one table without groups (every unit is groep "")."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {name: i for i, name in enumerate(self.indicators)})
        object.__setattr__(self, "_width", len(self.indicators))

    @property
    def n_cells(self) -> int:
        return len(self.codes) * self._width

    def cell(self, area: int, indicator: str) -> int:
        return area * self._width + self._index[indicator]

    def area_of(self, cell: int) -> int:
        return cell // self._width

    def indicator_of(self, cell: int) -> str:
        return self.indicators[cell % self._width]

    def group_of(self, area: int) -> str:
        return self.groups[area] if self.groups else ""

    def neighbours(self, use_row: np.ndarray) -> list[np.ndarray]:
        """Per cell, the cells that share a used row with it."""
        linked: list[set[int]] = [set() for _ in range(self.n_cells)]
        for row, use in zip(self.rows, use_row, strict=True):
            if use:
                members = [int(c) for c in row.cells]
                for cell in members:
                    linked[cell].update(members)
        return [np.array(sorted(cells - {i}), dtype=np.int64) for i, cells in enumerate(linked)]

    def violated_rows(self, values: np.ndarray) -> list[LinearRow]:
        """Rows that `values` (one per cell) do not satisfy."""
        bad = []
        for row in self.rows:
            total = float(np.dot(row.coefs, values[row.cells]))
            if (total > _EPS) if row.inequality else (abs(total) > _EPS):
                bad.append(row)
        return bad


def _at_least_services(k: int) -> tuple[str, ...]:
    """Service-count indicators of households with k or more distinct voorzieningen."""
    top = max(k, len(SERVICE_COUNT_INDICATORS))
    return tuple(dict.fromkeys(service_count_indicator(n) for n in range(k, top + 1)))


def _area_rows(model_cell: Callable[[int, str], int], area: int, present: set[str]) -> list[LinearRow]:
    rows = []
    for total, parts in additive_relations():
        if total not in present or any(p not in present for p in parts):
            continue  # a family the table does not have
        cells = [model_cell(area, total), *(model_cell(area, p) for p in parts)]
        rows.append(_row(cells, [1.0] + [-1.0] * len(parts), False, area, f"som:{total}"))
    # Households with a voorziening are registered households.
    rows.append(_row([model_cell(area, WITH_SERVICE), model_cell(area, HOUSEHOLDS)], [1.0, -1.0], True, area,
                     "met_voorziening<=huishoudens"))
    for part, whole in inequality_relations():
        if part in present and whole in present:
            rows.append(_row([model_cell(area, part), model_cell(area, whole)], [1.0, -1.0], True, area,
                             f"{part}<={whole}"))
    # Every voorziening code belongs to one domain, so k domains need at least k distinct voorzieningen.
    for k in range(2, len(DOMAINS) + 1):
        domains = [name for name, dset in EXCLUSIVE_DOMAIN_SETS.items() if len(dset) >= k]
        services = _at_least_services(k)
        cells = [model_cell(area, n) for n in domains] + [model_cell(area, n) for n in services]
        rows.append(_row(cells, [1.0] * len(domains) + [-1.0] * len(services), True, area,
                         f"domeinen>={k}<=voorzieningen>={k}"))
    return rows


def _service_domains(indicators: tuple[str, ...]) -> dict[str, str | None]:
    """Per `voorziening:<code>` indicator, the domain of its code in the code list (None when unknown).

    The code list is public (docs/contract.md §5), so an attacker knows each code's domain. A broken
    municipal extension (FACTLAB_CODELIJST) leaves the national list: fewer known domains only means
    fewer rows, and a row that does not hold in the table is not used (`knowledge_rows`).
    """
    try:
        code_list = load_code_list()
    except CodeListError:
        code_list = load_code_list(from_environment=False)
    prefix = SERVICE_CODE_PREFIX
    return {name: code_list.domain_of(name[len(prefix):]) for name in indicators
            if name.startswith(prefix) and len(name) > len(prefix)}


def _service_rows(model_cell: Callable[[int, str], int], area: int, present: set[str],
                  service_domains: dict[str, str | None]) -> list[LinearRow]:
    """What every attacker can derive about `voorziening:<code>` cells from their definition (§5, §11).

    A household with code X is in X's domain; a household in a domain has at least one code of it and at
    most all of them; and summed over all codes, every household counts once per distinct code it has,
    which `voorzieningen:<k>` bounds from below (k, at least 4 for 4+) and from above (k, at most every
    code for 4+). These are inequalities: the table says nothing more precise.
    """
    services = [name for name in service_domains if name in present]
    if not services:
        return []
    rows = []
    for domain in DOMAINS:
        whole = DOMAIN_INDICATORS[domain]
        members = [name for name in services if service_domains[name] == domain]
        if not members or whole not in present:
            continue
        for name in members:
            rows.append(_row([model_cell(area, name), model_cell(area, whole)], [1.0, -1.0], True, area,
                             f"{name}<={whole}"))
        cells = [model_cell(area, whole)] + [model_cell(area, name) for name in members]
        rows.append(_row(cells, [1.0] + [-1.0] * len(members), True, area, f"{whole}<=som voorzieningen"))
        rows.append(_row(cells, [-float(len(members))] + [1.0] * len(members), True, area,
                         f"som voorzieningen<=codes*{whole}"))
        if all(name in present for name in STACK_INDICATORS.values()):
            rows.extend(_stack_service_rows(model_cell, area, domain, members))
    if all(name in present for name in SERVICE_COUNT_INDICATORS):
        counts = [model_cell(area, name) for name in SERVICE_COUNT_INDICATORS]
        codes = [model_cell(area, name) for name in services]
        least = [float(k) for k in range(1, len(SERVICE_COUNT_INDICATORS) + 1)]
        most = [*least[:-1], float(len(services))]
        rows.append(_row(counts + codes, least + [-1.0] * len(codes), True, area,
                         "voorzieningen:k*k<=som voorzieningen"))
        rows.append(_row(counts + codes, [-w for w in most] + [1.0] * len(codes), True, area,
                         "som voorzieningen<=voorzieningen:k*k"))
    return rows


def _stack_service_rows(model_cell: Callable[[int, str], int], area: int, domain: str,
                        members: list[str]) -> list[LinearRow]:
    """The codes of one domain against the stacking table (§11): a household with only that domain and k
    voorzieningen has k codes of it; one with c domains and k voorzieningen has at least 1 and at most
    k - c + 1 (each other domain has a code of its own); 4+ means at most every code of the domain."""
    n_codes = float(len(members))
    stack, least, most = [], [], []
    for combination, domains in EXCLUSIVE_DOMAIN_SETS.items():
        if domain not in domains:
            continue
        for k, services in enumerate(SERVICE_COUNT_INDICATORS, start=1):
            top = k == len(SERVICE_COUNT_INDICATORS)  # 4+
            stack.append(model_cell(area, STACK_INDICATORS[combination, services]))
            if len(domains) == 1:
                least.append(float(k))
                most.append(n_codes if top else float(k))
            else:
                least.append(1.0)
                most.append(n_codes if top else float(max(1, k - len(domains) + 1)))
    codes = [model_cell(area, name) for name in members]
    return [
        _row(stack + codes, least + [-1.0] * len(codes), True, area,
             f"stapeling*k<=som voorzieningen {domain}"),
        _row(stack + codes, [-w for w in most] + [1.0] * len(codes), True, area,
             f"som voorzieningen {domain}<=stapeling*k"),
    ]


def _row(cells: list[int], coefs: list[float], inequality: bool, area: int, kind: str) -> LinearRow:
    return LinearRow(np.asarray(cells, dtype=np.int32), np.asarray(coefs, dtype=np.float64), inequality, area,
                     kind)


def _table_indicator_list(names: pd.Series) -> tuple[str, ...]:
    """The indicators of one table: v1, every other family present in full, and `voorziening:<code>`."""
    present = set(names.astype(str))
    prefix = SERVICE_CODE_PREFIX
    services = sorted(n for n in present if n.startswith(prefix) and len(n) > len(prefix))
    unknown = sorted(present - set(FIXED_INDICATORS) - set(services))
    if unknown:
        raise TableInputError(f"onbekende indicator '{unknown[0]}'; zie schemas/indicators.py.")
    chosen: list[str] = []
    for family, members in INDICATOR_FAMILIES.items():
        have = [m for m in members if m in present]
        if have or family == "v1":
            missing = [m for m in members if m not in present]
            if missing:
                raise TableInputError(
                    f"indicator '{missing[0]}' ontbreekt; elk gebied heeft elke indicator precies één keer."
                )
            chosen.extend(members)
    return (*chosen, *services)


def _level_rank(level: str) -> int:
    """Coarse to fine: gemeente, wijk, buurt, then own divisions (§9), which all sit under the gemeente."""
    return LEVELS.index(level) if level in LEVELS else len(LEVELS)


def _group_order(group: str) -> tuple[int, str]:
    return (0, "") if group == "" else (1, group)


def _units(frame: pd.DataFrame, codes_col: pd.Series, groups_col: pd.Series) -> pd.DataFrame:
    """One row per (area, group), sorted so the order does not depend on the input's row order."""
    units = (
        frame.assign(gebiedscode=codes_col, groep=groups_col)
        .drop_duplicates(["gebiedscode", "groep", "niveau", "bovenliggend"])
        .reset_index(drop=True)
    )
    if units.duplicated(["gebiedscode", "groep"]).any():
        code = units.loc[units.duplicated(["gebiedscode", "groep"]), "gebiedscode"].iloc[0]
        raise TableInputError(f"gebied {code} heeft meer dan één niveau of bovenliggend gebied.")
    bad_levels = sorted(
        {str(v) for v in units["niveau"]
         if str(v) not in LEVELS and not re.fullmatch(r"[a-z][a-z0-9_]*", str(v))}
    )
    if bad_levels:
        raise TableInputError(
            f"onbekend niveau {', '.join(bad_levels)}; toegestaan: {', '.join(LEVELS)} of een eigen indeling."
        )
    units["_rank"] = units["niveau"].astype(str).map(_level_rank)
    units["_group"] = units["groep"].map(_group_order)
    order = ["_group", "_rank", "niveau", "gebiedscode"]
    return units.sort_values(order, kind="stable").reset_index(drop=True)


def _unit_parents(codes: tuple[str, ...], groups: tuple[str, ...], levels: tuple[str, ...],
                  raw_parents: pd.Series) -> list[int | None]:
    position = {(code, group): i for i, (code, group) in enumerate(zip(codes, groups, strict=True))}
    parents: list[int | None] = []
    for code, group, level, parent in zip(codes, groups, levels, raw_parents, strict=True):
        if parent is None or (not isinstance(parent, str) and pd.isna(parent)):
            parents.append(None)
            continue
        parent = str(parent)
        if (parent, group) not in position:
            raise TableInputError(f"gebied {code}: bovenliggend gebied {parent} staat niet in de tabel.")
        parent_level = levels[position[parent, group]]
        coarser = (parent_level == LEVELS[0]) if level not in LEVELS else (
            parent_level in LEVELS and LEVELS.index(parent_level) < LEVELS.index(level))
        if not coarser:
            raise TableInputError(
                f"gebied {code}: bovenliggend gebied {parent} is niet van een grover niveau."
            )
        parents.append(position[parent, group])
    return parents


def _group_column(frame: pd.DataFrame) -> pd.Series:
    if "groep" not in frame.columns:
        return pd.Series("", index=frame.index, dtype="string")
    groups = frame["groep"].astype("string").fillna("")
    bad = groups[(groups != "") & ~groups.str.fullmatch(r"[a-z][a-z0-9_]*=.+")]
    if len(bad):
        raise TableInputError(f"groep '{bad.iloc[0]}' is niet van de vorm <naam>=<waarde>.")
    return groups


def build_table_model(frame: pd.DataFrame) -> tuple[TableModel, np.ndarray]:
    """Check the table's shape and build its model; also return the cell index of every input row."""
    missing = [c for c in STRUCTURE_COLUMNS if c not in frame.columns]
    if missing:
        raise TableInputError(f"tabel mist kolom(men): {', '.join(missing)}.")
    codes_col = frame["gebiedscode"].astype("string")
    if codes_col.isna().any():
        raise TableInputError("tabel heeft een lege gebiedscode.")
    groups_col = _group_column(frame)
    indicators = _table_indicator_list(frame["indicator"])
    units = _units(frame, codes_col, groups_col)
    codes = tuple(str(c) for c in units["gebiedscode"])
    groups = tuple(str(g) for g in units["groep"])
    levels = tuple(str(v) for v in units["niveau"])
    parents = _unit_parents(codes, groups, levels, units["bovenliggend"])

    width = len(indicators)
    index = {name: i for i, name in enumerate(indicators)}
    position = {key: i for i, key in enumerate(zip(codes, groups, strict=True))}
    unit_index = pd.Series(list(zip(codes_col, groups_col, strict=True)), index=frame.index).map(position)
    indicator_index = frame["indicator"].map(index).to_numpy(dtype=np.int64)
    cells = unit_index.to_numpy(dtype=np.int64) * width + indicator_index
    counts = np.bincount(cells, minlength=len(codes) * width)
    if (counts != 1).any():
        cell = int(np.flatnonzero(counts != 1)[0])
        what = "ontbreekt" if counts[cell] == 0 else "staat er meer dan eens in"
        area, indicator = codes[cell // width], indicators[cell % width]
        group = groups[cell // width]
        raise TableInputError(
            f"gebied {area}{f' (groep {group})' if group else ''}: indicator '{indicator}' {what}; "
            "elk gebied heeft elke indicator precies één keer."
        )

    def model_cell(area: int, indicator: str) -> int:
        return area * width + index[indicator]

    rows: list[LinearRow] = []
    present = set(indicators)
    service_domains = _service_domains(indicators)
    for area in range(len(codes)):
        rows.extend(_area_rows(model_cell, area, present))
        rows.extend(_service_rows(model_cell, area, present, service_domains))
    rows.extend(_sum_rows(model_cell, indicators, codes, groups, levels, parents))
    model = TableModel(codes, levels, tuple(parents), tuple(rows), indicators,
                       groups if any(groups) else ())
    return model, cells.astype(np.int64)


def _sum_rows(model_cell: Callable[[int, str], int], indicators: tuple[str, ...], codes: tuple[str, ...],
              groups: tuple[str, ...], levels: tuple[str, ...], parents: list[int | None]) -> list[LinearRow]:
    """Areas of one level add up to their parent area; the values of one kenmerk add up to groep ""."""
    rows: list[LinearRow] = []
    children: dict[tuple[int, str], list[int]] = {}
    for area, parent in enumerate(parents):
        if parent is not None:
            children.setdefault((parent, levels[area]), []).append(area)
    for (parent, _), kids in sorted(children.items()):
        for indicator in indicators:
            cells_ = [model_cell(parent, indicator), *(model_cell(k, indicator) for k in kids)]
            rows.append(_row(cells_, [1.0] + [-1.0] * len(kids), False, parent, f"gebiedssom:{indicator}"))
    whole = {code: i for i, (code, group) in enumerate(zip(codes, groups, strict=True)) if group == ""}
    by_kenmerk: dict[tuple[str, str], list[int]] = {}
    for unit, (code, group) in enumerate(zip(codes, groups, strict=True)):
        if group:
            by_kenmerk.setdefault((code, group.split("=", 1)[0]), []).append(unit)
    for (code, kenmerk), members in sorted(by_kenmerk.items()):
        if code not in whole:
            raise TableInputError(f"gebied {code}: groep {kenmerk} zonder de rij voor alle huishoudens.")
        for indicator in indicators:
            cells_ = [model_cell(whole[code], indicator), *(model_cell(m, indicator) for m in members)]
            rows.append(_row(cells_, [1.0] + [-1.0] * len(members), False, whole[code],
                             f"groepssom:{kenmerk}:{indicator}"))
    return rows


def attacker_bounds(published: np.ndarray, reasons: np.ndarray,
                    rules: DisclosureRules) -> tuple[np.ndarray, np.ndarray]:
    """What an attacker knows about every cell from the published table and the rules alone.

    `published` holds the published count per cell (ignored where secret); `reasons` the reason per
    cell (None when published). The attacker is not told why a cell is secret, only that it is: a
    secret cell in a normal area is at least 1 (a 0 would have been published), in a small area at
    least 0. Published counts stand for the interval the rounding leaves open.
    """
    n = len(reasons)
    lower = np.zeros(n)
    upper = np.full(n, np.inf)
    for cell in range(n):
        reason = reasons[cell]
        if reason is None:
            lower[cell], upper[cell] = rules.published_bounds(int(published[cell]))
        elif reason != REASON_SMALL_AREA:
            lower[cell] = rules.smallest_secret
    return lower, upper


def secret_cells(reasons: np.ndarray) -> np.ndarray:
    """Indices of the cells that are secret, whatever the reason."""
    return np.flatnonzero(np.array([r is not None for r in reasons], dtype=bool))


def tolerance(value: float) -> float:
    """How far an LP value may lie from the exact one: 10⁻⁶, relative for values above 1.

    The interior point method (INTERIOR_POINT_CELLS) ends within a relative gap; measured on the sample
    gemeente with one kenmerk its extremes lay up to 5·10⁻⁸ from the integer they stand for at values
    around 9, so an absolute tolerance would read 499.99999 as 499 for a large cell.
    """
    if math.isinf(value):
        return 0.0
    return _EPS * max(1.0, abs(value))


def floor_value(value: float) -> int:
    """The largest integer an LP value reaches, allowing for its tolerance."""
    return math.floor(value + tolerance(value))


def ceil_value(value: float) -> int:
    """The smallest integer an LP value reaches down to, allowing for its tolerance."""
    return math.ceil(value - tolerance(value))


def integer_width(low: float, high: float) -> float:
    """Width of the integer range inside an LP interval; infinite when unbounded above."""
    if low > high:
        return -math.inf  # nothing known yet
    if high == math.inf:
        return math.inf
    return floor_value(high) - ceil_value(low)


def is_protected(low: float, high: float, width: int, min_high: float) -> bool:
    """The protection requirement on one interval: wide enough, and reaching up to `min_high`."""
    if integer_width(low, high) < width:
        return False
    return high == math.inf or floor_value(high) >= min_high


PROPAGATION_ROUNDS = 3
"""Rounds of bound propagation through the sums (`BoundPropagation`). On the sample gemeente with one
kenmerk, 2 rounds already find every small-area cell that the attacker's LPs find to be 0 (578 of 578,
docs/disclosure.md §6f); each round costs a few milliseconds."""


class BoundPropagation:
    """Bounds on every cell implied by its own bounds and the rows, without an LP (bound propagation).

    Each round takes every row and every cell in it: the cell's term is the row's total minus the other
    terms, whose smallest and largest values follow from their bounds. A bound found so is a valid bound of
    the attacker's exact interval (never tighter than it), so a known point that reaches it has found the
    cell's extreme without an LP. Cells below a published 0 are found to be 0 this way.
    """

    def __init__(self, rows: list[LinearRow]) -> None:
        self.n_rows = len(rows)
        if rows:
            starts, self.index, self.coefs = _stacked(rows)
            self.row_of = np.repeat(np.arange(len(rows)), np.diff(np.append(starts, len(self.index))))
            self.inequality = np.array([r.inequality for r in rows])[self.row_of]
            self.positive = self.coefs > 0

    def implied(self, lower: np.ndarray, upper: np.ndarray,
                rounds: int = PROPAGATION_ROUNDS) -> tuple[np.ndarray, np.ndarray]:
        """The bounds after `rounds` rounds of propagation (at least as tight as `lower`/`upper`)."""
        lower, upper = lower.astype(np.float64).copy(), upper.astype(np.float64).copy()
        if self.n_rows == 0:
            return lower, upper
        coefs, index, row_of, n_rows = self.coefs, self.index, self.row_of, self.n_rows
        with np.errstate(invalid="ignore", divide="ignore"):
            for _ in range(rounds):
                low_term = np.where(self.positive, coefs * lower[index], coefs * upper[index])
                high_term = np.where(self.positive, coefs * upper[index], coefs * lower[index])
                others_low = _others(low_term, row_of, n_rows, -np.inf)
                others_high = _others(high_term, row_of, n_rows, np.inf)
                # Every row is  total = sum of terms,  total = 0 (a sum) or total <= 0 (an inequality).
                term_high = -others_low
                term_low = np.where(self.inequality, -np.inf, -others_high)
                new_upper = np.where(self.positive, term_high / coefs, term_low / coefs)
                new_lower = np.where(self.positive, term_low / coefs, term_high / coefs)
                new_upper[np.isnan(new_upper)] = np.inf
                new_lower[np.isnan(new_lower)] = -np.inf
                tighter_upper, tighter_lower = upper.copy(), lower.copy()
                np.minimum.at(tighter_upper, index, new_upper)
                np.maximum.at(tighter_lower, index, new_lower)
                if np.array_equal(tighter_upper, upper) and np.array_equal(tighter_lower, lower):
                    break
                lower, upper = tighter_lower, tighter_upper
        return lower, upper


def _others(terms: np.ndarray, row_of: np.ndarray, n_rows: int, infinite: float) -> np.ndarray:
    """Per entry, the sum of the other terms of its row (`infinite` when one of them is infinite)."""
    is_inf = np.isinf(terms)
    finite_sum = np.bincount(row_of, weights=np.where(is_inf, 0.0, terms), minlength=n_rows)[row_of]
    inf_count = np.bincount(row_of, weights=is_inf, minlength=n_rows)[row_of]
    others_inf = inf_count - is_inf > 0
    return np.where(others_inf, infinite, finite_sum - np.where(is_inf, 0.0, terms))


@dataclass(frozen=True)
class Requirement:
    """What the attacker must not be able to do with a secret cell (docs/disclosure.md, "De eis").

    The interval he can derive must be at least `width` wide; for a cell secret by the threshold rule it
    must also reach `min_high` (the threshold), so he cannot prove the cell is small. A cell of a small
    area that is provably 0 needs nothing more when zeros may be published anyway.
    """

    width: int
    min_high: np.ndarray
    zero_allowed: np.ndarray

    @classmethod
    def for_cells(cls, reasons: np.ndarray, rules: DisclosureRules) -> Requirement:
        threshold = float(rules.min_publiceerbaar)
        return cls(
            width=rules.min_bandbreedte,
            min_high=np.array([threshold if r == REASON_THRESHOLD else -math.inf for r in reasons]),
            zero_allowed=np.array([bool(rules.nul_publiceren) and r == REASON_SMALL_AREA for r in reasons]),
        )

    def sufficient(self, cell: int, low: float, high: float) -> bool:
        """Met for certain by an interval that may understate the attacker's (from known points only)."""
        return is_protected(low, high, self.width, self.min_high[cell])

    def met(self, cell: int, low: float, high: float) -> bool:
        """Met by the attacker's exact interval."""
        if self.zero_allowed[cell] and -_EPS <= low and high <= _EPS:
            return True
        return is_protected(low, high, self.width, self.min_high[cell])

    def cap(self, cell: int, low: float, high: float, maximise: bool) -> float | None:
        """How far up (or down) the cell must be able to go, given the span [low, high] of known points,
        for `sufficient` to hold; None when that span gives no anchor on the other side."""
        if maximise:
            if math.isinf(low):
                return None
            return float(max(ceil_value(low) + self.width, self.min_high[cell]))
        if math.isinf(high) or floor_value(high) < self.min_high[cell]:
            return None
        return float(floor_value(high) - self.width)

    def exempt(self, cell: int, low: float, high: float) -> bool:
        """Met only because the cell is provably 0."""
        return self.met(cell, low, high) and not self.sufficient(cell, low, high)


@dataclass(frozen=True)
class TrialSnapshot:
    """The state `AttackerLP.restore` brings back after a trial change of bounds is undone."""

    pool_valid: np.ndarray
    zero_proven: np.ndarray
    compactions: int
    implied: tuple[np.ndarray, np.ndarray] | None = None


@dataclass(frozen=True)
class ProofPoints:
    """Points of the attacker's model that the protection found, for the audit to check and start from.

    Each row is a whole table the attacker cannot rule out (near the true one): kept in memory, handed
    from `protect_with_proofs` to `audit_protection` in the same step, never written, logged or passed to
    Prefect. `layout` names the model's cells (area codes, groups, indicators)."""

    layout: tuple
    points: np.ndarray


def model_layout(model: TableModel) -> tuple:
    """What identifies a model's cells: two models with the same layout number their cells alike."""
    return (tuple(model.codes), tuple(model.groups), tuple(model.indicators))


class AttackerLP:
    """The attacker's feasible set as one HiGHS model, re-solved per cell with a warm start.

    Columns are the cells with the attacker's bounds; rows are the model's sums (and the inequalities
    selected by `use_row`). Every solution found is kept in a small pool: a cell whose pool values
    already span the required width needs no LP of its own.
    """

    def __init__(self, model: TableModel, lower: np.ndarray, upper: np.ndarray,
                 use_row: np.ndarray | None = None, pool_size: int = 2000) -> None:
        # The pool holds whole points: keep it under ~200 MB for large tables (groups, §9).
        pool_size = max(50, min(pool_size, 25_000_000 // max(model.n_cells, 1)))
        self.model = model
        self.lower = lower.astype(np.float64).copy()
        self.upper = upper.astype(np.float64).copy()
        if use_row is None:
            use_row = np.ones(len(model.rows), dtype=bool)
        self.rows = [r for r, use in zip(model.rows, use_row, strict=True) if use]
        self.solves = 0
        self._pool = np.empty((pool_size, model.n_cells))
        self._pool_valid = np.zeros(pool_size, dtype=bool)
        self._pool_next = 0
        self.last_solution: np.ndarray | None = None
        secret = int(np.isinf(self.upper).sum())
        self.interior = (model.n_cells >= INTERIOR_POINT_CELLS
                         and secret >= INTERIOR_POINT_SHARE * model.n_cells)
        """Whether this model's LPs use the interior point method (many secret cells, see the constant)."""
        self._highs = self._cell_model(self.interior)
        self._capped: highspy.Highs | None = None
        self._reach: highspy.Highs | None = None
        self.reach_solves = 0
        self.reaching = secret >= REACH_SECRET_CELLS
        """Whether cells are first tried with `reach` solves before their exact extremes (§6j)."""
        self._preferences: list[tuple[list[int], np.ndarray, np.ndarray]] = []
        self._preference_of: dict[int, list[tuple[int, int]]] = {}
        """Per preferred cell, where its tie-break columns are: (position among all tie-break columns, k of
        its preference); the columns are that position and that position + k, after the cells' columns."""
        self._preference_end = 0
        self._released: set[int] = set()
        self.zero_proven = np.zeros(model.n_cells, dtype=bool)
        """Cells whose exact interval is [0, 0] under the current bounds: exempt (docs/disclosure.md §3)
        until a bound widens. Kept so that they are not solved again at every check."""
        self.batch_solves = 0
        self._cell_rows: list[list[int]] | None = None
        self._compactions = 0
        self._propagation: BoundPropagation | None = None
        self._implied: tuple[np.ndarray, np.ndarray] | None = None

    # -- the HiGHS models ------------------------------------------------------------------------

    def _cell_model(self, interior: bool) -> highspy.Highs:
        """A new HiGHS model with a column per cell (the attacker's bounds) and the used rows."""
        h = new_highs()
        if interior:
            use_interior_point(h)
        inf = highspy.kHighsInf
        h.addVars(self.model.n_cells, np.where(np.isinf(self.lower), -inf, self.lower),
                  np.where(np.isinf(self.upper), inf, self.upper))
        add_rows(h, self.rows, 0)
        return h

    def _add_preferences_so_far(self, h: highspy.Highs, first: int) -> None:
        """Give a model built on first use the tie-breaks added so far (their columns from `first`), those
        of released cells without cost."""
        for cells, lower, upper in self._preferences:
            _add_preference(h, cells, lower, upper)
        _free_preferences(h, first, [self._preference_of[c] for c in sorted(self._released)])

    def _built_models(self) -> list[tuple[highspy.Highs, int]]:
        """Every model built so far, each with the column where its tie-break columns start: a change of
        bounds or tie-breaks goes to all of them."""
        n = self.model.n_cells
        return [(h, first) for h, first in ((self._highs, n), (self._capped, 2 * n), (self._reach, n))
                if h is not None]

    # -- bounds ------------------------------------------------------------------------------------

    def set_bounds(self, cells: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """Change what the attacker knows about `cells` (a cell hidden or published again)."""
        cells = np.asarray(cells, dtype=np.int32)
        if cells.size == 0:
            return
        lower, upper = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
        if ((lower < self.lower[cells] - _EPS) | (upper > self.upper[cells] + _EPS)).any():
            self.zero_proven[:] = False  # a wider model may let a cell proven 0 move again
        self.lower[cells] = lower
        self.upper[cells] = upper
        self._implied = None
        # Points outside the new bounds are no longer possible. (Points that a widening would make
        # possible again are not revived; the pool only ever under-states what the attacker can do.)
        values = self._pool[:, cells]
        inside = (values >= self.lower[cells] - 1e-5) & (values <= self.upper[cells] + 1e-5)
        self._pool_valid &= inside.all(axis=1)
        inf = highspy.kHighsInf
        for h, _ in self._built_models():
            h.changeColsBounds(int(cells.size), cells,
                               np.where(np.isinf(self.lower[cells]), -inf, self.lower[cells]),
                               np.where(np.isinf(self.upper[cells]), inf, self.upper[cells]))

    def snapshot(self) -> TrialSnapshot:
        """What a trial change of bounds may undo: which points were possible and which cells proven 0."""
        return TrialSnapshot(self._pool_valid.copy(), self.zero_proven.copy(), self._compactions,
                             self._implied)

    def restore(self, snapshot: TrialSnapshot) -> None:
        """After the bounds are back to those of `snapshot`, make its points and its proven zeros count again.

        A point that was possible then is possible again under the same bounds; points found since were
        found under bounds at least as narrow, so they stay. When the pool was compacted in between, the
        old positions mean nothing any more and only the zeros are restored.
        """
        if snapshot.compactions == self._compactions:
            self._pool_valid |= snapshot.pool_valid
        self.zero_proven = snapshot.zero_proven.copy()
        if snapshot.implied is not None:
            self._implied = snapshot.implied

    def implied_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Bounds on every cell that follow from all bounds through the rows (`BoundPropagation`).

        The attacker's exact interval of a cell lies within them; a known point on an implied bound is
        that extreme. Computed on first use after a change of bounds.
        """
        if self._implied is None:
            if self._propagation is None:
                self._propagation = BoundPropagation(self.rows)
            self._implied = self._propagation.implied(self.lower, self.upper)
        return self._implied

    def settle_zeros(self, cells: np.ndarray, requirement: Requirement) -> np.ndarray:
        """Mark the cells of `cells` that propagation proves 0 and may be 0 (§3); return the others.

        No LP: a cell whose implied bounds are [0, 0] has the exact interval [0, 0]. Propagation runs only
        when some cell of `cells` may be exempt and is not yet marked.
        """
        cells = cells[~self.zero_proven[cells]]
        candidates = cells[requirement.zero_allowed[cells]]
        if candidates.size:
            implied_lower, implied_upper = self.implied_bounds()
            zero = (implied_lower[candidates] >= -_EPS) & (implied_upper[candidates] <= _EPS)
            self.zero_proven[candidates[zero]] = True
            cells = cells[~self.zero_proven[cells]]
        return cells

    def fails_by_bounds(self, cells: np.ndarray | list[int], requirement: Requirement) -> int | None:
        """The first cell of `cells` whose implied bounds already fail `requirement`, else None. No LP.

        The attacker's exact interval lies within the implied bounds, so when those are too narrow (or
        stay under the threshold) the exact interval is too. A cell that may be exempt as provably 0 is
        left to the LPs: a narrow implied interval does not say whether the exact one is [0, 0].
        """
        cells = np.asarray(cells, dtype=np.int64)
        if cells.size == 0:
            return None
        implied_lower, implied_upper = self.implied_bounds()
        low, high = implied_lower[cells], implied_upper[cells]
        # Cheap filter first: only a finite interval at most `width` wide (or capped under the
        # threshold) can fail.
        candidates = np.flatnonzero(~requirement.zero_allowed[cells] & np.isfinite(high)
                                    & ((high - low <= requirement.width + 1)
                                       | (high < requirement.min_high[cells] + 1)))
        for i in candidates:
            cell = int(cells[i])
            if not requirement.sufficient(cell, float(low[i]), float(high[i])):
                return cell
        return None

    def exact_by_points(self, cell: int, low: float, high: float) -> tuple[bool, bool]:
        """Whether known points with span [low, high] already reach the cell's lowest and highest value.

        A point on an implied bound (`implied_bounds`, which include the cell's own bounds) is the
        extreme: no LP can find a value beyond it.
        """
        implied_lower, implied_upper = self.implied_bounds()
        bottom, top = float(implied_lower[cell]), float(implied_upper[cell])
        return (not math.isinf(bottom) and low <= bottom + tolerance(bottom),
                not math.isinf(top) and high >= top - tolerance(top))

    def prefer_within(self, cells: list[int], lower: np.ndarray, upper: np.ndarray) -> None:
        """Tie-break future solutions towards keeping `cells` inside [lower, upper].

        A tiny cost on leaving the interval does not change any cell's extreme value, but it makes the
        pool's points survive when one of these cells is published again (protect's pruning step).
        """
        if not cells:
            return
        preference = (list(cells), np.asarray(lower, float), np.asarray(upper, float))
        self._preferences.append(preference)
        k = len(preference[0])
        for position, cell in enumerate(preference[0]):
            self._preference_of.setdefault(int(cell), []).append((self._preference_end + position, k))
        self._preference_end += 2 * k
        for h, _ in self._built_models():
            _add_preference(h, *preference)

    def release(self, cells: list[int]) -> None:
        """Drop the tie-break of `cells`: they stay secret for good, so later points may move them freely.

        The pruning step publishes secondary cells again one at a time. A point that moves a cell still to
        be tried outside its rounding interval is lost when that cell is published; a point that moves a
        cell known to stay secret never is. With the tie-break gone for the cells that stay, the solver
        leans on those instead. Costs only: no cell's extreme changes.
        """
        cells = [int(c) for c in cells if int(c) in self._preference_of and int(c) not in self._released]
        if not cells:
            return
        self._released.update(cells)
        for h, first in self._built_models():
            _free_preferences(h, first, [self._preference_of[c] for c in cells])

    # -- solving -----------------------------------------------------------------------------------

    def extreme(self, cell: int, maximise: bool, cap: float | None = None) -> float:
        """The attacker's smallest or largest possible value of one cell (LP relaxation).

        With `cap`, the cell may go no further than `cap` in that direction: a value at the cap then only
        says the cell reaches it (its point moves the other cells no more than it must, see `lean` of
        `unprotected_cells`); a value short of the cap is the exact extreme.
        """
        h = self._highs
        capped = cap is not None and (self.lower[cell] <= cap < self.upper[cell] if maximise
                                      else self.lower[cell] < cap <= self.upper[cell])
        if capped:
            low, high = (self.lower[cell], cap) if maximise else (cap, self.upper[cell])
            _column_bounds(h, cell, low, high)
        h.changeColCost(int(cell), -1.0 if maximise else 1.0)
        try:
            status = run_robustly(h)
            self.solves += 1
            if status in _UNBOUNDED:
                return math.inf if maximise else -math.inf
            if status == highspy.HighsModelStatus.kOptimal:
                values = np.asarray(h.getSolution().col_value, dtype=np.float64)[: self.model.n_cells]
                if self.interior and not self.is_feasible(values):
                    values = self._vertex_solution(h)
                self.remember(values)
                return float(values[cell])
            if not capped:
                raise _no_solution(h, status)
        finally:
            h.changeColCost(int(cell), 0.0)
            if capped:
                _column_bounds(h, cell, self.lower[cell], self.upper[cell])
        # A known point lies within the cap, so the capped model has a solution: the solver's trouble.
        return self.extreme(cell, maximise)

    def _reach_model(self) -> highspy.Highs:
        """The attacker's model with no objective but the tie-breaks, for `reach` (built on first use).

        Its basis stays optimal for those costs between solves, so a changed bound is a warm start for the
        dual simplex: it only has to make the point feasible again. Measured (docs/disclosure.md §6j): a
        failure costs 8-57 ms, a success a third of a warm-started exact extreme on a table with buurten and
        about as much as an interior point LP on one with a kenmerk.
        """
        if self._reach is None:
            h = self._cell_model(interior=False)
            h.setOptionValue("simplex_strategy", 1)
            self._add_preferences_so_far(h, self.model.n_cells)
            self._reach = h
        return self._reach

    def reach(self, cell: int, target: float, up: bool) -> bool:
        """Whether some point of the model has `cell` at least (or, not `up`, at most) `target`.

        True only with such a point in hand, checked here (`is_feasible`) and kept in the pool. False means
        no point was found: the solver said none exists, or it could not tell; callers then solve the
        exact extreme, so a False never decides anything. The point is the cheapest in tie-breaks, so it
        moves cells that may be published again no more than it must (like a capped `extreme`).
        """
        low, high = self.lower[cell], self.upper[cell]
        bound = max(target, low) if up else min(target, high)
        if (bound > high) if up else (bound < low):
            return False
        h = self._reach_model()
        if up:
            _column_bounds(h, cell, bound, high)
        else:
            _column_bounds(h, cell, low, bound)
        try:
            h.run()
            self.reach_solves += 1
            status = h.getModelStatus()
            if status != highspy.HighsModelStatus.kOptimal:
                if status != highspy.HighsModelStatus.kInfeasible:
                    h.clearSolver()  # a basis the solver could not finish from is no start for the next
                return False
            values = np.asarray(h.getSolution().col_value, dtype=np.float64)[: self.model.n_cells]
        finally:
            _column_bounds(h, cell, low, high)
        if not self.is_feasible(values):
            return False
        self.remember(values)
        return True

    def prove_by_reach(self, cell: int, requirement: Requirement, low: float, high: float
                       ) -> list[np.ndarray]:
        """Try to prove `cell` with at most three `reach` solves, from the span [low, high] of known
        points; returns the points found (already in the pool).

        The targets are the values that would make `requirement.sufficient` hold. First up from the known
        bottom. When that fails for a cell under the threshold, down to the threshold minus the width (or its
        lower bound) and then up to the threshold: a cell at 5 shows 2 and 10 rather than 5 and 13.
        Otherwise down from the known top. No decision rests on this: a cell it does not prove gets its
        exact extremes as before.
        """
        points: list[np.ndarray] = []

        def tried(target: float | None, up: bool) -> bool:
            nonlocal low, high
            if target is None or not self.reach(cell, target, up):
                return False
            points.append(self.last_solution)
            value = float(self.last_solution[cell])
            low, high = min(low, value), max(high, value)
            return requirement.sufficient(cell, low, high)

        if tried(requirement.cap(cell, low, high, maximise=True), up=True):
            return points
        threshold = float(requirement.min_high[cell])
        if not math.isinf(threshold) and not math.isinf(low):
            down = max(float(self.lower[cell]), threshold - requirement.width)
            if down < low - _EPS and tried(down, up=False):
                tried(requirement.cap(cell, low, high, maximise=True), up=True)
            return points
        tried(requirement.cap(cell, low, high, maximise=False), up=False)
        return points

    def _vertex_solution(self, h: highspy.Highs) -> np.ndarray:
        """Solve again with crossover to a vertex: for an interior point that fails our own check."""
        h.setOptionValue("run_crossover", "on")
        try:
            status = run_robustly(h)
        finally:
            h.setOptionValue("run_crossover", "off")
        if status != highspy.HighsModelStatus.kOptimal:
            raise _no_solution(h, status)
        return np.asarray(h.getSolution().col_value, dtype=np.float64)[: self.model.n_cells]

    def explore(self, cells: np.ndarray, directions: int) -> None:
        """Fill the pool with points that push many cells to their extremes at once.

        Each solve optimises a random +1/-1 combination of `cells` (fixed seed, so the outcome is
        reproducible); one such point often proves several cells wide enough without their own LPs.
        """
        cells = np.asarray(cells, dtype=np.int32)
        if cells.size == 0:
            return
        rng = np.random.default_rng(0)
        h = self._highs
        for k in range(directions):
            # All up, all down, then random mixtures.
            signs = (np.full(cells.size, -1.0) if k == 0 else np.full(cells.size, 1.0) if k == 1
                     else rng.choice(np.array([-1.0, 1.0]), size=cells.size))
            h.changeColsCost(int(cells.size), cells, signs)
            status = run_robustly(h)
            self.solves += 1
            if status == highspy.HighsModelStatus.kOptimal:
                self.remember(np.asarray(h.getSolution().col_value, dtype=np.float64)[: self.model.n_cells])
        h.changeColsCost(int(cells.size), cells, np.zeros(cells.size))

    def is_feasible(self, values: np.ndarray, tolerance: float = 1e-6) -> bool:
        """Whether `values` satisfies the bounds and every used row (checked here, not taken from HiGHS)."""
        if ((values < self.lower - tolerance) | (values > self.upper + tolerance)).any():
            return False
        if not self.rows:
            return True
        starts, index, coefs = _stacked(self.rows)
        totals = np.add.reduceat(coefs * values[index], starts)
        inequality = np.array([r.inequality for r in self.rows])
        return bool(np.all(np.where(inequality, totals <= tolerance, np.abs(totals) <= tolerance)))

    def _capped_model(self) -> highspy.Highs:
        """The attacker's model plus one capped copy y_c of every cell (built on first use).

        Row c ties y_c to x_c: y_c <= x_c to push x_c up to a target (maximise y_c, y_c <= target), or
        y_c >= x_c to push it down (minimise y_c, y_c >= target). A cell taking no part has its row and
        column free and no cost.
        """
        if self._capped is None:
            n = self.model.n_cells
            inf = highspy.kHighsInf
            h = self._cell_model(self.interior)
            h.addVars(n, np.full(n, -inf), np.full(n, inf))
            add_pairs(h, np.arange(n, 2 * n), np.arange(n), -1.0, np.full(n, -inf), np.full(n, inf))
            self._capped = h
            self._capped_rows = h.getNumRow() - n
            self._add_preferences_so_far(h, 2 * n)
        return self._capped

    def push(self, cells: np.ndarray, up: np.ndarray, targets: np.ndarray) -> np.ndarray | None:
        """One point that pushes every cell of `cells` towards its target at once (a capped objective).

        `up[i]` says whether cells[i] should reach at least `targets[i]` (else at most). Each cell counts
        only until it reaches its target, so one solve serves many cells whose targets do not conflict.
        Returns the point (kept in the pool) or None when the solver found none.
        """
        h = self._capped_model()
        n = self.model.n_cells
        inf = highspy.kHighsInf
        cells = np.asarray(cells, dtype=np.int32)
        k = int(cells.size)
        y = (cells + n).astype(np.int32)
        rows = (cells + self._capped_rows).astype(np.int32)
        # y - x <= 0 (up) or >= 0 (down); y <= target (up) or >= target (down).
        h.changeRowsBounds(k, rows, np.where(up, -inf, 0.0), np.where(up, 0.0, inf))
        h.changeColsBounds(k, y, np.where(up, -inf, targets), np.where(up, targets, inf))
        h.changeColsCost(k, y, np.where(up, -1.0, 1.0))
        try:
            status = run_robustly(h)
            self.batch_solves += 1
            if status != highspy.HighsModelStatus.kOptimal:
                return None
            values = np.asarray(h.getSolution().col_value, dtype=np.float64)[:n]
            if not self.is_feasible(values):
                return None
        finally:
            h.changeRowsBounds(k, rows, np.full(k, -inf), np.full(k, inf))
            h.changeColsBounds(k, y, np.full(k, -inf), np.full(k, inf))
            h.changeColsCost(k, y, np.zeros(k))
        self.remember(values)
        return values

    def _independent(self, cells: np.ndarray) -> np.ndarray:
        """Positions in `cells` of a first group of cells that share no row (greedy, in the given order).

        Cells that share no sum can all reach their targets in one point; pushing cells of one sum
        together makes them compete for the same room.
        """
        if self._cell_rows is None:
            self._cell_rows = [[] for _ in range(self.model.n_cells)]
            for r, row in enumerate(self.rows):
                for cell in row.cells:
                    self._cell_rows[int(cell)].append(r)
        blocked = np.zeros(len(self.rows), dtype=bool)
        chosen = []
        for position, cell in enumerate(int(c) for c in cells):
            rows = self._cell_rows[cell]
            if blocked[rows].any():
                continue
            chosen.append(position)
            blocked[rows] = True
        return np.asarray(chosen, dtype=np.int64)

    def prove_batch(self, cells: np.ndarray, requirement: Requirement, low: np.ndarray,
                    high: np.ndarray, misses: int = 2) -> None:
        """Widen the known spans `low`/`high` of `cells` (updated in place) with capped pushes.

        Each round takes the unproven cells that share no sum and pushes each towards the value that would
        prove it: first down to its lower bound (when no known point has it there), then up to its known
        bottom plus the width (at least to the threshold). A cell that one push towards its target does
        not prove is left to the exact per-cell LPs of `unprotected_cells`. Stops when every cell is
        proven or tried, or `misses` rounds in a row prove nothing.
        """
        width = requirement.width
        missed = 0
        tried = np.zeros(len(cells), dtype=bool)
        lowered = np.zeros(len(cells), dtype=bool)
        while missed < misses:
            todo = np.flatnonzero([not t and not requirement.sufficient(int(c), lo, hi)
                                   for c, lo, hi, t in zip(cells, low, high, tried, strict=True)])
            if todo.size == 0:
                return
            todo = todo[self._independent(cells[todo])]
            chosen = cells[todo]
            lo = low[todo]
            # First down to the lower bound (while the bottom is unknown or above it), then up.
            up = np.isfinite(lo) & ((lo <= self.lower[chosen] + _EPS) | lowered[todo])
            lowered[todo] = True
            slack = np.array([tolerance(float(v)) for v in lo])
            up_target = np.maximum(np.ceil(lo - slack) + width, requirement.min_high[chosen])
            targets = np.where(up, up_target, self.lower[chosen])
            point = self.push(chosen, up, np.where(np.isinf(targets), 0.0, targets))
            if point is None:
                return
            np.minimum(low, point[cells], out=low)
            np.maximum(high, point[cells], out=high)
            done = np.array([requirement.sufficient(int(c), lo_, hi_)
                             for c, lo_, hi_ in zip(chosen, low[todo], high[todo], strict=True)])
            # A cell that one push for it alone did not prove is left to the exact LPs; trying it again
            # would keep blocking the cells that share its sums.
            tried[todo[~done & up]] = True
            if up.any():
                missed = 0 if done.any() else missed + 1

    def remember(self, values: np.ndarray) -> None:
        """Add a point known to be feasible (e.g. from a repair model) to the pool."""
        if self._pool_valid[self._pool_next]:
            self._compact_pool()
        self._pool[self._pool_next] = values
        self._pool_valid[self._pool_next] = True
        self._pool_next = (self._pool_next + 1) % self._pool.shape[0]
        self.last_solution = values

    def _slots_at_extremes(self) -> np.ndarray:
        """The pool slots of the points that hold some secret cell's smallest or largest known value."""
        valid = np.flatnonzero(self._pool_valid)
        secret = np.flatnonzero(np.isinf(self.upper) | (self.upper - self.lower > _PUBLISHED_SPAN))
        if valid.size == 0 or secret.size == 0:
            return np.empty(0, dtype=np.int64)
        points = self._pool[valid[:, None], secret[None, :]]
        return valid[np.unique(np.concatenate([points.argmin(axis=0), points.argmax(axis=0)]))]

    def extreme_points(self) -> np.ndarray:
        """The known points that hold some secret cell's smallest or largest known value (one per row)."""
        return self._pool[self._slots_at_extremes()].copy()

    def _compact_pool(self) -> None:
        """Make room without losing a proof: keep only the points that hold some secret cell's extreme.

        A full pool would otherwise overwrite its oldest points, and with them the only proof of cells
        that were settled early. When the points worth keeping fill most of the pool, the oldest is
        overwritten as before.
        """
        keep = self._slots_at_extremes()
        if keep.size == 0 or keep.size > 0.8 * self._pool.shape[0]:
            return
        self._pool[: keep.size] = self._pool[keep]
        self._pool_valid[:] = False
        self._pool_valid[: keep.size] = True
        self._pool_next = keep.size
        self._compactions += 1

    def pool_span(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For `cells`, the smallest and largest value over pool points feasible under the current bounds."""
        points = self._pool[np.flatnonzero(self._pool_valid)[:, None], cells[None, :]]
        if points.shape[0] == 0:
            return np.full(len(cells), np.inf), np.full(len(cells), -np.inf)
        return points.min(axis=0), points.max(axis=0)

    def unproven_cells(self, cells: np.ndarray | list[int], requirement: Requirement,
                       push: bool = True) -> list[tuple[int, float, float]]:
        """Cells among `cells` that known points and (with `push`) a few capped pushes do not prove, with
        their spans.

        No per-cell LP: a cell listed here may still meet the requirement (its span understates the
        attacker's interval); `unprotected_cells` decides exactly.
        """
        cells = self.settle_zeros(np.asarray(cells, dtype=np.int64), requirement)
        low, high = self.pool_span(cells)
        if push:
            self.prove_batch(cells, requirement, low, high)
        return [(int(c), float(lo), float(hi)) for c, lo, hi in zip(cells, low, high, strict=True)
                if not requirement.sufficient(int(c), lo, hi)]

    def unprotected_cells(self, cells: np.ndarray | list[int], requirement: Requirement,
                          first_only: bool = False, lean: bool = False) -> list[tuple[int, float, float]]:
        """Cells among `cells` whose exact interval fails `requirement`, each with that interval.

        LPs are solved only where the known points do not already prove the requirement; a cell in
        `zero_proven` counts as met without one. With `first_only`, stop at the first failing cell (cells
        are tried in the given order). With `lean`, an LP takes the cell only as far as the requirement
        needs (`extreme` with a cap): the same decisions, but points that move fewer other secret cells out
        of their rounding intervals, so they stay valid when such a cell is published again (pruning).
        """
        cells = self.settle_zeros(np.asarray(cells, dtype=np.int64), requirement)
        low, high = self.pool_span(cells)
        return self._unprotected(cells, requirement, low, high, first_only, lean)

    def _unprotected(self, cells: np.ndarray, requirement: Requirement, low: np.ndarray, high: np.ndarray,
                     first_only: bool, lean: bool = False) -> list[tuple[int, float, float]]:
        """`unprotected_cells` after propagation; `low`/`high` are the known spans, widened in place."""
        failing = []
        for i, cell in enumerate(int(c) for c in cells):
            if requirement.sufficient(cell, low[i], high[i]):
                continue
            if self.reaching:
                for point in self.prove_by_reach(cell, requirement, float(low[i]), float(high[i])):
                    np.minimum(low, point[cells], out=low)
                    np.maximum(high, point[cells], out=high)
                if requirement.sufficient(cell, low[i], high[i]):
                    continue
            for maximise in (True, False):
                # A known point on the cell's implied bound is already the optimum: no LP needed.
                low_exact, high_exact = self.exact_by_points(cell, low[i], high[i])
                if high_exact if maximise else low_exact:
                    continue
                value = self.extreme(cell, maximise, requirement.cap(cell, low[i], high[i], maximise)
                                     if lean else None)
                if math.isinf(value):
                    high[i] = math.inf
                elif self.last_solution is not None:
                    np.minimum(low, self.last_solution[cells], out=low)
                    np.maximum(high, self.last_solution[cells], out=high)
                if requirement.sufficient(cell, low[i], high[i]):
                    break
            else:
                # Both extremes are exact now.
                if requirement.exempt(cell, low[i], high[i]):
                    self.zero_proven[cell] = True
                if not requirement.met(cell, low[i], high[i]):
                    failing.append((cell, float(low[i]), float(high[i])))
                    if first_only:
                        break
        return failing


def _no_solution(h: highspy.Highs, status: highspy.HighsModelStatus) -> TableInputError:
    """The attacker's model has no solution although the true table is one: the table is inconsistent."""
    return TableInputError(
        "de rekenkundige controle van de geheimhouding vond geen oplossing "
        f"({h.modelStatusToString(status)}); de tabel is intern niet consistent."
    )


_banner_lock = threading.Lock()
_banner_shown = False


def _first_highs_quietly() -> highspy.Highs:
    """Create a HiGHS object without its one-time licence banner on stdout (CLI output stays clean).

    HiGHS prints the banner from C++ when the first object of the process is made, before any option
    can switch output off; so stdout is pointed at /dev/null for that moment only.
    """
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):
        return highspy.Highs()
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        h = highspy.Highs()
        with contextlib.suppress(OSError, AttributeError, TypeError):
            ctypes.CDLL(None).fflush(None)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    return h


def new_highs() -> highspy.Highs:
    """A quiet, deterministic HiGHS object set up for many small re-solves."""
    global _banner_shown
    with _banner_lock:
        if _banner_shown:
            h = highspy.Highs()
        else:
            h = _first_highs_quietly()
            _banner_shown = True
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    # One thread and a fixed seed: the same table must always give the same suppression pattern.
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    # The models are re-solved many times with small changes: start from the previous basis
    # (no presolve) with the primal simplex, which keeps that basis feasible after a cost change.
    h.setOptionValue("presolve", "off")
    h.setOptionValue("simplex_strategy", 4)
    return h


def use_interior_point(h: highspy.Highs, vertex: bool = False) -> None:
    """Solve `h` with HiGHS's interior point method (with presolve) instead of the warm-started simplex.

    Without `vertex` the answer is an optimal point inside the optimal face (no crossover to a basis):
    enough for an extreme value and a proof point, and cheaper. With `vertex` it crosses over to a basic
    solution, for models whose answer must be sparse (the repair LP: which cells to hide).
    """
    h.setOptionValue("presolve", "on")
    h.setOptionValue("solver", "ipm")
    h.setOptionValue("run_crossover", "on" if vertex else "off")
    # Typically 20-50 iterations. Seen once: the duality gap stalled just above its tolerance and the
    # method iterated on for minutes; a count limit (not a time limit, which would make the outcome depend
    # on the machine) ends that, and run_robustly tries again in a more certain way.
    h.setOptionValue("ipm_iteration_limit", IPM_ITERATION_LIMIT)


def run_robustly(h: highspy.Highs) -> highspy.HighsModelStatus:
    """Solve; when the solver ends without an answer, try again in a more certain way.

    The attacker's model always has a solution (the true table), yet after many bound and cost changes
    HiGHS's warm-started primal simplex has been seen to end as 'infeasible' (Amsterdam-size tables). The
    second try clears the solver and uses the dual simplex; its status is the answer. The interior point
    method without crossover sometimes cannot certify its end point ('unknown', about one LP in ten with
    groups); it first gets a second try with crossover, which can.
    """
    h.run()
    status = h.getModelStatus()
    if status in (highspy.HighsModelStatus.kOptimal, *_UNBOUNDED):
        return status
    if h.getOptionValue("solver")[1] == "ipm" and h.getOptionValue("run_crossover")[1] == "off":
        h.setOptionValue("run_crossover", "on")
        try:
            h.run()
        finally:
            h.setOptionValue("run_crossover", "off")
        status = h.getModelStatus()
        if status in (highspy.HighsModelStatus.kOptimal, *_UNBOUNDED):
            return status
    strategy = h.getOptionValue("simplex_strategy")[1]
    solver = h.getOptionValue("solver")[1]
    h.clearSolver()
    h.setOptionValue("simplex_strategy", 1)
    h.setOptionValue("solver", "simplex")
    try:
        h.run()
        return h.getModelStatus()
    finally:
        h.setOptionValue("simplex_strategy", strategy)
        h.setOptionValue("solver", solver)


def _add_preference(h: highspy.Highs, cells: list[int], lower: np.ndarray, upper: np.ndarray) -> None:
    """A tiny cost (TIE_BREAK per unit) on each of `cells` leaving [lower, upper] (2 columns, 2 rows each)."""
    k = len(cells)
    first = h.getNumCol()
    inf = highspy.kHighsInf
    h.addVars(2 * k, np.zeros(2 * k), np.full(2 * k, inf))
    h.changeColsCost(2 * k, np.arange(first, first + 2 * k, dtype=np.int32), np.full(2 * k, TIE_BREAK))
    cells_ = np.asarray(cells, dtype=np.int32)
    above, below = np.arange(first, first + k), np.arange(first + k, first + 2 * k)
    add_pairs(h, cells_, above, -1.0, np.full(k, -inf), upper)
    add_pairs(h, cells_, below, 1.0, lower, np.full(k, inf))


def _column_bounds(h: highspy.Highs, cell: int, lower: float, upper: float) -> None:
    """Set one column's bounds (numpy infinities as HiGHS's)."""
    inf = highspy.kHighsInf
    h.changeColBounds(int(cell), -inf if math.isinf(lower) else float(lower),
                      inf if math.isinf(upper) else float(upper))


def _free_preferences(h: highspy.Highs, first: int, places: list[list[tuple[int, int]]]) -> None:
    """No cost any more on the tie-break columns at `places` (per cell: (position, k) of each preference
    that holds it; its columns are `first` + position and `first` + position + k)."""
    columns = [first + position + part * k for held in places for position, k in held for part in (0, 1)]
    if columns:
        h.changeColsCost(len(columns), np.asarray(columns, dtype=np.int32), np.zeros(len(columns)))


def add_rows(h: highspy.Highs, rows: list[LinearRow], offset: int) -> None:
    """Add the rows to a model whose cell columns start at column `offset`."""
    if not rows:
        return
    inf = highspy.kHighsInf
    lower = np.array([-inf if r.inequality else 0.0 for r in rows])
    upper = np.zeros(len(rows))
    starts, index, values = _stacked(rows)
    h.addRows(len(rows), lower, upper, len(index), starts.astype(np.int32), (index + offset).astype(np.int32),
              values)


def _stacked(rows: list[LinearRow]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows one after another: where each row starts, its cells, and its coefficients."""
    lengths = np.array([len(r.cells) for r in rows])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    cells = np.concatenate([r.cells for r in rows]).astype(np.int64)
    return starts, cells, np.concatenate([r.coefs for r in rows])


def add_pairs(h: highspy.Highs, x: np.ndarray, e: np.ndarray, e_coef: float, low: np.ndarray,
               high: np.ndarray) -> None:
    """Rows low <= x_i + e_coef * e_i <= high, one per pair (x_i, e_i)."""
    n = len(x)
    if n == 0:
        return
    starts = np.arange(0, 2 * n, 2, dtype=np.int32)
    index = np.empty(2 * n, dtype=np.int32)
    index[0::2] = x
    index[1::2] = e
    values = np.empty(2 * n)
    values[0::2] = 1.0
    values[1::2] = e_coef
    h.addRows(n, low.astype(np.float64), high.astype(np.float64), 2 * n, starts, index, values)
