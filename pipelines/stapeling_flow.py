"""The Prefect flow behind `factlab run` and the deployments in prefect.yaml.

valideren → koppelen → aggregeren → beveiligen → rapporteren, named as the analyst thinks of them.
Tasks only wire plain functions from linkage/, disclosure/ and reports/ together. Parameters are
paths and settings, never row values; logs and artifacts carry counts only, and the key figures
in the artifact come from the protected table, never from the true counts.
"""

from __future__ import annotations

import hashlib
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE

from disclosure.rules import load_rules
from linkage.link_rate import low_link_signals
from linkage.linking import (
    DeliveryFile,
    LinkageResult,
    LinkedHouseholds,
    aggregate_households,
    check_keys,
    describe_delivery,
    link_records,
)
from pipelines.manifest import sha256_of
from pipelines.run_outputs import RunSettings, assemble_outputs, find_deliveries
from schemas.areas import read_area_divisions, read_area_names
from schemas.formats import QUALITY_COLUMNS, REGISTER_FORMAT, expect_format
from schemas.indicators import (
    COMBINATION_INDICATORS,
    DOMAIN_INDICATORS,
    HOUSEHOLDS,
    INDICATOR_LABELS,
    LEVELS,
    MULTI_DOMAIN,
    WITH_SERVICE,
)
from schemas.periods import parse_period

QUALITY_ARTIFACT = "stapelingsmonitor-kwaliteit"
KEY_FIGURES_ARTIFACT = "stapelingsmonitor-kerncijfers"
# Only these fail for reasons a second try can fix (a share that hiccups, a file still being copied).
FILE_ERRORS: tuple[type[BaseException], ...] = (OSError, duckdb.IOException)


def retry_on_file_errors(task, task_run, state) -> bool:
    """Retry a task only when it failed on file I/O; a wrong key or a bad file fails at once."""
    try:
        state.result()
    except FILE_ERRORS:
        return True
    except BaseException:
        return False
    return False


@dataclass(frozen=True)
class ValidatedInputs:
    deliveries: list[DeliveryFile]
    fingerprint: str
    """SHA-256 over the content of every input and the period: the same inputs give the same value."""

    @property
    def shuffle_seed(self) -> int:
        """Seed for the order of huishoudens.parquet, so a rerun on the same inputs writes the same bytes."""
        return int(self.fingerprint[:16], 16)


def inputs_fingerprint(deliveries: list[DeliveryFile], settings: RunSettings) -> str:
    header = f"periode={settings.period.label}\nniveaus={','.join(settings.levels)}\n"
    digest = hashlib.sha256(header.encode())
    for label, path in (("register", settings.register), ("gebieden", settings.areas)):
        digest.update(f"{label}={sha256_of(path)}\n".encode())
    for delivery in sorted(deliveries, key=lambda d: d.path.name):
        digest.update(f"levering={sha256_of(delivery.path)}\n".encode())
    return digest.hexdigest()


def quality_artifact_rows(quality: pd.DataFrame) -> list[dict[str, Any]]:
    """kwaliteit.csv as artifact rows: partner and counts only."""
    columns = [c for c in QUALITY_COLUMNS if c != "key_id"]
    rows = []
    for record in quality.loc[:, columns].to_dict("records"):
        row = {"partner": str(record["partner"]), **{c: int(record[c]) for c in columns[1:]}}
        row["gekoppeld_%"] = (
            round(100 * (row["gekoppeld_adres"] + row["gekoppeld_pand"]) / row["records_in_periode"], 1)
            if row["records_in_periode"]
            else 0.0
        )
        rows.append(row)
    return rows


KEY_FIGURE_INDICATORS: tuple[str, ...] = (
    HOUSEHOLDS,
    WITH_SERVICE,
    MULTI_DOMAIN,
    *DOMAIN_INDICATORS.values(),
    *(name for name, _ in COMBINATION_INDICATORS),
)


