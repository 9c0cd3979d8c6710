"""The audit, and properties of protect_table on many random but consistent tables."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from disclosure.audit import AuditResult, audit_protection
from disclosure.model import TableInputError
from disclosure.protect import protect_table
from disclosure.rules import DisclosureRules, load_rules
from disclosure.synthetic import SyntheticGemeente, counts_from_households, synthetic_counts
from schemas.indicators import DOMAINS, HOUSEHOLDS, INDICATORS

RULES = load_rules()
SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large]


# -- random gemeenten, built from households ---------------------------------------------------------


@st.composite
def gemeenten(draw) -> pd.DataFrame:
    """True counts of a small random gemeente: households with domain sets, voorzieningen and
    organisaties per buurt, aggregated to every level, so every sum holds as in real data."""
    n_wijken = draw(st.integers(1, 3))
    register, users = [], []
    for w in range(n_wijken):
        for b in range(draw(st.integers(1, 3))):
            buurt = f"BU0999{w:02d}{b:02d}"
            households = draw(st.integers(0, 400))
            register.append({"buurtcode": buurt, "wijkcode": f"WK0999{w:02d}", "gemeentecode": "GM0999",
                             "huishoudens": households})
            n_users = draw(st.integers(0, min(households, 45)))
            profile = st.tuples(
                st.frozensets(st.sampled_from(DOMAINS), min_size=1),
                st.integers(0, 3),  # voorzieningen beyond one per domain
                st.integers(0, 3),
            )
            for domains, extra, organisations in draw(st.lists(profile, min_size=n_users, max_size=n_users)):
                services = len(domains) + extra
                users.append({"buurtcode": buurt, "domeinen": domains, "voorzieningen": services,
                              "organisaties": 1 + organisations % services})
    levels = draw(st.sampled_from([("gemeente", "wijk"), ("gemeente", "wijk", "buurt"), ("wijk", "buurt")]))
    return counts_from_households(
        pd.DataFrame(register),
        pd.DataFrame(users, columns=["buurtcode", "domeinen", "voorzieningen", "organisaties"]),
        levels,
    )


def _joined(protected: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
    return protected.join(counts["aantal"].rename("waar"))


@settings(max_examples=20, deadline=None, suppress_health_check=SLOW)
@given(counts=gemeenten())
def test_protected_tables_follow_the_rules_and_pass_the_audit(counts: pd.DataFrame):
    protected = protect_table(counts, RULES)
    table = _joined(protected, counts)
    shown = table[~table["geheim"]]
    # Every published count is a multiple of 5 within 2 of the truth; no true 1..9 is published.
    assert (shown["aantal"] % 5 == 0).all()
    assert ((shown["aantal"] - shown["waar"]).abs() <= 2).all()
    assert not shown["waar"].between(1, 9).any()
    assert (shown.loc[shown["waar"] == 0, "aantal"] == 0).all()
    # Areas with fewer than 50 households show only their households.
    households = table[table["indicator"] == HOUSEHOLDS].set_index("gebiedscode")["waar"]
    small = table["gebiedscode"].map(households) < RULES.min_huishoudens_gebied
    assert table.loc[small & (table["indicator"] != HOUSEHOLDS), "geheim"].all()
    # Secret cells have no numbers; reasons are from the documented set.
    assert table.loc[table["geheim"], ["aantal", "per_1000_huishoudens"]].isna().all().all()
    assert set(table.loc[table["geheim"], "reden"]) <= {"drempel", "klein_gebied", "secundair"}
    assert table.loc[~table["geheim"], "reden"].isna().all()

    audit = audit_protection(protected, RULES, counts)
    assert audit.rule_violations == 0
    assert audit.truth_outside_interval == 0
    assert audit.passed, audit.as_manifest()
    for interval in audit.intervals:
        if interval.vrijgesteld:  # a cell of a small area that is provably 0, like its parent
            assert interval.reden == "klein_gebied" and interval.hoog <= 1e-6
            continue
        assert interval.breedte >= RULES.min_bandbreedte
        if interval.reden == "drempel":
            assert interval.hoog >= RULES.min_publiceerbaar - 1e-6


@settings(max_examples=10, deadline=None, suppress_health_check=SLOW)
@given(counts=gemeenten(), base=st.sampled_from([1, 3, 10]), threshold=st.sampled_from([5, 10, 15]))
def test_other_rules_are_protected_too(counts: pd.DataFrame, base: int, threshold: int):
    rules = DisclosureRules(afronden_op=base, min_publiceerbaar=threshold, min_bandbreedte=6)
    protected = protect_table(counts, rules)
    audit = audit_protection(protected, rules, counts)
    assert audit.passed, audit.as_manifest()
    shown = _joined(protected, counts)
    shown = shown[~shown["geheim"]]
    assert (shown["aantal"] % base == 0).all()
    assert not shown["waar"].between(1, threshold - 1).any()


# -- the audit itself -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def buurt_table() -> pd.DataFrame:
    return synthetic_counts(11, SyntheticGemeente(wijken=6, buurten_per_wijk=4),
                            levels=("gemeente", "wijk", "buurt"))


@pytest.fixture(scope="module")
def protected_buurt_table(buurt_table: pd.DataFrame) -> pd.DataFrame:
    return protect_table(buurt_table, RULES)


@pytest.fixture(scope="module")
def buurt_audit(buurt_table: pd.DataFrame, protected_buurt_table: pd.DataFrame) -> AuditResult:
    return audit_protection(protected_buurt_table, RULES, buurt_table)


def test_most_large_cells_stay_published(buurt_table: pd.DataFrame, protected_buurt_table: pd.DataFrame,
                                         buurt_audit: AuditResult):
    audit = buurt_audit
    assert audit.passed
    share = audit.published_share_of_large_cells
    large = buurt_table["aantal"] >= RULES.min_publiceerbaar
    assert share == pytest.approx((~protected_buurt_table.loc[large, "geheim"]).mean())
    print(f"gepubliceerd aandeel cellen >= 10: {share:.3f} van {int(large.sum())}")
    assert share >= 0.7
    # The secondary cells are the smaller ones.
    secondary = protected_buurt_table["reden"] == "secundair"
    assert buurt_table.loc[secondary, "aantal"].median() < buurt_table.loc[large, "aantal"].median()


def test_audit_without_true_counts(protected_buurt_table: pd.DataFrame):
    audit = audit_protection(protected_buurt_table, RULES)
    assert audit.passed
    assert audit.published_share_of_large_cells is None
    assert audit.cells_checked == int(protected_buurt_table["geheim"].sum())


def test_manifest_holds_counts_only(buurt_audit: AuditResult):
    manifest = buurt_audit.as_manifest()
    text = json.dumps(manifest)  # plain JSON types
    assert manifest["geslaagd"] is True
    assert manifest["cellen_onvoldoende_beschermd"] == 0
    assert manifest["kleinste_bandbreedte"] >= RULES.min_bandbreedte
    assert "BU0999" not in text and "WK0999" not in text
    assert not any(name in text for name in INDICATORS)


def test_audit_finds_cells_left_unprotected(buurt_table: pd.DataFrame):
    rules = DisclosureRules(secundaire_onderdrukking=False)
    audit = audit_protection(protect_table(buurt_table, rules), rules, buurt_table)
    assert not audit.passed
    assert audit.failures > 0
    assert audit.truth_outside_interval == 0
    assert audit.as_manifest()["cellen_onvoldoende_beschermd"] == audit.failures


def _two_wijken(rules: DisclosureRules) -> tuple[pd.DataFrame, pd.DataFrame]:
    register = pd.DataFrame([
        {"buurtcode": "BU09990000", "wijkcode": "WK099900", "gemeentecode": "GM0999", "huishoudens": 300},
        {"buurtcode": "BU09990100", "wijkcode": "WK099901", "gemeentecode": "GM0999", "huishoudens": 300},
    ])
    def household(buurt: str, domain: str) -> dict:
        return {"buurtcode": buurt, "domeinen": frozenset([domain]), "voorzieningen": 1, "organisaties": 1}

    users = [household("BU09990000", "wmo")] * 30 + [household("BU09990100", "wmo")] * 27
    users += [household("BU09990100", "jeugd")] * 3
    counts = counts_from_households(register, pd.DataFrame(users), ("gemeente", "wijk"))
    return counts, protect_table(counts, rules)


def test_exact_publication_needs_a_second_secret_cell():
    rules = DisclosureRules(afronden_op=1, min_bandbreedte=4)
    counts, protected = _two_wijken(rules)
    # alleen:jeugd in WK099901 (3) equals the gemeente's 3 minus WK099900's 0: hidden with it.
    audit = audit_protection(protected, rules, counts)
    assert audit.passed
    hidden = protected[protected["geheim"]]
    assert len(hidden) >= 2


def test_audit_catches_a_hand_made_leak():
    rules = DisclosureRules(afronden_op=1, min_bandbreedte=4)
    counts, protected = _two_wijken(rules)
    leaky = protected.copy()
    truth = counts.set_index(["gebiedscode", "indicator"])["aantal"]
    for i, row in leaky.iterrows():
        if row["reden"] == "secundair":
            value = truth[(row["gebiedscode"], row["indicator"])]
            leaky.loc[i, ["aantal", "geheim", "reden"]] = [value, False, None]
    audit = audit_protection(leaky, rules, counts)
    assert not audit.passed
    narrow = [i for i in audit.intervals if not i.beschermd]
    assert narrow and all(i.breedte < 4 or i.hoog < rules.min_publiceerbaar for i in narrow)


def test_audit_refuses_a_table_without_reasons(protected_buurt_table: pd.DataFrame):
    with pytest.raises(TableInputError, match="reden"):
        audit_protection(protected_buurt_table.drop(columns="reden"), RULES)


def test_intervals_are_not_in_the_repr(buurt_audit: AuditResult):
    assert "laag" not in repr(buurt_audit)
    assert "WK0999" not in repr(buurt_audit)
    assert np.isfinite(buurt_audit.seconds)


# -- groups (contract §9) as linked tables -------------------------------------------------------------


def _grouped_counts(seed: int, use: tuple[float, float] = (0.04, 0.25)) -> pd.DataFrame:
    """A gemeente whose households are split by one kenmerk with two values: each value is its own
    synthetic gemeente on the same buurten, and groep "" is their sum, cell by cell. `use` is the range of
    the share of households with a voorziening per buurt."""
    spec = SyntheticGemeente(wijken=4, buurten_per_wijk=1, min_huishoudens=30, max_huishoudens=600,
                             min_gebruik=use[0], max_gebruik=use[1])
    parts = {value: synthetic_counts(seed + i, spec) for i, value in enumerate(("jong", "oud"))}
    total = parts["jong"].copy()
    total["aantal"] = parts["jong"]["aantal"] + parts["oud"]["aantal"]
    frames = [total.assign(groep="")]
    frames += [frame.assign(groep=f"leeftijd={value}") for value, frame in parts.items()]
    return pd.concat(frames, ignore_index=True)


def test_groups_are_protected_as_linked_tables():
    counts = _grouped_counts(11)
    protected = protect_table(counts, RULES)
    assert list(protected["groep"]) == list(counts["groep"])
    audit = audit_protection(protected, RULES, counts)
    assert audit.passed, audit.as_manifest()
    joined = _joined(protected, counts)
    # A group with fewer than 50 households in an area publishes only its huishoudens there.
    households = joined[joined["indicator"] == HOUSEHOLDS].set_index(["gebiedscode", "groep"])["waar"]
    small = joined[[households[(c, g)] < RULES.min_huishoudens_gebied
                    for c, g in zip(joined["gebiedscode"], joined["groep"], strict=True)]]
    assert len(small) > 0, "the generated table must have a small group somewhere"
    assert small.loc[small["indicator"] != HOUSEHOLDS, "geheim"].all()


def test_the_interior_point_method_gives_the_same_protection_as_the_simplex(monkeypatch):
    """Large tables with many secret cells solve by interior point (disclosure.model.INTERIOR_POINT_CELLS).
    Every decision is an exact extreme, so the published table is the same as with the warm simplex; the
    repair LP crosses over to a vertex, which here is the same choice of cells to hide."""
    import disclosure.model as model_module

    counts = _grouped_counts(11)
    by_simplex = protect_table(counts, RULES)
    monkeypatch.setattr(model_module, "INTERIOR_POINT_CELLS", 0)
    monkeypatch.setattr(model_module, "INTERIOR_POINT_SHARE", 0.0)
    chosen: list[bool] = []
    original = model_module.AttackerLP.__init__

    def spy(self, *args, **kwargs):
        original(self, *args, **kwargs)
        chosen.append(self.interior)

    monkeypatch.setattr(model_module.AttackerLP, "__init__", spy)
    by_interior_point = protect_table(counts, RULES)
    audit = audit_protection(by_interior_point, RULES, counts)
    assert chosen and all(chosen)
    assert audit.passed, audit.as_manifest()
    pd.testing.assert_frame_equal(by_interior_point, by_simplex)


def test_the_audit_uses_the_group_sums():
    """A hidden huishoudens cell of a gemeente is free within its own table (only met_voorziening <= it),
    but groep "" minus the other kenmerk value pins it down to the rounding of two published cells."""
    spec = SyntheticGemeente(wijken=2, buurten_per_wijk=1, min_huishoudens=300, max_huishoudens=600)
    parts = {value: synthetic_counts(21 + i, spec, ("gemeente",)) for i, value in enumerate(("jong", "oud"))}
    total = parts["jong"].assign(aantal=parts["jong"]["aantal"] + parts["oud"]["aantal"])
    counts = pd.concat([total.assign(groep=""), *(f.assign(groep=f"leeftijd={v}") for v, f in parts.items())],
                       ignore_index=True)
    rules = DisclosureRules(**{**RULES.as_dict(), "secundaire_onderdrukking": False})

    def hide_households(table: pd.DataFrame, group: str) -> pd.DataFrame:
        protected = protect_table(table, rules)
        cell = (protected["indicator"] == HOUSEHOLDS) & (protected["groep"] == group)
        protected.loc[cell, ["aantal", "per_1000_huishoudens"]] = pd.NA
        protected.loc[cell, "geheim"] = True
        protected.loc[cell, "reden"] = "secundair"
        return protected

    def households_interval(audit: AuditResult, group: str):
        return next(i for i in audit.intervals if i.indicator == HOUSEHOLDS and i.groep == group)

    alone = parts["jong"].assign(groep="")
    own = households_interval(audit_protection(hide_households(alone, ""), rules, alone), "")
    # Alone, nothing bounds the households from above: proven wide (by two points, or exactly unbounded).
    assert own.beschermd and (own.hoog == float("inf") or not own.exact)
    linked = households_interval(audit_protection(hide_households(counts, "leeftijd=jong"), rules, counts),
                                 "leeftijd=jong")
    assert linked.hoog < float("inf") and linked.breedte <= 2 * (RULES.afronden_op - 1)


# -- proofs many cells at a time (capped pushes) -------------------------------------------------------


def test_the_audit_proves_most_cells_with_shared_points_and_each_proof_holds(
        protected_buurt_table: pd.DataFrame, buurt_audit: AuditResult):
    audit = buurt_audit
    assert audit.passed
    proven = [i for i in audit.intervals if not i.exact]
    # Far fewer LPs than the two per secret cell an exact audit needs, yet most cells are proven.
    assert len(proven) > audit.cells_checked / 2
    assert audit.lp_solves < audit.cells_checked
    for interval in proven:  # a proven span is itself wide enough (the attacker's may be wider still)
        assert interval.beschermd and interval.breedte >= RULES.min_bandbreedte
        if interval.reden == "drempel":
            assert interval.hoog >= RULES.min_publiceerbaar - 1e-6


def _primary_attacker(counts: pd.DataFrame):
    """The attacker's model of `counts` after primary protection only: (model, truth, reasons, lower,
    upper, attacker)."""
    from disclosure.model import AttackerLP, attacker_bounds, build_table_model
    from disclosure.protect import primary_reasons, rounded_counts, true_count_vector

    model, row_cells = build_table_model(counts)
    truth = true_count_vector(counts, model, row_cells)
    reasons = primary_reasons(model, truth, RULES)
    lower, upper = attacker_bounds(rounded_counts(truth, RULES), reasons, RULES)
    return model, truth, reasons, lower, upper, AttackerLP(model, lower, upper)


def test_a_proof_point_is_checked_against_every_bound_and_sum(buurt_table: pd.DataFrame):
    from disclosure.model import secret_cells

    model, truth, reasons, lower, upper, attacker = _primary_attacker(buurt_table)
    assert attacker.is_feasible(truth.astype(float))
    cells = secret_cells(reasons)[:20]
    point = attacker.push(cells, np.ones(len(cells), dtype=bool), lower[cells] + 8)
    assert point is not None and attacker.is_feasible(point)
    broken = truth.astype(float)
    broken[model.cell(0, HOUSEHOLDS)] += 1  # the gemeente no longer equals the sum of its wijken
    assert not attacker.is_feasible(broken)
    outside = truth.astype(float)
    outside[cells[0]] = -1  # below every cell's lower bound
    assert not attacker.is_feasible(outside)


def test_a_trial_publication_that_is_undone_gives_back_the_points_it_excluded(buurt_table: pd.DataFrame):
    from disclosure.model import secret_cells

    model, truth, reasons, lower, upper, attacker = _primary_attacker(buurt_table)
    attacker.remember(truth.astype(float))
    # A secret cell whose largest possible value lies well above the truth; that point is in the pool.
    cell, high = next((int(c), h) for c in secret_cells(reasons)
                      if truth[c] + 1 < (h := attacker.extreme(int(c), maximise=True)) < np.inf)
    before = attacker.snapshot()
    # Trial: the cell is published at its true value; the far point is no longer possible.
    attacker.set_bounds(np.array([cell]), np.array([float(truth[cell])]), np.array([float(truth[cell])]))
    assert attacker.pool_span(np.array([cell]))[1][0] == pytest.approx(truth[cell])
    # Undone: the same bounds as before, so the far point counts again without a new LP.
    attacker.set_bounds(np.array([cell]), lower[[cell]], upper[[cell]])
    assert attacker.pool_span(np.array([cell]))[1][0] == pytest.approx(truth[cell])
    attacker.restore(before)
    solves = attacker.solves
    assert attacker.pool_span(np.array([cell]))[1][0] == pytest.approx(high)
    assert attacker.solves == solves


# -- what the public code list tells an attacker (contract §5) -----------------------------------------


def test_the_attacker_knows_what_the_code_list_and_the_service_counts_tell():
    """Every code belongs to one domain (§5): a household with code 43 is in jeugd, and every household
    counts once per distinct code. The attacker's model knows both: a table that breaks them is not a
    possible table (that the true table keeps them is checked in test_end_to_end_truth)."""
    from bench.disclosure_scale import ScaleSpec, scale_counts
    from disclosure.model import build_table_model
    from disclosure.protect import true_count_vector

    counts = scale_counts(ScaleSpec(huishoudens=4000, wijken=2, buurten=4, wijkteams=1), ("gemeente", "wijk"),
                          division=False)
    model, row_cells = build_table_model(counts)
    kinds = {row.kind for row in model.rows}
    assert {"voorziening:43<=domein:jeugd", "domein:jeugd<=som voorzieningen",
            "som voorzieningen<=codes*domein:jeugd", "voorzieningen:k*k<=som voorzieningen",
            "som voorzieningen<=voorzieningen:k*k", "stapeling*k<=som voorzieningen jeugd",
            "som voorzieningen jeugd<=stapeling*k"} <= kinds
    truth = true_count_vector(counts, model, row_cells).astype(float)
    area = 1  # a wijk
    service, domain = model.cell(area, "voorziening:43"), model.cell(area, "domein:jeugd")
    more_than_its_domain = truth.copy()
    more_than_its_domain[service] = truth[domain] + 1
    assert "voorziening:43<=domein:jeugd" in {row.kind for row in model.violated_rows(more_than_its_domain)}
    services = [model.cell(area, name) for name in model.indicators if name.startswith("voorziening:")]
    fewer_codes_than_households = truth.copy()
    fewer_codes_than_households[services] = 0
    broken = {row.kind for row in model.violated_rows(fewer_codes_than_households)}
    assert {"domein:jeugd<=som voorzieningen", "voorzieningen:k*k<=som voorzieningen",
            "stapeling*k<=som voorzieningen jeugd"} <= broken


def test_protection_reports_its_stages_in_counts_only_and_the_same_table():
    counts = _grouped_counts(11)
    heard: list[tuple[str, int, int]] = []
    protected = protect_table(counts, RULES, lambda stage, done, total: heard.append((stage, done, total)))
    pd.testing.assert_frame_equal(protected, protect_table(counts, RULES))
    stages = list(dict.fromkeys(stage for stage, _, _ in heard))
    assert stages[0] == "beveiligen: geheime cellen narekenen (ronde 1)"
    assert stages[-1] == "beveiligen: extra geheime cellen nalopen"
    for stage in stages:
        calls = [(done, total) for s, done, total in heard if s == stage]
        assert all(isinstance(d, int) and isinstance(t, int) and 0 <= d <= t for d, t in calls)
        assert [d for d, _ in calls] == sorted(d for d, _ in calls)
        assert calls[-1][0] == calls[-1][1]  # every stage ends complete


def test_a_broken_municipal_code_list_leaves_the_national_one_for_the_attacker(tmp_path, monkeypatch):
    from bench.disclosure_scale import ScaleSpec, scale_counts
    from disclosure.model import build_table_model
    from schemas.codelist import EXTENSION_ENV, CodeListError, load_code_list

    monkeypatch.setenv(EXTENSION_ENV, str(tmp_path / "ontbreekt.csv"))
    with pytest.raises(CodeListError):
        load_code_list()
    assert load_code_list(from_environment=False).domain_of("43") == "jeugd"
    counts = scale_counts(ScaleSpec(huishoudens=2000, wijken=2, buurten=2, wijkteams=1), ("gemeente",),
                          division=False)
    model, _ = build_table_model(counts)
    assert "voorziening:43<=domein:jeugd" in {row.kind for row in model.rows}
    assert os.environ[EXTENSION_ENV] == str(tmp_path / "ontbreekt.csv")  # the setting is left alone


def test_an_lp_value_stands_for_its_integer_within_a_tolerance_that_grows_with_the_value():
    """The interior point method ends within a relative gap (docs/disclosure.md §6e): 499.99999 stands for
    500, as 9.9999999 stands for 10; a real fraction stays a fraction."""
    from disclosure.model import integer_width, is_protected

    assert integer_width(1.0, 9.9999999) == 9
    assert integer_width(1.0, 499.99999) == 499
    assert integer_width(491.00001, 499.99999) == 9
    assert integer_width(1.0, 9.9) == 8
    assert integer_width(1.0, 499.9) == 498
    assert is_protected(1.0, 9.9999999, 8, 10.0) and not is_protected(1.0, 9.9, 8, 10.0)
    assert integer_width(1.0, float("inf")) == float("inf")


# -- bounds that follow through the sums (bound propagation) -------------------------------------------


def test_propagated_bounds_enclose_the_attackers_exact_interval_and_find_the_zeros():
    from disclosure.model import Requirement

    counts = _grouped_counts(31, use=(0.01, 0.05))  # few users: zeros in the gemeente row of a group
    model, truth, reasons, lower, upper, attacker = _primary_attacker(counts)
    implied_lower, implied_upper = attacker.implied_bounds()
    assert (implied_lower >= lower - 1e-9).all() and (implied_upper <= upper + 1e-9).all()
    assert (implied_lower <= truth + 1e-6).all() and (truth <= implied_upper + 1e-6).all()
    zero_allowed = Requirement.for_cells(reasons, RULES).zero_allowed
    rng = np.random.default_rng(3)
    cells = rng.choice(model.n_cells, size=60, replace=False)
    zeros = np.flatnonzero(zero_allowed & (implied_upper <= 1e-6))
    assert zeros.size > 0  # small groups under a published 0
    for cell in [*cells, *zeros[:10]]:
        low, high = attacker.extreme(int(cell), False), attacker.extreme(int(cell), True)
        assert implied_lower[cell] <= low + 1e-6 and high <= implied_upper[cell] + 1e-6
    for cell in zeros[:10]:  # a propagated 0 is the exact maximum
        assert attacker.extreme(int(cell), True) == pytest.approx(0.0, abs=1e-6)


def test_a_cell_proven_zero_through_the_sums_needs_no_lp_even_after_another_cell_is_hidden():
    from disclosure.model import Requirement, secret_cells

    counts = _grouped_counts(31, use=(0.01, 0.05))
    model, truth, reasons, lower, upper, attacker = _primary_attacker(counts)
    requirement = Requirement.for_cells(reasons, RULES)
    attacker.remember(truth.astype(float))
    implied_lower, implied_upper = attacker.implied_bounds()
    zeros = np.flatnonzero(requirement.zero_allowed & (implied_upper <= 1e-6))
    assert attacker.unprotected_cells(zeros, requirement) == []
    assert attacker.solves == 0 and attacker.zero_proven[zeros].all()
    # Hide a published non-zero cell elsewhere: a wider model, yet the zeros still follow from the sums.
    published = np.flatnonzero(~np.isin(np.arange(model.n_cells), secret_cells(reasons)) & (truth >= 10))
    cell = int(published[0])
    attacker.set_bounds(np.array([cell]), np.array([1.0]), np.array([np.inf]))
    assert attacker.unprotected_cells(zeros, requirement) == []
    assert attacker.solves == 0 and attacker.zero_proven[zeros].all()


# -- pruning: cells that stay secret lose their tie-break ----------------------------------------------


def test_a_released_cell_loses_its_tie_break_and_no_extreme_changes():
    """`AttackerLP.release` takes the tie-break cost off cells that stay secret for good (pruning): exactly
    their two columns, in the main model and in the capped model built later, and no extreme moves."""
    from disclosure.model import TIE_BREAK, secret_cells

    counts = _grouped_counts(31)
    model, truth, reasons, lower, upper, attacker = _primary_attacker(counts)
    n = model.n_cells
    secret = secret_cells(reasons)
    hidden = np.flatnonzero(~np.isin(np.arange(n), secret) & (truth >= 10))[:12]
    attacker.set_bounds(hidden, np.ones(len(hidden)), np.full(len(hidden), np.inf))
    attacker.prefer_within([int(c) for c in hidden], lower[hidden], upper[hidden])
    probe = [int(c) for c in secret[:: max(1, len(secret) // 8)]][:8]
    before = [(attacker.extreme(c, False), attacker.extreme(c, True)) for c in probe]
    attacker.release([int(c) for c in hidden[:5]])
    attacker.release([int(c) for c in hidden[:2]])  # again: nothing changes
    after = [(attacker.extreme(c, False), attacker.extreme(c, True)) for c in probe]
    np.testing.assert_allclose(after, before, atol=1e-6)
    k = len(hidden)
    expected = np.full(2 * k, TIE_BREAK)
    expected[[*range(5), *range(k, k + 5)]] = 0.0
    for h, first in ((attacker._highs, n), (attacker._capped_model(), 2 * n)):
        costs = np.asarray(h.getLp().col_cost_)[first:first + 2 * k]
        np.testing.assert_allclose(costs, expected)


def test_a_cell_that_fails_by_the_sums_alone_fails_by_its_exact_interval():
    """`AttackerLP.fails_by_bounds` (used by pruning to reject a trial without an LP) only ever names a cell
    whose exact interval fails the requirement, and never a cell that may be exempt as provably 0."""
    from disclosure.model import Requirement, secret_cells

    counts = _grouped_counts(31)
    model, truth, reasons, lower, upper, attacker = _primary_attacker(counts)
    requirement = Requirement.for_cells(reasons, RULES)
    flagged = [c for c in (int(c) for c in secret_cells(reasons))
               if attacker.fails_by_bounds([c], requirement) == c]
    assert flagged  # after primary protection alone, some cells are pinned by their sums
    assert not requirement.zero_allowed[flagged].any()
    for cell in flagged[:: max(1, len(flagged) // 25)]:
        low, high = attacker.extreme(cell, False), attacker.extreme(cell, True)
        assert not requirement.met(cell, low, high)
    assert attacker.fails_by_bounds(flagged[:1] + [int(c) for c in secret_cells(reasons)], requirement) \
        == flagged[0]


def test_a_capped_extreme_stops_at_its_cap_and_is_exact_short_of_it():
    """`AttackerLP.extreme` with a cap: the cell goes no further than the cap (so its point moves no more
    than it must), and when the cap is out of reach the value is the exact extreme; the model's bounds are
    the same afterwards."""
    from disclosure.model import secret_cells

    counts = _grouped_counts(31)
    model, truth, reasons, lower, upper, attacker = _primary_attacker(counts)
    checked = 0
    for cell in (int(c) for c in secret_cells(reasons)[::7]):
        top, bottom = attacker.extreme(cell, True), attacker.extreme(cell, False)
        if not np.isfinite(top) or top - bottom < 4:
            continue
        assert attacker.extreme(cell, True, cap=bottom + 2) == pytest.approx(bottom + 2, abs=1e-6)
        assert attacker.extreme(cell, False, cap=top - 2) == pytest.approx(top - 2, abs=1e-6)
        assert attacker.extreme(cell, True, cap=top + 5) == pytest.approx(top, abs=1e-6)
        assert attacker.extreme(cell, False, cap=bottom - 5) == pytest.approx(bottom, abs=1e-6)
        assert attacker.extreme(cell, True) == pytest.approx(top, abs=1e-6)  # bounds restored
        checked += 1
        if checked == 6:
            break
    assert checked == 6


def test_pruning_without_lps_where_the_sums_decide_changes_no_decision(monkeypatch):
    """Three ways pruning saves LPs: cells that stay secret lose their tie-break (`release`), a trial fails
    without an LP when the sums alone pin a required cell (`fails_by_bounds`), and a cell is taken only as
    far as the requirement needs (`extreme` with a cap from `Requirement.cap`). None changes an exact
    extreme, so the protection makes the same decisions and publishes the same table as without them."""
    import disclosure.model as model_module

    counts = _grouped_counts(11)
    used = {"release": 0, "fails_by_bounds": 0, "cap": 0}
    release = model_module.AttackerLP.release
    fails_by_bounds = model_module.AttackerLP.fails_by_bounds
    extreme = model_module.AttackerLP.extreme

    def counted_release(self, cells):
        used["release"] += 1
        return release(self, cells)

    def counted_fails_by_bounds(self, cells, requirement):
        result = fails_by_bounds(self, cells, requirement)
        used["fails_by_bounds"] += result is not None
        return result

    def counted_extreme(self, cell, maximise, cap=None):
        used["cap"] += cap is not None  # an LP capped in a trial (lean)
        return extreme(self, cell, maximise, cap)

    monkeypatch.setattr(model_module.AttackerLP, "release", counted_release)
    monkeypatch.setattr(model_module.AttackerLP, "fails_by_bounds", counted_fails_by_bounds)
    monkeypatch.setattr(model_module.AttackerLP, "extreme", counted_extreme)
    saving = protect_table(counts, RULES)
    assert all(used.values()), used  # each was used on this table
    monkeypatch.setattr(model_module.AttackerLP, "release", lambda self, cells: None)
    monkeypatch.setattr(model_module.AttackerLP, "fails_by_bounds", lambda self, cells, requirement: None)
    unprotected = model_module.AttackerLP.unprotected_cells

    def not_lean(self, cells, requirement, first_only=False, lean=False):
        return unprotected(self, cells, requirement, first_only, lean=False)

    monkeypatch.setattr(model_module.AttackerLP, "unprotected_cells", not_lean)
    pd.testing.assert_frame_equal(protect_table(counts, RULES), saving)


# -- the protection's points as the audit's first proofs --------------------------------------------------


def test_the_audit_checks_the_protections_points_itself_and_needs_fewer_lps(
        buurt_table: pd.DataFrame, buurt_audit: AuditResult):
    """protect_with_proofs hands the points that hold the secret cells' extremes to the audit; the audit
    keeps only those that pass its own check, and reaches the same verdict with fewer LPs."""
    from disclosure.model import AttackerLP, ProofPoints
    from disclosure.protect import protect_with_proofs

    protected, proofs = protect_with_proofs(buurt_table, RULES)
    pd.testing.assert_frame_equal(protected, protect_table(buurt_table, RULES))
    assert proofs is not None and len(proofs.points) > 0
    with_proofs = audit_protection(protected, RULES, buurt_table, proofs)
    assert with_proofs.passed and buurt_audit.passed
    assert with_proofs.cells_checked == buurt_audit.cells_checked
    assert with_proofs.lp_solves < buurt_audit.lp_solves
    assert with_proofs.as_manifest()["kleinste_bandbreedte"] >= RULES.min_bandbreedte

    # A point that breaks a sum is no proof: tampered points are checked and left out.
    checked: list[bool] = []
    original = AttackerLP.is_feasible

    def spy(self, values, tolerance=1e-6):
        checked.append(original(self, values, tolerance))
        return checked[-1]

    bent = proofs.points.copy()
    bent[:, :] += 0.5  # every cell a half more: no sum holds
    try:
        AttackerLP.is_feasible = spy
        tampered = audit_protection(protected, RULES, buurt_table, ProofPoints(proofs.layout, bent))
    finally:
        AttackerLP.is_feasible = original
    assert checked[: len(bent)] == [False] * len(bent)
    assert tampered.passed and tampered.lp_solves == buurt_audit.lp_solves
    # Points of another table (another layout) are not even looked at.
    other = ProofPoints(("GM0000",), proofs.points)
    assert audit_protection(protected, RULES, buurt_table, other).lp_solves == buurt_audit.lp_solves


def test_the_protection_pushes_only_where_exact_lps_are_costly_and_the_table_is_the_same(monkeypatch):
    """Capped pushes (`prove_batch`) prove cells many at a time, but on a table with few secret cells they
    cost more than the exact LPs they save (docs/disclosure.md §6i): the protection pushes only when its
    model uses the interior point method. Every decision rests on exact intervals, so the table is the same
    with pushes forced on."""
    import disclosure.model as model_module
    import disclosure.protect as protect_module

    counts = synthetic_counts(11, SyntheticGemeente(wijken=6, buurten_per_wijk=4),
                              levels=("gemeente", "wijk"))
    pushed: list[bool] = []
    prove_batch = model_module.AttackerLP.prove_batch

    def counted(self, *args, **kwargs):
        pushed.append(self.interior)
        return prove_batch(self, *args, **kwargs)

    monkeypatch.setattr(model_module.AttackerLP, "prove_batch", counted)
    plain = protect_table(counts, RULES)
    assert pushed == []
    init = protect_module._SecondarySuppression.__init__

    def always_push(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self._push = True

    monkeypatch.setattr(protect_module._SecondarySuppression, "__init__", always_push)
    pd.testing.assert_frame_equal(protect_table(counts, RULES), plain)
    assert pushed and not any(pushed)  # forced pushes on a model without the interior point method
    assert (plain["geheim"] & (plain["reden"] == "secundair")).any()  # a table that needed repairs


def test_a_repair_round_solves_a_minimum_only_when_the_exact_maximum_does_not_prove_the_cell(monkeypatch):
    """In a repair round a cell's exact maximum comes first: with the known bottom (a point's value, at least
    the exact minimum) it often proves the cell safe already, and then no LP for the minimum is needed. The
    decisions rest on exact intervals as before, so the table is the same (docs/disclosure.md §6i)."""
    import disclosure.model as model_module
    import disclosure.protect as protect_module

    counts = synthetic_counts(11, SyntheticGemeente(wijken=6, buurten_per_wijk=4),
                              levels=("gemeente", "wijk", "buurt"))
    calls: list[tuple[int, bool, bool]] = []  # (cell, maximise, proven by that top and the known bottom)
    in_round = {"on": False}
    repair_round = protect_module._SecondarySuppression._repair_round
    extreme = model_module.AttackerLP.extreme

    def round_(self, *args, **kwargs):
        in_round["on"], in_round["requirement"] = True, self.requirement
        try:
            return repair_round(self, *args, **kwargs)
        finally:
            in_round["on"] = False

    def logged(self, cell, maximise, cap=None):
        low = float(self.pool_span(np.array([cell]))[0][0])
        value = extreme(self, cell, maximise, cap)
        if in_round["on"]:
            calls.append((cell, maximise, maximise and in_round["requirement"].sufficient(cell, low, value)))
        return value

    monkeypatch.setattr(protect_module._SecondarySuppression, "_repair_round", round_)
    monkeypatch.setattr(model_module.AttackerLP, "extreme", logged)
    protected = protect_table(counts, RULES)
    assert audit_protection(protected, RULES, counts).passed
    tops = {cell: proven for cell, maximise, proven in calls if maximise}
    bottoms = [cell for cell, maximise, _ in calls if not maximise]
    assert any(tops.values()), "no cell was proven by its exact top alone on this table"
    assert all(not tops.get(cell, False) for cell in bottoms), "a minimum was solved for a proven cell"


def test_cheap_reach_solves_prove_cells_first_and_change_no_decision(monkeypatch):
    """Before a cell's exact extremes, a few feasibility solves of the dual simplex (`AttackerLP.reach`)
    try to show the values that would prove it; only what they do not prove gets exact LPs. Every decision
    still rests on exact intervals, so the table is the same with them off (docs/disclosure.md §6j), and
    fewer exact extremes are solved. (By default only models with many secret cells use them.)"""
    import disclosure.model as model_module

    counts = synthetic_counts(11, SyntheticGemeente(wijken=6, buurten_per_wijk=4),
                              levels=("gemeente", "wijk", "buurt"))
    counted = {"extreme": 0, "reach": 0, "reached": 0}
    extreme, reach = model_module.AttackerLP.extreme, model_module.AttackerLP.reach

    def counting_extreme(self, *args, **kwargs):
        counted["extreme"] += 1
        return extreme(self, *args, **kwargs)

    def counting_reach(self, cell, target, up):
        counted["reach"] += 1
        found = reach(self, cell, target, up)
        if found:  # a found point is a point of the model and does reach the target
            counted["reached"] += 1
            assert self.is_feasible(self.last_solution)
            value = float(self.last_solution[cell])
            assert (value >= target - 1e-6) if up else (value <= target + 1e-6)
        return found

    monkeypatch.setattr(model_module.AttackerLP, "extreme", counting_extreme)
    monkeypatch.setattr(model_module.AttackerLP, "reach", counting_reach)
    monkeypatch.setattr(model_module, "REACH_SECRET_CELLS", 10**9)  # never
    plain = protect_table(counts, RULES)
    without = dict(counted)
    assert without["reach"] == 0
    counted.update(extreme=0, reach=0, reached=0)
    monkeypatch.setattr(model_module, "REACH_SECRET_CELLS", 0)  # always
    pd.testing.assert_frame_equal(protect_table(counts, RULES), plain)
    assert counted["reached"] > 0
    assert counted["extreme"] < without["extreme"]
    assert (plain["geheim"] & (plain["reden"] == "secundair")).any()  # a table that needed repairs
