"""Open data (docs/contract.md §14): CSVW descriptions beside the CSVs, and the CBS long form export."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_report_data import write_synthetic_out

from pipelines.cli.main import main
from pipelines.open_data import ATTRIBUTE, DIMENSION, MEASURE, write_csvw_metadata

RULES = {"min_publiceerbaar": 10, "afronden_op": 5, "versie": 1}
DECIMAL = re.compile(r"-?\d+(\.\d+)?")
INTEGER = re.compile(r"-?\d+")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _with_groups(out: Path) -> None:
    """samenloop.csv as §9 writes it: a `groep` column after `niveau`, one group beside the totals."""
    rows = _rows(out / "samenloop.csv")
    header = ["gebiedscode", "gebiedsnaam", "niveau", "groep", "indicator", "aantal",
              "per_1000_huishoudens", "geheim"]
    extra = [{**r, "groep": "huishoudtype=eenouder"} for r in rows if r["niveau"] == "gemeente"]
    with (out / "samenloop.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows([{**r, "groep": ""} for r in rows] + extra)


def _parses(value: str, datatype: object, null: str) -> bool:
    if value == null:
        return True
    if isinstance(datatype, dict):  # a boolean with its format, e.g. true|false
        return datatype["base"] == "boolean" and value in datatype["format"].split("|")
    return {
        "string": lambda v: True,
        "integer": lambda v: bool(INTEGER.fullmatch(v)),
        "decimal": lambda v: bool(DECIMAL.fullmatch(v)),
    }[datatype](value)


def _check_csvw(csv_path: Path) -> dict:
    meta_path = csv_path.with_name(csv_path.name + "-metadata.json")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    assert meta["@context"][0] == "http://www.w3.org/ns/csvw"
    assert meta["url"] == csv_path.name
    assert meta["dc:language"] == "nl" and meta["dc:title"]
    assert "versie 1" in meta["schema:version"]
    columns = meta["tableSchema"]["columns"]
    with csv_path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        body = list(reader)
    assert [c["name"] for c in columns] == header
    for c in columns:
        assert c["titles"]["nl"] and c["rdf:type"] in (DIMENSION, MEASURE, ATTRIBUTE), c
    for row in body:
        for value, c in zip(row, columns, strict=True):
            assert _parses(value, c["datatype"], meta["tableSchema"]["null"]), (c["name"], value)
    return {c["name"]: c for c in columns}


@pytest.mark.parametrize("groups", [False, True])
def test_csvw_description_names_every_column_in_csv_order_and_its_datatype_fits(tmp_path, groups) -> None:
    out = write_synthetic_out(tmp_path / "uit")
    if groups:
        _with_groups(out)
    written = write_csvw_metadata(out, gemeente="Voorbeeldstad", periode="2026H1", rules=RULES)
    assert [p.name for p in written] == ["samenloop.csv-metadata.json"]
    columns = _check_csvw(out / "samenloop.csv")
    assert columns["indicator"]["rdf:type"] == DIMENSION
    assert columns["aantal"]["rdf:type"] == MEASURE and columns["aantal"]["datatype"] == "integer"
    assert columns["geheim"]["rdf:type"] == ATTRIBUTE
    assert ("groep" in columns) == groups


def test_the_datatype_check_can_fail() -> None:
    assert not _parses("12,5", "decimal", "")
    assert not _parses("1.0", "integer", "")
    assert not _parses("ja", {"base": "boolean", "format": "true|false"}, "")


def _figures_of_out(out: Path) -> dict[tuple[str, str, str, str], str]:
    """Every published or secret figure of OUT, read straight from its CSVs."""
    figures = {}
    units = {"samenloop.csv": ("aantal", "per_1000_huishoudens"), "kosten.csv": ("bedrag", "per_huishouden")}
    for name, columns in units.items():
        if not (out / name).is_file():
            continue
        for row in _rows(out / name):
            for column in columns:
                key = (row["indicator"], row["gebiedscode"], row.get("groep", ""), column)
                if row["geheim"] == "true":
                    figures[key] = "Geheim"
                elif row[column]:
                    figures[key] = row[column]
    return figures


@pytest.mark.parametrize("groups", [False, True])
def test_cbs_export_read_back_gives_exactly_the_figures_of_out(tmp_path, groups) -> None:
    out = write_synthetic_out(tmp_path / "uit")
    if groups:
        _with_groups(out)
    (out / "kosten.csv").write_text(
        "gebiedscode,gebiedsnaam,niveau,indicator,bedrag,per_huishouden,geheim\n"
        "GM9999,Voorbeeldstad,gemeente,met_voorziening,1234000,631.2,false\n"
        "WK999906,Buitengebied,wijk,met_voorziening,,,true\n", encoding="utf-8")
    target = tmp_path / "cbs.csv"
    result = CliRunner().invoke(main, ["export", str(out), "--formaat", "cbs", "--out", str(target)])
    assert result.exit_code == 0, result.output
    with target.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["Measure", "Perioden", "RegioS", "Groep", "Value", "ValueAttribute",
                                     "Eenheid"]
        exported = list(reader)
    assert {r["Perioden"] for r in exported} == {"2026H1"}
    back = {}
    for r in exported:
        assert (r["Value"] == "") == (r["ValueAttribute"] == "Geheim"), r
        back[(r["Measure"], r["RegioS"], r["Groep"], r["Eenheid"])] = r["Value"] or r["ValueAttribute"]
    assert len(back) == len(exported), "one row per figure"
    assert back == _figures_of_out(out)
    assert any(r["Groep"] == "huishoudtype=eenouder" for r in exported) == groups
    assert {"aantal", "per_1000_huishoudens", "bedrag", "per_huishouden"} == {r["Eenheid"] for r in exported}
    assert f"{len(exported)} cijfers" in result.output


def test_export_of_a_folder_without_output_is_a_clear_error(tmp_path) -> None:
    result = CliRunner().invoke(main, ["export", str(tmp_path), "--formaat", "cbs", "--out",
                                       str(tmp_path / "x.csv")])
    assert result.exit_code == 2
    assert "geen samenloop.csv" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.csv").exists()
