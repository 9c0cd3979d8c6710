"""kosten.csv as written (pipelines/costs.py): columns, secret cells empty, names guarded against formulas."""

from __future__ import annotations

import csv

import pandas as pd

from pipelines.costs import COSTS_COLUMNS, write_costs
from schemas.formats import SAMENLOOP_COLUMNS


def test_kosten_csv_has_its_columns_empty_secret_cells_and_no_live_formula(tmp_path):
    table = pd.DataFrame({
        "gebiedscode": ["GM9999", "WK999901", "GM9999"], "niveau": ["gemeente", "wijk", "gemeente"],
        "groep": ["", "", "=cmd"], "bovenliggend": [None, "GM9999", None],
        "indicator": ["met_voorziening"] * 3,
        "bedrag": pd.array([123_000, None, 5_000], dtype="Int64"),
        "per_huishouden": pd.array([4_100, None, 500], dtype="Int64"),
        "geheim": [False, True, False], "reden": [None, "aantal", None],
    })
    path = tmp_path / "kosten.csv"
    write_costs(table, {"GM9999": '=HYPERLINK("x")', "WK999901": "Centrum"}, path)
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == COSTS_COLUMNS
    # §12: the columns of samenloop.csv, with bedrag and per_huishouden for aantal and the rate
    assert [c for c in COSTS_COLUMNS if c not in ("bedrag", "per_huishouden")] == [
        c for c in SAMENLOOP_COLUMNS if c not in ("aantal", "per_1000_huishoudens")]
    assert rows[0][3] == "groep" and rows[1][3] == rows[2][3] == ""
    assert rows[1][5:] == ["123000", "4100", "false"]
    assert rows[2][5:] == ["", "", "true"]
    assert not rows[1][1].startswith("=") and not rows[3][3].startswith("=")
    assert "reden" not in rows[0]
