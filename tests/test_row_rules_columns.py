"""The fast paths of the row rules judge exactly as the plain ones.

GX gets only the columns a suite reads, as categorical columns; raw columns are read as Arrow strings;
valid rows go to the staging table column by column. Each is held here against the straightforward
form on a messy chunk that breaks every rule.
"""

from __future__ import annotations

import random
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from linkage.pseudonyms import address_pseudonyms, building_pseudonyms
from pipelines.intake import delivery
from schemas.codelist import load_code_list
from schemas.expectation_suites import (
    CSV_SUITE,
    MESSAGE_SUITE,
    RowRuleSuite,
    SuiteError,
    judged_columns,
    suite_for,
)
from schemas.row_rules import _as_dates, judge_rows, prepare_rows, validate_rows

GOOD = {
    "postcode": ["1234AB", "3971BA", "1011 ab"],
    "huisnummer": ["1", "12", "12a", "7-2"],
    "huisletter": ["", "", "b"],
    "huisnummertoevoeging": ["", "", "2"],
    "voorziening": ["01", "41", "45", "1.0"],
    "begindatum": ["2020-01-01", "5-6-2022", "2019-12-31"],
    "einddatum": ["", "", "2023-01-01", "2024-02-29"],
    "bedrag": ["", "1234,56", "1.234,56", "1234.56", "0"],
}
MESSY = {
    "postcode": ["", None, "12345", "1234SA", " 1234 ab ", "\xa01234AB\u2003", "0123AB", "1234ÄB",
                 "1234\x1cAB"],
    "huisnummer": ["", None, "nvt", "0", "123456", " 7 ", "12AB", "١٢", "99999", "100000", "12 bis"],
    "huisletter": ["AB", "1", None, " b ", "é"],
    "huisnummertoevoeging": ["abcde", "-1", None, " 3 ", "a-b-c-d-e"],
    "voorziening": ["", None, "19", "45A11", " pw01 ", "\x1c", "x", "0001", "1,0"],
    "begindatum": ["", None, "29-02-2025", "31-1-26", "46053", "2026-13-01", "1-1-1850", "31-01-2026 13:45",
                   " 31-1-2026 ", "2026/1/31"],
    "einddatum": ["2018-01-01", "29-02-2025", "31-01-2026 00:00", None, "2200-01-01"],
    "bedrag": ["-1", "twaalf", "2000000", None, " 12,5 ", "1.234.56"],
}


def _messy_rows(n: int, seed: int, message: bool = False) -> pd.DataFrame:
    rng = random.Random(seed)
    data: dict[str, object] = {"regel": np.arange(2, n + 2)}
    for column, good in GOOD.items():
        pool = MESSY[column]
        values = [rng.choice(good) if rng.random() < 0.8 else rng.choice(pool) for _ in range(n)]
        data[column] = pd.Series(values, dtype="object")
    rows = pd.DataFrame(data)
    if message:
        rows["landcode"] = pd.Series([rng.choice(["NL", "NL", None, "BE"]) for _ in range(n)], dtype="object")
        rows["adres_gevonden"] = [rng.random() < 0.9 for _ in range(n)]
        rows["adres_aanduiding"] = pd.Series([rng.choice([None] * 8 + ["TO", "BY"]) for _ in range(n)],
                                             dtype="object")
        rows.insert(0, "bron", [rng.randrange(3) for _ in range(n)])
    return rows


def _as_objects(prepared: pd.DataFrame) -> pd.DataFrame:
    """Every column as plain objects, None where missing: how the rows were prepared before."""
    plain = {}
    for name, column in prepared.items():
        if pd.api.types.is_datetime64_any_dtype(column) or pd.api.types.is_integer_dtype(column):
            plain[name] = column
        else:
            values = column.astype("object")
            plain[name] = values.where(column.notna(), None)
    return pd.DataFrame(plain, index=prepared.index)


@pytest.fixture(scope="module")
def codes():
    return load_code_list()


@pytest.mark.parametrize(("name", "message"), [(CSV_SUITE, False), (MESSAGE_SUITE, True)])
def test_the_suite_on_its_own_columns_judges_as_on_the_whole_plain_frame(codes, name, message):
    suite = suite_for(name, codes.codes())
    prepared = prepare_rows(_messy_rows(3000, seed=5, message=message), codes)
    assert set(suite.columns) < set(prepared.columns)
    reference = sorted(suite.run(_as_objects(prepared)))
    # The chunk breaks every rule of the suite, so every expectation is compared.
    assert {check for _, check in reference} == set(range(len(suite.checks)))
    assert sorted(suite.failures(prepared)) == reference


