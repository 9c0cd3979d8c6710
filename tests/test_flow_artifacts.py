"""The plain functions behind the flow's artifacts and retry policy (no Prefect server needed)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from linkage.linking import LinkageError
from pipelines.stapeling_flow import retry_on_file_errors
from pipelines.stapeling_steps import key_figures_markdown, quality_artifact_rows


class _State:
    def __init__(self, error: BaseException | None) -> None:
        self.error = error

    def result(self):
        if self.error is not None:
            raise self.error
        return None


@pytest.mark.parametrize(("error", "retry"), [
    (OSError("share weg"), True), (FileNotFoundError("weg"), True), (duckdb.IOException("lezen"), True),
    (LinkageError("verkeerde sleutel"), False), (ValueError("fout"), False), (None, False),
])
def test_only_file_errors_are_retried(error, retry):
    assert retry_on_file_errors(None, None, _State(error)) is retry


def test_quality_rows_carry_partner_and_counts_only():
    quality = pd.DataFrame({
        "partner": ["jeugdteam_noord", "wmo_zorgkracht"], "key_id": ["0123456789abcdef"] * 2,
        "records": [120, 80], "records_in_periode": [100, 0], "gekoppeld_adres": [88, 0],
        "gekoppeld_alternatief": [2, 0], "gekoppeld_pand": [5, 0], "niet_gekoppeld": [5, 0],
        "records_met_bedrag": [60, 0],
    })
    rows = quality_artifact_rows(quality)
    assert rows[0] == {"partner": "jeugdteam_noord", "records": 120, "records_in_periode": 100,
                       "gekoppeld_adres": 88, "gekoppeld_alternatief": 2, "gekoppeld_pand": 5,
                       "niet_gekoppeld": 5, "records_met_bedrag": 60, "gekoppeld_%": 95.0}
    assert rows[1]["gekoppeld_%"] == 0.0
    assert all("key_id" not in row for row in rows)


def _protected(rows: list[tuple]) -> pd.DataFrame:
    columns = ["gebiedscode", "niveau", "indicator", "aantal", "per_1000_huishoudens", "geheim"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["aantal"] = frame["aantal"].astype("Int64")
    frame["per_1000_huishoudens"] = frame["per_1000_huishoudens"].astype("Float64")
    return frame


def test_key_figures_show_the_top_level_and_keep_secrets_secret():
    protected = _protected([
        ("GM9001", "gemeente", "huishoudens", 12345, None, False),
        ("GM9001", "gemeente", "met_voorziening", 1230, 99.6, False),
        ("GM9001", "gemeente", "combinatie:jeugd+wmo", None, None, True),
        ("WK900101", "wijk", "met_voorziening", 315, 101.2, False),
    ])
    markdown = key_figures_markdown(protected, {"GM9001": "Lindewaard"}, "2026H1", Path("uitvoer/2026H1"))
    assert "| Lindewaard | Huishoudens (totaal) | 12.345 |  |" in markdown
    assert "| Lindewaard | Huishoudens met minstens één voorziening | 1.230 | 99,6 |" in markdown
    assert "| Lindewaard | Jeugd + Wmo | geheim | geheim |" in markdown
    assert "315" not in markdown, "only the highest level"


def test_key_figures_without_gemeente_use_the_wijken():
    protected = _protected([("WK900101", "wijk", "met_voorziening", 315, 101.2, False)])
    markdown = key_figures_markdown(protected, {}, "2026H1", Path("uit"))
    assert "| WK900101 | Huishoudens met minstens één voorziening | 315 | 101,2 |" in markdown
