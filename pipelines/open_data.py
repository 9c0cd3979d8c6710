"""Open data (docs/contract.md §14): a CSV on the Web description beside each published CSV, and the
figures in the long form of CBS StatLine (`factlab export OUT --formaat cbs`). docs/opendata.md explains both.

The description names every column in the order of the CSV's own header (so a `groep` column, §9, is
described when it is there), its Dutch title, its datatype, and whether it is a dimension, a measure or an
attribute (as `rdf:type` qb:DimensionProperty, qb:MeasureProperty or qb:AttributeProperty, terms of the
W3C RDF Data Cube vocabulary, whose prefix `qb` every CSVW processor knows). No timestamp: the same run
writes the same bytes.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.atomic import atomic_path

CSVW_CONTEXT = "http://www.w3.org/ns/csvw"
DIMENSION, MEASURE, ATTRIBUTE = "qb:DimensionProperty", "qb:MeasureProperty", "qb:AttributeProperty"
BOOLEAN = {"base": "boolean", "format": "true|false"}


@dataclass(frozen=True)
class Column:
    title: str
    datatype: Any
    role: str
    description: str


COLUMNS = {
    "gebiedscode": Column("Gebiedscode", "string", DIMENSION,
                          "CBS-code van het gebied (GM, WK of BU) of de eigen code van de gemeente"),
    "gebiedsnaam": Column("Gebiedsnaam", "string", ATTRIBUTE, "naam van het gebied"),
    "niveau": Column("Niveau", "string", DIMENSION, "gemeente, wijk, buurt of een eigen indeling"),
    "groep": Column("Groep", "string", DIMENSION,
                    "leeg = alle huishoudens; anders <kenmerk>=<waarde>, bijvoorbeeld huishoudtype=eenouder"),
    "periode": Column("Periode", "string", DIMENSION, "bijvoorbeeld 2026H1"),
    "indicator": Column("Indicator", "string", DIMENSION, "naam van de indicator (docs/indicatoren.md)"),
    "aantal": Column("Aantal huishoudens", "integer", MEASURE, "afgerond; leeg als het cijfer geheim is"),
    "per_1000_huishoudens": Column("Per 1.000 huishoudens", "decimal", MEASURE,
                                   "aantal per 1.000 huishoudens in het gebied; leeg als geheim"),
    "bedrag": Column("Bedrag in euro", "integer", MEASURE, "afgerond op hele duizenden; leeg als geheim"),
    "per_huishouden": Column("Bedrag per huishouden in euro", "decimal", MEASURE,
                             "gepubliceerd bedrag gedeeld door gepubliceerd aantal; leeg als geheim"),
    "geheim": Column("Geheim", BOOLEAN, ATTRIBUTE,
                     "true als het cijfer is afgeschermd (statistische geheimhouding)"),
}
"""Every column Factlab publishes in samenloop.csv, kosten.csv and vergelijking.csv."""
TITLES = {
    "samenloop.csv": "Samenloop van voorzieningen in het sociaal domein per gebied",
    "kosten.csv": "Kosten van voorzieningen in het sociaal domein per gebied",
    "vergelijking.csv": "Samenloop van voorzieningen in het sociaal domein, gemeenten vergeleken",
}
PUBLISHED_CSV = tuple(TITLES)


def metadata_path(csv_path: Path) -> Path:
    """`samenloop.csv` -> `samenloop.csv-metadata.json` (CSVW: the CSV's own name plus -metadata.json)."""
    return csv_path.with_name(csv_path.name + "-metadata.json")


def csv_header(csv_path: Path) -> list[str]:
    with csv_path.open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle), [])


def _column(name: str) -> dict[str, Any]:
    spec = COLUMNS.get(name, Column(name, "string", ATTRIBUTE, ""))
    described: dict[str, Any] = {
        "name": name,
        "titles": {"nl": [spec.title]},
        "datatype": spec.datatype,
        "rdf:type": spec.role,
    }
    if spec.description:
        described["dc:description"] = spec.description
    return described


