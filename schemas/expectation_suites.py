"""The row rules as Great Expectations suites: one JSON suite per delivery format in `schemas/suites/`.

This is the thin adapter between the suites (data) and the chunks of prepared rows. Each expectation
carries in its `meta` the rule code (`regel_code`, a code of `meldingen.csv`), the column the partner
sees (`kolom`) and the column whose value is shown (`waarde_uit`). GX runs in an ephemeral context:
nothing is written to disk, no Data Docs are built, and partner values never leave this process.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import json
import sys
import threading
import types
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SUITE_DIR = Path(__file__).resolve().parent / "suites"
CSV_SUITE = "levering_csv"
MESSAGE_SUITE = "istandaarden_301"
# COMPLETE is the one format with the full unexpected_index_list; GX then computes the unexpected
# values too (no option skips that metric), but lists none of them in the partial lists.
_RESULT_FORMAT = {"result_format": "COMPLETE", "partial_unexpected_count": 0,
                  "return_unexpected_index_query": False}


# What importing GX pulls in that validating pandas frames never uses (measured: 2 300 modules, 2.6 s):
# SQLAlchemy is optional to GX (it falls back to a stand-in when it is missing), and SciPy's statistics
# and Altair serve only distribution expectations and their charts, which no suite uses. While GX is
# imported, the first is kept out and the others load only when something first uses them.
_KEPT_OUT = ("sqlalchemy",)
_DEFERRED = ("altair", "scipy.stats")
# GX registers every kind of data source it knows when it is imported (Spark, SQL databases, cloud
# storage, files): pydantic models that cost ~0.4 s (docs/benchmarks.md, "Vijfde ronde"). Validation uses
# only the in-memory pandas source, so while GX is imported these modules are stand-ins (`_StandIn`):
# importing a name from one gives an empty class of that name, which GX registers but Factlab never uses.
_FLUENT = "great_expectations.datasource.fluent."
_STOOD_IN = frozenset(_FLUENT + name for name in (
    "alloy_datasource", "aurora_datasource", "bigquery_datasource", "citus_datasource",
    "databricks_sql_datasource", "fabric", "fabric_datasource", "neon_datasource", "postgres_datasource",
    "redshift_datasource", "snowflake_datasource", "sql_datasource", "sql_server_datasource",
    "sqlite_datasource", "spark_datasource", "spark_file_path_datasource", "spark_filesystem_datasource",
    "spark_dbfs_datasource", "spark_s3_datasource", "spark_google_cloud_storage_datasource",
    "spark_azure_blob_storage_datasource", "pandas_file_path_datasource", "pandas_filesystem_datasource",
    "pandas_dbfs_datasource", "pandas_s3_datasource", "pandas_google_cloud_storage_datasource",
    "pandas_azure_blob_storage_datasource",
))


# Likewise GX defines all its ~60 expectations (a pydantic model each) when it is imported; one module per
# expectation type, named after it. Those no suite of Factlab uses are stand-ins too: a suite that starts
# using another type gets the real one.
_EXPECTATIONS = "great_expectations.expectations.core."


@cache
def _used_expectation_types() -> frozenset[str]:
    return frozenset(e["type"] for path in sorted(SUITE_DIR.glob("*.json"))
                     for e in suite_definition(path.stem)["expectations"])


def _unused_expectation(module: str) -> bool:
    """Whether `module` is GX's module of an expectation type that no suite uses."""
    if not module.startswith(_EXPECTATIONS + "expect_"):
        return False
    return module.removeprefix(_EXPECTATIONS) not in _used_expectation_types()


class _StandIn(importlib.abc.Loader):
    """A module whose every public name is an empty class of that name (made on first use)."""

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = types.ModuleType(spec.name, "Vervangt een module van GX die Factlab niet gebruikt.")

        def stand_in(name: str) -> type:
            if name.startswith("__"):
                raise AttributeError(name)
            made = type(name, (), {"__module__": spec.name})
            setattr(module, name, made)
            return made

        module.__getattr__ = stand_in  # type: ignore[method-assign]
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        return None


