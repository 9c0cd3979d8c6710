"""Cost cells and their protection (docs/contract.md §12, disclosure/magnitude.py)."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from disclosure import magnitude
from disclosure.magnitude import (
    REASON_COUNT,
    REASON_DOMINANCE,
    CostDisclosureError,
    audit_costs,
    cost_relations,
    protect_costs,
)
from disclosure.rules import default_rules
from linkage.costs import COST_INDICATORS, cost_cells

SETS = ["jeugd", "wmo", "werk_inkomen", "jeugd+wmo", "jeugd+werk_inkomen", "werk_inkomen+wmo",
        "jeugd+werk_inkomen+wmo"]
BUURTEN = {"BU99990101": "WK999901", "BU99990201": "WK999902", "BU99990301": "WK999903"}


def _households(seed: int, n: int = 400) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        buurt = rng.choice(list(BUURTEN))
        domeinen = rng.choices(SETS, weights=[30, 30, 30, 6, 4, 4, 2])[0]
        bedrag = int(rng.lognormvariate(8, 1.2) * 100) * (domeinen.count("+") + 1)
        rows.append((buurt, BUURTEN[buurt], "GM9999", domeinen, bedrag))
    return pd.DataFrame(rows, columns=["buurtcode", "wijkcode", "gemeentecode", "domeinen", "bedrag"])


def _denominators() -> pd.DataFrame:
    return pd.DataFrame({"buurtcode": list(BUURTEN), "wijkcode": list(BUURTEN.values()),
                         "gemeentecode": "GM9999", "huishoudens": 1000})


def _counts(cells: pd.DataFrame) -> pd.DataFrame:
    """A stand-in for the protected samenloop table: counts under 10 secret, others rounded to 5."""
    secret = (cells["huishoudens"] > 0) & (cells["huishoudens"] < 10)
    aantal = pd.array(((cells["huishoudens"] + 2) // 5 * 5).to_numpy(), dtype="Int64")
    aantal[secret.to_numpy()] = pd.NA
    return pd.DataFrame({"gebiedscode": cells["gebiedscode"], "indicator": cells["indicator"],
                         "aantal": aantal, "geheim": secret})


def test_cost_cells_sum_the_household_amounts_per_area_and_indicator():
    households = _households(1)
    cells = cost_cells(households, _denominators(), ("gemeente", "wijk"))
    assert len(cells) == 4 * len(COST_INDICATORS)
    gm = cells[cells["gebiedscode"] == "GM9999"].set_index("indicator")
    assert gm.at["met_voorziening", "bedrag"] == households["bedrag"].sum()
    assert gm.at["met_voorziening", "huishoudens"] == len(households)
    two_plus = households[households["domeinen"].str.contains("+", regex=False)]
    assert gm.at["domeinen:2+", "bedrag"] == two_plus["bedrag"].sum()
    top = sorted(households["bedrag"], reverse=True)
    assert (gm.at["met_voorziening", "grootste"], gm.at["met_voorziening", "tweede"]) == (top[0], top[1])
    for total, parts in cost_relations():
        assert gm.at[total, "bedrag"] == sum(gm.at[p, "bedrag"] for p in parts)
    wijk = cells[cells["niveau"] == "wijk"].groupby("indicator")["bedrag"].sum()
    assert (wijk == gm["bedrag"].reindex(wijk.index)).all()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_protected_costs_are_rounded_truth_and_every_secret_cell_keeps_15_percent(seed):
    rules = default_rules()
    households = _households(seed)
    cells = cost_cells(households, _denominators(), ("gemeente", "wijk"))
    table = protect_costs(cells, _counts(cells), rules)
    truth = cells["bedrag"].to_numpy() / 100
    published = ~table["geheim"].to_numpy()
    assert np.all(np.abs(table["bedrag"].to_numpy(dtype=float, na_value=np.nan)[published] - truth[published])
                  <= 500)
    p_fail = (cells["bedrag"] - cells["grootste"] - cells["tweede"]) < 0.15 * cells["grootste"]
    assert not (p_fail & (cells["huishoudens"] > 0) & ~table["geheim"]).any()
    assert not ((cells["huishoudens"].between(1, 9)) & ~table["geheim"]).any()
    assert (table.loc[cells["huishoudens"] == 0, "bedrag"] == 0).all()
    intervals = audit_costs(table, cells, rules)
    assert intervals and all(i.voldoet for i in intervals)
    by_cell = dict(zip(zip(cells["gebiedscode"], cells["indicator"], strict=True), truth, strict=True))
    for i in intervals:
        value = by_cell[(i.gebiedscode, i.indicator)]
        assert i.laagst <= 0.85 * value + 1e-6 and i.hoogst >= 1.15 * value - 1e-6


def test_a_dominant_household_makes_its_cell_secret_and_the_sums_are_cut():
    households = _households(4)
    wijk_cells = households["wijkcode"] == "WK999901"
    dominant = households.index[wijk_cells & (households["domeinen"] == "jeugd")][0]
    households.loc[dominant, "bedrag"] = 500_000_000  # several records of up to a million each
    cells = cost_cells(households, _denominators(), ("gemeente", "wijk"))
    reasons = magnitude.primary_reasons(cells, _counts(cells), default_rules())
    at = dict(zip(zip(cells["gebiedscode"], cells["indicator"], strict=True), reasons, strict=True))
    assert at[("WK999901", "alleen:jeugd")] == REASON_DOMINANCE
    table = protect_costs(cells, _counts(cells), default_rules())
    secret = table[table["geheim"]]
    # The cell cannot be the only secret one in any sum it is part of.
    assert len(secret) > sum(r is not None for r in reasons)
    assert set(secret["reden"]) >= {REASON_DOMINANCE, magnitude.REASON_SECONDARY}
    assert at[("GM9999", "domeinen:3")] in (REASON_COUNT, None)


def test_a_table_that_cannot_be_made_safe_is_refused(monkeypatch):
    households = _households(4)
    households.loc[households.index[0], "bedrag"] = 90_000_000
    cells = cost_cells(households, _denominators(), ("gemeente", "wijk"))
    monkeypatch.setattr(magnitude, "_candidate", lambda *args: None)
    with pytest.raises(CostDisclosureError, match="niet veilig"):
        protect_costs(cells, _counts(cells), default_rules())


def test_the_audit_finds_a_dominant_cell_that_only_primary_suppression_leaves_open():
    households = _households(4)
    in_wijk = households["wijkcode"] == "WK999901"
    dominant = households.index[in_wijk & (households["domeinen"] == "jeugd")][0]
    households.loc[dominant, "bedrag"] = 500_000_000
    cells = cost_cells(households, _denominators(), ("gemeente", "wijk"))
    primary = magnitude.primary_reasons(cells, _counts(cells), default_rules())
    secret = np.array([r is not None for r in primary])
    rounded = magnitude.round_amount(cells["bedrag"].to_numpy() / 100, default_rules())
    amounts = pd.array(rounded, dtype="Int64")
    amounts[secret] = pd.NA
    naive = pd.DataFrame({"gebiedscode": cells["gebiedscode"], "indicator": cells["indicator"],
                          "bedrag": amounts, "geheim": secret})
    assert not all(i.voldoet for i in audit_costs(naive, cells, default_rules()))


def test_the_attacker_interval_is_what_the_published_sum_allows():
    # gemeente = wijk A + wijk B; A secret, the gemeente and B published (rounded to thousands).
    cells = pd.DataFrame({
        "gebiedscode": ["GM9999", "WK999901", "WK999902"], "niveau": ["gemeente", "wijk", "wijk"],
        "bovenliggend": [None, "GM9999", "GM9999"], "indicator": ["met_voorziening"] * 3,
        "huishoudens": [40, 5, 35], "bedrag": [10_000_000, 2_000_000, 8_000_000],
        "grootste": [0, 0, 0], "tweede": [0, 0, 0],
    })
    table = pd.DataFrame({"gebiedscode": cells["gebiedscode"], "indicator": cells["indicator"],
                          "bedrag": pd.array([100_000, None, 80_000], dtype="Int64"),
                          "geheim": [False, True, False]})
    [interval] = audit_costs(table, cells, default_rules())
    assert interval.gebiedscode == "WK999901"
    assert (interval.laagst, interval.hoogst) == (19_000.0, 21_000.0)
    assert not interval.voldoet  # 20 000 ± 1 000 is within 15%


DIVISION = {"BU99990101": "WT1", "BU99990201": "WT1", "BU99990301": "WT2"}
"""An own division (§9): two wijkteams across the three wijken."""
TYPES = ("eenouder", "paar", "alleen")


def _grouped_households(seed: int, n: int = 900) -> pd.DataFrame:
    households = _households(seed, n)
    rng = random.Random(seed)
    return households.assign(kenmerk_huishoudtype=[rng.choice(TYPES) for _ in range(n)])


def _grouped_denominators() -> pd.DataFrame:
    frame = _denominators()
    rows = [frame.assign(kenmerk_huishoudtype=value, huishoudens=300 + 10 * k)
            for k, value in enumerate(TYPES)]
    return pd.concat(rows, ignore_index=True)


def _grouped_cells(seed: int) -> pd.DataFrame:
    return cost_cells(_grouped_households(seed), _grouped_denominators(), ("gemeente", "wijk"),
                      {"wijkteam": DIVISION})


def test_cost_cells_per_group_and_own_division_sum_the_household_amounts():
    households = _grouped_households(1)
    cells = _grouped_cells(1).set_index(["gebiedscode", "groep", "indicator"])
    groups = ["", *(f"huishoudtype={t}" for t in sorted(TYPES))]
    areas = ["GM9999", *BUURTEN.values(), "WT1", "WT2"]
    assert len(cells) == len(areas) * len(groups) * len(COST_INDICATORS)
    assert list(dict.fromkeys(cells.index.get_level_values("groep")))[0] == ""
    households["wijkteam"] = households["buurtcode"].map(DIVISION)
    for group in groups:
        value = group.split("=")[-1]
        own = households[households["kenmerk_huishoudtype"] == value] if group else households
        for team in ("WT1", "WT2"):
            in_team = own[own["wijkteam"] == team]
            cell = cells.loc[(team, group, "met_voorziening")]
            assert (cell["bedrag"], cell["huishoudens"]) == (in_team["bedrag"].sum(), len(in_team))
            top = sorted(in_team["bedrag"], reverse=True)
            assert (cell["grootste"], cell["tweede"]) == (top[0], top[1])
            assert cell["niveau"] == "wijkteam" and cell["bovenliggend"] == "GM9999"
        multi = own[own["domeinen"].str.contains("+", regex=False)]
        assert cells.loc[("GM9999", group, "domeinen:2+"), "bedrag"] == multi["bedrag"].sum()
    for indicator in COST_INDICATORS:
        whole = cells.loc[("GM9999", "", indicator), "bedrag"]
        assert whole == sum(cells.loc[("GM9999", g, indicator), "bedrag"] for g in groups[1:])


def _grouped_counts(cells: pd.DataFrame, secret_group: str) -> pd.DataFrame:
    """The stand-in protected samenloop table, with every cell of one group secret (a small group)."""
    counts = _counts(cells).assign(groep=cells["groep"])
    counts.loc[counts["groep"] == secret_group, "geheim"] = True
    counts.loc[counts["groep"] == secret_group, "aantal"] = pd.NA
    return counts


@pytest.mark.parametrize("seed", [1, 2])
def test_costs_per_group_and_own_division_are_protected_and_audited(seed):
    rules = default_rules()
    cells = _grouped_cells(seed)
    counts = _grouped_counts(cells, "huishoudtype=paar")
    table = protect_costs(cells, counts, rules)
    assert list(table["groep"]) == list(cells["groep"]) and set(table["niveau"]) == {"gemeente", "wijk",
                                                                                      "wijkteam"}
    truth = cells["bedrag"].to_numpy() / 100
    shown = ~table["geheim"].to_numpy()
    assert np.all(np.abs(table["bedrag"].to_numpy(dtype=float, na_value=np.nan)[shown] - truth[shown]) <= 500)
    # A cost cell is published only when the count cell of the same area, group and indicator is.
    assert not (counts["geheim"].to_numpy() & (cells["huishoudens"] > 0).to_numpy() & shown).any()
    assert table.loc[table["groep"] == "huishoudtype=paar", "geheim"].sum() > 0
    p_fail = (cells["bedrag"] - cells["grootste"] - cells["tweede"]) < 0.15 * cells["grootste"]
    assert not (p_fail & (cells["huishoudens"] > 0) & ~table["geheim"]).any()
    intervals = audit_costs(table, cells, rules)
    assert len(intervals) == int(table["geheim"].sum()) and all(i.voldoet for i in intervals)
    by_cell = dict(zip(zip(cells["gebiedscode"], cells["groep"], cells["indicator"], strict=True), truth,
                       strict=True))
    for i in intervals:  # every secret cell, primary and secondary, keeps 15% below and above
        value = by_cell[(i.gebiedscode, i.groep, i.indicator)]
        assert i.laagst <= 0.85 * value + 1e-6 and i.hoogst >= 1.15 * value - 1e-6
    keyed = table[~table["geheim"]].set_index(["gebiedscode", "groep", "indicator"])
    count = counts.set_index(["gebiedscode", "groep", "indicator"])["aantal"]
    for key in keyed.index[keyed.index.get_level_values("gebiedscode").isin(["WT1", "WT2"])]:
        if not pd.isna(count[key]) and count[key] > 0:  # per household: the same group's published count
            assert keyed.at[key, "per_huishouden"] == round(keyed.at[key, "bedrag"] / count[key])


def test_the_sums_of_groups_and_own_divisions_are_known_to_the_attacker():
    """A secret group cell next to published siblings and total is found out by the group sum; a secret
    wijkteam cell next to the published other wijkteam and gemeente by the division sum."""
    cells = _grouped_cells(3)
    rules = default_rules()
    rounded = magnitude.round_amount(cells["bedrag"].to_numpy() / 100, rules)
    for hidden in [("GM9999", "huishoudtype=eenouder", "met_voorziening"), ("WT1", "", "met_voorziening")]:
        secret = np.array([(a, g, i) == hidden for a, g, i in zip(cells["gebiedscode"], cells["groep"],
                                                                   cells["indicator"], strict=True)])
        amounts = pd.array(rounded, dtype="Int64")
        amounts[secret] = pd.NA
        naive = cells[["gebiedscode", "groep", "indicator"]].assign(bedrag=amounts, geheim=secret)
        [interval] = audit_costs(naive, cells, rules)
        assert (interval.gebiedscode, interval.groep) == hidden[:2]
        assert not interval.voldoet and interval.hoogst - interval.laagst <= 2 * len(TYPES) * 1000
