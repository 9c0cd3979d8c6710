"""`factlab bench --openbaarmaking`: disclosure control at the scale of the largest gemeente (issue 19.1).

Each configuration runs in its own process (bench/measure.py) with a time limit; a run that does not finish
within it is reported as such, with the limit, instead of hanging the benchmark. Results go to
docs/benchmarks-openbaarmaking.json and to a block of their own in docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.measure import run_stage
from schemas.atomic import atomic_path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JSON = PROJECT_ROOT / "docs" / "benchmarks-openbaarmaking.json"
BEGIN = "<!-- factlab bench --openbaarmaking: begin (gegenereerd; niet met de hand bewerken) -->"
END = "<!-- factlab bench --openbaarmaking: einde -->"

AMSTERDAM = {"huishoudens": 450_000, "wijken": 99, "buurten": 480, "wijkteams": 22}
CONFIGURATIONS: list[dict[str, Any]] = [
    {"naam": "voorbeeldschaal, gemeente + 5 wijken + 3 wijkteams, zonder groepen",
     "spec": {"huishoudens": 20_000, "wijken": 5, "buurten": 20, "wijkteams": 3, "kenmerken": 0},
     "niveaus": ["gemeente", "wijk"], "eigen_indeling": True, "doel_s": None},
    {"naam": "voorbeeldschaal, idem met 1 kenmerk (huishoudtype, 6 waarden)",
     "spec": {"huishoudens": 20_000, "wijken": 5, "buurten": 20, "wijkteams": 3, "kenmerken": 1},
     "niveaus": ["gemeente", "wijk"], "eigen_indeling": True, "doel_s": None},
    {"naam": "Amsterdam-schaal, gemeente + 99 wijken + 22 wijkteams, zonder groepen",
     "spec": {**AMSTERDAM, "kenmerken": 0},
     "niveaus": ["gemeente", "wijk"], "eigen_indeling": True, "doel_s": None},
    {"naam": "Amsterdam-schaal, gemeente + 99 wijken + 480 buurten, zonder groepen",
     "spec": {**AMSTERDAM, "kenmerken": 0},
     "niveaus": ["gemeente", "wijk", "buurt"], "eigen_indeling": False, "doel_s": 60},
    {"naam": "Amsterdam-schaal, gemeente + 99 wijken + 22 wijkteams, 2 kenmerken",
     "spec": {**AMSTERDAM, "kenmerken": 2},
     "niveaus": ["gemeente", "wijk"], "eigen_indeling": True, "doel_s": 120},
]


def run_disclosure_bench(limit_s: float, json_path: Path = DEFAULT_JSON, markdown_path: Path | None = None,
                         echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Measure every configuration (each at most `limit_s` seconds) and write the results."""
    results = []
    for config in CONFIGURATIONS:
        echo(f"openbaarmaking: {config['naam']} ...")
        load = [round(x, 2) for x in os.getloadavg()]
        run = run_stage("openbaarmaking", {k: config[k] for k in ("spec", "niveaus", "eigen_indeling")},
                        timeout=limit_s)
        entry = {**config, "load_bij_start": load, "seconden": round(run.seconden, 1),
                 "piek_mb": round(run.piek_mb), "fout": run.fout, **(run.resultaat or {})}
        goal = config["doel_s"]
        entry["gehaald"] = None if goal is None else (run.fout is None and run.seconden <= goal)
        results.append(entry)
        echo(f"  {_summary(entry)}")
    document = {"tijdslimiet_s": limit_s, "cpu": os.cpu_count(), "configuraties": results}
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if markdown_path is not None:
        write_block(document, markdown_path)
    return document


def _summary(entry: dict[str, Any]) -> str:
    if entry["fout"]:
        return f"{entry['fout']} (doel {entry['doel_s'] or '-'} s)"
    share = entry.get("aandeel_grote_cellen_gepubliceerd")
    return (f"{entry['cellen']} cellen, {entry['geheim']} geheim, {entry['seconden']} s "
            f"(beveiligen {entry['beveiligen_cpu_s']} + audit {entry['audit_cpu_s']} CPU-s), "
            f"aandeel getoond {share if share is None else round(share, 3)}, "
            f"audit {'geslaagd' if entry['audit_geslaagd'] else 'NIET geslaagd'}")


def render(document: dict[str, Any]) -> str:
    lines = [BEGIN, "", f"Tijdslimiet per configuratie: {document['tijdslimiet_s']:.0f} s; "
             f"{document['cpu']} processorkernen.", "",
             "| configuratie | cellen | geheim | tijd (s) | beveiligen + audit (CPU-s) | aandeel getoond "
             "(cellen ≥ 10) | doel | load bij start |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for e in document["configuraties"]:
        goal = f"≤ {e['doel_s']} s: {'gehaald' if e['gehaald'] else 'niet gehaald'}" if e["doel_s"] else "-"
        if e["fout"]:
            lines.append(f"| {e['naam']} | | | {e['fout']} | | | {goal} | {e['load_bij_start']} |")
            continue
        share = e.get("aandeel_grote_cellen_gepubliceerd")
        lines.append(
            f"| {e['naam']} | {e['cellen']} | {e['geheim']} | {e['seconden']} | "
            f"{e['beveiligen_cpu_s']} + {e['audit_cpu_s']} | {'-' if share is None else f'{share:.3f}'} | "
            f"{goal} | {e['load_bij_start']} |"
        )
    return "\n".join([*lines, "", END])


def write_block(document: dict[str, Any], path: Path) -> None:
    """Replace (or append) this benchmark's block in the Markdown page."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    block = render(document)
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Openbaarmakingscontrole op schaal\n\n" + block + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
