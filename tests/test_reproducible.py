"""SOURCE_DATE_EPOCH makes every timestamp Factlab writes fixed, so two runs write the same bytes."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from test_report_data import write_synthetic_out

from linkage.keys import new_key, write_key
from pipelines.cli.main import main
from reports.build import build_report
from reports.pdf import CHROMIUM

EXTRACTS = Path(__file__).parent / "testdata" / "extracts"
EPOCH = "1782864000"  # 2026-07-01T00:00:00Z
REGISTER = ("postcode;huisnummer;huisletter;huisnummertoevoeging;buurtcode;huishoudens\n"
            "1234AB;1;;;BU00010001;1\n1234AB;2;;;BU00010001;2\n")


def _invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _all_commands(work: Path, out: Path) -> None:
    out.mkdir()
    for args in (
        ["register", work / "adressen.csv", "--key", work / "k1.json", "--out", out / "register.parquet",
         "--rejects", out / "register-afgekeurd.csv"],
        ["pseudonymise", work / "x.csv", "--key", work / "k1.json", "--partner", "wijkteam", "--out",
         out / "levering.parquet", "--rejects", out / "afgekeurd.csv"],
        ["ttp", "rekey", out / "levering.parquet", "--key", work / "k2.json", "--out", out / "ttp.parquet"],
        ["validate", work / "x.csv", "--rapport", out],
    ):
        result = _invoke(*args)
        assert result.exit_code in (0, 1), result.output


@pytest.fixture
def work(tmp_path: Path) -> Path:
    shutil.copyfile(EXTRACTS / "fouten.csv", tmp_path / "x.csv")
    (tmp_path / "adressen.csv").write_text(REGISTER, encoding="utf-8")
    write_key(new_key(), tmp_path / "k1.json")
    write_key(new_key(), tmp_path / "k2.json")
    return tmp_path


def test_two_runs_under_source_date_epoch_write_the_same_bytes(work, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    _all_commands(work, work / "een")
    _all_commands(work, work / "twee")
    first = {p.name: p.read_bytes() for p in (work / "een").iterdir()}
    second = {p.name: p.read_bytes() for p in (work / "twee").iterdir()}
    assert sorted(first) == sorted(second) and len(first) == 7
    assert [name for name in first if first[name] != second[name]] == []
    for name in ("register.parquet", "levering.parquet"):
        assert pq.read_schema(work / "een" / name).metadata[b"created"] == b"2026-07-01T00:00:00+00:00"
    stamped = pq.read_schema(work / "een" / "ttp.parquet").metadata[b"ttp_created"]
    assert stamped == b"2026-07-01T00:00:00+00:00"
    assert "01-07-2026 00:00" in (work / "een" / "x.controle.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("value", ["gisteren", "1.5", "-1"])
def test_a_malformed_source_date_epoch_is_refused_in_dutch(work, monkeypatch, value):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    result = _invoke("validate", work / "x.csv")
    assert result.exit_code == 2
    assert result.output.startswith("fout: SOURCE_DATE_EPOCH=") and "seconden" in result.output
    assert not (work / "x.controle.csv").exists()


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium ontbreekt (make system)")
def test_the_pdf_carries_the_source_date_epoch_and_prints_the_same_bytes(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    printed = []
    for name in ("een", "twee"):
        out = write_synthetic_out(tmp_path / name)
        _, pdf = build_report(out, pdf=True)
        printed.append(pdf.read_bytes())
    assert printed[0] == printed[1]
    dates = re.findall(rb"/(CreationDate|ModDate) ?\(D:(\d{14})", printed[0])
    assert sorted(dates) == [(b"CreationDate", b"20260701000000"), (b"ModDate", b"20260701000000")]
