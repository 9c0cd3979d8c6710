"""Loud signals for a partner whose records hardly link (wrong key, wrong gemeente, address format)."""

from __future__ import annotations

import pandas as pd

from linkage.link_rate import link_rates, low_link_signals


def quality(rows: list[tuple[str, int, int, int]]) -> pd.DataFrame:
    """(partner, records_in_periode, gekoppeld_adres, gekoppeld_pand) → a kwaliteit table."""
    return pd.DataFrame([
        {"partner": p, "key_id": "0123456789abcdef", "records": n + 5, "records_in_periode": n,
         "gekoppeld_adres": a, "gekoppeld_pand": b, "niet_gekoppeld": n - a - b}
        for p, n, a, b in rows
    ])


def test_link_rates_per_partner():
    rates = link_rates(quality([("a", 200, 150, 10), ("b", 0, 0, 0)])).set_index("partner")
    assert rates.loc["a", "koppelpercentage"] == 80.0
    assert rates.loc["a", "gekoppeld"] == 160
    assert pd.isna(rates.loc["b", "koppelpercentage"])


def test_healthy_partners_give_no_signal():
    assert low_link_signals(quality([("a", 100, 90, 2), ("b", 80, 70, 0), ("c", 50, 40, 5)])) == []


def test_a_partner_far_below_the_others_is_flagged_by_name():
    signals = low_link_signals(quality([
        ("jeugd", 100, 92, 1), ("wmo", 120, 110, 2), ("werk", 90, 80, 0), ("andere_gemeente", 60, 3, 0),
    ]))
    assert [s["partner"] for s in signals] == ["andere_gemeente"]
    signal = signals[0]
    assert signal["koppelpercentage"] == 5.0
    assert "andere_gemeente" in signal["signaal"] and "5,0%" in signal["signaal"]
    assert "verkeerde sleutel" in signal["signaal"] and "andere gemeente" in signal["signaal"]
    assert "mediaan" in signal["signaal"]


def test_relative_floor_catches_an_address_format_problem_above_the_absolute_floor():
    rows = [("a", 100, 95, 0), ("b", 100, 96, 0), ("c", 100, 97, 0)]
    assert low_link_signals(quality([*rows, ("regionaal", 100, 78, 0)])) == []  # 78 >= 0.75 * 96
    signals = low_link_signals(quality([*rows, ("formaat", 100, 60, 0)]))  # 60 < 0.75 * 96
    assert [s["partner"] for s in signals] == ["formaat"]
    assert "60,0%" in signals[0]["signaal"] and "mediaan 96,0%" in signals[0]["signaal"]


def test_relative_floor_when_every_share_is_low():
    # A border region where many clients live outside the register: 30% is normal here, 8% is not.
    rows = [("a", 100, 30, 0), ("b", 100, 28, 2), ("c", 100, 35, 0), ("d", 100, 8, 0)]
    flagged = {s["partner"]: s for s in low_link_signals(quality(rows))}
    assert set(flagged) == {"a", "b", "c", "d"}  # all below the absolute floor of 50%
    assert flagged["d"]["koppelpercentage"] == 8.0


def test_absolute_floor_with_too_few_partners_for_a_median():
    signals = low_link_signals(quality([("a", 100, 95, 0), ("b", 100, 20, 0)]))
    assert [s["partner"] for s in signals] == ["b"]
    assert "mediaan" not in signals[0]["signaal"]


def test_a_partner_without_records_in_the_period_is_flagged():
    signals = low_link_signals(quality([("a", 100, 95, 0), ("leeg", 0, 0, 0)]))
    assert signals == [{"partner": "leeg", "koppelpercentage": None,
                        "signaal": signals[0]["signaal"]}]
    assert "geen enkel record in de periode" in signals[0]["signaal"]


def test_records_linked_by_the_alternative_reading_count_as_linked():
    """docs/contract.md §7 (v2): `gekoppeld_alternatief` is linked, like adres and pand."""
    table = quality([("a", 100, 40, 5), ("b", 100, 90, 0), ("c", 100, 92, 0)]).assign(
        gekoppeld_alternatief=[50, 0, 0], niet_gekoppeld=[5, 10, 8])
    rates = link_rates(table).set_index("partner")
    assert rates.loc["a", "gekoppeld"] == 95
    assert low_link_signals(table) == []