class _LeanImports(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: object, target: object = None) -> Any:
        if name.partition(".")[0] in _KEPT_OUT:
            raise ModuleNotFoundError(f"{name} wordt niet geladen voor de controleregels", name=name)
        if name in _STOOD_IN or _unused_expectation(name):
            return importlib.machinery.ModuleSpec(name, _StandIn())
        if name not in _DEFERRED:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is not None and spec.loader is not None:
            spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


@contextmanager
def lean_imports() -> Iterator[None]:
    """Import GX without the modules validation does not need (`_KEPT_OUT`, `_DEFERRED`).

    Only while GX itself is imported: a module imported before (Prefect's SQLAlchemy, say) is used as it
    is, and one imported afterwards loads as usual.
    """
    finder = _LeanImports()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


ROW_WISE_EXPECTATIONS = frozenset({
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_be_null",
    "expect_column_values_to_not_be_null",
    "expect_column_pair_values_a_to_be_greater_than_b",
})
"""Expectations whose verdict on a row depends on that row's values only (the unexpected rows; `mostly`
changes only the success of the whole expectation, which is not used)."""


class SuiteError(Exception):
    """A suite that cannot run: a fault in Factlab, never in the partner's data (Dutch message)."""


@dataclass(frozen=True)
class RuleCheck:
    """What one expectation checks, as the partner will read it."""

    regel_code: str
    kolom: str
    waarde_uit: str | None


def suite_definition(name: str) -> dict[str, Any]:
    """The suite as stored: `name`, `meta` and `expectations` (type, kwargs, meta), GX's own JSON form."""
    path = SUITE_DIR / f"{name}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SuiteError(f"controleregels {path.name} zijn niet te lezen: {exc}") from None


_COLUMN_KWARGS = ("column", "column_A", "column_B")
_COLUMN_LIST_KWARGS = ("column_list", "column_set")


def judged_columns(definition: dict[str, Any]) -> list[str] | None:
    """The columns the expectations of a suite read, in order of first use; None when unknown.

    Taken from the kwargs that name a column's domain. An expectation with a `row_condition` reads
    columns its kwargs do not name: then the suite gets every column (None).
    """
    columns: list[str] = []
    for expectation in definition["expectations"]:
        kwargs = expectation["kwargs"]
        if kwargs.get("row_condition"):
            return None
        names = [kwargs[k] for k in _COLUMN_KWARGS if k in kwargs]
        names += [n for k in _COLUMN_LIST_KWARGS for n in kwargs.get(k) or []]
        columns += [n for n in names if n not in columns]
    return columns


def rule_checks(name: str) -> list[RuleCheck]:
    return _checks_of(suite_definition(name))


def _checks_of(definition: dict[str, Any]) -> list[RuleCheck]:
    return [
        RuleCheck(e["meta"]["regel_code"], e["meta"]["kolom"], e["meta"].get("waarde_uit"))
        for e in definition["expectations"]
    ]


