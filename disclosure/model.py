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
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

import highspy
import numpy as np
import pandas as pd

from disclosure.rules import DisclosureRules
from schemas.indicators import (
    DOMAINS,
    EXCLUSIVE_DOMAIN_SETS,
    HOUSEHOLDS,
    INDICATORS,
    LEVELS,
    SERVICE_COUNT_INDICATORS,
    WITH_SERVICE,
    additive_relations,
    service_count_indicator,
)

STRUCTURE_COLUMNS = ("gebiedscode", "niveau", "bovenliggend", "indicator")
_EPS = 1e-6
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
    """Areas, cells and the linear rows that link them. Cell index = area * len(INDICATORS) + indicator."""

    codes: tuple[str, ...]
    levels: tuple[str, ...]
    parents: tuple[int | None, ...]
    rows: tuple[LinearRow, ...]

    @property
    def n_cells(self) -> int:
        return len(self.codes) * len(INDICATORS)

    def cell(self, area: int, indicator: str) -> int:
        return area * len(INDICATORS) + _INDICATOR_INDEX[indicator]

    def area_of(self, cell: int) -> int:
        return cell // len(INDICATORS)

    def indicator_of(self, cell: int) -> str:
        return INDICATORS[cell % len(INDICATORS)]

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


_INDICATOR_INDEX = {name: i for i, name in enumerate(INDICATORS)}


def _at_least_services(k: int) -> tuple[str, ...]:
    """Service-count indicators of households with k or more distinct voorzieningen."""
    top = max(k, len(SERVICE_COUNT_INDICATORS))
    return tuple(dict.fromkeys(service_count_indicator(n) for n in range(k, top + 1)))


def _area_rows(model_cell: Callable[[int, str], int], area: int) -> list[LinearRow]:
    rows = []
    for total, parts in additive_relations():
        cells = [model_cell(area, total), *(model_cell(area, p) for p in parts)]
        rows.append(_row(cells, [1.0] + [-1.0] * len(parts), False, area, f"som:{total}"))
    # Households with a voorziening are registered households.
    rows.append(_row([model_cell(area, WITH_SERVICE), model_cell(area, HOUSEHOLDS)], [1.0, -1.0], True, area,
                     "met_voorziening<=huishoudens"))
    # Every voorziening code belongs to one domain, so k domains need at least k distinct voorzieningen.
    for k in range(2, len(DOMAINS) + 1):
        domains = [name for name, dset in EXCLUSIVE_DOMAIN_SETS.items() if len(dset) >= k]
        services = _at_least_services(k)
        cells = [model_cell(area, n) for n in domains] + [model_cell(area, n) for n in services]
        rows.append(_row(cells, [1.0] * len(domains) + [-1.0] * len(services), True, area,
                         f"domeinen>={k}<=voorzieningen>={k}"))
    return rows


def _row(cells: list[int], coefs: list[float], inequality: bool, area: int, kind: str) -> LinearRow:
    return LinearRow(np.asarray(cells, dtype=np.int32), np.asarray(coefs, dtype=np.float64), inequality, area,
                     kind)


