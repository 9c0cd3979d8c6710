"""kosten.csv as written (pipelines/costs.py): columns, secret cells empty, names guarded against formulas."""

from __future__ import annotations

import csv

import pandas as pd

from pipelines.costs import COSTS_COLUMNS, all_households, write_costs


def test_kosten_csv_has_its_columns_empty_secret_cells_and_no_live_formula(tmp_path):
    table = pd.DataFrame({
        "gebiedscode": ["GM9999", "WK999901"], "niveau": ["gemeente", "wijk"],
        "bovenliggend": [None, "GM9999"], "indicator": ["met_voorziening", "met_voorziening"],
        "bedrag": pd.array([123_000, None], dtype="Int64"),
        "per_huishouden": pd.array([4_100, None], dtype="Int64"),
        "geheim": [False, True], "reden": [None, "aantal"],
    })
    path = tmp_path / "kosten.csv"
    write_costs(table, {"GM9999": '=HYPERLINK("x")', "WK999901": "Centrum"}, path)
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == COSTS_COLUMNS
    assert rows[1][4:] == ["123000", "4100", "false"]
    assert rows[2][4:] == ["", "", "true"]
    assert not rows[1][1].startswith("=")
    assert "reden" not in rows[0]


def test_cost_cells_follow_only_the_all_household_cells_of_a_table_with_groups():
    """samenloop.csv with kenmerk groups (§9) has several rows per area and indicator; a cost cell follows
    the one for all households (empty groep), whatever its groups say."""
    protected = pd.DataFrame({
        "gebiedscode": ["GM9999"] * 3, "groep": ["", "huishoudtype=eenouder", "huishoudtype=paar"],
        "indicator": ["met_voorziening"] * 3, "aantal": [40, 10, 30], "geheim": [False, True, False],
    })
    rows = all_households(protected)
    assert rows["aantal"].tolist() == [40]
    assert all_households(protected.drop(columns="groep")).equals(protected.drop(columns="groep"))
