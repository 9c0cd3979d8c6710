"""Many gemeenten at once: one `stapelingsmonitor` deployment run per gemeente, over a work pool's workers.

For a region or VNG running the monitor for many gemeenten. Each gemeente stays its own run, with its
own register, deliveries and output folder (the figures of one gemeente never meet another's); the
work pool spreads the runs over however many workers are started, on one machine or several. When this
is needed rather than one `factlab run` per gemeente: docs/benchmarks.md, "Voorbij één machine".

Parameters are paths and settings only, never row values, pseudonyms or key material.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NONE
from prefect.deployments import run_deployment
from prefect.task_runners import ThreadPoolTaskRunner

from reports.figures import ReportInputError

DEFAULT_DEPLOYMENT = "stapelingsmonitor/stapelingsmonitor-adhoc"
REQUIRED = ("gemeente", "deliveries", "register", "areas", "period", "out")
OPTIONAL = ("niveaus", "regels", "vorige", "geojson", "pdf", "indeling_kaarten")
FANOUT_ARTIFACT = "stapelingsmonitor-fanout"
COMPARISON_FOLDER = "vergelijking"
"""Without `vergelijking`, the comparison goes into this folder beside the gemeenten's output folders."""
MAX_PARALLEL_SUBMISSIONS = 64


class FanoutError(Exception):
    """A fan-out that cannot start or did not finish for every gemeente (Dutch message, no row values)."""


def check_assignments(gemeenten: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every gemeente needs its own inputs and its own output folder."""
    if not gemeenten:
        raise FanoutError("geen gemeenten opgegeven")
    problems = []
    for position, assignment in enumerate(gemeenten, start=1):
        missing = [name for name in REQUIRED if not assignment.get(name)]
        unknown = sorted(set(assignment) - set(REQUIRED) - set(OPTIONAL))
        if missing or unknown:
            label = assignment.get("gemeente") or f"nummer {position}"
            problems.append(
                f"gemeente {label}: "
                + "; ".join(
                    ([f"ontbreekt: {', '.join(missing)}"] if missing else [])
                    + ([f"onbekend: {', '.join(unknown)}"] if unknown else [])
                )
            )
    outs = [str(a.get("out")) for a in gemeenten]
    if len(set(outs)) != len(outs):
        problems.append("twee gemeenten schrijven naar dezelfde uitvoermap; geef elke gemeente een eigen map")
    names = [str(a.get("gemeente")) for a in gemeenten]
    if len(set(names)) != len(names):
        problems.append("een gemeente staat twee keer in de lijst")
    if problems:
        raise FanoutError("; ".join(problems))
    return gemeenten


@task(name="gemeente draaien", cache_policy=NONE, retries=0)
def gemeente_draaien(assignment: dict[str, Any], deployment: str, timeout_seconds: float) -> dict[str, Any]:
    """Start the gemeente's deployment run and wait for it (the worker that picks it up does the work)."""
    parameters = {name: assignment[name] for name in (*REQUIRED[1:], *OPTIONAL) if name in assignment}
    run = run_deployment(
        deployment,
        parameters=parameters,
        timeout=timeout_seconds,
        flow_run_name=f"stapelingsmonitor {assignment['gemeente']} {assignment['period']}",
        tags=["factlab", "fanout"],
    )
    state = run.state.name if run.state else "onbekend"
    finished = bool(run.state and run.state.is_final())
    return {
        "gemeente": str(assignment["gemeente"]),
        "status": state if finished else f"niet klaar ({state})",
        "geslaagd": bool(run.state and run.state.is_completed()),
        "flow_run_id": str(run.id),
        "uitvoer": str(assignment["out"]),
    }


def comparison_folder(results: list[dict[str, Any]], vergelijking: str | None) -> Path:
    """Where the comparison goes: `vergelijking`, else `vergelijking/` in the common parent of the outputs."""
    if vergelijking:
        return Path(vergelijking)
    parents = [str(Path(r["uitvoer"]).resolve().parent) for r in results]
    return Path(os.path.commonpath(parents)) / COMPARISON_FOLDER


@task(name="gemeenten vergelijken", cache_policy=NONE, retries=0)
def gemeenten_vergelijken(outputs: list[str], folder: str, pdf: bool) -> list[str]:
    """`factlab vergelijk` over the output folders (§13): only their published files are read."""
    from reports.vergelijking import compare_outputs

    return [str(p) for p in compare_outputs([Path(o) for o in outputs], Path(folder), pdf=pdf)]


@flow(
    name="stapelingsmonitor-fanout",
    log_prints=False,
    persist_result=False,
    task_runner=ThreadPoolTaskRunner(max_workers=MAX_PARALLEL_SUBMISSIONS),
)
def stapelingsmonitor_fanout(
    gemeenten: list[dict[str, Any]],
    deployment: str = DEFAULT_DEPLOYMENT,
    timeout_seconds: float = 3600,
    vergelijking: str | None = None,
) -> list[dict[str, Any]]:
    """Run the stapelingsmonitor for every gemeente in parallel; fails, naming them, if any did not complete.

    Each entry of `gemeenten`: `gemeente` (a label such as GM0363), `deliveries`, `register`, `areas`,
    `period`, `out`, and optionally `niveaus`, `regels`, `vorige`, `geojson`, `pdf`, `indeling_kaarten`
    (niveau -> path of its map, §9). When all completed, the last step compares them
    (vergelijking.csv/.html/.pdf in `vergelijking`, see comparison_folder).
    """
    check_assignments(gemeenten)
    futures = [gemeente_draaien.submit(a, deployment, timeout_seconds) for a in gemeenten]
    results = [future.result() for future in futures]
    create_table_artifact(
        [{k: r[k] for k in ("gemeente", "status", "uitvoer")} for r in results],
        key=FANOUT_ARTIFACT,
        description="Stapelingsmonitor per gemeente",
    )
    failed = [r["gemeente"] for r in results if not r["geslaagd"]]
    get_run_logger().info("%d gemeenten klaar, %d mislukt", len(results) - len(failed), len(failed))
    if failed:
        raise FanoutError(f"de stapelingsmonitor is niet geslaagd voor: {', '.join(failed)}")
    folder = comparison_folder(results, vergelijking)
    pdf = all(bool(a.get("pdf", True)) for a in gemeenten)
    try:
        gemeenten_vergelijken([r["uitvoer"] for r in results], str(folder), pdf)
    except ReportInputError as exc:  # e.g. other disclosure rules: the runs stand, the comparison does not
        get_run_logger().warning("geen vergelijking gemaakt: %s", exc)
    return results
