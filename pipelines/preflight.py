"""The check of every input of `factlab run` before Prefect or DuckDB start (docs/prefect.md).

A mistake in the inputs (an empty deliveries folder, a corrupt Parquet file, a CSV given as register,
a wrong key, period `2026H3`, a broken areas file or map, no Chromium) is found here within a second or
two and reported as one Dutch line, instead of as a failed task with Prefect's tracebacks. Only file
metadata is read, never rows; prefect, great_expectations, DuckDB and pandas are not imported here
(the map check reads the GeoJSON with the report's own reader, which does use pandas).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from linkage.deliveries import LinkageError, check_keys, describe_delivery, find_deliveries
from schemas.atomic import OutputFolderError, check_output_folder, remove_stale_temporaries
from schemas.formats import REGISTER_FORMAT, PseudonymisedFileError, expect_format
from schemas.indicators import LEVELS
from schemas.outpaths import OutputPathError, check_outputs
from schemas.periods import PeriodError, parse_period

OUTPUT_FILES = (
    "manifest.json", "samenloop.csv", "kwaliteit.csv", "huishoudens.parquet", "rapport.html", "rapport.pdf",
    "samenloop.csv-metadata.json", "kosten.csv", "kosten.csv-metadata.json",
)
"""Every file a run writes into OUT; a folder holding anything else is not a previous Factlab output."""
OUTPUT_MARKER = "manifest.json"
DEFAULT_CHROMIUM = "/usr/bin/chromium"


class PreflightError(Exception):
    """An input of `factlab run` that cannot be used (Dutch message naming the file)."""


@dataclass(frozen=True)
class RunPaths:
    deliveries: Path
    register: Path
    areas: Path
    period: str
    out: Path
    levels: str = "gemeente,wijk"
    rules: Path | None = None
    vorige: Path | None = None
    geojson: Path | None = None
    pdf: bool = True
    indeling_kaarten: tuple[tuple[str, Path], ...] = ()
    """A map per own division (--kaart-indeling NAAM=BESTAND, docs/contract.md §9)."""


def chromium_path() -> Path:
    """The browser that prints rapport.pdf (FACTLAB_CHROMIUM, as reports/pdf.py reads it)."""
    return Path(os.environ.get("FACTLAB_CHROMIUM", DEFAULT_CHROMIUM))


def _exists(label: str, path: Path, folder: bool = False) -> None:
    if folder and not path.is_dir():
        what = "is geen map" if path.exists() else "bestaat niet"
        raise PreflightError(f"{label} {path} {what}")
    if not folder and not path.is_file():
        what = "is een map, geen bestand" if path.is_dir() else "bestaat niet"
        raise PreflightError(f"{label} {path} {what}")


def _check_levels(levels: str) -> None:
    chosen = [n.strip() for n in levels.split(",") if n.strip()]
    unknown = [level for level in chosen if level not in LEVELS]
    if unknown or not chosen:
        raise PreflightError(
            f"onbekend niveau {', '.join(unknown) or '(leeg)'}; kies uit {', '.join(LEVELS)}"
        )


def _check_areas(path: Path) -> None:
    from schemas.areas import read_area_names

    try:
        names = read_area_names(path)
    except UnicodeDecodeError:
        raise PreflightError(f"gebiedenbestand {path.name}: de tekens zijn niet te lezen") from None
    except Exception as exc:  # the reader's own Dutch message (a wrong header, a broken line)
        raise PreflightError(str(exc) or f"gebiedenbestand {path.name} is niet te lezen") from None
    if not names:
        raise PreflightError(f"gebiedenbestand {path.name} bevat geen gebieden (code;naam)")


def _check_map(path: Path) -> None:
    from reports.figures import read_wijk_geojson

    try:
        read_wijk_geojson(path)
    except Exception as exc:  # the reader's own Dutch message (ReportInputError), or an unreadable file
        raise PreflightError(str(exc) or f"kaart {path.name} is niet te lezen") from None


def _check_division_maps(paths: RunPaths) -> None:
    """Each --kaart-indeling names a division of the areas file (gebied_NAAM) and its map is usable."""
    from reports.figures import read_division_geojson
    from schemas.areas import read_area_divisions

    if not paths.indeling_kaarten:
        return
    try:
        divisions = sorted(read_area_divisions(paths.areas).divisions)
    except Exception as exc:  # the reader's own Dutch message
        raise PreflightError(str(exc) or f"gebiedenbestand {paths.areas.name} is niet te lezen") from None
    for name, path in paths.indeling_kaarten:
        if name not in divisions:
            known = ", ".join(divisions) if divisions else "geen (er is geen kolom gebied_<naam>)"
            raise PreflightError(
                f"--kaart-indeling {name}: het gebiedenbestand {paths.areas.name} heeft geen kolom "
                f"gebied_{name}; eigen indelingen: {known}"
            )
        try:
            read_division_geojson(path, name)
        except Exception as exc:  # the reader's own Dutch message (MapFileError), or an unreadable file
            raise PreflightError(str(exc) or f"kaart {path.name} is niet te lezen") from None


def _check_inputs(paths: RunPaths) -> None:
    _exists("map met leveringen", paths.deliveries, folder=True)
    _exists("adressenregister", paths.register)
    _exists("gebiedenbestand", paths.areas)
    for label, path in (("regels", paths.rules), ("kaart", paths.geojson)):
        if path is not None:
            _exists(label, path)
    for name, path in paths.indeling_kaarten:
        _exists(f"kaart van indeling {name}", path)
    if paths.vorige is not None:
        _exists("vorige uitvoer", paths.vorige, folder=True)
    parse_period(paths.period)
    _check_levels(paths.levels)
    if paths.rules is not None:
        from disclosure.rules import load_rules

        load_rules(paths.rules)
    _check_areas(paths.areas)
    if paths.geojson is not None:
        _check_map(paths.geojson)
    _check_division_maps(paths)
    register_meta = expect_format(paths.register, REGISTER_FORMAT)
    deliveries = [describe_delivery(p) for p in find_deliveries(paths.deliveries)]
    check_keys(deliveries, register_meta)
    if paths.pdf and not os.access(chromium_path(), os.X_OK):
        raise PreflightError(
            f"Chromium ontbreekt ({chromium_path()}) en is nodig voor rapport.pdf; installeer het "
            "(make system) of draai met --geen-pdf"
        )


def _check_output(paths: RunPaths) -> None:
    inputs = {"--deliveries": paths.deliveries, "--register": paths.register, "--areas": paths.areas,
              "--regels": paths.rules, "--vorige": paths.vorige, "--kaart": paths.geojson,
              **{f"--kaart-indeling {name}": path for name, path in paths.indeling_kaarten}}
    check_outputs(inputs, {"--out": paths.out}, folders=("--out",))
    remove_stale_temporaries(paths.out)
    check_output_folder(paths.out, OUTPUT_FILES, OUTPUT_MARKER)


def preflight(paths: RunPaths) -> None:
    """Check every input and the output folder of a run; PreflightError with a Dutch message if not usable.

    Also repairs a half-finished swap and removes temporary folders of a dead run beside OUT.
    """
    from disclosure.rules import RulesError

    try:
        _check_output(paths)
        _check_inputs(paths)
    except (LinkageError, PseudonymisedFileError, PeriodError, RulesError, OutputPathError,
            OutputFolderError) as exc:
        raise PreflightError(str(exc)) from None
