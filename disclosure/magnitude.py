"""Protecting cost cells, a magnitude table (docs/contract.md §12; docs/disclosure.md, "Kosten").

A cost cell is the sum of the amounts of the households of one area and group (§9; groep "" = all
households) with one indicator. It is secret (primary) when its count cell of the same area, group and
indicator in the protected samenloop table is secret or below the threshold, or when
it fails the p%-rule: the households outside the two largest then add too little to hide the largest.
A cell without households publishes 0. Published amounts are rounded to `kosten_afronden_op` euros.

Secondary suppression: the attacker knows every published cost cell up to its rounding, that amounts are
never negative, and the sums that link the cells (within an area: the combinations and `domeinen:1..3`
add up to `met_voorziening`, the combinations of 2+ domains and `domeinen:2..3` to `domeinen:2+`, the
combinations of k domains to `domeinen:k`; across areas: the areas of a level, wijken and each own
division alike, add up to their parent; across groups: the values of one kenmerk add up to groep "").
For every secret cell two linear programmes (HiGHS) find the lowest and highest amount the attacker
can still hold possible; both must lie at least `kosten_bescherming_procent` below and above the true
amount. While a secret cell fails, one more published cell that shares a sum with it is made secret.
`audit_costs` repeats the two LPs on the final publication, from the published cells alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
import pandas as pd

from disclosure.model import new_highs, run_robustly
from disclosure.protect import DisclosureError
from disclosure.rules import DisclosureRules
from schemas.indicators import COMBINATION_INDICATORS, EXCLUSIVE_DOMAIN_SETS, MULTI_DOMAIN, WITH_SERVICE

DOMAIN_COUNT = ("domeinen:1", "domeinen:2", "domeinen:3")
REASON_COUNT = "aantal"
REASON_DOMINANCE = "p_procent"
REASON_SECONDARY = "secundair"
_TOLERANCE = 1e-6


class CostDisclosureError(DisclosureError):
    """The cost table could not be made safe; nothing may be published (message in Dutch).

    A DisclosureError: the run stops with the message, as it does for counts it cannot protect.
    """


def cost_relations() -> list[tuple[str, tuple[str, ...]]]:
    """Sums between cost indicators within one area: (total, parts) with total == sum(parts)."""
    by_size = {k: tuple(name for name, dset in EXCLUSIVE_DOMAIN_SETS.items() if len(dset) == k)
               for k in (1, 2, 3)}
    return [
        (WITH_SERVICE, tuple(EXCLUSIVE_DOMAIN_SETS)),
        (WITH_SERVICE, DOMAIN_COUNT),
        (MULTI_DOMAIN, tuple(name for name, _ in COMBINATION_INDICATORS)),
        (MULTI_DOMAIN, DOMAIN_COUNT[1:]),
        *((f"domeinen:{k}", by_size[k]) for k in (1, 2, 3)),
    ]


@dataclass(frozen=True)
class CostInterval:
    """What the attacker can still hold possible for one secret cost cell (euros)."""

    gebiedscode: str
    groep: str
    indicator: str
    laagst: float
    hoogst: float  # inf when unbounded
    voldoet: bool


KEY_COLUMNS = ("gebiedscode", "groep", "indicator")
"""A cost cell's identity: area, group and indicator (a table without `groep` is all households)."""


