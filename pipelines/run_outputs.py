"""Settings of a run and the assembly of its output folder, written whole or not at all."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from disclosure.rules import manifest_rules
from linkage.deliveries import find_deliveries  # noqa: F401  (re-exported for the flows)
from linkage.link_rate import low_link_signals
from linkage.linking import DeliveryFile, LinkageError, LinkageResult
from linkage.ttp import steps_of
from pipelines.costs import publish_costs
from pipelines.manifest import CONTRACT_VERSION, now_iso, package_versions, sha256_of, write_manifest
from pipelines.open_data import write_csvw_metadata
from pipelines.outputs import write_households, write_quality, write_samenloop
from pipelines.preflight import OUTPUT_FILES, OUTPUT_MARKER
from schemas.areas import gemeente_of, read_area_names
from schemas.atomic import OutputFolderError, atomic_directory, check_output_folder
from schemas.clock import source_date_epoch
from schemas.formats import read_metadata
from schemas.indicators import LEVELS
from schemas.periods import Period


@dataclass(frozen=True)
class RunSettings:
    deliveries: Path
    register: Path
    areas: Path
    period: Period
    out: Path
    levels: tuple[str, ...]
    rules: Any
    vorige: Path | None = None
    geojson: Path | None = None
    pdf: bool = True
    rules_path: Path | None = None
    toelichting: Path | None = None
    reeks: tuple[Path, ...] = ()
    """Earlier outputs for the chapter "Ontwikkeling" (docs/contract.md §10)."""
    normen: Path | None = None
    status: str = "voorlopig"
    herziening: Path | None = None
    """An earlier publication of the same period that this run revises."""
    indeling_kaarten: tuple[tuple[str, Path], ...] = ()
    """A map per own division (niveau, GeoJSON file; --kaart-indeling, docs/contract.md §9)."""

    @classmethod
    def create(cls, **values: Any) -> RunSettings:
        settings = cls(**values)
        settings.check()
        check_period_options(settings)
        return settings

    def check(self) -> None:
        unknown = [level for level in self.levels if level not in LEVELS]
        if unknown or not self.levels:
            raise LinkageError(
                f"onbekend niveau {', '.join(unknown) or '(leeg)'}; kies uit {', '.join(LEVELS)}"
            )
        if not self.deliveries.is_dir():
            raise LinkageError(f"map met leveringen {self.deliveries} bestaat niet")
        for label, path in (("adressenregister", self.register), ("gebiedenbestand", self.areas)):
            if not path.is_file():
                raise LinkageError(f"{label} {path} bestaat niet")
        try:
            check_output_folder(self.out, OUTPUT_FILES, OUTPUT_MARKER)
        except OutputFolderError as exc:
            raise LinkageError(str(exc)) from None


def _gemeente(linkage: LinkageResult, names: dict[str, str]) -> dict[str, str]:
    codes = sorted(linkage.counts.loc[linkage.counts["niveau"] == "gemeente", "gebiedscode"].unique())
    if not codes:
        codes = sorted({gemeente_of(c) for c in linkage.counts["gebiedscode"].unique()})
    return {"code": ", ".join(codes), "naam": ", ".join(names.get(c, c) for c in codes)}


def _optional_inputs(settings: RunSettings) -> dict[str, Any]:
    """Rules file, map and previous period, when given: each with the hash an auditor can check."""
    inputs: dict[str, Any] = {}
    if settings.rules_path is not None:
        inputs["regels"] = {"bestand": settings.rules_path.name, "sha256": sha256_of(settings.rules_path)}
    if settings.geojson is not None:
        inputs["kaart"] = {"bestand": settings.geojson.name, "sha256": sha256_of(settings.geojson)}
    if settings.indeling_kaarten:
        inputs["kaart_indeling"] = {name: {"bestand": path.name, "sha256": sha256_of(path)}
                                    for name, path in settings.indeling_kaarten}
    if settings.toelichting is not None:
        toelichting = settings.toelichting
        inputs["toelichting"] = {"bestand": toelichting.name, "sha256": sha256_of(toelichting)}
    if settings.vorige is not None:
        previous = settings.vorige / "samenloop.csv"
        inputs["vorige"] = {
            "map": settings.vorige.name,
            "samenloop_sha256": sha256_of(previous) if previous.is_file() else None,
        }
    inputs.update(_period_inputs(settings))
    return inputs


STATUSES = ("voorlopig", "definitief")


def check_period_options(settings: RunSettings) -> None:
    """--reeks, --normen, --status and --herziening before the run starts (Dutch message, naming the
    folder or file); raises a ReportInputError or LinkageError."""
    from reports.figures import read_manifest
    from reports.normen import load_norms
    from reports.reeks import SeriesError, check_series, output_period

    if settings.status not in STATUSES:
        raise LinkageError(f"--status '{settings.status}': kies voorlopig of definitief")
    if settings.reeks:
        check_series(list(settings.reeks), settings.period.label)
    if settings.normen is not None:
        load_norms(settings.normen)
    if settings.herziening is not None:
        label = output_period(settings.herziening, "--herziening")
        if label != settings.period.label:
            raise SeriesError(
                f"--herziening: {settings.herziening} is van periode {label}, deze run van "
                f"{settings.period.label}; een herziening gaat over dezelfde periode"
            )
        earlier = read_manifest(settings.herziening / OUTPUT_MARKER).get("beveiliging") or {}
        if isinstance(earlier, dict) and manifest_rules(earlier.get("regels")) != settings.rules.as_dict():
            raise SeriesError(
                f"--herziening: {settings.herziening} is gemaakt met andere regels voor geheimhouding; "
                "een herziening gebruikt dezelfde regels (docs/disclosure.md §8)"
            )


def _period_inputs(settings: RunSettings) -> dict[str, Any]:
    """Series, norms and the revised publication, when given (docs/contract.md §10)."""
    inputs: dict[str, Any] = {}
    if settings.reeks:
        inputs["reeks"] = [
            {"map": folder.name, "samenloop_sha256": sha256_of(folder / "samenloop.csv")}
            for folder in settings.reeks
        ]
    if settings.normen is not None:
        inputs["normen"] = {"bestand": settings.normen.name, "sha256": sha256_of(settings.normen)}
    if settings.herziening is not None:
        inputs["herziening"] = {
            "map": settings.herziening.name,
            "samenloop_sha256": sha256_of(settings.herziening / "samenloop.csv"),
        }
    return inputs


def build_manifest(
    deliveries: list[DeliveryFile],
    linkage: LinkageResult,
    protected,
    audit,
    settings: RunSettings,
    names: dict[str, str],
    timings: dict[str, float],
) -> dict[str, Any]:
    register_meta = read_metadata(settings.register)
    return {
        "factlab_versie": package_versions()["factlab"],
        "contract_versie": CONTRACT_VERSION,
        "gemaakt": now_iso(),
        "status": settings.status,
        "periode": {
            "label": settings.period.label,
            "start": settings.period.start.isoformat(),
            "eind": settings.period.end.isoformat(),
        },
        "niveaus": list(settings.levels),
        "gemeente": _gemeente(linkage, names),
        "key_id": linkage.register_key_id,
        "pseudonimisering": {
            "stappen": int(steps_of(register_meta)),
            "ttp_key_id": register_meta.get("ttp_key_id") or None,
        },
        "invoer": {
            "register": {
                "bestand": settings.register.name,
                "sha256": sha256_of(settings.register),
                "key_id": register_meta.get("key_id"),
                "adressen": linkage.stage_counts["register_adressen"],
            },
            "gebieden": {"bestand": settings.areas.name, "sha256": sha256_of(settings.areas)},
            **_optional_inputs(settings),
        },
        "leveringen": [
            {
                "bestand": d.path.name,
                "partner": d.partner,
                "key_id": d.key_id,
                "ttp_key_id": d.ttp_key_id or None,
                "sha256": sha256_of(d.path),
                "rijen_gelezen": d.rows_read,
                "rijen_afgekeurd": d.rows_rejected,
                "rijen_dubbel": int(d.meta.get("rows_duplicate", 0)),
            }
            for d in deliveries
        ],
        "telling": {
            **linkage.stage_counts,
            "cellen": int(len(protected)),
            "cellen_geheim": int(protected["geheim"].sum()),
        },
        "kwaliteit_signalen": low_link_signals(linkage.quality),
        "beveiliging": {
            "regels": settings.rules.as_dict(),
            "regels_nl": settings.rules.describe_nl(),
            "audit": audit.as_manifest(),
        },
        "parameters": {
            "periode": settings.period.label,
            "niveaus": ",".join(settings.levels),
            "vorige": bool(settings.vorige),
            "kaart": bool(settings.geojson),
            **({"kaart_indeling": [name for name, _ in settings.indeling_kaarten]}
               if settings.indeling_kaarten else {}),
            "toelichting": bool(settings.toelichting),
            "pdf": settings.pdf,
            "reeks": len(settings.reeks),
            "normen": bool(settings.normen),
            "herziening": bool(settings.herziening),
        },
        "versies": package_versions(),
        # Durations differ per run: under SOURCE_DATE_EPOCH (a reproducible run) they are left out.
        "duur_seconden": {} if source_date_epoch() else {k: round(v, 3) for k, v in timings.items()},
    }


def assemble_outputs(
    deliveries: list[DeliveryFile],
    linkage: LinkageResult,
    protected,
    audit,
    settings: RunSettings,
    timings: dict[str, float],
) -> Path:
    """Write every output into a temporary folder that replaces OUT only when all succeeded."""
    from reports.build import build_report

    names = read_area_names(settings.areas)
    with atomic_directory(settings.out) as staging:
        write_samenloop(protected, names, staging / "samenloop.csv")
        write_quality(linkage.quality, staging / "kwaliteit.csv")
        write_households(linkage.households, staging / "huishoudens.parquet")
        costs = publish_costs(linkage, protected, settings.rules, names, staging)
        manifest = build_manifest(deliveries, linkage, protected, audit, settings, names, timings)
        manifest["kosten"] = costs
        write_manifest(manifest, staging / OUTPUT_MARKER)
        write_csvw_metadata(
            staging,
            gemeente=manifest["gemeente"]["naam"],
            periode=settings.period.label,
            rules=settings.rules.as_dict(),
        )
        build_report(
            staging,
            vorige=settings.vorige,
            geojson=settings.geojson,
            pdf=settings.pdf,
            toelichting=settings.toelichting,
            reeks=list(settings.reeks),
            normen=settings.normen,
            indeling_kaarten=dict(settings.indeling_kaarten),
        )
    return settings.out
