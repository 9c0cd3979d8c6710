"""Fuzzing the reader: whatever a partner sends, the answer is a clear Dutch message, never a traceback."""

from __future__ import annotations

import tempfile
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.cli.main import main
from schemas.readers.csv_reader import FileFault, iter_rows, read_layout

NAMES = ["postcode", "Huisnummer", " huisletter", "TOEVOEGING", "voorziening", "begin datum", "einddatum",
         "naam", "bsn", "", "postcode"]
CELLS = ["1234AB", "1234 ab", "0123AB", "12a", "12-2", "12 bis", "1", "2.0", "PW01", "45A11", "31-01-2026",
         "2026-02-30", "", " ", '"', '""', "a;b", "a,b", "\n", "\r", "é", "ë", "€", "\x00", "\ufeff", "sep=;",
         "<Bericht>", "x" * 300]
REQUIRED = ["Postcode", "huisnummer", "VOORZIENING", "begindatum"]
ENCODINGS = ["utf-8", "utf-8-sig", "cp1252", "utf-16", "latin-1"]
DELIMITERS = [";", ",", "\t", "|", " "]


@st.composite
def csvish(draw) -> bytes:
    """CSV-like text: mostly a usable header (so the row rules run too), any cells, any encoding."""
    delimiter = draw(st.sampled_from(DELIMITERS[:2] * 4 + DELIMITERS))
    if draw(st.integers(0, 4)):
        extra = draw(st.lists(st.sampled_from(["huisletter", "Toevoeging", "einddatum", "naam", "bsn", ""]),
                              max_size=3, unique=True))
        header = draw(st.permutations(REQUIRED + extra))
    else:
        header = draw(st.lists(st.sampled_from(NAMES), min_size=0, max_size=9))
    cell = st.sampled_from(CELLS * 4) | st.text(max_size=8)
    rows = draw(st.lists(st.lists(cell, max_size=10), max_size=12))
    line_end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = line_end.join(delimiter.join(r) for r in [header, *rows])
    encoding = draw(st.sampled_from(ENCODINGS[:3] * 3 + ENCODINGS))
    return text.encode(encoding, errors="replace")


inputs = st.one_of(st.binary(max_size=400), csvish(), csvish())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=inputs)
def test_reader_reads_or_raises_a_file_fault(data):
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "levering.csv"
        path.write_bytes(data)
        try:
            layout = read_layout(path)
            for rows, errors in iter_rows(path, layout, chunk_rows=3):
                assert list(rows.columns[:1]) == ["regel"]
                assert all(e.melding for e in errors)
        except FileFault as fault:
            assert str(fault).startswith("levering.csv")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=inputs, suffix=st.sampled_from([".csv", ".xml", ".txt"]))
def test_validate_never_crashes_and_answers_in_dutch(data, suffix):
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / f"levering{suffix}"
        path.write_bytes(data)
        result = CliRunner().invoke(main, ["validate", str(path), "--rapport", str(Path(work) / "rapport")])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert result.exit_code in (0, 1, 2)
        if result.exit_code == 2:
            assert result.output.startswith("fout: levering")
            assert "Traceback" not in result.output
        else:
            assert "rijen gelezen" in result.output
            assert (Path(work) / "rapport" / "levering.controle.html").exists()
