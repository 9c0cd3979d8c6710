"""The row rules as Great Expectations suites: one JSON suite per delivery format in `schemas/suites/`.

This is the thin adapter between the suites (data) and the chunks of prepared rows. Each expectation
carries in its `meta` the rule code (`regel_code`, a code of `meldingen.csv`), the column the partner
sees (`kolom`) and the column whose value is shown (`waarde_uit`). GX runs in an ephemeral context:
nothing is written to disk, no Data Docs are built, and partner values never leave this process.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

SUITE_DIR = Path(__file__).resolve().parent / "suites"
CSV_SUITE = "levering_csv"
MESSAGE_SUITE = "istandaarden_301"
# COMPLETE is the one format with the full unexpected_index_list; GX then computes the unexpected
# values too (no option skips that metric), but lists none of them in the partial lists.
_RESULT_FORMAT = {"result_format": "COMPLETE", "partial_unexpected_count": 0,
                  "return_unexpected_index_query": False}


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
        self._parameters = {"codelijst": list(code_list)}
        self._batch_definition: Any = None
        self._suite: Any = None
        self._lock = threading.Lock()

    def _build(self) -> None:
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
        """
        if frame.empty:
            return []
        if self.columns is not None:
            frame = frame[[c for c in frame.columns if c in self.columns]]
        return self.run(frame)

    def run(self, frame: pd.DataFrame) -> list[tuple[int, int]]:
        """`failures` over exactly the columns of `frame` (which must have rows)."""
        with self._lock:
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
