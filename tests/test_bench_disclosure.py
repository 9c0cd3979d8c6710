"""The disclosure benchmark: a generated gemeente that the real aggregation counts, and its report block."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench import disclosure_bench
from bench.disclosure_scale import ScaleSpec, scale_counts
from disclosure.audit import audit_protection
from disclosure.model import build_table_model
from disclosure.protect import knowledge_rows, protect_table, true_count_vector
from disclosure.rules import load_rules

SMALL = ScaleSpec(huishoudens=6_000, wijken=3, buurten=9, wijkteams=2, kenmerken=2, seed=3)


def test_generated_table_has_groups_divisions_and_sums_that_hold():
    counts = scale_counts(SMALL, ("gemeente", "wijk"))
    assert set(counts["niveau"]) == {"gemeente", "wijk", "wijkteam"}
    kenmerken = {g.split("=")[0] for g in counts["groep"] if g}
    assert kenmerken == {"huishoudtype", "leeftijd"}
    # Every wijk code has CBS's shape with letters allowed; every area has every indicator once.
    assert counts.loc[counts["niveau"] == "wijk", "gebiedscode"].str.fullmatch(r"WK0363[0-9A-Z]{2}").all()
    model, cells = build_table_model(counts)
    truth = true_count_vector(counts, model, cells)
    # Generated like real households: every sum and every inequality of the attacker's model holds, so
    # the bench measures protection against the whole model (knowledge_rows drops none).
    assert knowledge_rows(model, truth).all()
    assert not model.violated_rows(truth.astype(float))
    total = counts[(counts["groep"] == "") & (counts["niveau"] == "gemeente")
                   & (counts["indicator"] == "huishoudens")]["aantal"].item()
    assert abs(total - SMALL.huishoudens) < SMALL.buurten  # rounding per buurt only


def test_eenouder_households_have_more_samenloop_than_couples():
    counts = scale_counts(ScaleSpec(huishoudens=60_000, wijken=4, buurten=8, kenmerken=1, seed=1),
                          ("gemeente",), division=False)
    gm = counts[counts["niveau"] == "gemeente"].set_index(["groep", "indicator"])["aantal"]

    def rate(group: str) -> float:
        return gm[group, "domeinen:2+"] / gm[group, "huishoudens"]

    assert rate("huishoudtype=eenouder") > 1.5 * rate("huishoudtype=paar_zonder_kinderen")


def test_small_table_without_groups_is_protected_and_audited():
    counts = scale_counts(ScaleSpec(huishoudens=15_000, wijken=4, buurten=8, wijkteams=2, kenmerken=0),
                          ("gemeente", "wijk"))
    counts = counts.drop(columns="groep")
    rules = load_rules(None)
    protected = protect_table(counts, rules)
    audit = audit_protection(protected, rules, counts)
    assert audit.passed
    assert np.isfinite(audit.published_share_of_large_cells)


def _document(fout: str | None) -> dict:
    entry = {"naam": "proef", "doel_s": 60, "load_bij_start": [0.5, 0.4, 0.3], "seconden": 12.3,
             "piek_mb": 300, "fout": fout, "gehaald": fout is None}
    if fout is None:
        entry.update({"cellen": 100, "geheim": 7, "beveiligen_cpu_s": 1.0, "audit_cpu_s": 0.5,
                      "audit_geslaagd": True, "aandeel_grote_cellen_gepubliceerd": 0.91})
    return {"tijdslimiet_s": 600, "cpu": 2, "configuraties": [entry]}


def test_block_reports_met_and_aborted_runs(tmp_path: Path):
    page = tmp_path / "benchmarks.md"
    page.write_text("# Benchmarks\n\nHandgeschreven tekst.\n", encoding="utf-8")
    disclosure_bench.write_block(_document(None), page)
    text = page.read_text(encoding="utf-8")
    assert "Handgeschreven tekst." in text
    assert "| proef | 100 | 7 | 12.3 | 1.0 + 0.5 | 0.910 | ≤ 60 s: gehaald |" in text
    disclosure_bench.write_block(_document("na 600 s afgebroken"), page)
    text = page.read_text(encoding="utf-8")
    assert text.count(disclosure_bench.BEGIN) == 1
    assert "na 600 s afgebroken" in text and "niet gehaald" in text
    assert "| 100 | 7 |" not in text
