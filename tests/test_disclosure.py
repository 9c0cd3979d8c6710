"""Disclosure rules and primary protection: rounding, threshold, small areas, rates, input checks."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from disclosure.audit import audit_protection
from disclosure.model import TableInputError
from disclosure.protect import OUTPUT_COLUMNS, protect_table, rate_per_1000
from disclosure.rules import DisclosureRules, RulesError, load_rules
from disclosure.synthetic import SyntheticGemeente, synthetic_counts
from schemas.indicators import (
    HOUSEHOLDS,
    INDICATORS,
    WITH_SERVICE,
    additive_relations,
)

RULES = load_rules()


# -- rules -------------------------------------------------------------------------------------------


def test_packaged_rules_are_the_contract_defaults():
    assert RULES == DisclosureRules()
    assert RULES.min_publiceerbaar == 10
    assert RULES.afronden_op == 5
    assert RULES.min_huishoudens_gebied == 50
    assert RULES.nul_publiceren is True
    assert RULES.secundaire_onderdrukking is True


def test_rules_file_overrides_only_the_keys_it_names(tmp_path: Path):
    path = tmp_path / "regels.toml"
    path.write_text("min_publiceerbaar = 5\nsecundaire_onderdrukking = false\n", encoding="utf-8")
    rules = load_rules(path)
    assert rules.min_publiceerbaar == 5
    assert rules.secundaire_onderdrukking is False
    assert rules.afronden_op == 5


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("drempel = 3\n", "onbekende regel"),
        ("min_publiceerbaar = 'tien'\n", "geheel getal"),
        ("nul_publiceren = 1\n", "true of false"),
        ("afronden_op = 0\n", "afronden_op"),
        ("min_publiceerbaar = 2\nafronden_op = 10\n", "min_publiceerbaar"),
        ("min_publiceerbaar = [\n", "geen geldige TOML"),
        ("versie = 2\n", "versie"),
    ],
)
def test_bad_rules_file_gives_a_dutch_error_naming_the_file(tmp_path: Path, text: str, fragment: str):
    path = tmp_path / "eigen.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesError) as exc:
        load_rules(path)
    assert fragment in str(exc.value)
    assert "eigen.toml" in str(exc.value)


def test_missing_rules_file_is_a_rules_error(tmp_path: Path):
    with pytest.raises(RulesError, match="niet te lezen"):
        load_rules(tmp_path / "bestaat-niet.toml")


def test_describe_nl_and_as_dict():
    sentences = RULES.describe_nl()
    assert all(isinstance(s, str) and s.endswith(".") for s in sentences)
    text = " ".join(sentences)
    assert "1 tot en met 9" in text and "veelvoud van 5" in text and "50 huishoudens" in text
    assert RULES.as_dict()["min_publiceerbaar"] == 10
    assert "uit" in " ".join(DisclosureRules(secundaire_onderdrukking=False).describe_nl())


def test_describe_nl_names_the_cost_rules():
    own = " ".join(DisclosureRules(kosten_afronden_op=5000, kosten_p_procent=20,
                                   kosten_bescherming_procent=12).describe_nl())
    assert "kosten.csv" in own and "5.000 euro" in own and "20% van het grootste" in own
    assert "12% lager en 12% hoger" in own
    assert "1.000 euro" in " ".join(RULES.describe_nl()) and "15%" in " ".join(RULES.describe_nl())


def test_manifest_rules_read_a_manifest_without_cost_rules_as_the_defaults():
    from disclosure.rules import COST_RULE_KEYS, manifest_rules

    now = RULES.as_dict()
    older = {k: v for k, v in now.items() if k not in COST_RULE_KEYS}
    assert older != now and manifest_rules(older) == now
    assert manifest_rules({**older, "kosten_p_procent": 20}) != now  # a value it has is kept
    assert manifest_rules(None) is None and manifest_rules("x") == "x"


# -- rounding and the attacker's view of a published number ------------------------------------------


@pytest.mark.parametrize(
    ("count", "rounded"),
    [(0, 0), (2, 0), (3, 5), (7, 5), (8, 10), (10, 10), (12, 10), (13, 15), (17, 15), (18, 20), (1234, 1235)],
)
def test_round_to_nearest_five(count: int, rounded: int):
    assert RULES.round_count(count) == rounded


def test_rounding_halves_go_up_for_an_even_base():
    rules = DisclosureRules(afronden_op=10)
    assert [rules.round_count(v) for v in (14, 15, 24, 25, 35)] == [10, 20, 20, 30, 40]
    assert rules.published_bounds(20) == (15, 24)


def test_rounding_stays_within_two():
    counts = np.arange(0, 2000)
    rounded = np.array([RULES.round_count(int(v)) for v in counts])
    assert (rounded % 5 == 0).all()
    assert (np.abs(rounded - counts) <= 2).all()


def test_without_rounding_counts_are_exact():
    rules = DisclosureRules(afronden_op=1)
    assert rules.round_count(13) == 13
    assert rules.published_bounds(13) == (13, 13)


def test_published_bounds_use_the_threshold_and_exact_zero():
    assert RULES.published_bounds(0) == (0, 0)
    assert RULES.published_bounds(10) == (10, 12)  # 8 and 9 would have been secret
    assert RULES.published_bounds(15) == (13, 17)


# -- protect_table: primary rules --------------------------------------------------------------------


def _area(code: str, level: str, parent: str | None, values: dict[str, int]) -> list[dict]:
    return [{"gebiedscode": code, "niveau": level, "bovenliggend": parent, "indicator": name,
             "aantal": int(values.get(name, 0))} for name in INDICATORS]


def _consistent(households: int, exclusive: dict[str, int], services: dict[str, int],
                organisations: dict[str, int]) -> dict[str, int]:
    """All indicators of one area from its exclusive combinations and count distributions."""
    values = {HOUSEHOLDS: households, **exclusive, **services, **organisations}
    values[WITH_SERVICE] = sum(exclusive.values())
    for total, parts in additive_relations():
        if total != WITH_SERVICE and all(p in INDICATORS for p in parts):
            values[total] = sum(values.get(p, 0) for p in parts)
    assert values[WITH_SERVICE] == sum(services.values()) == sum(organisations.values())
    return values


def _single_area(households: int = 400) -> pd.DataFrame:
    values = _consistent(
        households,
        {"alleen:jeugd": 40, "alleen:wmo": 23, "alleen:werk_inkomen": 0, "combinatie:jeugd+wmo": 3,
         "combinatie:jeugd+werk_inkomen": 12, "combinatie:wmo+werk_inkomen": 0,
         "combinatie:jeugd+wmo+werk_inkomen": 0},
        {"voorzieningen:1": 50, "voorzieningen:2": 20, "voorzieningen:3": 8, "voorzieningen:4+": 0},
        {"organisaties:1": 61, "organisaties:2": 17, "organisaties:3+": 0},
    )
    return pd.DataFrame(_area("GM0001", "gemeente", None, values))


def _by_indicator(frame: pd.DataFrame, code: str) -> pd.DataFrame:
    return frame[frame["gebiedscode"] == code].set_index("indicator")


def test_output_has_one_row_per_input_row_with_the_documented_columns():
    counts = _single_area()
    out = protect_table(counts, RULES)
    assert list(out.columns) == list(OUTPUT_COLUMNS)
    assert len(out) == len(counts)
    assert list(out.index) == list(counts.index)
    assert (out["indicator"] == counts["indicator"]).all()
    assert str(out["aantal"].dtype) == "Int64"
    assert str(out["per_1000_huishoudens"].dtype) == "Float64"
    assert out["geheim"].dtype == bool


def test_threshold_zero_and_rounding_in_one_area():
    out = _by_indicator(protect_table(_single_area(), RULES), "GM0001")
    # 3 and 8 are below the threshold.
    for name in ("combinatie:jeugd+wmo", "voorzieningen:3"):
        assert out.at[name, "geheim"]
        assert out.at[name, "reden"] in ("drempel",)
        assert pd.isna(out.at[name, "aantal"]) and pd.isna(out.at[name, "per_1000_huishoudens"])
    # Zeros are published as 0.
    assert out.at["alleen:werk_inkomen", "aantal"] == 0 and not out.at["alleen:werk_inkomen", "geheim"]
    assert out.at["alleen:werk_inkomen", "reden"] is None
    # 23 is published as 25, 40 as 40, 400 as 400.
    assert out.at["alleen:wmo", "aantal"] == 25
    assert out.at["alleen:jeugd", "aantal"] == 40
    assert out.at[HOUSEHOLDS, "aantal"] == 400


def test_a_lonely_secret_cell_gets_company():
    out = _by_indicator(protect_table(_single_area(), RULES), "GM0001")
    # combinatie:jeugd+wmo (3) is the only small combination in domeinen:2+ (15, published 15): with the
    # other combinations published (12 as 10, zeros as 0) it is 15 - 10 give or take the rounding, i.e.
    # provably below 10. The cheapest company is the 12.
    assert out.at["combinatie:jeugd+werk_inkomen", "reden"] == "secundair"


def test_rates_use_the_rounded_counts():
    out = _by_indicator(protect_table(_single_area(households=407), RULES), "GM0001")
    households = out.at[HOUSEHOLDS, "aantal"]
    assert households == 405
    for name, row in out.iterrows():
        if name == HOUSEHOLDS:
            assert pd.isna(row["per_1000_huishoudens"])
        elif row["geheim"]:
            assert pd.isna(row["per_1000_huishoudens"])
        else:
            assert row["per_1000_huishoudens"] == rate_per_1000(int(row["aantal"]), int(households))
    assert out.at["alleen:wmo", "per_1000_huishoudens"] == 61.7  # 25 / 405 * 1000 = 61.73


def test_rate_rounds_half_up_exactly():
    assert rate_per_1000(1, 8) == 125.0
    assert rate_per_1000(1, 16) == 62.5
    assert rate_per_1000(1, 32) == 31.3  # 31.25 -> half up
    assert rate_per_1000(1, 3) == 333.3
    assert rate_per_1000(2, 3) == 666.7
    assert rate_per_1000(0, 50) == 0.0


def _gemeente_with_small_wijk(small_households: int) -> pd.DataFrame:
    big = _consistent(
        900,
        {"alleen:jeugd": 60, "alleen:wmo": 55, "alleen:werk_inkomen": 40, "combinatie:jeugd+wmo": 20,
         "combinatie:jeugd+werk_inkomen": 25, "combinatie:wmo+werk_inkomen": 30,
         "combinatie:jeugd+wmo+werk_inkomen": 15},
        {"voorzieningen:1": 100, "voorzieningen:2": 80, "voorzieningen:3": 40, "voorzieningen:4+": 25},
        {"organisaties:1": 120, "organisaties:2": 70, "organisaties:3+": 55},
    )
    small = _consistent(
        small_households,
        {"alleen:jeugd": 11, "alleen:wmo": 0, "alleen:werk_inkomen": 12, "combinatie:jeugd+wmo": 0,
         "combinatie:jeugd+werk_inkomen": 0, "combinatie:wmo+werk_inkomen": 0,
         "combinatie:jeugd+wmo+werk_inkomen": 0},
        {"voorzieningen:1": 13, "voorzieningen:2": 10, "voorzieningen:3": 0, "voorzieningen:4+": 0},
        {"organisaties:1": 23, "organisaties:2": 0, "organisaties:3+": 0},
    )
    total = {name: big[name] + small[name] for name in INDICATORS}
    rows = (_area("GM0001", "gemeente", None, total) + _area("WK000101", "wijk", "GM0001", big)
            + _area("WK000102", "wijk", "GM0001", small))
    return pd.DataFrame(rows)


def test_small_area_publishes_only_households():
    out = protect_table(_gemeente_with_small_wijk(49), RULES)
    small = _by_indicator(out, "WK000102")
    assert small.at[HOUSEHOLDS, "aantal"] == 50  # 49 rounds to 50; the area is still small
    assert not small.at[HOUSEHOLDS, "geheim"]
    others = small.drop(index=HOUSEHOLDS)
    assert others["geheim"].all()
    assert (others["reden"] == "klein_gebied").all()  # zeros too
    assert others["aantal"].isna().all()


def test_area_at_the_household_minimum_is_normal():
    out = protect_table(_gemeente_with_small_wijk(50), RULES)
    small = _by_indicator(out, "WK000102")
    assert not (small["reden"] == "klein_gebied").any()
    assert small.at["alleen:wmo", "aantal"] == 0


def test_small_area_is_not_recoverable_from_the_gemeente_minus_the_other_wijk():
    counts = _gemeente_with_small_wijk(49)
    out = protect_table(counts, RULES)
    audit = audit_protection(out, RULES, counts)
    assert audit.passed
    # gemeente - big wijk = small wijk: what is left of the subtraction is at least 9 values wide.
    small = [i for i in audit.intervals if i.gebiedscode == "WK000102"]
    assert len(small) == len(INDICATORS) - 1
    assert all(i.breedte >= RULES.min_bandbreedte for i in small)


def test_without_secondary_suppression_only_primary_reasons():
    rules = DisclosureRules(secundaire_onderdrukking=False)
    out = protect_table(_single_area(), rules)
    assert set(out["reden"].dropna()) == {"drempel"}


def test_zeros_secret_when_configured():
    rules = DisclosureRules(nul_publiceren=False)
    out = _by_indicator(protect_table(_single_area(), rules), "GM0001")
    assert out.at["alleen:werk_inkomen", "geheim"]
    assert out.at["alleen:werk_inkomen", "reden"] == "drempel"


def test_result_does_not_depend_on_row_order_and_is_repeatable():
    counts = synthetic_counts(3, SyntheticGemeente(wijken=4, buurten_per_wijk=2),
                              levels=("gemeente", "wijk", "buurt"))
    first = protect_table(counts, RULES)
    again = protect_table(counts, RULES)
    pd.testing.assert_frame_equal(first, again)
    shuffled = counts.sample(frac=1.0, random_state=7)
    other = protect_table(shuffled, RULES).loc[counts.index]
    pd.testing.assert_frame_equal(first, other)


# -- input checks: errors for people, never with counts ------------------------------------------------


def test_missing_indicator_is_named():
    counts = _single_area()
    with pytest.raises(TableInputError, match="voorzieningen:3"):
        protect_table(counts[counts["indicator"] != "voorzieningen:3"], RULES)


def test_counts_that_do_not_add_up_are_refused_without_values():
    counts = _single_area()
    counts.loc[counts["indicator"] == "alleen:jeugd", "aantal"] = 4321
    with pytest.raises(TableInputError) as exc:
        protect_table(counts, RULES)
    assert "GM0001" in str(exc.value) and "tellen niet op" in str(exc.value)
    assert "4321" not in str(exc.value)


def test_negative_or_fractional_counts_are_refused():
    counts = _single_area()
    counts.loc[0, "aantal"] = -1
    with pytest.raises(TableInputError, match="geheel getal"):
        protect_table(counts, RULES)


def test_unknown_parent_and_level_are_refused():
    counts = _gemeente_with_small_wijk(80)
    bad_parent = counts.assign(bovenliggend=counts["bovenliggend"].replace({"GM0001": "GM9999"}))
    with pytest.raises(TableInputError, match="GM9999"):
        protect_table(bad_parent, RULES)
    bad_level = counts.assign(niveau=counts["niveau"].replace({"wijk": "Stads deel"}))
    with pytest.raises(TableInputError, match="Stads deel"):
        protect_table(bad_level, RULES)
    # An own division (contract §9, niveau=<naam>) sits directly under the gemeente, never above it.
    upside_down = counts.assign(niveau=counts["niveau"].replace({"gemeente": "stadsdeel"}))
    with pytest.raises(TableInputError, match="grover niveau"):
        protect_table(upside_down, RULES)


def test_logs_carry_no_counts(caplog: pytest.LogCaptureFixture):
    counts = _gemeente_with_small_wijk(49)
    with caplog.at_level(logging.DEBUG, logger="disclosure"):
        protect_table(counts, RULES)
    for value in counts["aantal"].unique():
        if value >= 100:
            assert str(value) not in caplog.text


def test_secondary_suppression_sacrifices_detail_cells_before_key_figures():
    """Hiding a key figure (samenloop, a domain, households) costs KEY_WEIGHT times a detail cell, so on
    a synthetic gemeente no more key figures are secondary-suppressed than detail cells of the same kind."""
    from disclosure.model import build_table_model
    from disclosure.protect import KEY_INDICATORS, KEY_WEIGHT, hiding_weights

    counts = synthetic_counts(11, SyntheticGemeente(wijken=6, buurten_per_wijk=4))
    model, _ = build_table_model(counts)
    weights = hiding_weights(model)
    for cell in range(model.n_cells):
        assert weights[cell] == (KEY_WEIGHT if model.indicator_of(cell) in KEY_INDICATORS else 1.0)
    protected = protect_table(counts, load_rules())
    secondary = protected[protected["reden"] == "secundair"]
    key_share = secondary["indicator"].isin(KEY_INDICATORS).mean() if len(secondary) else 0.0
    assert key_share <= len(KEY_INDICATORS) / counts["indicator"].nunique()