def csvw_metadata(csv_path: Path, *, gemeente: str, periode: str, rules: dict[str, Any]) -> dict[str, Any]:
    """The CSVW description of `csv_path`: columns in the order of its header."""
    title = TITLES.get(csv_path.name, csv_path.stem)
    return {
        "@context": [CSVW_CONTEXT, {"@language": "nl"}],
        "url": csv_path.name,
        "dc:title": f"{title}, {gemeente}, {periode}",
        "dc:language": "nl",
        "dc:publisher": f"Gemeente {gemeente}" if gemeente else "",
        "dc:temporal": periode,
        "dc:conformsTo": "Factlab, docs/contract.md v2 (§7, §8, §14)",
        "schema:version": f"geheimhoudingsregels versie {rules.get('versie', 1)}",
        "schema:description": "; ".join(f"{k} = {v}" for k, v in sorted(rules.items())),
        "dialect": {"header": True, "delimiter": ",", "encoding": "utf-8"},
        "tableSchema": {
            "columns": [_column(name) for name in csv_header(csv_path)],
            "null": "",
        },
    }


def write_csvw_metadata(folder: Path, *, gemeente: str, periode: str, rules: dict[str, Any]) -> list[Path]:
    """Write `<name>.csv-metadata.json` beside each published CSV in `folder`; returns what was written."""
    written = []
    for name in PUBLISHED_CSV:
        csv_path = folder / name
        if not csv_path.is_file():
            continue
        target = metadata_path(csv_path)
        document = csvw_metadata(csv_path, gemeente=gemeente, periode=periode, rules=rules)
        with atomic_path(target) as tmp:
            tmp.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(target)
    return written


CBS_COLUMNS = ("Measure", "Perioden", "RegioS", "Groep", "Value", "ValueAttribute", "Eenheid")
SECRET_ATTRIBUTE = "Geheim"
FIGURE_UNITS = {
    "samenloop.csv": (("aantal", "aantal"), ("per_1000_huishoudens", "per_1000_huishoudens")),
    "kosten.csv": (("bedrag", "bedrag"), ("per_huishouden", "per_huishouden")),
}
"""Per output CSV: (column, Eenheid) of each figure a row holds."""


class ExportError(ValueError):
    """OUT is not a Factlab output folder that can be exported; the message is Dutch."""


def _period_of(out_dir: Path) -> str:
    try:
        manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ExportError(f"{out_dir}: geen leesbaar manifest.json; is dit een Factlab-uitvoermap?") from exc
    periode = manifest.get("periode") if isinstance(manifest, dict) else None
    label = periode.get("label") if isinstance(periode, dict) else periode
    if not label:
        raise ExportError(f"{out_dir / 'manifest.json'}: de periode (periode.label) ontbreekt")
    return str(label)


def _figure_rows(csv_path: Path, period: str) -> list[tuple[str, ...]]:
    from schemas.rejects import neutralise_formula

    rows = []
    with csv_path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        needed = {"gebiedscode", "indicator", "geheim"} | {c for c, _ in FIGURE_UNITS[csv_path.name]}
        missing = needed - set(reader.fieldnames or [])
        if missing:
            raise ExportError(f"{csv_path}: kolom(men) {', '.join(sorted(missing))} ontbreken (contract §7)")
        for row in reader:
            secret = row["geheim"] == "true"
            for column, unit in FIGURE_UNITS[csv_path.name]:
                value = row[column]
                if not value and not secret:
                    continue  # neither published nor secret: no figure (e.g. a rate of an empty area)
                rows.append(tuple(neutralise_formula(v) for v in (
                    row["indicator"], period, row["gebiedscode"], row.get("groep") or "",
                    "" if secret else value, SECRET_ATTRIBUTE if secret else "", unit,
                )))
    return rows


def cbs_rows(out_dir: Path) -> list[tuple[str, ...]]:
    """Every published or secret figure of OUT in the long form of CBS StatLine (one row per figure)."""
    if not (out_dir / "samenloop.csv").is_file():
        raise ExportError(f"{out_dir}: geen samenloop.csv; geef een uitvoermap van factlab run")
    period = _period_of(out_dir)
    rows: list[tuple[str, ...]] = []
    for name in FIGURE_UNITS:
        if (out_dir / name).is_file():
            rows.extend(_figure_rows(out_dir / name, period))
    return rows


def write_cbs_export(out_dir: Path, target: Path) -> int:
    """Write `cbs_rows(out_dir)` as CSV to `target` (atomically); returns the number of figures."""
    rows = cbs_rows(out_dir)
    with atomic_path(target) as tmp, tmp.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CBS_COLUMNS)
        writer.writerows(rows)
    return len(rows)
