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
    itself with that series, so the report shows the whole series (docs/contract.md §10). demo.json's
    `kaart_indeling` (niveau -> GeoJSON in the sample) gives each own division its map.
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
        _pseudonymise_extracts(sample / settings["leveringen"], deliveries, work_dir / "afgekeurd", key,
                               codes, echo)
        areas = sample / settings["gebieden"]
        geojson = sample / settings["kaart"] if settings.get("kaart") else None
        division_maps = {name: sample / path for name, path in (settings.get("kaart_indeling") or {}).items()}
        niveaus = settings.get("niveaus", "gemeente,wijk")
        earlier = []
        for label in settings.get("reeks") or []:
            target = series_folder(out, label)
            own = _period_deliveries(sample, settings, label, deliveries, work_dir, key, codes, echo)
            run_flow(own, register, areas, label, target, niveaus, None, None, geojson, False,
                     indeling_kaarten=division_maps)
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
            indeling_kaarten=division_maps,
        )
        shutil.rmtree(work_dir, ignore_errors=True)
    echo(f"rapport: {(out / 'rapport.html').resolve()}")
    if pdf:
        echo(f"rapport: {(out / 'rapport.pdf').resolve()}")


def _pseudonymise_extracts(extracts: Path, deliveries: Path, rejects_dir: Path, key, codes,
                           echo: Callable[[str], None]) -> None:
    """Each partner pseudonymises its extract (CSV or XML) in `extracts` into `deliveries`."""
    deliveries.mkdir(exist_ok=True)
    for extract in sorted(extracts.iterdir()):
        if extract.suffix.lower() not in {".csv", ".xml"}:
            continue
        partner = extract.stem
        result = pseudonymise_delivery(extract, key, partner, deliveries / f"{partner}.parquet", codes,
                                       rejects_dir / f"{partner}.csv")
        echo(f"partner {partner}: {result.rows_written} records, {result.rows_rejected} rijen afgekeurd")


def _period_deliveries(sample: Path, settings: dict, label: str, deliveries: Path, work_dir: Path, key, codes,
                       echo: Callable[[str], None]) -> Path:
    """The deliveries of an earlier half-year: a partner with an extract of its own for that half-year in
    demo.json's `leveringen_reeks/<periode>/` (its amounts belong to a period, §12) delivers that one; the
    others deliver what they delivered for the period itself."""
    own = sample / settings["leveringen_reeks"] / label if settings.get("leveringen_reeks") else None
    if own is None or not own.is_dir():
        return deliveries
    folder = work_dir / f"leveringen-{label}"
    shutil.copytree(deliveries, folder)
    echo(f"partners met bedragen leveren opnieuw voor {label}:")
    _pseudonymise_extracts(own, folder, work_dir / f"afgekeurd-{label}", key, codes, echo)
    return folder
