"""Settings of a run and the assembly of its output folder, written whole or not at all."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linkage.deliveries import find_deliveries  # noqa: F401  (re-exported for the flows)
from linkage.link_rate import low_link_signals
from linkage.linking import DeliveryFile, LinkageError, LinkageResult
from linkage.ttp import steps_of
from pipelines.costs import publish_costs
from pipelines.manifest import CONTRACT_VERSION, now_iso, package_versions, sha256_of, write_manifest
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

    @classmethod
    def create(cls, **values: Any) -> RunSettings:
        settings = cls(**values)
        settings.check()
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
    if settings.vorige is not None:
        previous = settings.vorige / "samenloop.csv"
        inputs["vorige"] = {
            "map": settings.vorige.name,
            "samenloop_sha256": sha256_of(previous) if previous.is_file() else None,
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
            "pdf": settings.pdf,
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
        build_report(staging, vorige=settings.vorige, geojson=settings.geojson, pdf=settings.pdf)
    return settings.out
