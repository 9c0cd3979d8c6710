"""The Prefect flow behind `factlab run`: valideren → koppelen → beveiligen → rapporteren.

Tasks only wire plain functions from linkage/, disclosure/ and reports/ together. Parameters are
paths and settings, never row values; logs carry counts only.
"""

from __future__ import annotations

import time
from pathlib import Path

from disclosure.rules import load_rules
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from linkage.linking import DeliveryFile, LinkageResult, describe_delivery, link_deliveries
from linkage.periods import parse_period
from linkage.run_outputs import RunSettings, assemble_outputs, find_deliveries


@task(name="valideren", cache_policy=NONE, retries=2, retry_delay_seconds=2, timeout_seconds=600)
def valideren(deliveries_dir: Path) -> list[DeliveryFile]:
    """Read the metadata of every delivery; no rows yet."""
    deliveries = [describe_delivery(p) for p in find_deliveries(deliveries_dir)]
    get_run_logger().info("%d leveringen van %d partners gevonden", len(deliveries),
                          len({d.partner for d in deliveries}))
    return deliveries


@task(name="koppelen en aggregeren", cache_policy=NONE, timeout_seconds=3600)
def koppelen(deliveries: list[DeliveryFile], settings: RunSettings) -> LinkageResult:
    result = link_deliveries(deliveries, settings.register, settings.period, settings.levels)
    get_run_logger().info("%d records, %d in periode, %d huishoudens met een voorziening",
                          result.stage_counts["records"], result.stage_counts["records_in_periode"],
                          result.stage_counts["huishoudens_met_voorziening"])
    return result


@task(name="beveiligen", cache_policy=NONE, timeout_seconds=1800)
def beveiligen(linkage: LinkageResult, settings: RunSettings):
    from disclosure.audit import audit_protection
    from disclosure.protect import protect_table

    protected = protect_table(linkage.counts, settings.rules)
    audit = audit_protection(protected, settings.rules, linkage.counts)
    get_run_logger().info("%d cellen, %d geheim; audit %s", len(protected), int(protected["geheim"].sum()),
                          "geslaagd" if audit.passed else "NIET geslaagd")
    return protected, audit


@task(name="rapporteren", cache_policy=NONE, retries=1, retry_delay_seconds=2, timeout_seconds=900)
def rapporteren(deliveries, linkage, protected, audit, settings: RunSettings, timings: dict[str, float]) -> Path:
    out = assemble_outputs(deliveries, linkage, protected, audit, settings, timings)
    get_run_logger().info("uitvoer geschreven")
    return out


@flow(name="stapelingsmonitor", log_prints=False, persist_result=False)
def stapelingsmonitor(
    deliveries: str,
    register: str,
    areas: str,
    period: str,
    out: str,
    niveaus: str = "gemeente,wijk",
    regels: str | None = None,
    vorige: str | None = None,
    geojson: str | None = None,
    pdf: bool = True,
) -> str:
    """Link pseudonymised deliveries, count samenloop per area, protect, and report."""
    settings = RunSettings.create(
        deliveries=Path(deliveries), register=Path(register), areas=Path(areas), period=parse_period(period),
        out=Path(out), levels=tuple(n.strip() for n in niveaus.split(",") if n.strip()),
        rules=load_rules(Path(regels) if regels else None), vorige=Path(vorige) if vorige else None,
        geojson=Path(geojson) if geojson else None, pdf=pdf,
    )
    timings: dict[str, float] = {}
    started = time.perf_counter()
    found = valideren(settings.deliveries)
    timings["valideren"] = time.perf_counter() - started
    started = time.perf_counter()
    linkage = koppelen(found, settings)
    timings["koppelen"] = time.perf_counter() - started
    started = time.perf_counter()
    protected, audit = beveiligen(linkage, settings)
    timings["beveiligen"] = time.perf_counter() - started
    return str(rapporteren(found, linkage, protected, audit, settings, timings))
