"""`factlab demo`: the whole chain on the sample municipality with a throw-away key."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from linkage.keys import new_key, write_key
from pipelines.intake.delivery import pseudonymise_delivery
from pipelines.intake.register import pseudonymise_register
from schemas.atomic import private_workdir
from schemas.codelist import load_code_list

SAMPLE_SETTINGS = "demo.json"


def series_folder(out: Path, label: str) -> Path:
    """Where the demo puts an earlier period's output: beside OUT (OUT itself is replaced whole)."""
    return out.with_name(f"{out.name}-reeks") / label


def run_demo(
    sample: Path, out: Path, *, pdf: bool, run_flow: Callable[..., None], echo: Callable[[str], None]
) -> None:
    """Play every role once: custodian (key, register), partners (pseudonymise), analyst (run).

    The analyst runs the earlier half-years of demo.json's `reeks` first (without pdf), then the period
    itself with that series, so the report shows the whole series (docs/contract.md §10).
    """
    settings = json.loads((sample / SAMPLE_SETTINGS).read_text(encoding="utf-8"))
    codes = load_code_list()
    with private_workdir("demo") as work_dir:
        key_file = work_dir / "sleutel.json"
        write_key(new_key(), key_file)
        from linkage.keys import load_key

        key = load_key(key_file)
        echo(f"sleutelbeheerder: wegwerpsleutel {key.key_id} gemaakt")
        register = work_dir / "register.parquet"
        reg = pseudonymise_register(sample / settings["register"], key, register)
        echo(f"sleutelbeheerder: register gepseudonimiseerd ({reg.addresses} adressen)")
        deliveries = work_dir / "leveringen"
        deliveries.mkdir()
        rejects_dir = work_dir / "afgekeurd"
        for extract in sorted((sample / settings["leveringen"]).iterdir()):
            if extract.suffix.lower() not in {".csv", ".xml"}:
                continue
            partner = extract.stem
            result = pseudonymise_delivery(
                extract,
                key,
                partner,
                deliveries / f"{partner}.parquet",
                codes,
                rejects_dir / f"{partner}.csv",
            )
            echo(f"partner {partner}: {result.rows_written} records, {result.rows_rejected} rijen afgekeurd")
        areas = sample / settings["gebieden"]
        geojson = sample / settings["kaart"] if settings.get("kaart") else None
        niveaus = settings.get("niveaus", "gemeente,wijk")
        earlier = []
        for label in settings.get("reeks") or []:
            target = series_folder(out, label)
            run_flow(deliveries, register, areas, label, target, niveaus, None, None, geojson, False)
            echo(f"analist: periode {label} gerekend (zonder pdf) in {target}")
            earlier.append(target)
        run_flow(
            deliveries,
            register,
            areas,
            settings["periode"],
            out,
            niveaus,
            None,
            earlier[-1] if earlier else None,
            geojson,
            pdf,
            reeks=earlier or None,
        )
        shutil.rmtree(work_dir, ignore_errors=True)
    echo(f"rapport: {(out / 'rapport.html').resolve()}")
    if pdf:
        echo(f"rapport: {(out / 'rapport.pdf').resolve()}")
