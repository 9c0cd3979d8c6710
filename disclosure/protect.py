"""Protect a samenloop table: threshold, small areas, rounding and secondary suppression (contract §8).

`protect_table` takes the true counts per area and indicator and returns what may be published. The
secondary suppression reasons like the attacker of `disclosure.audit`: it keeps hiding extra cells
until no secret cell can be narrowed below `min_bandbreedte`, then publishes again every extra cell
that turns out not to be needed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import highspy
import numpy as np
import pandas as pd

from disclosure.model import (
    REASON_SECONDARY,
    REASON_SMALL_AREA,
    REASON_THRESHOLD,
    TIE_BREAK,
    AttackerLP,
    ProofPoints,
    Requirement,
    TableInputError,
    TableModel,
    add_pairs,
    add_rows,
    attacker_bounds,
    build_table_model,
    floor_value,
    model_layout,
    new_highs,
    run_robustly,
    secret_cells,
    use_interior_point,
)
from disclosure.rules import DisclosureRules
from schemas.indicators import DOMAIN_INDICATORS, HOUSEHOLDS, MULTI_DOMAIN, WITH_SERVICE

log = logging.getLogger(__name__)

OUTPUT_COLUMNS = (
    "gebiedscode", "niveau", "bovenliggend", "indicator", "aantal", "per_1000_huishoudens", "geheim", "reden",
)
_MAX_ROUNDS = 50
KEY_INDICATORS = frozenset({HOUSEHOLDS, WITH_SERVICE, MULTI_DOMAIN, *DOMAIN_INDICATORS.values()})
"""The figures the report leads with: secondary suppression sacrifices other cells before these."""
KEY_WEIGHT = 50.0
"""How much dearer a key figure is to hide than a detail cell of the same size (a preference, not a rule:
the requirement of docs/contract.md §8 is the same for every cell, and the audit checks it)."""
_EXPLORE_DIRECTIONS = 6


class DisclosureError(RuntimeError):
    """The table could not be made safe; nothing may be published (message in Dutch)."""


ProgressHook = Callable[[str, int, int], None]
"""Told (stage, done, total) at the start of each stage of secondary suppression and after each cell:
a stage name chosen here (Dutch) and counts, never a value of the table."""


def protect_table(counts: pd.DataFrame, rules: DisclosureRules,
                  progress: ProgressHook | None = None) -> pd.DataFrame:
    """Apply the disclosure rules to true counts; one output row per input row, in input order.

    Input columns: gebiedscode, niveau, bovenliggend, indicator, aantal (true count). Output columns:
    gebiedscode, niveau, bovenliggend, indicator, aantal (Int64, rounded, <NA> when secret),
    per_1000_huishoudens (Float64, one decimal, from the rounded counts), geheim (bool) and reden
    (None, 'drempel', 'klein_gebied' or 'secundair'). `reden` is for the analyst and the manifest counts;
    samenloop.csv does not carry it.
    """
    return protect_with_proofs(counts, rules, progress)[0]


def protect_with_proofs(counts: pd.DataFrame, rules: DisclosureRules, progress: ProgressHook | None = None
                        ) -> tuple[pd.DataFrame, ProofPoints | None]:
    """`protect_table`, and the points that hold the secret cells' known extremes (docs/disclosure.md §5).

    The points are None when nothing was protected secondarily. They depend only on the input and the
    rules (one process, deterministic), so the audit that starts from them counts the same LPs on every run.
    """
    model, row_cells = build_table_model(counts)
    truth = true_count_vector(counts, model, row_cells)
    use_row = knowledge_rows(model, truth)
    reasons = primary_reasons(model, truth, rules)
    proofs = None
    if rules.secundaire_onderdrukking:
        protection = _SecondarySuppression(model, truth, reasons, rules, use_row, progress)
        protection.run()
        proofs = ProofPoints(model_layout(model), protection.attacker.extreme_points())
    return _publication(counts, model, row_cells, truth, reasons, rules), proofs


def true_count_vector(counts: pd.DataFrame, model: TableModel, row_cells: np.ndarray) -> np.ndarray:
    """The true counts as one integer per model cell; checks they are whole and non-negative."""
    if "aantal" not in counts.columns:
        raise TableInputError("tabel mist kolom aantal.")
    values = pd.to_numeric(counts["aantal"], errors="coerce")
    if values.isna().any() or (values < 0).any() or (values % 1 != 0).any():
        raise TableInputError("kolom aantal moet overal een geheel getal van 0 of meer zijn.")
    truth = np.zeros(model.n_cells, dtype=np.int64)
    truth[row_cells] = values.to_numpy(dtype=np.int64)
    return truth


def knowledge_rows(model: TableModel, truth: np.ndarray) -> np.ndarray:
    """Which of the model's rows an attacker may rely on: all sums, and every inequality that holds.

    A sum that does not hold means the counts were aggregated wrongly; that stops the run.
    """
    violated = model.violated_rows(truth)
    broken_sums = [r for r in violated if not r.inequality]
    if broken_sums:
        row = broken_sums[0]
        group = model.group_of(row.area)
        raise TableInputError(
            f"de aantallen van gebied {model.codes[row.area]}{f' (groep {group})' if group else ''} "
            f"tellen niet op ({row.kind}); "
            f"{len(broken_sums)} som(men) kloppen niet. Controleer de aggregatie."
        )
    broken = {id(r) for r in violated}
    if violated:
        log.info("%d ongelijkheid/ongelijkheden gelden niet in deze tabel; niet gebruikt", len(violated))
    return np.array([id(r) not in broken for r in model.rows], dtype=bool)


def primary_reasons(model: TableModel, truth: np.ndarray, rules: DisclosureRules) -> np.ndarray:
    """The reason per cell to keep it secret before secondary suppression (None = publish)."""
    reasons = np.full(model.n_cells, None, dtype=object)
    for area in range(len(model.codes)):
        small = truth[model.cell(area, HOUSEHOLDS)] < rules.min_huishoudens_gebied
        for indicator in model.indicators:
            cell = model.cell(area, indicator)
            if small and indicator != HOUSEHOLDS:
                reasons[cell] = REASON_SMALL_AREA
            elif rules.is_below_threshold(int(truth[cell])):
                reasons[cell] = REASON_THRESHOLD
    return reasons


def rounded_counts(truth: np.ndarray, rules: DisclosureRules) -> np.ndarray:
    """Every true count rounded as it would be published."""
    base = rules.afronden_op
    return ((truth + base // 2) // base) * base


def rate_per_1000(count: int, households: int) -> float:
    """count / households * 1000, rounded half up to one decimal, computed exactly on integers."""
    tenths = (2 * count * 10_000 + households) // (2 * households)
    return tenths / 10


def hiding_weights(model: TableModel) -> np.ndarray:
    """Per cell, the factor on its cost of being hidden: KEY_WEIGHT for a key figure, else 1."""
    per_indicator = np.array([KEY_WEIGHT if name in KEY_INDICATORS else 1.0 for name in model.indicators])
    return np.tile(per_indicator, model.n_cells // len(per_indicator))


def _publication(counts: pd.DataFrame, model: TableModel, row_cells: np.ndarray, truth: np.ndarray,
                 reasons: np.ndarray, rules: DisclosureRules) -> pd.DataFrame:
    published = rounded_counts(truth, rules)
    secret = np.array([r is not None for r in reasons], dtype=bool)
    rates = np.full(model.n_cells, np.nan)
    for cell in np.flatnonzero(~secret):
        if model.indicator_of(int(cell)) == HOUSEHOLDS:
            continue
        households = model.cell(model.area_of(int(cell)), HOUSEHOLDS)
        if secret[households] or published[households] == 0:
            continue
        rates[cell] = rate_per_1000(int(published[cell]), int(published[households]))
    cells = row_cells
    aantal = pd.array(np.where(secret[cells], 0, published[cells]), dtype="Int64")
    aantal[secret[cells]] = pd.NA
    rate = pd.array(rates[cells], dtype="Float64")
    rate[np.isnan(rates[cells])] = pd.NA
    parents = counts["bovenliggend"].astype(object)
    result = pd.DataFrame(
        {
            "gebiedscode": counts["gebiedscode"].to_numpy(),
            "niveau": counts["niveau"].to_numpy(),
            "bovenliggend": pd.Series(parents.where(parents.notna(), None).to_numpy(), dtype=object,
                                      index=counts.index),
            "indicator": counts["indicator"].to_numpy(),
            "aantal": aantal,
            "per_1000_huishoudens": rate,
            "geheim": secret[cells],
            # object, not str: a published cell's reason is None
            "reden": pd.Series(reasons[cells], dtype=object, index=counts.index),
        },
        index=counts.index,
    )
    columns = list(OUTPUT_COLUMNS)
    if "groep" in counts.columns:
        # docs/contract.md §9: the group of a row; "" = all households.
        result["groep"] = counts["groep"].astype(object).where(counts["groep"].notna(), "").to_numpy()
        columns.insert(columns.index("niveau") + 1, "groep")
    return result[columns]


class _SecondarySuppression:
    """Grow the set of secret cells until every secret cell is wide enough, then shrink it again."""

    def __init__(self, model: TableModel, truth: np.ndarray, reasons: np.ndarray, rules: DisclosureRules,
                 use_row: np.ndarray, progress: ProgressHook | None = None) -> None:
        self.on_progress = progress or (lambda stage, done, total: None)
        self.model = model
        self.truth = truth
        self.reasons = reasons
        self.rules = rules
        self.use_row = use_row
        self.width = rules.min_bandbreedte
        self.published = rounded_counts(truth, rules)
        lower, upper = attacker_bounds(self.published, reasons, rules)
        self.attacker = AttackerLP(model, lower, upper, use_row)
        self.requirement = Requirement.for_cells(reasons, rules)
        self.neighbours = model.neighbours(use_row)
        self.hidden_for: dict[int, list[int]] = {}
        self._repair: _RepairLP | None = None
        self._push = self.attacker.interior
        """Capped pushes (`AttackerLP.prove_batch`) only where each exact LP is costly (the interior point
        model of tables with many secret cells). Elsewhere a push costs two to three exact LPs and proves
        fewer cells than those would (docs/disclosure.md §6i); the table is the same either way, since
        every decision rests on exact intervals."""

    def _unprotected(self, cells: np.ndarray | list[int], first_only: bool = False,
                     lean: bool = False) -> list[tuple[int, float, float]]:
        return self.attacker.unprotected_cells(cells, self.requirement, first_only, lean)

    def _required(self) -> np.ndarray:
        return secret_cells(self.reasons)

    def _hide(self, cells: list[int]) -> None:
        published_low, published_high = attacker_bounds(self.published[cells], self.reasons[cells],
                                                         self.rules)
        for cell in cells:
            self.reasons[cell] = REASON_SECONDARY
        lower, upper = attacker_bounds(self.published[cells], self.reasons[cells], self.rules)
        self.attacker.set_bounds(np.asarray(cells), lower, upper)
        self.attacker.prefer_within(cells, published_low, published_high)
        if self._repair is not None:
            self._repair.hide(cells)

    def _publish(self, cell: int) -> None:
        self.reasons[cell] = None
        lower, upper = self.rules.published_bounds(int(self.published[cell]))
        self.attacker.set_bounds(np.array([cell]), np.array([lower]), np.array([upper]))

    def run(self) -> None:
        # The true table is a point of the attacker's model: every cell's bottom is known from the start.
        self.attacker.remember(self.truth.astype(np.float64))
        self.attacker.explore(self._required(), directions=_EXPLORE_DIRECTIONS)
        for round_number in range(1, _MAX_ROUNDS + 1):
            unproven = self.attacker.unproven_cells(self._required(), self.requirement, self._push)
            if not unproven:
                break
            stage = f"beveiligen: geheime cellen narekenen (ronde {round_number})"
            if not self._repair_round([cell for cell, _, _ in unproven], stage):
                break  # no repair possible any more; reported below
        if self._failing(self._required(), first_only=True):
            raise DisclosureError(
                "de aanvullende geheimhouding vond geen veilige tabel; er wordt niets gepubliceerd. "
                "Overweeg een grover niveau (zonder buurten) of andere regels (min_bandbreedte)."
            )
        self._prune()

    def _failing(self, cells: np.ndarray | list[int],
                 first_only: bool = False) -> list[tuple[int, float, float]]:
        """The cells among `cells` that fail the requirement, with their exact intervals.

        Capped pushes prove most cells many at a time; only the cells they leave open get their own LPs.
        """
        unproven = self.attacker.unproven_cells(cells, self.requirement, self._push)
        if not unproven:
            return []
        return self._unprotected([c for c, _, _ in unproven], first_only)

    def _repair_round(self, unproven: list[int], stage: str) -> bool:
        """Hide extra cells for every cell that fails; False when nothing could be done for any of them.

        `unproven` are the cells the known points do not prove. Per cell (in a model with many secret
        cells): first a few `reach` solves towards the values that would prove it
        (`AttackerLP.prove_by_reach`); if they do not, its exact maximum (unless a known point sits on its
        upper bound), then, unless that with the known bottom proves the cell, its exact minimum; only
        when that interval fails the requirement (a cell proven 0 is exempt, docs/disclosure.md §3) a
        repair LP.
        """
        progress = False
        if self._repair is None:
            self._repair = _RepairLP(self.model, self.attacker, self.published, self.reasons, self.truth,
                                     self.rules)
        for done, cell in enumerate(unproven):
            self.on_progress(stage, done, len(unproven))
            known_low, known_high = self.attacker.pool_span(np.array([cell]))
            low, high = float(known_low[0]), float(known_high[0])
            if self.requirement.sufficient(cell, low, high):
                continue  # an earlier repair in this round already widened it
            if self.attacker.reaching:
                # Cheap feasibility solves towards the values that would prove it (no decision rests on
                # them: what they do not prove gets its exact extremes below).
                for point in self.attacker.prove_by_reach(cell, self.requirement, low, high):
                    low, high = min(low, float(point[cell])), max(high, float(point[cell]))
                if self.requirement.sufficient(cell, low, high):
                    continue
            # A known point on an implied bound (the cell's own or one that follows through the sums)
            # is that extreme; otherwise an LP finds it.
            low_exact, high_exact = self.attacker.exact_by_points(cell, low, high)
            if not high_exact:
                high = self.attacker.extreme(cell, maximise=True)
                if self.requirement.sufficient(cell, low, high):
                    continue  # the known bottom and the exact top already prove it: no minimum needed
            if not low_exact:
                low = self.attacker.extreme(cell, maximise=False)
            # Both extremes are exact now.
            if self.requirement.met(cell, low, high):
                if self.requirement.exempt(cell, low, high):
                    self.attacker.zero_proven[cell] = True
                continue
            # Reach up: to the threshold for a cell secret by the threshold rule, and to a wide interval
            # (from the exact minimum, so always a value).
            target = self.requirement.cap(cell, low, high, maximise=True)
            hide, point = self._repair.reach(cell, minimum=target)
            if hide is None:
                # Up is impossible: widen downwards instead (only ever for cells without a threshold target).
                hide, point = self._repair.reach(cell, maximum=floor_value(high) - self.width)
            if hide is None:
                continue
            if hide:
                progress = True
                self._hide(hide)
                for hidden in hide:
                    self.hidden_for.setdefault(hidden, []).append(cell)
            if point is not None:
                self.attacker.remember(point)
                progress = True
        self.on_progress(stage, len(unproven), len(unproven))
        return progress

    def _prune(self) -> None:
        """Publish again, largest first, every secondary cell the protection does not need."""
        secondary = [int(c) for c in np.flatnonzero(self.reasons == REASON_SECONDARY)]
        weight = hiding_weights(self.model)
        secondary.sort(key=lambda c: (-weight[c], -int(self.truth[c]), c))
        stage = "beveiligen: extra geheime cellen nalopen"
        self.on_progress(stage, 0, len(secondary))
        for done, cell in enumerate(secondary, start=1):
            self._trial(cell)
            self.on_progress(stage, done, len(secondary))

    def _likely(self, cell: int) -> list[int]:
        """The required cells most likely to fail when `cell` is published: the cells it was hidden for,
        then the cells it shares a sum with."""
        is_required = np.zeros(self.model.n_cells, dtype=bool)
        is_required[self._required()] = True
        return list(dict.fromkeys(
            [c for c in self.hidden_for.get(cell, []) if is_required[c]]
            + [int(c) for c in self.neighbours[cell] if is_required[c]]
        ))

    def _trial(self, cell: int) -> None:
        """Publish one secondary cell again, and hide it again when a required cell then fails."""
        before = self.attacker.snapshot()
        self._publish(cell)
        required = self._required()
        likely = self._likely(cell)
        # Often the sums alone show that a required cell is now too narrow (no LP). Otherwise a needed
        # cell shows at once in the cells it was hidden for (exact LPs, first failure stops). The rest are
        # mostly still proven by known points; the few that are not get exact LPs too (measured: capped
        # pushes cost more here than they save).
        if (self.attacker.fails_by_bounds(required, self.requirement) is not None
                or self._unprotected(likely, first_only=True, lean=True)
                or self._unprotected(required, first_only=True, lean=True)):
            self.reasons[cell] = REASON_SECONDARY
            lower, upper = attacker_bounds(self.published[[cell]], self.reasons[[cell]], self.rules)
            self.attacker.set_bounds(np.array([cell]), lower, upper)
            # Back to the bounds of before the trial: its points and its proven zeros count again.
            self.attacker.restore(before)
            # It stays secret for good: later proofs may lean on it rather than on cells still to be tried.
            self.attacker.release([cell])


class _RepairLP:
    """Find the cheapest extra cells to hide so that one secret cell can reach a target value.

    The model is the attacker's, except that every published non-zero cell may leave its rounding
    interval by paying its cost per unit; the cells that do so in the optimum are the ones to hide.
    Costs are the true counts, so small cells are hidden rather than large ones, and a key figure costs
    KEY_WEIGHT times more, so detail cells go first. Cells hidden earlier move for (almost) free.
    """

    def __init__(self, model: TableModel, attacker: AttackerLP, published: np.ndarray, reasons: np.ndarray,
                 truth: np.ndarray, rules: DisclosureRules) -> None:
        self.n = model.n_cells
        inf = highspy.kHighsInf
        self.candidates = np.array(
            [c for c in range(self.n) if reasons[c] is None and published[c] > 0], dtype=np.int64
        )
        self.slot = {int(c): k for k, c in enumerate(self.candidates)}
        k = len(self.candidates)
        self.k = k
        self.hidden = np.zeros(k, dtype=bool)
        lower = attacker.lower.copy()
        upper = attacker.upper.copy()
        # A candidate is free; its two rows below pull it back into its rounding interval at a cost.
        lower[self.candidates] = rules.smallest_secret
        upper[self.candidates] = np.inf
        self.x_lower = np.where(np.isinf(lower), -inf, lower)
        self.x_upper = np.where(np.isinf(upper), inf, upper)
        h = new_highs()
        # Between solves only the bounds of the target cell change: the dual simplex keeps its basis.
        h.setOptionValue("simplex_strategy", 1)
        if attacker.interior:
            use_interior_point(h, vertex=True)
        h.addVars(self.n, self.x_lower, self.x_upper)
        h.addVars(2 * k, np.zeros(2 * k), np.full(2 * k, inf))
        cost = (truth[self.candidates].astype(np.float64) + 1.0) * hiding_weights(model)[self.candidates]
        h.changeColsCost(2 * k, np.arange(self.n, self.n + 2 * k, dtype=np.int32), np.tile(cost, 2))
        add_rows(h, attacker.rows, 0)
        up = self.n + np.arange(k)
        add_pairs(h, self.candidates, up, -1.0, np.full(k, -inf), attacker.upper[self.candidates])
        add_pairs(h, self.candidates, up + k, 1.0, attacker.lower[self.candidates], np.full(k, inf))
        self.h = h

    def hide(self, cells: list[int]) -> None:
        """A hidden cell may leave its rounding interval for free (a tie-break cost keeps it near)."""
        columns = [self.n + part * self.k + self.slot[int(c)] for c in cells if int(c) in self.slot
                   for part in range(2)]
        for cell in cells:
            if int(cell) in self.slot:
                self.hidden[self.slot[int(cell)]] = True
        if columns:
            index = np.asarray(columns, dtype=np.int32)
            self.h.changeColsCost(len(index), index, np.full(len(index), TIE_BREAK))

    def reach(self, cell: int, minimum: float | None = None,
              maximum: float | None = None) -> tuple[list[int] | None, np.ndarray | None]:
        """Cells to hide so that `cell` can be >= minimum (or <= maximum), and a point that shows it.

        Returns (None, None) when no set of extra secret cells would do.
        """
        h = self.h
        low, high = self.x_lower[cell], self.x_upper[cell]
        new_low = max(low, minimum) if minimum is not None else low
        new_high = min(high, maximum) if maximum is not None else high
        if new_low > new_high:
            return None, None
        h.changeColBounds(int(cell), float(new_low), float(new_high))
        try:
            if run_robustly(h) != highspy.HighsModelStatus.kOptimal:
                return None, None
            values = np.asarray(h.getSolution().col_value, dtype=np.float64)
        finally:
            h.changeColBounds(int(cell), float(low), float(high))
        excess = values[self.n:].reshape(2, self.k).sum(axis=0)
        hide = [int(c) for c in self.candidates[(excess > 1e-6) & ~self.hidden]]
        return hide, values[: self.n]