def with_groups(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with a `groep` column ("" for all households when it has none, and for empty values)."""
    groups = frame["groep"].astype("object") if "groep" in frame.columns else pd.Series("", index=frame.index)
    return frame.assign(groep=groups.where(groups.notna(), "").astype(str))


def _structure(cells: pd.DataFrame) -> list[tuple[int, list[int]]]:
    """The sums of the table as (total cell, part cells), cell = row position in `cells`: the indicator
    sums within an area and group, areas of one level to their parent, kenmerk values to groep ""."""
    cells = with_groups(cells).reset_index(drop=True)
    keys = zip(cells["gebiedscode"], cells["groep"], cells["indicator"], strict=True)
    position = {key: n for n, key in enumerate(keys)}
    sums: list[tuple[int, list[int]]] = []
    for area, group in cells[["gebiedscode", "groep"]].drop_duplicates().itertuples(index=False):
        for total, parts in cost_relations():
            if (area, group, total) in position and all((area, group, p) in position for p in parts):
                sums.append((position[(area, group, total)], [position[(area, group, p)] for p in parts]))
    with_parent = cells[cells["bovenliggend"].notna()]
    for (parent, _, group, indicator), rows in with_parent.groupby(
            ["bovenliggend", "niveau", "groep", "indicator"]).groups.items():
        if (parent, group, indicator) in position:
            sums.append((position[(parent, group, indicator)], [int(r) for r in rows]))
    grouped = cells[cells["groep"] != ""]
    kenmerk = grouped["groep"].str.split("=", n=1).str[0]
    for (area, _, indicator), rows in grouped.groupby(["gebiedscode", kenmerk, "indicator"]).groups.items():
        if (area, "", indicator) in position:
            sums.append((position[(area, "", indicator)], [int(r) for r in rows]))
    return sums


class _Attacker:
    """The attacker's feasible amounts as one HiGHS model: bounds per cell, the sums as rows."""

    def __init__(self, n: int, sums: list[tuple[int, list[int]]], lower: np.ndarray, upper: np.ndarray):
        self.highs = new_highs()
        self.n = n
        inf = highspy.kHighsInf
        self.highs.addVars(n, lower, np.where(np.isinf(upper), inf, upper))
        for total, parts in sums:
            index = np.array([total, *parts], dtype=np.int32)
            values = np.array([1.0] + [-1.0] * len(parts))
            self.highs.addRow(0.0, 0.0, len(index), index, values)

    def set_bounds(self, cell: int, low: float, high: float) -> None:
        self.highs.changeColBounds(cell, low, highspy.kHighsInf if np.isinf(high) else high)

    def interval(self, cell: int) -> tuple[float, float]:
        sense = highspy.ObjSense
        return self._optimum(cell, sense.kMinimize)[0], self._optimum(cell, sense.kMaximize)[0]

    def _optimum(self, cell: int, sense) -> tuple[float, np.ndarray | None]:
        self.highs.changeColCost(cell, 1.0)
        self.highs.changeObjectiveSense(sense)
        # The true table is always feasible: a primal simplex that ends elsewhere (seen after many bound
        # changes) is followed by the dual simplex from scratch.
        status = run_robustly(self.highs)
        value = float(self.highs.getInfo().objective_function_value)  # read before the model changes
        optimal = status == highspy.HighsModelStatus.kOptimal
        solution = np.array(self.highs.getSolution().col_value) if optimal else None
        self.highs.changeColCost(cell, 0.0)
        if status in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible):
            return np.inf, None
        if status != highspy.HighsModelStatus.kOptimal:
            raise CostDisclosureError("de beveiliging van de kosten kon niet worden doorgerekend "
                                      "(het model heeft geen oplossing)")
        return value, solution


def round_amount(euros: np.ndarray, rules: DisclosureRules) -> np.ndarray:
    """Round non-negative euros to the nearest multiple of `kosten_afronden_op`, halves up."""
    base = rules.kosten_afronden_op
    return np.floor(np.asarray(euros, dtype=np.float64) / base + 0.5) * base


def published_bounds(published: np.ndarray, rules: DisclosureRules) -> tuple[np.ndarray, np.ndarray]:
    """The true amounts (euros) possible behind published rounded amounts; amounts are never negative."""
    half = rules.kosten_afronden_op / 2
    return np.maximum(published - half, 0.0), published + half


def fails_p_rule(total: np.ndarray, largest: np.ndarray, second: np.ndarray,
                 rules: DisclosureRules) -> np.ndarray:
    """The p%-rule: the rest beyond the two largest amounts is less than p% of the largest."""
    return (total - largest - second) < rules.kosten_p_procent / 100 * largest


