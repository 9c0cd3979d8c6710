"""Audit a protected table from the attacker's side (docs/disclosure.md, "De controle").

The attacker sees the published table and knows the rules and every sum that links the cells. For each
secret cell the audit solves two linear programmes, the smallest and the largest value the cell can have,
and checks that interval against the protection requirement. Intervals stay inside `AuditResult`; the
manifest gets counts only.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from disclosure.model import (
    REASON_SMALL_AREA,
    REASONS,
    AttackerLP,
    ProofPoints,
    Requirement,
    TableInputError,
    attacker_bounds,
    build_table_model,
    integer_width,
    model_layout,
    secret_cells,
    tolerance,
)
from disclosure.protect import knowledge_rows, rounded_counts, true_count_vector
from disclosure.rules import DisclosureRules
from schemas.indicators import HOUSEHOLDS

AUDIT_COLUMNS = ("gebiedscode", "niveau", "bovenliggend", "indicator", "aantal", "geheim", "reden")


@dataclass(frozen=True)
class CellInterval:
    """What the attacker can derive about one secret cell (internal: never log or publish these)."""

    gebiedscode: str
    indicator: str
    reden: str
    laag: float
    hoog: float
    beschermd: bool
    vrijgesteld: bool = False
    groep: str = ""
    exact: bool = True
    """False when the interval is spanned by two known points only (it proves the requirement; the
    attacker's own interval may be wider)."""

    @property
    def breedte(self) -> float:
        return integer_width(self.laag, self.hoog)


@dataclass(frozen=True)
class AuditResult:
    """Outcome of `audit_protection`; `as_manifest()` is the part that may leave the analyst."""

    passed: bool
    required_width: int
    required_top: int
    cells_checked: int
    cells_exempt: int
    failures: int
    min_width: float | None
    rule_violations: int
    truth_outside_interval: int
    published_share_of_large_cells: float | None
    lp_solves: int
    seconds: float
    intervals: tuple[CellInterval, ...] = field(default=(), repr=False)

    def as_manifest(self) -> dict[str, object]:
        """Counts for manifest.json: nothing about an individual cell."""
        share = self.published_share_of_large_cells
        return {
            "geslaagd": self.passed,
            "methode": ("lineaire programmering (HiGHS): per geheime cel twee toegestane tabellen die de "
                        "bandbreedte bewijzen, anders de kleinste en grootste mogelijke waarde"),
            "vereiste_bandbreedte": self.required_width,
            "drempelcellen_moeten_kunnen_reiken_tot": self.required_top,
            "cellen_gecontroleerd": self.cells_checked,
            "cellen_aantoonbaar_nul": self.cells_exempt,
            "cellen_onvoldoende_beschermd": self.failures,
            "kleinste_bandbreedte": None if self.min_width is None or math.isinf(self.min_width)
            else int(self.min_width),
            "regelovertredingen": self.rule_violations,
            "werkelijke_waarde_buiten_interval": self.truth_outside_interval,
            "aandeel_grote_cellen_gepubliceerd": None if share is None else round(share, 4),
            "lp_oplossingen": self.lp_solves,
        }


def audit_protection(protected: pd.DataFrame, rules: DisclosureRules,
                     true_counts: pd.DataFrame | None = None,
                     proofs: ProofPoints | None = None) -> AuditResult:
    """Check that no secret cell of `protected` (output of `protect_table`) can be narrowed down.

    With `true_counts` (the input of `protect_table`) the audit also checks the primary rules against the
    truth, that every true value lies inside its interval, and measures the share of cells with a true
    count at or above the threshold that is published.

    `proofs` (from `protect_with_proofs`) are candidate points: each one that passes the audit's own check
    against its own model (every bound and every sum, tolerance 1e-6) counts as a known point; the others
    are ignored. A proof is a point, however it was found, so the audit stays independent of the
    protection; it only needs fewer LPs.
    """
    started = time.perf_counter()
    missing = [c for c in AUDIT_COLUMNS if c not in protected.columns]
    if missing:
        raise TableInputError(f"beveiligde tabel mist kolom(men): {', '.join(missing)}.")
    model, row_cells = build_table_model(protected)
    secret = np.zeros(model.n_cells, dtype=bool)
    secret[row_cells] = protected["geheim"].astype(bool).to_numpy()
    reasons = np.full(model.n_cells, None, dtype=object)
    reasons[row_cells] = [r if g else None
                          for r, g in zip(protected["reden"], protected["geheim"], strict=True)]
    if any(reasons[c] not in REASONS for c in np.flatnonzero(secret)):
        raise TableInputError(f"elke geheime cel heeft een reden: {', '.join(REASONS)}.")
    published = np.zeros(model.n_cells, dtype=np.int64)
    shown = ~protected["geheim"].astype(bool).to_numpy()
    if protected.loc[shown, "aantal"].isna().any():
        raise TableInputError("een niet-geheime cel heeft geen aantal.")
    published[row_cells[shown]] = protected.loc[shown, "aantal"].astype("int64").to_numpy()

    truth = None
    use_row = np.ones(len(model.rows), dtype=bool)
    if true_counts is not None:
        truth = _aligned_truth(true_counts, model)
        use_row = knowledge_rows(model, truth)
    lower, upper = attacker_bounds(published, reasons, rules)
    attacker = AttackerLP(model, lower, upper, use_row)
    _remember_proofs(attacker, proofs)
    cells = secret_cells(reasons)
    requirement = Requirement.for_cells(reasons, rules)

    intervals = _intervals(attacker, model, cells, reasons, requirement)
    failures = sum(not i.beschermd for i in intervals)
    widths = [i.breedte for i in intervals if not i.vrijgesteld]

    rule_violations = 0
    outside = 0
    share = None
    if truth is not None:
        rule_violations = _rule_violations(model, truth, published, secret, reasons, rules)
        for interval, cell in zip(intervals, cells, strict=True):
            # The true table must be a point of the attacker's model: within the cell's bounds, and inside
            # an exact interval (a proven interval may not reach the true value; the bounds must).
            slack = tolerance(float(truth[cell]))
            within = lower[cell] - slack <= truth[cell] <= upper[cell] + slack
            inside = interval.laag - slack <= truth[cell] <= interval.hoog + slack
            if not within or (interval.exact and not inside):
                outside += 1
        large = truth >= rules.min_publiceerbaar
        share = float((~secret[large]).mean()) if large.any() else None

    return AuditResult(
        passed=failures == 0 and rule_violations == 0 and outside == 0,
        required_width=rules.min_bandbreedte,
        required_top=rules.min_publiceerbaar,
        cells_checked=len(intervals),
        cells_exempt=sum(i.vrijgesteld for i in intervals),
        failures=failures,
        min_width=min(widths) if widths else None,
        rule_violations=rule_violations,
        truth_outside_interval=outside,
        published_share_of_large_cells=share,
        lp_solves=attacker.solves + attacker.batch_solves + attacker.reach_solves,
        seconds=time.perf_counter() - started,
        intervals=tuple(intervals),
    )


def _remember_proofs(attacker: AttackerLP, proofs: ProofPoints | None) -> None:
    """Keep every given point of the same table that passes the audit's own check; ignore the others."""
    if proofs is None or proofs.layout != model_layout(attacker.model):
        return
    for point in proofs.points:
        if attacker.is_feasible(point):
            attacker.remember(point)


def _intervals(attacker: AttackerLP, model, cells: np.ndarray, reasons: np.ndarray,
               requirement: Requirement) -> list[CellInterval]:
    """Per secret cell: a span proven by known points, or else its exact interval."""
    intervals = []
    seen_low, seen_high = attacker.pool_span(np.arange(model.n_cells))
    # Capped pushes prove most cells many at a time (a pair of feasible points at least the required
    # width apart); every other cell gets its exact interval.
    proven_low, proven_high = seen_low[cells].copy(), seen_high[cells].copy()
    attacker.prove_batch(cells, requirement, proven_low, proven_high)
    for k, cell in enumerate(int(c) for c in cells):
        if requirement.sufficient(cell, proven_low[k], proven_high[k]):
            low, high, exact = float(proven_low[k]), float(proven_high[k]), False
        else:
            low, high = _exact_interval(attacker, cell, seen_low, seen_high)
            exact = True
        intervals.append(CellInterval(
            gebiedscode=model.codes[model.area_of(cell)], indicator=model.indicator_of(cell),
            reden=str(reasons[cell]), laag=low, hoog=high,
            beschermd=requirement.met(cell, low, high), vrijgesteld=requirement.exempt(cell, low, high),
            groep=model.group_of(model.area_of(cell)), exact=exact,
        ))
    return intervals


def _exact_interval(attacker: AttackerLP, cell: int, seen_low: np.ndarray,
                    seen_high: np.ndarray) -> tuple[float, float]:
    """Smallest and largest value of one cell by LP.

    An LP is skipped only when a known feasible point already sits on a bound implied by the cells' bounds
    and the sums (`AttackerLP.exact_by_points`), where the optimum is certain. `seen_low`/`seen_high` are
    updated in place with every new point.
    """
    result = []
    exact = attacker.exact_by_points(cell, float(seen_low[cell]), float(seen_high[cell]))
    for maximise, known in ((False, exact[0]), (True, exact[1])):
        if known:
            result.append(float(seen_high[cell] if maximise else seen_low[cell]))
            continue
        value = attacker.extreme(cell, maximise)
        result.append(value)
        if not math.isinf(value) and attacker.last_solution is not None:
            np.minimum(seen_low, attacker.last_solution, out=seen_low)
            np.maximum(seen_high, attacker.last_solution, out=seen_high)
    return result[0], result[1]


def _aligned_truth(true_counts: pd.DataFrame, model) -> np.ndarray:
    truth_model, truth_cells = build_table_model(true_counts)
    if model_layout(truth_model) != model_layout(model):
        raise TableInputError("de ware aantallen horen bij andere gebieden dan de beveiligde tabel.")
    return true_count_vector(true_counts, truth_model, truth_cells)


def _rule_violations(model, truth: np.ndarray, published: np.ndarray, secret: np.ndarray, reasons: np.ndarray,
                     rules: DisclosureRules) -> int:
    """Published cells that the primary rules forbid, or whose number is not the rounded truth."""
    expected = rounded_counts(truth, rules)
    violations = 0
    for cell in np.flatnonzero(~secret):
        area = model.area_of(int(cell))
        small = truth[model.cell(area, HOUSEHOLDS)] < rules.min_huishoudens_gebied
        if rules.is_below_threshold(int(truth[cell])):
            violations += 1
        elif small and model.indicator_of(int(cell)) != HOUSEHOLDS:
            violations += 1
        elif published[cell] != expected[cell]:
            violations += 1
    for cell in np.flatnonzero(secret):
        if reasons[cell] == REASON_SMALL_AREA:
            area = model.area_of(int(cell))
            if truth[model.cell(area, HOUSEHOLDS)] >= rules.min_huishoudens_gebied:
                violations += 1
    return violations
