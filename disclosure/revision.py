"""Audit a revision: two publications of the same period, both public (docs/disclosure.md §8).

The attacker holds both tables. `audit_revision` refuses the new one when, taken together with the earlier
one, they reveal a count of 1..9 (below the threshold). Three checks, each naming cells (area and
indicator, never a count):

1. **Same secret pattern.** A cell published in one version and secret in the other fails: the published
   value bounds the secret one as soon as the true value did not change much.
2. **No small differences.** For a cell published in both, the difference of the two true values lies in
   an interval the attacker computes from the rounding; when that interval lies within 1..threshold-1 (or
   its negative), the number of households that changed the cell is revealed as small. For a cell secret
   in both, the same question is an LP over both versions' true values and the sums that bind them.
3. **Both tables at once.** If the true values did not change (the common case for most cells), the
   attacker may intersect what both tables say about every cell. Whenever that intersection is possible
   at all, the LP of `disclosure.audit` is solved over the intersected bounds, and every cell secret in
   both versions must still meet the requirement of §3 (≥ `min_bandbreedte` values, reaching the
   threshold).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import highspy
import numpy as np
import pandas as pd

from disclosure.model import (
    AttackerLP,
    Requirement,
    TableInputError,
    add_rows,
    attacker_bounds,
    build_table_model,
    new_highs,
    run_robustly,
)
from disclosure.protect import knowledge_rows, true_count_vector
from disclosure.rules import DisclosureRules

EARLIER_COLUMNS = ("gebiedscode", "indicator", "aantal", "geheim")

PATTERN, DIFFERENCE, TOGETHER = "patroon", "verschil", "samen"
FINDING_NL = {
    PATTERN: "in de ene versie gepubliceerd, in de andere geheim",
    DIFFERENCE: "het verschil tussen de versies is aantoonbaar een klein aantal",
    TOGETHER: "geheime cel is met beide tabellen samen terug te rekenen",
}


@dataclass(frozen=True)
class RevisionFinding:
    """One cell that the two publications together make unsafe (area and indicator only)."""

    gebiedscode: str
    indicator: str
    soort: str

    def describe_nl(self) -> str:
        return f"{self.gebiedscode} {self.indicator} ({FINDING_NL[self.soort]})"


@dataclass(frozen=True)
class RevisionAudit:
    findings: tuple[RevisionFinding, ...]
    joint_checked: bool
    """False when the two tables cannot both come from the same true values (so check 3 does not apply)."""

    @property
    def passed(self) -> bool:
        return not self.findings

    def as_manifest(self) -> dict[str, object]:
        return {
            "geslaagd": self.passed,
            "cellen_onvoldoende_beschermd": len(self.findings),
            "samen_gecontroleerd": self.joint_checked,
        }


def _aligned_earlier(protected: pd.DataFrame, earlier: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The earlier table's (secret, published count) per row of `protected`; other cells: TableInputError."""
    missing = [c for c in EARLIER_COLUMNS if c not in earlier.columns]
    if missing:
        raise TableInputError(f"eerdere publicatie mist kolom(men): {', '.join(missing)}.")
    # A cell is an area, a group (docs/contract.md §9; "" = all households) and an indicator.
    earlier = earlier.assign(groep=earlier["groep"].fillna("") if "groep" in earlier.columns else "")
    groups = protected["groep"].fillna("").astype(str) if "groep" in protected.columns else ""
    key = ["gebiedscode", "groep", "indicator"]
    keyed = earlier.astype({"gebiedscode": str, "groep": str}).drop_duplicates(key).set_index(key)
    index = pd.MultiIndex.from_arrays([
        protected["gebiedscode"].astype(str),
        pd.Series(groups, index=protected.index).astype(str),
        protected["indicator"],
    ])
    absent = ~index.isin(keyed.index)
    if absent.any() or len(keyed) != len(protected):
        raise TableInputError(
            "de eerdere publicatie heeft andere gebieden of indicatoren; "
            "een herziening moet dezelfde cellen hebben."
        )
    rows = keyed.loc[index]
    secret = rows["geheim"].astype(bool).to_numpy()
    counts = pd.to_numeric(rows["aantal"], errors="coerce").to_numpy(dtype=float)
    if np.isnan(counts[~secret]).any():
        raise TableInputError("de eerdere publicatie heeft een niet-geheime cel zonder aantal.")
    return secret, np.where(secret, 0, np.nan_to_num(counts)).astype(np.int64)


def _small_difference(rules: DisclosureRules, first: int, second: int) -> bool:
    """Whether two published values of one cell prove that the true values differ by 1..threshold-1."""
    low1, high1 = rules.published_bounds(first)
    low2, high2 = rules.published_bounds(second)
    low, high = low2 - high1, high2 - low1
    top = rules.min_publiceerbaar - 1
    return (1 <= low and high <= top) or (-top <= low and high <= -1)