def build_table_model(frame: pd.DataFrame) -> tuple[TableModel, np.ndarray]:
    """Check the table's shape and build its model; also return the cell index of every input row."""
    missing = [c for c in STRUCTURE_COLUMNS if c not in frame.columns]
    if missing:
        raise TableInputError(f"tabel mist kolom(men): {', '.join(missing)}.")
    codes_col = frame["gebiedscode"].astype("string")
    if codes_col.isna().any():
        raise TableInputError("tabel heeft een lege gebiedscode.")
    areas = (
        frame.assign(gebiedscode=codes_col)
        .drop_duplicates(["gebiedscode", "niveau", "bovenliggend"])
        .reset_index(drop=True)
    )
    if areas["gebiedscode"].duplicated().any():
        code = areas.loc[areas["gebiedscode"].duplicated(), "gebiedscode"].iloc[0]
        raise TableInputError(f"gebied {code} heeft meer dan één niveau of bovenliggend gebied.")
    unknown_levels = sorted(set(areas["niveau"].astype(str)) - set(LEVELS))
    if unknown_levels:
        raise TableInputError(
            f"onbekend niveau {', '.join(unknown_levels)}; toegestaan: {', '.join(LEVELS)}."
        )
    # Coarse to fine, then by code: a stable order that does not depend on the input's row order.
    areas["_rank"] = areas["niveau"].map({lvl: i for i, lvl in enumerate(LEVELS)})
    areas = areas.sort_values(["_rank", "gebiedscode"], kind="stable").reset_index(drop=True)
    codes = tuple(str(c) for c in areas["gebiedscode"])
    levels = tuple(str(v) for v in areas["niveau"])
    position = {code: i for i, code in enumerate(codes)}
    parents: list[int | None] = []
    for code, level, parent in zip(codes, levels, areas["bovenliggend"], strict=True):
        if parent is None or (not isinstance(parent, str) and pd.isna(parent)):
            parents.append(None)
            continue
        parent = str(parent)
        if parent not in position:
            raise TableInputError(f"gebied {code}: bovenliggend gebied {parent} staat niet in de tabel.")
        if LEVELS.index(levels[position[parent]]) >= LEVELS.index(level):
            raise TableInputError(
                f"gebied {code}: bovenliggend gebied {parent} is niet van een grover niveau."
            )
        parents.append(position[parent])

    indicator_index = frame["indicator"].map(_INDICATOR_INDEX)
    if indicator_index.isna().any():
        name = frame.loc[indicator_index.isna(), "indicator"].iloc[0]
        raise TableInputError(f"onbekende indicator '{name}'; zie schemas/indicators.py.")
    area_index = codes_col.map(position)
    cells = area_index.to_numpy(dtype=np.int64) * len(INDICATORS) + indicator_index.to_numpy(dtype=np.int64)
    counts = np.bincount(cells, minlength=len(codes) * len(INDICATORS))
    if (counts != 1).any():
        cell = int(np.flatnonzero(counts != 1)[0])
        what = "ontbreekt" if counts[cell] == 0 else "staat er meer dan eens in"
        area, indicator = codes[cell // len(INDICATORS)], INDICATORS[cell % len(INDICATORS)]
        raise TableInputError(
            f"gebied {area}: indicator '{indicator}' {what}; "
            "elk gebied heeft elke indicator precies één keer."
        )

    def model_cell(area: int, indicator: str) -> int:
        return area * len(INDICATORS) + _INDICATOR_INDEX[indicator]

    rows: list[LinearRow] = []
    for area in range(len(codes)):
        rows.extend(_area_rows(model_cell, area))
    children: dict[int, list[int]] = {}
    for area, parent in enumerate(parents):
        if parent is not None:
            children.setdefault(parent, []).append(area)
    for parent, kids in sorted(children.items()):
        for indicator in INDICATORS:
            cells_ = [model_cell(parent, indicator), *(model_cell(k, indicator) for k in kids)]
            rows.append(_row(cells_, [1.0] + [-1.0] * len(kids), False, parent, f"gebiedssom:{indicator}"))
    return TableModel(codes, levels, tuple(parents), tuple(rows)), cells.astype(np.int64)


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


def integer_width(low: float, high: float) -> float:
    """Width of the integer range inside an LP interval; infinite when unbounded above."""
    if low > high:
        return -math.inf  # nothing known yet
    if high == math.inf:
        return math.inf
    return math.floor(high + _EPS) - math.ceil(low - _EPS)


def is_protected(low: float, high: float, width: int, min_high: float) -> bool:
    """The protection requirement on one interval: wide enough, and reaching up to `min_high`."""
    if integer_width(low, high) < width:
        return False
    return high == math.inf or math.floor(high + _EPS) >= min_high


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

    def exempt(self, cell: int, low: float, high: float) -> bool:
        """Met only because the cell is provably 0."""
        return self.met(cell, low, high) and not self.sufficient(cell, low, high)


class AttackerLP:
    """The attacker's feasible set as one HiGHS model, re-solved per cell with a warm start.

    Columns are the cells with the attacker's bounds; rows are the model's sums (and the inequalities
    selected by `use_row`). Every solution found is kept in a small pool: a cell whose pool values
    already span the required width needs no LP of its own.
    """

    def __init__(self, model: TableModel, lower: np.ndarray, upper: np.ndarray,
                 use_row: np.ndarray | None = None, pool_size: int = 2000) -> None:
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
        self._highs = new_highs()
        inf = highspy.kHighsInf
        n = model.n_cells
        self._highs.addVars(n, np.where(np.isinf(self.lower), -inf, self.lower),
                            np.where(np.isinf(self.upper), inf, self.upper))
        add_rows(self._highs, self.rows, 0)

    # -- bounds ------------------------------------------------------------------------------------

    def set_bounds(self, cells: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """Change what the attacker knows about `cells` (a cell hidden or published again)."""
        cells = np.asarray(cells, dtype=np.int32)
        if cells.size == 0:
            return
        self.lower[cells] = lower
        self.upper[cells] = upper
        # Points outside the new bounds are no longer possible. (Points that a widening would make
        # possible again are not revived; the pool only ever under-states what the attacker can do.)
        values = self._pool[:, cells]
        inside = (values >= self.lower[cells] - 1e-5) & (values <= self.upper[cells] + 1e-5)
        self._pool_valid &= inside.all(axis=1)
        inf = highspy.kHighsInf
        self._highs.changeColsBounds(int(cells.size), cells,
                                     np.where(np.isinf(self.lower[cells]), -inf, self.lower[cells]),
                                     np.where(np.isinf(self.upper[cells]), inf, self.upper[cells]))

    def prefer_within(self, cells: list[int], lower: np.ndarray, upper: np.ndarray) -> None:
        """Tie-break future solutions towards keeping `cells` inside [lower, upper].

        A tiny cost on leaving the interval does not change any cell's extreme value, but it makes the
        pool's points survive when one of these cells is published again (protect's pruning step).
        """
        if not cells:
            return
        h = self._highs
        k = len(cells)
        first = h.getNumCol()
        inf = highspy.kHighsInf
        h.addVars(2 * k, np.zeros(2 * k), np.full(2 * k, inf))
        h.changeColsCost(2 * k, np.arange(first, first + 2 * k, dtype=np.int32), np.full(2 * k, TIE_BREAK))
        cells_ = np.asarray(cells, dtype=np.int32)
        above, below = np.arange(first, first + k), np.arange(first + k, first + 2 * k)
        add_pairs(h, cells_, above, -1.0, np.full(k, -inf), np.asarray(upper, float))
        add_pairs(h, cells_, below, 1.0, np.asarray(lower, float), np.full(k, inf))

    # -- solving -----------------------------------------------------------------------------------

    def extreme(self, cell: int, maximise: bool) -> float:
        """The attacker's smallest or largest possible value of one cell (LP relaxation)."""
        h = self._highs
        h.changeColCost(int(cell), -1.0 if maximise else 1.0)
        try:
            h.run()
            status = h.getModelStatus()
            self.solves += 1
            if status in _UNBOUNDED:
                return math.inf if maximise else -math.inf
            if status != highspy.HighsModelStatus.kOptimal:
                raise TableInputError(
                    "de rekenkundige controle van de geheimhouding vond geen oplossing "
                    f"({h.modelStatusToString(status)}); de tabel is intern niet consistent."
                )
            values = np.asarray(h.getSolution().col_value, dtype=np.float64)[: self.model.n_cells]
            self.remember(values)
            return float(values[cell])
        finally:
            h.changeColCost(int(cell), 0.0)

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
            h.run()
            self.solves += 1
            if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
                self.remember(np.asarray(h.getSolution().col_value, dtype=np.float64)[: self.model.n_cells])
        h.changeColsCost(int(cells.size), cells, np.zeros(cells.size))

    def remember(self, values: np.ndarray) -> None:
        """Add a point known to be feasible (e.g. from a repair model) to the pool."""
        self._pool[self._pool_next] = values
        self._pool_valid[self._pool_next] = True
        self._pool_next = (self._pool_next + 1) % self._pool.shape[0]
        self.last_solution = values

    def pool_span(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For `cells`, the smallest and largest value over pool points feasible under the current bounds."""
        points = self._pool[np.flatnonzero(self._pool_valid)[:, None], cells[None, :]]
        if points.shape[0] == 0:
            return np.full(len(cells), np.inf), np.full(len(cells), -np.inf)
        return points.min(axis=0), points.max(axis=0)

    def unprotected_cells(self, cells: np.ndarray | list[int], requirement: Requirement,
                          first_only: bool = False) -> list[tuple[int, float, float]]:
        """Cells among `cells` whose exact interval fails `requirement`, each with that interval.

        LPs are solved only where the known points do not already prove the requirement. With
        `first_only`, stop at the first failing cell (cells are tried in the given order).
        """
        cells = np.asarray(cells, dtype=np.int64)
        low, high = self.pool_span(cells)
        failing = []
        for i, cell in enumerate(int(c) for c in cells):
            if requirement.sufficient(cell, low[i], high[i]):
                continue
            for maximise in (True, False):
                # A known point on the cell's own bound is already the optimum: no LP needed.
                if maximise and high[i] >= self.upper[cell] - 1e-9:
                    continue
                if not maximise and low[i] <= self.lower[cell] + 1e-9:
                    continue
                value = self.extreme(cell, maximise)
                if math.isinf(value):
                    high[i] = math.inf
                elif self.last_solution is not None:
                    np.minimum(low, self.last_solution[cells], out=low)
                    np.maximum(high, self.last_solution[cells], out=high)
                if requirement.sufficient(cell, low[i], high[i]):
                    break
            else:
                # Both extremes are exact now.
                if not requirement.met(cell, low[i], high[i]):
                    failing.append((cell, float(low[i]), float(high[i])))
                    if first_only:
                        break
        return failing


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


def add_rows(h: highspy.Highs, rows: list[LinearRow], offset: int) -> None:
    """Add the rows to a model whose cell columns start at column `offset`."""
    if not rows:
        return
    inf = highspy.kHighsInf
    lower = np.array([-inf if r.inequality else 0.0 for r in rows])
    upper = np.zeros(len(rows))
    lengths = np.array([len(r.cells) for r in rows])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int32)
    index = (np.concatenate([r.cells for r in rows]) + offset).astype(np.int32)
    values = np.concatenate([r.coefs for r in rows])
    h.addRows(len(rows), lower, upper, int(lengths.sum()), starts, index, values)


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
