"""`factlab validate` and `factlab pseudonymise` as a partner uses them: summary, reports, exit codes."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from linkage.keys import write_key
from pipelines.cli.main import main

EXTRACTS = Path(__file__).parent / "testdata" / "extracts"


def _invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_validate_prints_a_summary_per_rule_and_writes_csv_and_html(tmp_path):
    source = tmp_path / "fouten.csv"
    shutil.copyfile(EXTRACTS / "fouten.csv", source)
    result = _invoke("validate", source)
    assert result.exit_code == 1, result.output
    out = result.output
    assert "18 rijen gelezen, 16 afgekeurd, 1 dubbel" in out
    assert "postcode_ongeldig: 2 ×" in out
    assert "regel 3, kolom postcode, waarde '12345': postcode '12345' heeft 4 cijfers" in out
    assert "genegeerde kolommen (worden nooit overgenomen): naam" in out
    report_csv, report_html = tmp_path / "fouten.controle.csv", tmp_path / "fouten.controle.html"
    raw = report_csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfbestand;regel;kolom;waarde;code;melding\r\n")
    assert raw.decode("utf-8-sig").count("\r\n") == 1 + 20
    page = report_html.read_text(encoding="utf-8")
    assert '<html lang="nl">' in page
    assert "blijft bij u" in page
    assert "Een Nederlandse postcode bestaat uit 4 cijfers" in page
    assert not re.search(r"(src|href)=\"?(https?:)?//", page), "the page must be self-contained"


def test_validate_all_valid_exits_0_and_reports_go_to_rapport_dir(tmp_path):
    result = _invoke("validate", EXTRACTS / "schoon.csv", "--rapport", tmp_path / "rapport")
    assert result.exit_code == 0, result.output
    assert "5 rijen gelezen, 0 afgekeurd, 0 dubbel" in result.output
    page = (tmp_path / "rapport" / "schoon.controle.html").read_text(encoding="utf-8")
    assert "Alle rijen zijn goedgekeurd" in page


def test_validate_file_fault_exits_2_and_writes_nothing(tmp_path):
    source = tmp_path / "kapot.csv"
    source.write_text("naam;bsn\nJansen;999990019\n", encoding="utf-8")
    result = _invoke("validate", source)
    assert result.exit_code == 2
    assert "verplichte kolom(men) postcode, huisnummer, voorziening, begindatum ontbreken" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kapot.csv"]


def test_html_report_escapes_partner_values(tmp_path):
    source = tmp_path / "aanval.csv"
    source.write_text("postcode;huisnummer;voorziening;begindatum\n<script>alert(1)</script>;1;01;2026-01-01\n"
                      "=HYPERLINK(\"x\");1;01;2026-01-01\n", encoding="utf-8")
    result = _invoke("validate", source)
    assert result.exit_code == 1
    page = (tmp_path / "aanval.controle.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;" in page
    with (tmp_path / "aanval.controle.csv").open(encoding="utf-8-sig", newline="") as handle:
        values = [row["waarde"] for row in csv.DictReader(handle, delimiter=";")]
    assert values == ["<script>alert(1)</script>", "'=HYPERLINK(\"x\")"], "Excel formulas are defused"


@pytest.fixture
def key_file(tmp_path, test_key):
    path = tmp_path / "sleutel.json"
    write_key(test_key, path)
    return path


def test_pseudonymise_exits_0_with_rejects_and_never_copies_extra_columns(tmp_path, key_file):
    out, rejects = tmp_path / "uit.parquet", tmp_path / "afgekeurd.csv"
    result = _invoke("pseudonymise", EXTRACTS / "fouten.csv", "--key", key_file, "--partner", "wijkteam",
                     "--out", out, "--rejects", rejects)
    assert result.exit_code == 0, result.output
    assert "1 records gepseudonimiseerd" in result.output
    table = pq.read_table(out)
    assert table.column_names == ["adres_pseudoniem", "pand_pseudoniem", "voorziening", "domein",
                                  "begindatum", "einddatum", "adres_pseudoniem_alt", "bedrag"]
    assert b"Goed Regel" not in out.read_bytes()
    meta = {k.decode(): v.decode() for k, v in table.schema.metadata.items()}
    assert (meta["rows_read"], meta["rows_rejected"], meta["rows_duplicate"]) == ("18", "16", "1")
    assert rejects.read_text(encoding="utf-8-sig").count("\n") == 21


def test_pseudonymise_file_fault_exits_2_without_output(tmp_path, key_file):
    source = tmp_path / "werkmap.xlsx"
    source.write_bytes(b"PK\x03\x04rest")
    out = tmp_path / "uit.parquet"
    result = _invoke("pseudonymise", source, "--key", key_file, "--partner", "wijkteam", "--out", out)
    assert result.exit_code == 2
    assert "Excel-werkmap" in result.output
    assert not out.exists()