def audit_revision(
    protected: pd.DataFrame,
    earlier: pd.DataFrame,
    rules: DisclosureRules,
    true_counts: pd.DataFrame | None = None,
) -> RevisionAudit:
    """Check `protected` (output of protect_table) against an earlier publication of the same cells.

    `earlier` holds gebiedscode, indicator, aantal and geheim as published (samenloop.csv).
    """
    model, row_cells = build_table_model(protected)
    secret_now = protected["geheim"].astype(bool).to_numpy()
    secret_then, count_then = _aligned_earlier(protected, earlier)
    count_now = np.where(secret_now, 0, protected["aantal"].fillna(0).astype("int64").to_numpy())
    findings: list[RevisionFinding] = []

    def name(row: int, kind: str) -> RevisionFinding:
        return RevisionFinding(
            str(protected["gebiedscode"].iat[row]), str(protected["indicator"].iat[row]), kind
        )

    for row in range(len(protected)):
        if secret_now[row] != secret_then[row]:
            findings.append(name(row, PATTERN))
        elif not secret_now[row] and _small_difference(rules, int(count_then[row]), int(count_now[row])):
            findings.append(name(row, DIFFERENCE))

    reasons = np.full(model.n_cells, None, dtype=object)
    reasons[row_cells] = [r if g else None for r, g in zip(protected["reden"], secret_now, strict=True)]
    both_secret = secret_now & secret_then
    published_now = np.zeros(model.n_cells, dtype=np.int64)
    published_then = np.zeros(model.n_cells, dtype=np.int64)
    published_now[row_cells] = count_now
    published_then[row_cells] = count_then
    reasons_then = reasons.copy()
    reasons_then[row_cells[secret_then & ~secret_now]] = "secundair"
    reasons_then[row_cells[secret_now & ~secret_then]] = None
    low_now, high_now = attacker_bounds(published_now, reasons, rules)
    low_then, high_then = attacker_bounds(published_then, reasons_then, rules)
    lower, upper = np.maximum(low_now, low_then), np.minimum(high_now, high_then)
    use_row = np.ones(len(model.rows), dtype=bool)
    if true_counts is not None:
        truth_model, truth_cells = build_table_model(true_counts)
        use_row = knowledge_rows(model, true_count_vector(true_counts, truth_model, truth_cells))
    row_of = {int(c): r for r, c in enumerate(row_cells)}
    secret_both = row_cells[both_secret]
    bounds = ((low_then, high_then), (low_now, high_now))
    for cell in _difference_failures(model, bounds, use_row, secret_both, rules):
        findings.append(name(row_of[cell], DIFFERENCE))
    joint = bool((lower <= upper + 1e-9).all()) and both_secret.any()
    if joint:
        joint, failing = _joint_failures(model, lower, upper, use_row, reasons, rules, secret_both)
        findings.extend(name(row_of[c], TOGETHER) for c in failing)
    return RevisionAudit(tuple(findings), joint)


def _difference_failures(model, bounds, use_row, cells, rules) -> list[int]:
    """Secret cells whose change between the versions the attacker can pin to 1..threshold-1.

    One LP over both versions' true values (x earlier, y now), each within what its table shows and
    bound by the table's sums (the earlier version by its sums only: its truth is unknown); per cell the
    smallest and largest y - x.
    """
    (low_x, high_x), (low_y, high_y) = bounds
    n = model.n_cells
    inf = highspy.kHighsInf
    h = new_highs()
    lower, upper = np.concatenate([low_x, low_y]), np.concatenate([high_x, high_y])
    h.addVars(2 * n, np.where(np.isinf(lower), -inf, lower), np.where(np.isinf(upper), inf, upper))
    add_rows(h, [r for r in model.rows if not r.inequality], 0)
    add_rows(h, [r for r, use in zip(model.rows, use_row, strict=True) if use], n)
    top = rules.min_publiceerbaar - 1
    failing = []
    for cell in (int(c) for c in cells):
        columns = np.array([cell, n + cell], dtype=np.int32)
        extremes = []
        for signs in ((-1.0, 1.0), (1.0, -1.0)):  # minimise y - x, then x - y
            h.changeColsCost(2, columns, np.array(signs))
            if run_robustly(h) != highspy.HighsModelStatus.kOptimal:
                extremes.append(None)
            else:
                extremes.append(signs[1] * h.getInfo().objective_function_value)
        h.changeColsCost(2, columns, np.zeros(2))
        low, high = extremes[0], extremes[1]
        if low is None or high is None:
            continue
        low, high = math.ceil(low - 1e-6), math.floor(high + 1e-6)
        if (1 <= low and high <= top) or (-top <= low and high <= -1):
            failing.append(cell)
    return failing


def _joint_failures(model, lower, upper, use_row, reasons, rules, cells) -> tuple[bool, list[int]]:
    """Cells that the intersected bounds of both tables narrow too much; (False, []) when infeasible."""
    attacker = AttackerLP(model, lower, upper, use_row)
    requirement = Requirement.for_cells(reasons, rules)
    failing = []
    for cell in (int(c) for c in cells):
        try:
            low = attacker.extreme(cell, maximise=False)
            high = attacker.extreme(cell, maximise=True)
        except TableInputError:
            return False, []  # no common true values: the values changed, the hypothesis does not hold
        if not requirement.met(cell, low, high):
            failing.append(cell)
    return True, failing