def test_a_column_the_suite_reads_but_the_chunk_lacks_is_still_a_suite_error(codes):
    suite = suite_for(CSV_SUITE, codes.codes())
    prepared = prepare_rows(_messy_rows(50, seed=6), codes)
    with pytest.raises(SuiteError):
        suite.failures(prepared.drop(columns="voorziening_code"))


def test_judged_columns_are_read_from_the_expectation_kwargs():
    definition = {"expectations": [
        {"kwargs": {"column": "a", "value_set": ["x"]}},
        {"kwargs": {"column_A": "b", "column_B": "c", "or_equal": True}},
        {"kwargs": {"column_list": ["d", "b", "e"]}},
        {"kwargs": {"column_A": "a", "column_B": "d"}},
    ]}
    assert judged_columns(definition) == ["a", "b", "c", "d", "e"]
    definition["expectations"].append({"kwargs": {"column": "f", "row_condition": 'g=="1"'}})
    assert judged_columns(definition) is None


def test_judged_columns_mean_what_they_meant_as_plain_columns(codes):
    prepared = prepare_rows(_messy_rows(2000, seed=7), codes)
    raw = prepared["voorziening"].astype("object")
    expected_code = codes.unmangle(raw)
    assert prepared["voorziening_code"].astype("object").where(prepared["voorziening_code"].notna(), None)\
        .tolist() == expected_code.where(expected_code.notna(), None).tolist()
    for column in ("voorziening", "begindatum"):
        text = prepared[column].astype("object")
        assert _as_objects(prepared)[f"{column}_ingevuld"].tolist() == text.where(text != "", None).tolist()
    for column in ("begindatum", "einddatum"):
        text = prepared[column].astype("object")
        readable = np.where(text == "", None, prepared[f"{column}_datum"].notna())
        assert _as_objects(prepared)[f"{column}_leesbaar"].tolist() == readable.tolist()


def test_raw_columns_of_any_dtype_are_read_alike(codes):
    rows = _messy_rows(1500, seed=8)
    expected_valid, expected_errors = validate_rows(rows, codes)
    assert len(expected_valid) and len(expected_errors)
    text = ["postcode", "huisnummer", "huisletter", "huisnummertoevoeging", "voorziening", "begindatum",
            "einddatum"]
    for dtype in ("str", "string"):
        typed = rows.astype({c: dtype for c in text})
        valid, errors = validate_rows(typed, codes)
        pd.testing.assert_frame_equal(valid, expected_valid)
        assert errors == expected_errors
    numbers = pd.DataFrame({"regel": [2, 3], "postcode": ["1234AB", "1234AB"], "huisnummer": [12, 7],
                            "voorziening": [1, 41], "begindatum": ["2020-01-01", "2020-01-01"]})
    as_text = numbers.astype({"huisnummer": "object", "voorziening": "object"}).astype(
        {"huisnummer": str, "voorziening": str})
    pd.testing.assert_frame_equal(validate_rows(numbers, codes)[0], validate_rows(as_text, codes)[0])


def _staging_row_by_row(valid: pd.DataFrame, key) -> pa.Table:
    bron = valid["bron"] if "bron" in valid else pd.Series(0, index=valid.index)
    return pa.table(
        {
            "adres_pseudoniem": address_pseudonyms(key, valid["canoniek"]),
            "pand_pseudoniem": building_pseudonyms(key, valid["pand"]),
            "voorziening": valid["voorziening"].tolist(),
            "domein": valid["domein"].tolist(),
            "begindatum": pa.array(valid["begindatum"].tolist(), pa.date32()),
            "einddatum": pa.array([None if pd.isna(d) else d for d in valid["einddatum"].tolist()],
                                  pa.date32()),
            "adres_pseudoniem_alt": pa.array([None if pd.isna(c) else address_pseudonyms(key, [c])[0]
                                              for c in valid["canoniek_alt"].tolist()], pa.string()),
            "bedrag": pa.array([None if pd.isna(b) else int(b) for b in valid["bedrag"].tolist()],
                               pa.int64()),
            "bron": pa.array(bron.tolist(), pa.int32()),
            "regel": valid["regel"].tolist(),
        },
        schema=delivery.STAGING_SCHEMA,
    )


@pytest.mark.parametrize("message", [False, True])
def test_staging_table_equals_the_row_by_row_build(codes, test_key, message):
    name = MESSAGE_SUITE if message else CSV_SUITE
    rows = _messy_rows(2000, seed=9, message=message)
    valid, _ = judge_rows(prepare_rows(rows, codes), suite_for(name, codes.codes()), codes)
    assert valid["einddatum"].isna().any() and valid["einddatum"].notna().any()
    if not message:
        assert valid["bedrag"].isna().any() and valid["bedrag"].notna().any()
    if message:
        assert valid["bron"].nunique() == 3
    staged = delivery.staging_table(valid, test_key)
    assert staged.equals(_staging_row_by_row(valid, test_key), check_metadata=True)
    assert staged.schema == delivery.STAGING_SCHEMA