class RowRuleSuite:
    """One suite, built once (lazily, GX is heavy to import) and then run over any number of chunks."""

    def __init__(self, name: str, code_list: list[str]) -> None:
        self.name = name
        self._definition = suite_definition(name)
        self.checks = _checks_of(self._definition)
        self.columns = judged_columns(self._definition)
        self._domains = row_wise_domains(self._definition)
        self._verdicts = _Verdicts(self._domains or [])
        self._parameters = {"codelijst": list(code_list)}
        self._batch_definition: Any = None
        self._suite: Any = None
        self._lock = threading.Lock()

    def _build(self) -> None:
        with lean_imports():
            import great_expectations as gx
            from great_expectations.data_context.types.base import (
                DataContextConfig,
                InMemoryStoreBackendDefaults,
                ProgressBarsConfig,
            )
            from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

        # In-memory stores and no Data Docs site at all: partner data is never rendered or stored.
        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
        )
        context = gx.get_context(project_config=config, mode="ephemeral")
        asset = context.data_sources.add_pandas(name="levering").add_dataframe_asset(name="blok")
        self._batch_definition = asset.add_batch_definition_whole_dataframe("blok")
        definition = self._definition
        expectations = [
            # `controle` ties each result back to its check, whatever order GX reports in.
            ExpectationConfiguration(type=e["type"], kwargs=e["kwargs"], meta={**e["meta"], "controle": i})
            .to_domain_obj()
            for i, e in enumerate(definition["expectations"])
        ]
        self._suite = context.suites.add(
            gx.ExpectationSuite(name=definition["name"], expectations=expectations,
                                meta=definition.get("meta"))
        )

    def failures(self, frame: pd.DataFrame) -> list[tuple[int, int]]:
        """(row position, check index) for every failing check; `frame` must have a RangeIndex.

        GX gets only the columns the expectations read (`judged_columns`): the pandas datasource
        fingerprints every column of a batch (twice per run: once for the batch, once for the
        validator; GX has no option to skip it below 1 GB) and filters whole batches per expectation,
        so other columns would only cost time. A column the suite names but the frame lacks is left
        for GX to report, which raises SuiteError.

        When every expectation judges a row by its own values only (`row_wise_domains`), GX judges each
        distinct value of each expectation's columns once per process (`_Verdicts`): the rows of a chunk
        get the verdicts of their values, and a chunk with no value GX has not judged yet needs no run.
        """
        if frame.empty:
            return []
        if self.columns is None:
            return self.run(frame)
        frame = frame[[c for c in frame.columns if c in self.columns]]
        if self._domains is None or any(c not in frame for c in self.columns):
            return self.run(frame)
        with self._lock:
            return self._verdicts.failures(frame, self._run_locked)

    def run(self, frame: pd.DataFrame) -> list[tuple[int, int]]:
        """`failures` over exactly the columns of `frame` (which must have rows), every row by GX."""
        with self._lock:
            return self._run_locked(frame)

    def _run_locked(self, frame: pd.DataFrame) -> list[tuple[int, int]]:
        if self._suite is None:
            self._build()
        batch = self._batch_definition.get_batch(batch_parameters={"dataframe": frame})
        outcome = batch.validate(self._suite, result_format=_RESULT_FORMAT,
                                 expectation_parameters=self._parameters)
        failing: list[tuple[int, int]] = []
        for result in outcome.results:
            config = result.expectation_config
            check = config.meta.get("controle")
            if _raised(result.exception_info):
                # The exception text may quote partner values: name only the rule.
                raise SuiteError(f"controleregel {config.meta.get('regel_code')} ({config.type}) kon niet "
                                 "uitgevoerd worden; dit is een fout in Factlab, meld het aan de beheerder")
            for position in result.result.get("unexpected_index_list") or []:
                failing.append((int(position), int(check)))
        return failing


def row_wise_domains(definition: dict[str, Any]) -> list[tuple[tuple[str, ...], list[int]]] | None:
    """(columns, checks reading them) per domain of a suite whose expectations are all row-wise.

    None when an expectation is not row-wise (`ROW_WISE_EXPECTATIONS`), has a `row_condition`, or
    when two domains share a column: then GX judges the rows themselves.
    """
    domains: dict[tuple[str, ...], list[int]] = {}
    for index, expectation in enumerate(definition["expectations"]):
        kwargs = expectation["kwargs"]
        if expectation["type"] not in ROW_WISE_EXPECTATIONS or kwargs.get("row_condition"):
            return None
        columns = tuple(kwargs[k] for k in _COLUMN_KWARGS if k in kwargs)
        domains.setdefault(columns, []).append(index)
    named = [c for columns in domains for c in columns]
    return list(domains.items()) if len(named) == len(set(named)) else None


