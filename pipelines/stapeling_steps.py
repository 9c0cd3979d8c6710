"""The steps of the stapelingsmonitor as plain functions, and the chain that runs them.

valideren → koppelen → aggregeren → beveiligen → rapporteren, named as the analyst thinks of them.
The same steps run as Prefect tasks (`pipelines.stapeling_flow`, when a Prefect server is configured or a
deployment runs them) or in this process without any server (`run_locally`, the default of `factlab run`).
Nothing here imports Prefect: a step reports through a `StepReporter`, which is Prefect's run logger and
artifacts in a flow, and the standard logger here. Parameters are paths and settings, never row values;
logs and artifacts carry counts only, and the key figures come from the protected table.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq

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
from pipelines.progress import Progress, activated, active, stage_hook
from pipelines.run_outputs import RunSettings, assemble_outputs, find_deliveries
from reports.figures import MapFileError, read_division_geojson, read_wijk_geojson
from reports.groepen import division_title
from reports.pdf import browser_ahead
from reports.toelichting import CHAPTERS, division_chapter, read_toelichting
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


RETRIES = {"valideren": 2, "koppelen": 1, "aggregeren": 0, "beveiligen": 0, "rapporteren": 1}
"""Extra tries per step, only after a file error (FILE_ERRORS); a wrong key or a bad file fails at once."""
RETRY_DELAY_SECONDS = 2
TIMEOUT_SECONDS = {
    "valideren": 600, "koppelen": 3600, "aggregeren": 1800, "beveiligen": 1800, "rapporteren": 900,
}


class StepReporter(Protocol):
    """Where a step's log lines and artifacts go: counts and partner names only, never row values."""

    def info(self, message: str, *args: object) -> None: ...

    def warning(self, message: str, *args: object) -> None: ...

    def table(self, rows: list[dict[str, Any]], key: str, description: str) -> None: ...

    def markdown(self, text: str, key: str, description: str) -> None: ...


class LocalReporter:
    """A run without Prefect: log lines to the `factlab` logger; the artifacts' content is in the output."""

    def __init__(self) -> None:
        self._log = logging.getLogger("factlab.run")

    def info(self, message: str, *args: object) -> None:
        self._log.info(message, *args)

    def warning(self, message: str, *args: object) -> None:
        self._log.warning(message, *args)

    def table(self, rows: list[dict[str, Any]], key: str, description: str) -> None:
        """kwaliteit.csv holds the same rows."""

    def markdown(self, text: str, key: str, description: str) -> None:
        """samenloop.csv and the report hold the same figures."""


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
            round(100 * (row["gekoppeld_adres"] + row["gekoppeld_alternatief"] + row["gekoppeld_pand"])
                  / row["records_in_periode"], 1)
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


def register_gemeenten(register: Path) -> list[str]:
    """The gemeente codes in a pseudonymised register (one column read; codes only)."""
    column = pq.read_table(register, columns=["gemeentecode"])["gemeentecode"]
    return sorted(str(code) for code in pc.unique(column).to_pylist() if code)


def check_areas_and_map(settings: RunSettings) -> None:
    """AREAS.csv names every gemeente of the register, and the maps (--kaart, --kaart-indeling) are usable:
    before linking."""
    read_area_names(settings.areas, gemeenten=register_gemeenten(settings.register))
    if settings.geojson is not None:
        read_wijk_geojson(settings.geojson)
    if settings.indeling_kaarten:
        divisions = read_area_divisions(settings.areas).divisions
        for name, path in settings.indeling_kaarten:
            if name not in divisions:
                raise MapFileError(f"--kaart-indeling {name}: het gebiedenbestand {settings.areas.name} "
                                   f"heeft geen kolom gebied_{name}")
            read_division_geojson(path, name)


def check_toelichting(settings: RunSettings, report: StepReporter) -> None:
    """The toelichting (--toelichting) is readable; each heading that names no chapter is a warning."""
    if settings.toelichting is None:
        return
    present = set(CHAPTERS) - ({"verandering"} if settings.vorige is None else set())
    divisions = read_area_divisions(settings.areas).divisions  # each has its chapter "Samenloop per <naam>"
    present |= {division_chapter(division_title(name)) for name in divisions}
    for warning in read_toelichting(settings.toelichting).warnings(present):
        report.warning("%s", warning)


def valideren(settings: RunSettings, report: StepReporter) -> ValidatedInputs:
    """Check each delivery's metadata and key against the register, fingerprint the inputs; no rows yet."""
    deliveries = [describe_delivery(p) for p in find_deliveries(settings.deliveries)]
    register_meta = expect_format(settings.register, REGISTER_FORMAT)
    check_keys(deliveries, register_meta)
    check_areas_and_map(settings)
    read_area_divisions(settings.areas)  # a buurt without its own area is a file fault before any linking
    check_toelichting(settings, report)
    validated = ValidatedInputs(deliveries, inputs_fingerprint(deliveries, settings))
    report.info(
        "%d leveringen van %d partners gevonden; sleutels kloppen met het register",
        len(deliveries),
        len({d.partner for d in deliveries}),
    )
    return validated


def koppelen(inputs: ValidatedInputs, settings: RunSettings, report: StepReporter) -> LinkedHouseholds:
    """Link records to register addresses; no pseudonym leaves this step."""
    linked = link_records(inputs.deliveries, settings.register, settings.period)
    counts = linked.stage_counts
    report.info(
        "%d records, %d in periode, %d gekoppeld, %d huishoudens met een voorziening",
        counts["records"],
        counts["records_in_periode"],
        counts["records_gekoppeld"],
        counts["huishoudens_met_voorziening"],
    )
    for signal in low_link_signals(linked.quality):  # partner name and counts only
        report.warning("kwaliteitssignaal: %s", signal["signaal"])
    report.table(
        quality_artifact_rows(linked.quality),
        key=QUALITY_ARTIFACT,
        description=f"Koppeling per partner, periode {settings.period.label} (alleen aantallen)",
    )
    return linked