def test_staging_table_of_a_chunk_without_any_einddatum(codes, test_key):
    rows = _messy_rows(200, seed=10).assign(einddatum="")
    valid, _ = judge_rows(prepare_rows(rows, codes), suite_for(CSV_SUITE, codes.codes()), codes)
    assert len(valid) and valid["einddatum"].isna().all()
    staged = delivery.staging_table(valid, test_key)
    assert staged.equals(_staging_row_by_row(valid, test_key), check_metadata=True)
    assert staged.column("einddatum").null_count == len(valid)


@pytest.mark.parametrize("stamps", [
    ["2020-01-31", None, "1900-01-01", "2199-12-31"],
    [None, None],
    ["2020-01-31", "2021-02-01"],
    [],
])
def test_dates_are_date_objects_with_nat_where_missing(stamps):
    parsed = pd.to_datetime(pd.Series(stamps, dtype="object"), format="%Y-%m-%d")
    stamp = pd.Series(parsed.to_numpy(), index=range(10, 10 + len(stamps)), name="datum")
    expected = stamp.dt.date.where(stamp.notna(), pd.NaT) if len(stamp) else pd.Series([], dtype="object")
    dates = _as_dates(stamp)
    pd.testing.assert_series_equal(dates, expected)
    assert [type(d) for d in dates] == [type(d) for d in expected]
    assert all(type(d) is date for d in dates if d is not pd.NaT)


def test_gx_judges_each_distinct_value_once_and_its_verdict_holds_for_every_row(codes, monkeypatch):
    suite = RowRuleSuite(CSV_SUITE, codes.codes())  # its own verdicts, none kept yet
    prepared = prepare_rows(_messy_rows(2000, seed=7), codes)
    reference = sorted(suite.run(_as_objects(prepared)))
    assert {check for _, check in reference} == set(range(len(suite.checks)))
    runs = []
    judge = suite._run_locked

    def counted(frame):
        runs.append(len(frame))
        return judge(frame)

    monkeypatch.setattr(suite, "_run_locked", counted)
    assert sorted(suite.failures(prepared)) == reference
    assert len(runs) == 1 and runs[0] < len(prepared)
    # The same rows in another order (a later chunk): the kept verdicts, and no GX run at all.
    backwards = prepared.iloc[::-1].reset_index(drop=True)
    last = len(prepared) - 1
    assert sorted(suite.failures(backwards)) == sorted((last - row, check) for row, check in reference)
    assert len(runs) == 1


def test_gx_is_imported_without_the_data_sources_validation_does_not_use():
    """While GX is imported, its Spark, SQL and file data sources and the expectations no suite uses are
    stand-ins (~0.45 s per process, docs/benchmarks.md); the in-memory pandas source and the expectations
    of the suites are GX's own, and the suites still judge (the tests above).
    Every stood-in module exists in the installed GX, so the list cannot silently go stale."""
    import importlib.util
    import subprocess
    import sys
    import textwrap

    from schemas import expectation_suites

    script = textwrap.dedent(
        """
        import sys
        import pandas as pd
        from schemas.codelist import load_code_list
        from schemas.expectation_suites import _STOOD_IN, CSV_SUITE, RowRuleSuite, judged_columns
        suite = RowRuleSuite(CSV_SUITE, load_code_list().codes())
        frame = pd.DataFrame({c: ["x"] for c in suite.columns})
        assert suite.run(frame), "a row of nonsense passes every rule"
        fluent = "great_expectations.datasource.fluent."
        assert all(not hasattr(sys.modules[name], "__file__") for name in _STOOD_IN)
        assert sys.modules[fluent + "pandas_datasource"].__file__.endswith("pandas_datasource.py")
        core = "great_expectations.expectations.core."
        assert sys.modules[core + "expect_column_values_to_be_in_set"].__file__  # used by the suites
        assert not hasattr(sys.modules[core + "expect_column_kl_divergence_to_be_less_than"], "__file__")
        print(len(_STOOD_IN))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False,
                            cwd=str(expectation_suites.SUITE_DIR.parent.parent))
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout) == len(expectation_suites._STOOD_IN) > 20
    for name in expectation_suites._STOOD_IN:
        assert importlib.util.find_spec(name) is not None, f"{name} is no longer a module of GX"