def _published(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return ""
    return f"{int(value):,}".replace(",", ".")


def key_figures_markdown(protected: pd.DataFrame, names: dict[str, str], period: str, out: Path) -> str:
    """The protected figures of the highest level as Markdown; secret cells stay secret."""
    present = set(protected["niveau"])
    top_level = next((level for level in LEVELS if level in present), None)
    lines = [f"# Stapelingsmonitor {period}: kerncijfers (beveiligd)", ""]
    if top_level is None:
        return "\n".join([*lines, "Geen cijfers."])
    lines += [
        "Alle aantallen komen uit de beveiligde tabel (afgerond, kleine aantallen geheim).",
        "",
        "| gebied | cijfer | aantal | per 1.000 huishoudens |",
        "| --- | --- | ---: | ---: |",
    ]
    rows = protected[(protected["niveau"] == top_level)]
    if "groep" in rows.columns:
        rows = rows[rows["groep"] == ""]  # all households; groups are in samenloop.csv
    for code in sorted(rows["gebiedscode"].unique()):
        area = rows[rows["gebiedscode"] == code].set_index("indicator")
        for indicator in KEY_FIGURE_INDICATORS:
            if indicator not in area.index:
                continue
            cell = area.loc[indicator]
            if bool(cell["geheim"]):
                count, rate = "geheim", "geheim"
            else:
                count = _published(cell["aantal"])
                rate = cell["per_1000_huishoudens"]
                rate = "" if pd.isna(rate) else f"{float(rate):.1f}"
            label = INDICATOR_LABELS.get(indicator, indicator)
            lines.append(f"| {names.get(code, code)} | {label} | {count} | {rate.replace('.', ',')} |")
    lines += ["", f"Uitvoer: `{out}` (rapport.html, samenloop.csv, kwaliteit.csv, manifest.json)."]
    return "\n".join(lines)


@task(
    name="valideren",
    cache_policy=NONE,
    retries=2,
    retry_delay_seconds=2,
    retry_condition_fn=retry_on_file_errors,
    timeout_seconds=600,
)
def valideren(settings: RunSettings) -> ValidatedInputs:
    """Check each delivery's metadata and key against the register, fingerprint the inputs; no rows yet."""
    deliveries = [describe_delivery(p) for p in find_deliveries(settings.deliveries)]
    register_meta = expect_format(settings.register, REGISTER_FORMAT)
    check_keys(deliveries, register_meta)
    read_area_divisions(settings.areas)  # a buurt without its own area is a file fault before any linking
    validated = ValidatedInputs(deliveries, inputs_fingerprint(deliveries, settings))
    get_run_logger().info(
        "%d leveringen van %d partners gevonden; sleutels kloppen met het register",
        len(deliveries),
        len({d.partner for d in deliveries}),
    )
    return validated


@task(
    name="koppelen",
    cache_policy=NONE,
    retries=1,
    retry_delay_seconds=2,
    retry_condition_fn=retry_on_file_errors,
    timeout_seconds=3600,
)
def koppelen(inputs: ValidatedInputs, settings: RunSettings) -> LinkedHouseholds:
    """Link records to register addresses; no pseudonym leaves this task."""
    linked = link_records(inputs.deliveries, settings.register, settings.period)
    counts = linked.stage_counts
    get_run_logger().info(
        "%d records, %d in periode, %d gekoppeld, %d huishoudens met een voorziening",
        counts["records"],
        counts["records_in_periode"],
        counts["records_gekoppeld"],
        counts["huishoudens_met_voorziening"],
    )
    for signal in low_link_signals(linked.quality):  # partner name and counts only
        get_run_logger().warning("kwaliteitssignaal: %s", signal["signaal"])
    create_table_artifact(
        quality_artifact_rows(linked.quality),
        key=QUALITY_ARTIFACT,
        description=f"Koppeling per partner, periode {settings.period.label} (alleen aantallen)",
    )
    return linked


@task(name="aggregeren", cache_policy=NONE, timeout_seconds=1800)
def aggregeren(linked: LinkedHouseholds, inputs: ValidatedInputs, settings: RunSettings) -> LinkageResult:
    """Count households per area for every indicator (true counts, not yet protected)."""
    divisions = read_area_divisions(settings.areas).divisions  # §9 own divisions, published as levels
    result = aggregate_households(linked, settings.levels, inputs.shuffle_seed, divisions)
    get_run_logger().info("%d cellen geteld op niveau %s", len(result.counts), ", ".join(settings.levels))
    return result


@task(name="beveiligen", cache_policy=NONE, timeout_seconds=1800)
def beveiligen(linkage: LinkageResult, settings: RunSettings):
    from disclosure.audit import audit_protection
    from disclosure.protect import protect_table

    protected = protect_table(linkage.counts, settings.rules)
    audit = audit_protection(protected, settings.rules, linkage.counts)
    get_run_logger().info(
        "%d cellen, %d geheim; audit %s",
        len(protected),
        int(protected["geheim"].sum()),
        "geslaagd" if audit.passed else "NIET geslaagd",
    )
    return protected, audit


@task(
    name="rapporteren",
    cache_policy=NONE,
    retries=1,
    retry_delay_seconds=2,
    retry_condition_fn=retry_on_file_errors,
    timeout_seconds=900,
)
def rapporteren(
    inputs: ValidatedInputs,
    linkage: LinkageResult,
    protected,
    audit,
    settings: RunSettings,
    timings: dict[str, float],
) -> Path:
    """Write the whole output folder at once (the previous one stays until the new one is complete)."""
    out = assemble_outputs(inputs.deliveries, linkage, protected, audit, settings, timings)
    create_markdown_artifact(
        key_figures_markdown(protected, read_area_names(settings.areas), settings.period.label, out),
        key=KEY_FIGURES_ARTIFACT,
        description=f"Beveiligde kerncijfers, periode {settings.period.label}",
    )
    get_run_logger().info("uitvoer geschreven")
    return out


# Prefect checks parameters with a pydantic model, where the contract's parameter name `register` shadows
# a BaseModel attribute; harmless for a str field, and noise in every deploy and run.
warnings.filterwarnings(
    "ignore", message='Field name "register" in "StapelingsmonitorModel"', category=UserWarning
)


@flow(
    name="stapelingsmonitor",
    flow_run_name="stapelingsmonitor {period}",
    log_prints=False,
    persist_result=False,
)
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
        deliveries=Path(deliveries),
        register=Path(register),
        areas=Path(areas),
        period=parse_period(period),
        out=Path(out),
        levels=tuple(n.strip() for n in niveaus.split(",") if n.strip()),
        rules=load_rules(Path(regels) if regels else None),
        vorige=Path(vorige) if vorige else None,
        geojson=Path(geojson) if geojson else None,
        pdf=pdf,
        rules_path=Path(regels) if regels else None,
    )
    timings: dict[str, float] = {}

    def timed(name: str, step, *args):
        started = time.perf_counter()
        value = step(*args)
        timings[name] = time.perf_counter() - started
        return value

    inputs = timed("valideren", valideren, settings)
    linked = timed("koppelen", koppelen, inputs, settings)
    linkage = timed("aggregeren", aggregeren, linked, inputs, settings)
    protected, audit = timed("beveiligen", beveiligen, linkage, settings)
    return str(rapporteren(inputs, linkage, protected, audit, settings, timings))
