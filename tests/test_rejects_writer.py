"""The one writer of rejected rows: no cell a spreadsheet would run as a formula, numbers left alone."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from schemas.messages import RowError
from schemas.rejects import RejectsWriter, neutralise_formula


@pytest.mark.parametrize(
    "value",
    ["=HYPERLINK(\"http://x\")", "+1+1", "-1+1", "@SUM(1)", "\t=1+1", "\r=1+1", "=1", "-A1"],
)
def test_formulas_get_an_apostrophe(value):
    assert neutralise_formula(value) == "'" + value


@pytest.mark.parametrize("value", ["-1", "+31", "12", "2,5", "-0.5", "1234AB", "", "gewoon tekst", "'=al"])
def test_plain_values_stay_as_they_are(value):
    assert neutralise_formula(value) == value


def test_every_text_column_is_guarded_and_the_file_opens_in_dutch_excel(tmp_path: Path):
    path = tmp_path / "afgekeurd.csv"
    writer = RejectsWriter(path, "=bestand.csv")
    writer.write([RowError.of(7, "=kolom", "=HYPERLINK(\"x\")", "postcode_ongeldig")])
    writer.close()
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["bestand", "regel", "kolom", "waarde", "code", "melding"]
    assert rows[1][:5] == ["'=bestand.csv", "7", "'=kolom", "'=HYPERLINK(\"x\")", "postcode_ongeldig"]


def test_the_register_rejects_list_has_no_live_formula(tmp_path: Path, test_key):
    """A cell `=HYPERLINK(...)` in adressen.csv no longer lands live in register-afgekeurd.csv."""
    from linkage.keys import write_key

    key_file = tmp_path / "sleutel.json"
    write_key(test_key, key_file)
    addresses = tmp_path / "adressen.csv"
    addresses.write_text(
        "postcode;huisnummer;huisletter;huisnummertoevoeging;buurtcode\n"
        "1234AB;12;;;BU00010000\n"
        "=HYPERLINK(\"http://x\");1;;;BU00010000\n",
        encoding="utf-8",
    )
    rejects = tmp_path / "register-afgekeurd.csv"
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.cli.main", "register", str(addresses), "--key", str(key_file),
         "--out", str(tmp_path / "register.parquet"), "--rejects", str(rejects)],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(rejects.read_text(encoding="utf-8-sig")), delimiter=";"))
    values = [row[3] for row in rows[1:]]
    assert values == ["'=HYPERLINK(\"http://x\")"]
