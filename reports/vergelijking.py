"""Gemeenten side by side (docs/contract.md §13): `vergelijking.csv`, `vergelijking.html` and `.pdf`.

Read only from the published files of each output folder (samenloop.csv, manifest.json): the gemeente row
of every indicator. Outputs protected by other disclosure rules, or of periods of another kind (year,
half-year, quarter, peildatum), are refused: their figures do not compare.
"""

from __future__ import annotations

import csv
import re
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from disclosure.rules import manifest_rules
from reports.figures import (
    MANIFEST_FILE,
    SAMENLOOP_FILE,
    Cell,
    ReportInputError,
    cell,
    municipality,
    read_manifest,
    read_samenloop,
)
from reports.formatting import SECRET, period_label
from reports.html import report_environment
from reports.referenties import SizeClass, SizeClasses, load_size_classes, report_reference
from schemas.atomic import atomic_path
from schemas.indicators import HOUSEHOLDS, INDICATOR_LABELS, INDICATORS
from schemas.rejects import neutralise_formula

CSV_NAME, HTML_NAME, PDF_NAME = "vergelijking.csv", "vergelijking.html", "vergelijking.pdf"
COLUMNS = ("gebiedscode", "gebiedsnaam", "periode", "indicator", "aantal", "per_1000_huishoudens", "geheim")
PERIOD_KINDS = (
    (re.compile(r"^\d{4}$"), "jaar"),
    (re.compile(r"^\d{4}H[12]$"), "halfjaar"),
    (re.compile(r"^\d{4}Q[1-4]$"), "kwartaal"),
    (re.compile(r"^\d{4}-\d{2}-\d{2}$"), "peildatum"),
)


class ComparisonError(ReportInputError):
    """The outputs cannot be compared; the Dutch message names them and why."""


@dataclass(frozen=True)
class Output:
    """The published figures of one gemeente's run."""

    folder: Path
    code: str
    naam: str
    periode: str
    soort: str
    regels: dict[str, Any]
    samenloop: pd.DataFrame

    def cell(self, indicator: str) -> Cell:
        return cell(self.samenloop, self.code, indicator)


def period_kind(label: str) -> str:
    """`jaar`, `halfjaar`, `kwartaal` or `peildatum` of a period label; `onbekend` otherwise."""
    text = label.strip().upper()
    return next((kind for pattern, kind in PERIOD_KINDS if pattern.match(text)), "onbekend")


def load_output(folder: Path) -> Output:
    """The gemeente row of samenloop.csv and the period and rules of manifest.json of one output folder."""
    folder = Path(folder)
    if not (folder / SAMENLOOP_FILE).is_file():
        raise ComparisonError(f"{folder}: geen uitvoermap van Factlab ({SAMENLOOP_FILE} ontbreekt).")
    samenloop = read_samenloop(folder / SAMENLOOP_FILE)
    manifest = read_manifest(folder / MANIFEST_FILE)
    gemeente = municipality(samenloop)
    periode = manifest.get("periode") or {}
    label = str(periode.get("label") if isinstance(periode, dict) else periode or "").strip()
    beveiliging = manifest.get("beveiliging") or {}
    regels = beveiliging.get("regels") if isinstance(beveiliging, dict) else None
    info = manifest.get("gemeente") or {}
    return Output(
        folder=folder,
        code=gemeente.code,
        naam=str(info.get("naam") or gemeente.naam) if isinstance(info, dict) else gemeente.naam,
        periode=label,
        soort=period_kind(label) if label else "onbekend",
        regels=manifest_rules(regels) if isinstance(regels, dict) else {},
        samenloop=samenloop,
    )


def check_comparable(outputs: list[Output]) -> None:
    """Refuse outputs with other disclosure rules or periods of another kind, naming every output."""
    if not outputs:
        raise ComparisonError("geen uitvoermappen opgegeven om te vergelijken.")
    problems = []
    kinds = {o.soort for o in outputs}
    if len(kinds) > 1 or "onbekend" in kinds:
        listed = ", ".join(f"{o.folder} ({o.periode or 'geen periode'}: {o.soort})" for o in outputs)
        problems.append(
            f"de perioden zijn niet van dezelfde soort (jaar, halfjaar, kwartaal of peildatum): {listed}"
        )
    first = outputs[0].regels
    other = [o for o in outputs[1:] if o.regels != first]
    if other:
        problems.append(
            "de uitvoer is met andere geheimhoudingsregels beveiligd (manifest.json, beveiliging.regels): "
            f"{', '.join(str(o.folder) for o in other)} wijkt af van {outputs[0].folder}"
        )
    if problems:
        raise ComparisonError("deze uitvoer is niet te vergelijken: " + "; ".join(problems) + ".")