class _Verdicts:
    """GX's verdicts per distinct value of each domain (its failing checks), kept for the process.

    A verdict depends only on the value and the suite (with its code list), so it holds for every
    later chunk and delivery judged by the same suite. New values of all domains are judged in one
    GX run over a frame as long as the most new values of one domain; the shorter domains repeat a
    value there, whose extra verdicts are not used.
    """

    LIMIT = 1_000_000
    """Values kept per domain; beyond it the verdicts start anew (memory stays bounded)."""

    def __init__(self, domains: list[tuple[tuple[str, ...], list[int]]]) -> None:
        self.domains = domains
        self.known: list[dict[tuple, frozenset[int]]] = [{} for _ in domains]

    def failures(self, frame: pd.DataFrame, run: Any) -> list[tuple[int, int]]:
        parts = []
        for (columns, _), known in zip(self.domains, self.known, strict=True):
            group, first = distinct_rows(frame[list(columns)])
            values = list(zip(*(_plain(frame[c].take(first)) for c in columns), strict=True))
            if len(known) + len(values) > self.LIMIT:
                known.clear()
            parts.append((group, first, values, [i for i, v in enumerate(values) if v not in known]))
        if any(new for *_, new in parts):
            self._judge(frame, parts, run)
        failing: list[tuple[int, int]] = []
        for (group, first, values, _), known in zip(parts, self.known, strict=True):
            rows_of = np.argsort(group, kind="stable")  # rows of distinct value d: rows_of[start[d]:end[d]]
            end = np.cumsum(np.bincount(group, minlength=len(first)))
            start = end - np.bincount(group, minlength=len(first))
            for value, (low, high) in enumerate(zip(start, end, strict=True)):
                for check in known[values[value]]:
                    failing.extend((int(row), check) for row in rows_of[low:high])
        return failing

    def _judge(self, frame: pd.DataFrame, parts: list, run: Any) -> None:
        """Let GX judge the new values of every domain in one run; keep their verdicts."""
        length = max(len(new) for *_, new in parts)
        columns = {}
        for (names, _), (_, first, _, new) in zip(self.domains, parts, strict=True):
            rows = first[new] if new else first[:1]
            rows = np.concatenate([rows, np.full(length - len(rows), rows[0])])
            columns.update({c: frame[c].take(rows).reset_index(drop=True) for c in names})
        found: dict[int, set[int]] = {}
        for position, check in run(pd.DataFrame(columns)):
            found.setdefault(check, set()).add(position)
        for (_, checks), (_, _, values, new), known in zip(self.domains, parts, self.known, strict=True):
            for position, value in enumerate(new):
                known[values[value]] = frozenset(c for c in checks if position in found.get(c, ()))


def _plain(column: pd.Series) -> list:
    """The values of a column as hashable Python values, every missing value (NaN, NaT, None) as None."""
    return [None if pd.isna(v) else v for v in column.astype(object)]


def distinct_rows(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(distinct row of each row, first row of each distinct row): rows are equal when every column is.

    Missing values (NaN, NaT, None) are equal to each other, as GX judges them alike. Distinct rows
    are numbered in order of first appearance.
    """
    group = np.zeros(len(frame), dtype=np.int64)
    for _, column in frame.items():
        codes, uniques = pd.factorize(column, use_na_sentinel=False)
        # Renumbered after every column, so the combined number stays below the number of rows.
        group, _ = pd.factorize(group * (len(uniques) + 1) + codes)
    _, first = np.unique(group, return_index=True)
    return group, first


def _raised(info: object) -> bool:
    """Whether GX reports an exception for an expectation.

    GX reports its own exception as `{"raised_exception": ...}`, but a metric it could not compute
    (a column missing from the chunk, say) as `{metric id: {"raised_exception": True, ...}}`, with no
    unexpected rows at all: that too must stop the run rather than let every row pass.
    """
    if not isinstance(info, Mapping) or not info:
        return False
    if "raised_exception" in info:
        return bool(info["raised_exception"])
    return any(_raised(value) for value in info.values())


@cache
def _suite_for(name: str, code_list: tuple[str, ...]) -> RowRuleSuite:
    return RowRuleSuite(name, list(code_list))


def suite_for(name: str, code_list: list[str]) -> RowRuleSuite:
    """The suite for a format and code list, built once per process."""
    return _suite_for(name, tuple(sorted(code_list)))
