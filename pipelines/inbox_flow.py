"""The Prefect flow for a period's inbox: run the stapelingsmonitor once every expected partner delivered.

The half-yearly deployment in prefect.yaml calls it with `periode="vorig-halfjaar"`; an analyst can
run it on demand for any period, also when a partner is still missing (`alleen_als_compleet=False`).
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE

from pipelines.inbox import (
    AREAS_FILE,
    MAP_FILE,
    OUTPUT_MARKER,
    PREVIOUS_HALF_YEAR,
    REGISTER_FILE,
    RULES_FILE,
    TOELICHTING_FILE,
    InboxIncomplete,
    InboxStatus,
    inbox_status,
    previous_period,
    resolve_period,
    series_outputs,
)
from pipelines.stapeling_flow import retry_on_file_errors, stapelingsmonitor

INBOX_ARTIFACT = "stapelingsmonitor-inbox"


@task(
    name="inbox controleren",
    cache_policy=NONE,
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=retry_on_file_errors,
    timeout_seconds=300,
)
def inbox_controleren(inbox: Path, periode: str) -> InboxStatus:
    """Compare who delivered (Parquet metadata) with verwacht.txt and publish the status as an artifact."""
    status = inbox_status(inbox, periode)
    create_markdown_artifact(
        status.markdown(), key=INBOX_ARTIFACT, description=f"Wie heeft geleverd voor periode {periode}"
    )
    logger = get_run_logger()
    if status.complete:
        logger.info("inbox compleet: %s", status.summary_nl())
    else:
        logger.warning("inbox niet compleet: %s", status.summary_nl())
    return status


@flow(name="stapelingsmonitor-inbox", flow_run_name="inbox {periode}", log_prints=False, persist_result=False)
def inbox_stapelingsmonitor(
    inbox: str = "inbox",
    periode: str = PREVIOUS_HALF_YEAR,
    out: str = "uitvoer",
    alleen_als_compleet: bool = True,
    niveaus: str = "gemeente,wijk",
    pdf: bool = True,
    toelichting: str | None = None,
) -> str:
    """Run the stapelingsmonitor on `inbox/<periode>/`, writing to `out/<periode>/`.

    `toelichting` is the gemeente's Markdown text per chapter; by default `inbox/<periode>/toelichting.md`
    when it is there.
    Every earlier output of the same kind in `out/` (`out/<periode>/` with a Factlab output) goes with it
    as the series (`--reeks`), so the report shows the whole series; the one just before is `--vorige`.

    `periode` is a period label (2026H1) or `vorig-halfjaar`. With `alleen_als_compleet` the run
    stops, naming the missing partners, until every partner in verwacht.txt has delivered.
    """
    label = resolve_period(periode)
    status = inbox_controleren(Path(inbox), label)
    if not status.delivered:
        raise InboxIncomplete(
            f"periode {label}: nog geen enkele levering in {status.deliveries_dir}; "
            f"ontbreekt: {', '.join(status.missing)}"
        )
    if not status.complete and alleen_als_compleet:
        raise InboxIncomplete(
            f"{status.summary_nl()}. De stapelingsmonitor draait pas als alle verwachte partners geleverd "
            "hebben; draai met alleen_als_compleet=false om toch te rekenen met wie er is."
        )
    if status.unreadable:
        raise InboxIncomplete(
            f"{status.summary_nl()}. Haal onleesbare bestanden uit {status.deliveries_dir}."
        )
    before = previous_period(label)
    previous_out = Path(out) / before if before else None
    vorige = previous_out if previous_out is not None and (previous_out / OUTPUT_MARKER).is_file() else None
    reeks = [str(folder) for folder in series_outputs(Path(out), label)]
    if reeks:
        get_run_logger().info("reeks: %d eerdere perioden in %s", len(reeks), out)
    rules = status.optional_file(RULES_FILE)
    geojson = status.optional_file(MAP_FILE)
    toelichting = toelichting or status.optional_file(TOELICHTING_FILE)
    division_maps = status.division_maps()
    return stapelingsmonitor(
        deliveries=str(status.deliveries_dir),
        register=str(status.folder / REGISTER_FILE),
        areas=str(status.folder / AREAS_FILE),
        period=label,
        out=str(Path(out) / label),
        niveaus=niveaus,
        regels=str(rules) if rules else None,
        vorige=str(vorige) if vorige else None,
        geojson=str(geojson) if geojson else None,
        pdf=pdf,
        toelichting=str(toelichting) if toelichting else None,
        reeks=reeks or None,
        indeling_kaarten={name: str(path) for name, path in division_maps.items()} or None,
    )