def aggregeren(
    linked: LinkedHouseholds, inputs: ValidatedInputs, settings: RunSettings, report: StepReporter
) -> LinkageResult:
    """Count households per area for every indicator (true counts, not yet protected)."""
    divisions = read_area_divisions(settings.areas).divisions  # §9 own divisions, published as levels
    result = aggregate_households(linked, settings.levels, inputs.shuffle_seed, divisions)
    report.info("%d cellen geteld op niveau %s", len(result.counts), ", ".join(settings.levels))
    return result


def beveiligen(linkage: LinkageResult, settings: RunSettings, report: StepReporter):
    """Protect the true counts (docs/contract.md §8) and audit the protection."""
    from disclosure.audit import audit_protection
    from disclosure.protect import protect_with_proofs

    bar = active()
    protected, proofs = protect_with_proofs(linkage.counts, settings.rules,
                                            stage_hook(bar) if bar is not None else None)
    audit = audit_protection(protected, settings.rules, linkage.counts, proofs)
    del proofs  # near-true tables: they go no further than this step
    report.info(
        "%d cellen, %d geheim; audit %s",
        len(protected),
        int(protected["geheim"].sum()),
        "geslaagd" if audit.passed else "NIET geslaagd",
    )
    if settings.herziening is not None:
        from pipelines.revision import check_revision

        check_revision(protected, linkage.counts, settings, report)
    return protected, audit


def rapporteren(
    inputs: ValidatedInputs,
    linkage: LinkageResult,
    protected,
    audit,
    settings: RunSettings,
    timings: dict[str, float],
    report: StepReporter,
) -> Path:
    """Write the whole output folder at once (the previous one stays until the new one is complete)."""
    out = assemble_outputs(inputs.deliveries, linkage, protected, audit, settings, timings)
    report.markdown(
        key_figures_markdown(protected, read_area_names(settings.areas), settings.period.label, out),
        key=KEY_FIGURES_ARTIFACT,
        description=f"Beveiligde kerncijfers, periode {settings.period.label}",
    )
    report.info("uitvoer geschreven")
    return out


def run_settings(
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
    toelichting: str | None = None,
    reeks: list[str] | None = None,
    normen: str | None = None,
    status: str = "voorlopig",
    herziening: str | None = None,
    indeling_kaarten: dict[str, str] | None = None,
) -> RunSettings:
    """The run's settings from the flow's parameters (paths and choices, never row values)."""
    return RunSettings.create(
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
        toelichting=Path(toelichting) if toelichting else None,
        reeks=tuple(Path(p) for p in reeks or ()),
        normen=Path(normen) if normen else None,
        status=status,
        herziening=Path(herziening) if herziening else None,
        indeling_kaarten=tuple((name, Path(path)) for name, path in (indeling_kaarten or {}).items()),
    )


Step = Callable[..., Any]


def run_chain(settings: RunSettings, steps: dict[str, Step], report: StepReporter) -> Path:
    """valideren → koppelen → aggregeren → beveiligen → rapporteren, each step timed for the manifest.

    `steps` maps each step's name to the callable that runs it: the plain function here, or its Prefect task.
    """
    timings: dict[str, float] = {}

    def timed(name: str, *args):
        started = time.perf_counter()
        value = steps[name](*args, report)
        timings[name] = time.perf_counter() - started
        return value

    inputs = timed("valideren", settings)
    linked = timed("koppelen", inputs, settings)
    linkage = timed("aggregeren", linked, inputs, settings)
    # Chromium starts beside the protection, which keeps one core busy (linking uses both); the PDF is
    # printed at the end.
    with browser_ahead(settings.pdf):
        protected, audit = timed("beveiligen", linkage, settings)
        return steps["rapporteren"](inputs, linkage, protected, audit, settings, timings, report)


def with_file_retries(name: str, step: Step) -> Step:
    """The step, tried again after a file error as often as RETRIES says (what Prefect does for its tasks)."""

    def attempt(*args):
        for tries_left in range(RETRIES[name], -1, -1):
            try:
                return step(*args)
            except FILE_ERRORS:
                if not tries_left:
                    raise
                time.sleep(RETRY_DELAY_SECONDS)

    return attempt


def reported(name: str, step: Step, bar: Progress, position: int) -> Step:
    """The step, shown on `bar` as step `position` of the run; work deeper down may show its own stages."""

    def shown(*args):
        bar.stage(f"stapelingsmonitor: {name}", len(STEPS), done=position)
        with activated(bar):  # a long step may show its own stages (beveiligen does)
            value = step(*args)
        if bar.current != f"stapelingsmonitor: {name}":
            bar.stage(f"stapelingsmonitor: {name}", len(STEPS), done=position)
        bar.advance(1)
        return value

    return shown


STEPS: dict[str, Step] = {
    "valideren": valideren,
    "koppelen": koppelen,
    "aggregeren": aggregeren,
    "beveiligen": beveiligen,
    "rapporteren": rapporteren,
}


def run_locally(progress: Progress | None = None, **parameters: Any) -> str:
    """The stapelingsmonitor in this process, without a Prefect server (same steps, same output).

    `progress` hears of each step (its name, and the steps done).
    """
    settings = run_settings(**parameters)
    bar = progress or Progress.off()
    steps = {name: reported(name, with_file_retries(name, step), bar, position)
             for position, (name, step) in enumerate(STEPS.items())}
    return str(run_chain(settings, steps, LocalReporter()))
