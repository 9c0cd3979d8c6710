"""Inputs are sacred, outputs are written all or none, and the machine's state never gives a traceback.

Every command that writes is given hostile output paths (an input, the key, a symlink to an input, an
unwritable folder) or a fault injected into the final renames or the write (full disk); each must refuse
with a Dutch `fout:` line, exit 2, and leave the files on disk exactly as they were.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from linkage.keys import write_key
from pipelines.cli.main import main
from schemas import outpaths

EXTRACTS = Path(__file__).parent / "testdata" / "extracts"
REGISTER = "postcode;huisnummer;huisletter;huisnummertoevoeging;buurtcode;huishoudens\n" \
           "1234AB;1;;;BU00010000;1\n1234AB;2;;;BU00010000;2\n1234AB;2;;;BU00010000;2\n"


def _invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def work(tmp_path, test_key) -> Path:
    shutil.copyfile(EXTRACTS / "fouten.csv", tmp_path / "x.csv")
    (tmp_path / "adressen.csv").write_text(REGISTER, encoding="utf-8")
    write_key(test_key, tmp_path / "sleutel.json")
    (tmp_path / "link.csv").symlink_to(tmp_path / "x.csv")
    return tmp_path


def _refused(result, *names: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("fout: "), line
    for name in names:
        assert name in line, (name, line)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["pseudonymise", "x.csv", "--key", "sleutel.json", "--partner", "wijkteam", "--out", "x.csv"],
         ("x.csv",)),
        (["pseudonymise", "x.csv", "--key", "sleutel.json", "--partner", "wijkteam", "--out", "link.csv"],
         ("link.csv", "x.csv")),
        (["pseudonymise", "x.csv", "--key", "sleutel.json", "--partner", "wijkteam", "--out", "uit.parquet",
          "--rejects", "sleutel.json"], ("--rejects", "--key", "sleutel.json")),
        (["pseudonymise", "x.csv", "--key", "sleutel.json", "--partner", "wijkteam", "--out", "uit.parquet",
          "--rejects", "uit.parquet"], ("--rejects", "--out", "uit.parquet")),
        (["register", "adressen.csv", "--key", "sleutel.json", "--out", "adressen.csv"], ("adressen.csv",)),
        (["register", "adressen.csv", "--key", "sleutel.json", "--out", "r.parquet", "--rejects",
          "sleutel.json"], ("--rejects", "sleutel.json")),
        (["validate", "x.csv", "--codelijst", "x.controle.csv"], ("x.controle.csv",)),
        (["key", "new", "--out", "x.csv/sleutel.json"], ("x.csv",)),
        (["ttp", "rekey", "x.csv", "--key", "sleutel.json", "--out", "link.csv"], ("link.csv", "x.csv")),
    ],
)
def test_an_output_that_is_an_input_is_refused_and_nothing_changes(work, monkeypatch, args, named):
    monkeypatch.chdir(work)
    (work / "x.controle.csv").write_text("code;naam;domein\n", encoding="utf-8")
    before = _snapshot(work)
    _refused(_invoke(*args), *named)
    assert _snapshot(work) == before


def test_run_refuses_an_output_folder_that_is_or_holds_an_input(work, monkeypatch):
    monkeypatch.chdir(work)
    (work / "leveringen").mkdir()
    before = _snapshot(work)
    common = ["run", "--register", "adressen.csv", "--areas", "x.csv", "--period", "2026H1", "--geen-pdf"]
    _refused(_invoke(*common, "--deliveries", "leveringen", "--out", "leveringen"), "leveringen")
    _refused(_invoke(*common, "--deliveries", "leveringen", "--out", "."), "--out", "--deliveries leveringen")
    assert _snapshot(work) == before


def test_an_unwritable_output_folder_is_refused_before_any_work(work, monkeypatch):
    monkeypatch.chdir(work)
    locked = work / "dicht"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == locked else real_access(p, mode))
    before = _snapshot(work)
    read = []
    monkeypatch.setattr("pipelines.intake.delivery.checked_chunks", lambda *a: read.append(1) or iter(()))
    result = _invoke("pseudonymise", "x.csv", "--key", "sleutel.json", "--partner", "wijkteam",
                     "--out", "uit.parquet", "--rejects", locked / "afgekeurd.csv")
    _refused(result, "dicht", "schrijfrechten")
    assert read == [], "no row is read before the outputs are known to be writable"
    assert _snapshot(work) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a 0555 folder")
def test_an_unwritable_folder_by_its_mode_is_refused(work, monkeypatch):
    monkeypatch.chdir(work)
    locked = work / "dicht"
    locked.mkdir(mode=0o555)
    result = _invoke("register", "adressen.csv", "--key", "sleutel.json", "--out", locked / "r.parquet")
    _refused(result, "dicht")
    assert list(locked.iterdir()) == []


def test_pseudonymise_writes_both_files_or_neither(work, monkeypatch):
    """The second rename fails (e.g. the rejects' disk is gone): the delivery written first is taken back."""
    monkeypatch.chdir(work)
    (work / "uit.parquet").write_bytes(b"vorige levering")
    before = _snapshot(work)
    real_replace = os.replace
    calls = []

    def second_fails(src, dst):
        calls.append(Path(dst).name)
        if Path(dst).name == "afgekeurd.csv":
            raise OSError(errno.EIO, "I/O error")
        return real_replace(src, dst)

    monkeypatch.setattr(outpaths.os, "replace", second_fails)
    result = _invoke("pseudonymise", "x.csv", "--key", "sleutel.json", "--partner", "wijkteam",
                     "--out", "uit.parquet", "--rejects", "afgekeurd.csv")
    _refused(result, "uit.parquet")
    assert calls[:2] == ["uit.parquet", "afgekeurd.csv"]
    assert _snapshot(work) == before, "the previous delivery is back and no temporary file is left"


@pytest.mark.parametrize("command", ["pseudonymise", "register", "validate"])
def test_a_full_disk_gives_a_dutch_line_and_leaves_nothing(work, monkeypatch, command):
    monkeypatch.chdir(work)
    before = _snapshot(work)

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("shutil.copyfile", disk_full)  # the rejected rows are copied into place last
    args = {
        "pseudonymise": ["pseudonymise", "x.csv", "--key", "sleutel.json", "--partner", "wijkteam", "--out",
                         "uit.parquet", "--rejects", "afgekeurd.csv"],
        "register": ["register", "adressen.csv", "--key", "sleutel.json", "--out", "r.parquet", "--rejects",
                     "afgekeurd.csv"],
        "validate": ["validate", "x.csv", "--rapport", "rapport"],
    }[command]
    result = _invoke(*args)
    _refused(result, "schijf is vol")
    assert {k: v for k, v in _snapshot(work).items()} == before
    assert not (work / "rapport").exists() or not any((work / "rapport").iterdir())


def test_a_field_over_the_csv_limit_is_a_file_fault_naming_the_line(work, monkeypatch):
    monkeypatch.chdir(work)
    (work / "lang.csv").write_text(
        "postcode;huisnummer;voorziening;begindatum\n1234AB;1;01;2026-01-01\n"
        f"1234AB;2;\"{'x' * 140_000}\";2026-01-01\n", encoding="utf-8")
    (work / "kop.csv").write_text("x" * 140_000 + ";postcode;huisnummer;voorziening;begindatum\n",
                                  encoding="utf-8")
    (work / "reg.csv").write_text(REGISTER + f"1234AB;3;\"{'y' * 140_000}\";;BU00010000;1\n",
                                  encoding="utf-8")
    before = _snapshot(work)
    _refused(_invoke("validate", "lang.csv", "--rapport", "r"), "lang.csv regel 3")
    _refused(_invoke("validate", "kop.csv", "--rapport", "r"), "kop.csv regel 1")
    _refused(_invoke("pseudonymise", "lang.csv", "--key", "sleutel.json", "--partner", "wijkteam",
                     "--out", "u.parquet"), "lang.csv regel 3")
    _refused(_invoke("register", "reg.csv", "--key", "sleutel.json", "--out", "r.parquet"), "reg.csv regel 5")
    assert _snapshot(work) == before


def test_register_of_a_folder_says_it_is_a_folder(work, monkeypatch):
    monkeypatch.chdir(work)
    (work / "map").mkdir()
    result = _invoke("register", "map", "--key", "sleutel.json", "--out", "r.parquet")
    _refused(result, "map", "is een map")
    assert "niet gevonden" not in result.output


@pytest.mark.parametrize("partner", ["=HYPERLINK(\"x\")", "+1+1", "@SUM(1)", "\t=1+1", "Jeugd Noord", "a",
                                     "../x", ""])
def test_partner_names_keep_the_portal_rule(work, monkeypatch, partner):
    monkeypatch.chdir(work)
    before = _snapshot(work)
    result = _invoke("pseudonymise", "x.csv", "--key", "sleutel.json", "--partner", partner,
                     "--out", "uit.parquet")
    _refused(result, "--partner", "kleine letters")
    assert _snapshot(work) == before
