"""`factlab demo` runs each earlier half-year on that half-year's extracts (§12: an amount belongs to a
period): the partners with amounts deliver again from data/sample/leveringen_reeks/<periode>/."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq

from pipelines.cli.demo import _period_deliveries, _pseudonymise_extracts
from schemas.codelist import load_code_list

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def test_an_earlier_half_year_has_its_own_amounts_and_the_other_partners_as_delivered(tmp_path, test_key):
    settings = json.loads((SAMPLE / "demo.json").read_text(encoding="utf-8"))
    extracts = tmp_path / "extracten"
    shutil.copytree(SAMPLE / settings["leveringen"], extracts)
    sample = tmp_path / "voorbeeld"
    shutil.copytree(SAMPLE / settings["leveringen_reeks"], sample / settings["leveringen_reeks"])
    codes, said = load_code_list(), []
    deliveries = tmp_path / "werk" / "leveringen"
    deliveries.parent.mkdir()
    _pseudonymise_extracts(extracts, deliveries, tmp_path / "werk" / "afgekeurd", test_key, codes,
                           said.append)
    label = settings["reeks"][0]
    own = _period_deliveries(sample, settings, label, deliveries, tmp_path / "werk", test_key, codes,
                             said.append)
    assert own != deliveries
    with_amounts = {p.stem for p in (sample / settings["leveringen_reeks"] / label).iterdir()}
    assert with_amounts
    assert sorted(p.name for p in own.iterdir()) == sorted(p.name for p in deliveries.iterdir())
    for path in sorted(own.iterdir()):
        then, now = pq.read_table(path), pq.read_table(deliveries / path.name)
        assert then.num_rows == now.num_rows
        amounts = [sorted(v for v in t.column("bedrag").to_pylist() if v is not None) for t in (then, now)]
        same_amounts = amounts[0] == amounts[1]
        assert same_amounts == (path.stem not in with_amounts), path.stem
    # Without extracts of its own for a half-year, the period's deliveries serve.
    assert _period_deliveries(sample, settings, "2023H1", deliveries, tmp_path / "werk", test_key, codes,
                              said.append) == deliveries