def primary_reasons(cells: pd.DataFrame, counts: pd.DataFrame, rules: DisclosureRules) -> np.ndarray:
    """Per cost cell its primary reason to be secret (REASON_COUNT, REASON_DOMINANCE) or None.

    `cells`: gebiedscode, groep, indicator, huishoudens, bedrag, grootste, tweede (eurocent). `counts`: the
    protected samenloop table (gebiedscode, groep, indicator, geheim). A cell whose indicator samenloop.csv
    does not carry is judged on its true number of households alone.
    """
    merged = with_groups(cells)[list(KEY_COLUMNS)].merge(
        with_groups(counts)[[*KEY_COLUMNS, "geheim"]], how="left", on=list(KEY_COLUMNS))
    count_secret = merged["geheim"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    households = cells["huishoudens"].to_numpy()
    by_count = (households > 0) & (count_secret | (households < rules.min_publiceerbaar))
    by_p = (households > 0) & fails_p_rule(cells["bedrag"].to_numpy(), cells["grootste"].to_numpy(),
                                           cells["tweede"].to_numpy(), rules)
    return np.where(by_count, REASON_COUNT, np.where(by_p, REASON_DOMINANCE, None)).astype(object)


def _required(truth: float, rules: DisclosureRules) -> tuple[float, float]:
    share = rules.kosten_bescherming_procent / 100
    return truth * (1 - share), truth * (1 + share)


def _protected(interval: tuple[float, float], truth: float, rules: DisclosureRules) -> bool:
    low, high = _required(truth, rules)
    tolerance = _TOLERANCE * max(1.0, truth)
    return interval[0] <= low + tolerance and interval[1] >= high - tolerance


def _neighbours(n: int, sums: list[tuple[int, list[int]]]) -> list[set[int]]:
    """Per cell the cells it shares a sum with."""
    result: list[set[int]] = [set() for _ in range(n)]
    for total, parts in sums:
        members = {total, *parts}
        for cell in members:
            result[cell] |= members - {cell}
    return result


def _attacker_bounds(published: np.ndarray, secret: np.ndarray, empty: np.ndarray,
                     rules: DisclosureRules) -> tuple[np.ndarray, np.ndarray]:
    lower, upper = published_bounds(published, rules)
    lower, upper = np.where(secret, 0.0, lower), np.where(secret, np.inf, upper)
    return np.where(empty, 0.0, lower), np.where(empty, 0.0, upper)  # no households: exactly 0


def _candidate(cell: int, neighbours: list[set[int]], totals: np.ndarray, truth: np.ndarray,
               secret: np.ndarray, empty: np.ndarray, rules: DisclosureRules) -> int | None:
    """The published cell to hide for `cell`: one that shares a sum with it, else with a secret cell
    linked to it through sums of secret cells (see `_pick`)."""
    room = truth[cell] * rules.kosten_bescherming_procent / 100 + rules.kosten_afronden_op
    seen, frontier = {cell}, [cell]
    while frontier:
        options = [c for f in frontier for c in neighbours[f] if not secret[c] and not empty[c]]
        if options:
            return _pick(options, totals, truth, room)
        frontier = [c for f in frontier for c in neighbours[f] if secret[c] and c not in seen]
        seen.update(frontier)
    return None


def _pick(options: list[int], totals: np.ndarray, truth: np.ndarray, room: float) -> int:
    """Totals last (hiding a total costs more, and it then needs protection of its own); then the smallest
    cell that gives enough room, else the largest."""
    fewest = min(totals[c] for c in options)
    ranked = sorted((float(truth[c]), c) for c in set(options) if totals[c] == fewest)
    return next((c for value, c in ranked if value >= room), ranked[-1][1])


def suppress(cells: pd.DataFrame, reasons: np.ndarray, rules: DisclosureRules) -> np.ndarray:
    """Add secondary reasons until every secret cell keeps its protection range; the reasons per cell.

    Cells are checked one at a time: hiding a cell only widens what the attacker holds possible, so a cell
    found protected stays protected, and a failing cell is checked again after each cell hidden for it.
    Afterwards every secondary cell, largest first, is published again when all secret cells stay safe.
    """
    truth = cells["bedrag"].to_numpy() / 100
    empty = cells["huishoudens"].to_numpy() == 0
    reasons = reasons.copy()
    secret = np.array([r is not None for r in reasons])
    published = round_amount(truth, rules)
    sums = _structure(cells)
    neighbours = _neighbours(len(cells), sums)
    totals = np.bincount([total for total, _ in sums], minlength=len(cells))
    attacker = _Attacker(len(cells), sums, *_attacker_bounds(published, secret, empty, rules))
    queue = sorted((int(c) for c in np.flatnonzero(secret)), key=lambda c: truth[c])
    while queue:
        cell = queue[0]
        if _protected(attacker.interval(cell), float(truth[cell]), rules):
            queue.pop(0)
            continue
        hide = _candidate(cell, neighbours, totals, truth, secret, empty, rules)
        if hide is None:
            raise CostDisclosureError(_unsafe_message(cells, [cell]))
        secret[hide], reasons[hide] = True, REASON_SECONDARY
        attacker.set_bounds(hide, 0.0, np.inf)
        # The hidden cell first: while its own sums give it away it adds no room for `cell` either.
        queue.insert(0, hide)
    _prune(attacker, truth, neighbours, secret, reasons, published, rules)
    return reasons


class _Witnesses:
    """Per secret cell two feasible tables of the attacker: one at or below, one at or above its range.

    A table is the mix λ·x + (1−λ)·truth of an LP optimum x and the true table (both feasible, so the mix
    is too) with the smallest λ that still reaches the end of the range: as close to the truth as it can
    be. Publishing a cell again only narrows the attacker's model; a secret cell whose two tables both
    keep that cell within its published bounds stays protected without solving its LPs again.
    """

    def __init__(self, attacker: _Attacker, truth: np.ndarray, rules: DisclosureRules):
        self.attacker, self.truth, self.rules = attacker, truth, rules
        self.tables: dict[int, tuple[np.ndarray | None, np.ndarray | None]] = {}

    def protected(self, cell: int) -> bool:
        sense = highspy.ObjSense
        (low, at_low), (high, at_high) = (self.attacker._optimum(cell, sense.kMinimize),
                                          self.attacker._optimum(cell, sense.kMaximize))
        ok = _protected((low, high), float(self.truth[cell]), self.rules)
        if ok:
            wanted_low, wanted_high = _required(float(self.truth[cell]), self.rules)
            self.tables[cell] = (self._mix(cell, at_low, wanted_low), self._mix(cell, at_high, wanted_high))
        return ok

    def _mix(self, cell: int, optimum: np.ndarray | None, wanted: float) -> np.ndarray | None:
        if optimum is None:
            return None
        gap = float(optimum[cell] - self.truth[cell])
        share = 1.0 if abs(gap) < _TOLERANCE else min(1.0, (wanted - self.truth[cell]) / gap)
        return share * optimum + (1.0 - share) * self.truth

    def still_protected(self, cell: int, changed: int, low: float, high: float) -> bool:
        """After `changed` is published again within [low, high]: cheap when both tables still hold."""
        if self.truth[cell] == 0:
            return True  # 15% of nothing: any range that holds the truth will do
        tables = self.tables.get(cell, (None, None))
        if all(t is not None and low - _TOLERANCE <= t[changed] <= high + _TOLERANCE for t in tables):
            return True
        return self.protected(cell)


def _prune(attacker: _Attacker, truth: np.ndarray, neighbours: list[set[int]], secret: np.ndarray,
           reasons: np.ndarray, published: np.ndarray, rules: DisclosureRules) -> None:
    """Publish again each secondary cell (largest first) whose publication leaves every secret cell safe."""
    lower, upper = published_bounds(published, rules)
    witnesses = _Witnesses(attacker, truth, rules)
    for cell in np.flatnonzero(secret):
        witnesses.protected(int(cell))
    for cell in sorted(np.flatnonzero(reasons == REASON_SECONDARY), key=lambda c: -truth[c]):
        cell = int(cell)
        attacker.set_bounds(cell, float(lower[cell]), float(upper[cell]))
        secret[cell] = False
        # The cells that share a sum with it first: they are the ones its publication can expose.
        others = sorted((int(c) for c in np.flatnonzero(secret)), key=lambda c: c not in neighbours[cell])
        if all(witnesses.still_protected(c, cell, float(lower[cell]), float(upper[cell])) for c in others):
            reasons[cell] = None
            continue
        # Hidden again: the model widens back, so every table found meanwhile stays feasible.
        secret[cell] = True
        attacker.set_bounds(cell, 0.0, np.inf)


def _label(cells: pd.DataFrame, cell: int) -> str:
    group = str(cells["groep"].iat[cell]) if "groep" in cells.columns else ""
    where = f"{cells['gebiedscode'].iat[cell]}{f' (groep {group})' if group else ''}"
    return f"{where} {cells['indicator'].iat[cell]}"


def _unsafe_message(cells: pd.DataFrame, failing: list[int]) -> str:
    names = ", ".join(_label(cells, c) for c in failing[:10])
    return (f"de kosten kunnen niet veilig gepubliceerd worden: {len(failing)} geheime kostencel(len) "
            f"blijven via gepubliceerde cijfers en hun sommen te nauwkeurig terug te rekenen ({names}); "
            "er is niets geschreven")


TABLE_COLUMNS = ("gebiedscode", "niveau", "groep", "bovenliggend", "indicator", "bedrag", "per_huishouden",
                 "geheim", "reden")


def protect_costs(cells: pd.DataFrame, counts: pd.DataFrame, rules: DisclosureRules) -> pd.DataFrame:
    """The publishable cost table: one row per cell of `cells` (linkage/costs.py), in its order.

    Columns TABLE_COLUMNS: gebiedscode, niveau, groep ("" = all households), bovenliggend, indicator,
    bedrag (Int64 euros, rounded, <NA> when secret), per_huishouden (Int64 euros: published bedrag /
    published count of the same area, group and indicator in `counts`, the protected samenloop table;
    <NA> when either is missing or the count is 0), geheim, reden.
    Raises CostDisclosureError when no safe pattern is found, or the audit finds a cell unprotected.
    """
    cells = with_groups(cells).reset_index(drop=True)
    reasons = suppress(cells, primary_reasons(cells, counts, rules), rules)
    secret = np.array([r is not None for r in reasons])
    amounts = pd.array(round_amount(cells["bedrag"].to_numpy() / 100, rules).astype(np.int64), dtype="Int64")
    amounts[secret] = pd.NA
    table = cells[["gebiedscode", "niveau", "groep", "bovenliggend", "indicator"]].assign(
        bedrag=amounts, geheim=secret, reden=pd.Series(reasons, dtype=object))
    table["per_huishouden"] = _per_household(table, counts)
    failing = [i for i in audit_costs(table, cells, rules) if not i.voldoet]
    if failing:
        keys = zip(cells["gebiedscode"], cells["groep"], cells["indicator"], strict=True)
        where = {key: n for n, key in enumerate(keys)}
        cells_failing = [where[(i.gebiedscode, i.groep, i.indicator)] for i in failing]
        raise CostDisclosureError(_unsafe_message(cells, cells_failing))
    return table[list(TABLE_COLUMNS)]


def _per_household(table: pd.DataFrame, counts: pd.DataFrame) -> pd.Series:
    counts = with_groups(counts)
    published = counts.loc[~counts["geheim"].astype(bool), [*KEY_COLUMNS, "aantal"]]
    merged = table[[*KEY_COLUMNS, "bedrag"]].merge(published, how="left", on=list(KEY_COLUMNS))
    count = merged["aantal"].astype("Float64")
    ratio = (merged["bedrag"].astype("Float64") / count.where(count > 0)).round(0)
    return pd.Series(ratio.astype("Int64").to_numpy(), index=table.index)


def audit_costs(table: pd.DataFrame, cells: pd.DataFrame, rules: DisclosureRules) -> list[CostInterval]:
    """Two LPs per secret cost cell, from the published amounts (± rounding), the sums and amounts ≥ 0.

    `table` is the publication (`protect_costs`), `cells` the true cells in the same order; a cell
    `voldoet` when the attacker's range reaches `kosten_bescherming_procent` below and above the truth.
    """
    table = with_groups(table)
    secret = table["geheim"].to_numpy(dtype=bool)
    published = table["bedrag"].fillna(0).to_numpy(dtype=np.float64)
    empty = cells["huishoudens"].to_numpy() == 0
    truth = cells["bedrag"].to_numpy() / 100
    attacker = _Attacker(len(table), _structure(cells), *_attacker_bounds(published, secret, empty, rules))
    intervals = []
    for cell in np.flatnonzero(secret):
        low, high = attacker.interval(int(cell))
        intervals.append(CostInterval(str(table["gebiedscode"].iat[cell]), str(table["groep"].iat[cell]),
                                      str(table["indicator"].iat[cell]), low, high,
                                      _protected((low, high), float(truth[cell]), rules)))
    return intervals