def comparison_rows(outputs: list[Output]) -> list[dict[str, str]]:
    """vergelijking.csv: per gemeente every indicator of its gemeente row, as published."""
    rows = []
    for output in outputs:
        for name in INDICATORS:
            c = output.cell(name)
            rows.append(
                {
                    "gebiedscode": output.code,
                    "gebiedsnaam": output.naam,
                    "periode": output.periode,
                    "indicator": name,
                    "aantal": "" if c.geheim else str(c.aantal),
                    "per_1000_huishoudens": "" if c.geheim or c.per_1000 is None else f"{c.per_1000:.1f}",
                    "geheim": "true" if c.geheim else "false",
                }
            )
    return rows


def write_comparison_csv(rows: list[dict[str, str]], path: Path) -> Path:
    """Write vergelijking.csv atomically; text cells pass through neutralise_formula."""
    with atomic_path(path) as tmp:
        with tmp.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(COLUMNS))
            writer.writeheader()
            for row in rows:
                writer.writerow({k: neutralise_formula(v) for k, v in row.items()})
        tmp.chmod(0o644)
    return path


def _size_class(output: Output, classes: SizeClasses) -> SizeClass | None:
    households = output.cell(HOUSEHOLDS)
    return classes.of(households.aantal) if households.published else None  # type: ignore[arg-type]


def ranked_indicator(
    outputs: list[Output], name: str, klassen: dict[str, SizeClass | None]
) -> list[dict[str, Any]]:
    """The gemeenten for one indicator, highest rate first (secret ones last), with the group median."""
    medians: dict[int, float | None] = {}
    for klasse in {k.code for k in klassen.values() if k is not None}:
        rates = [
            o.cell(name).per_1000
            for o in outputs
            if klassen[o.code] is not None and klassen[o.code].code == klasse  # type: ignore[union-attr]
            and o.cell(name).per_1000 is not None
        ]
        medians[klasse] = statistics.median(rates) if rates else None
    rows = []
    for o in outputs:
        c, klasse = o.cell(name), klassen[o.code]
        rows.append(
            {
                "naam": o.naam,
                "code": o.code,
                "periode": o.periode,
                "cel": c,
                "klasse": klasse.naam if klasse else SECRET,
                "mediaan": medians.get(klasse.code) if klasse else None,
            }
        )
    rates = [r["cel"].per_1000 for r in rows]
    for r in rows:
        rate = r["cel"].per_1000
        r["rang"] = None if rate is None else 1 + sum(1 for o in rates if o is not None and o > rate)
    return sorted(rows, key=lambda r: (r["rang"] is None, r["rang"] or 0, r["naam"]))


def comparison_context(outputs: list[Output], classes: SizeClasses) -> dict[str, Any]:
    """What vergelijking.html shows."""
    klassen = {o.code: _size_class(o, classes) for o in outputs}
    periods = sorted({o.periode for o in outputs})
    return {
        "titel": "Vergelijking van gemeenten, " + ", ".join(period_label(p) or p for p in periods),
        "gemeenten": [
            {"naam": o.naam, "code": o.code, "periode": o.periode, "huishoudens": o.cell(HOUSEHOLDS),
             "klasse": klassen[o.code].naam if klassen[o.code] else SECRET}
            for o in sorted(outputs, key=lambda o: o.naam)
        ],
        "indicatoren": [
            {"naam": name, "label": INDICATOR_LABELS[name], "rijen": ranked_indicator(outputs, name, klassen)}
            for name in INDICATORS
            if name != HOUSEHOLDS
        ],
        "klassen": classes,
        "referentie": report_reference(),
    }


def render_comparison(outputs: list[Output], classes: SizeClasses | None = None) -> str:
    context = comparison_context(outputs, classes or load_size_classes())
    return report_environment().get_template("vergelijking.html.j2").render(**context)


def _write_html_and_pdf(document: str, out_dir: Path, title: str, pdf: bool) -> None:
    """vergelijking.html (and .pdf), renamed into place only when both succeeded."""
    from reports.pdf import write_html_and_pdf

    write_html_and_pdf(document, out_dir / HTML_NAME, out_dir / PDF_NAME if pdf else None, title)


def compare_outputs(folders: list[Path], out_dir: Path, *, pdf: bool = True) -> list[Path]:
    """`factlab vergelijk`: check, then write vergelijking.csv, .html (and .pdf) into `out_dir`."""
    outputs = [load_output(Path(f)) for f in folders]
    check_comparable(outputs)
    classes = load_size_classes()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    document = render_comparison(outputs, classes)
    _write_html_and_pdf(document, out_dir, "Vergelijking van gemeenten", pdf)
    write_comparison_csv(comparison_rows(outputs), out_dir / CSV_NAME)
    written = [out_dir / CSV_NAME, out_dir / HTML_NAME]
    return written + ([out_dir / PDF_NAME] if pdf else [])
