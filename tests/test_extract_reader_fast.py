"""The fast extract reader must give exactly what the csv-module reader gives, chunk for chunk."""

from __future__ import annotations

import csv
import tempfile
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schemas.readers.csv_reader as reader
from schemas.readers.csv_reader import FileFault, iter_rows, iter_tables, read_layout

HEADER = "postcode;huisnummer;voorziening;begindatum"
REGISTER_COLUMNS = ("postcode", "huisnummer", "huisletter", "huisnummertoevoeging", "buurtcode",
                    "huishoudens")

# Cells partners really produce, and the characters that make the difference between the two readers:
# whitespace str.strip() removes (ASCII and not), quotes, quoted delimiters and line ends, NUL.
CELLS = ["1234AB", "1234 ab", "12", "12a", "01", "2026-01-01", "Zoë", "é", "€", "x", "", "", " ", "  ", "\t",
         "\x0b", "\x1c", "\xa0", "\u2003", "\u3000", "\x85", "\ufeff", " é ", "a b"]
QUOTED_CELLS = ['"quoted"', '"a;b"', '"a,b"', '"two\nlines"', '"two\r\nlines"', '"open', 'mid"dle', '""',
                '"x""y"']
COLUMN_NAMES = ["postcode", "Huisnummer", "voorziening", "begin datum", "einddatum", "huisletter",
                "Toevoeging", "naam", "bsn", ""]


def _collect(chunks) -> tuple[list, str | None]:
    """All chunks, then the FileFault message if the reader stopped with one."""
    out = []
    try:
        for item in chunks:
            out.append(item)
    except FileFault as fault:
        return out, str(fault)
    return out, None


def _assert_same(path: Path, chunk_rows: int, known: tuple[str, ...] = reader.DELIVERY_COLUMNS,
                 layout: reader.ExtractLayout | None = None) -> int:
    layout = layout or read_layout(path, known=known)
    expected, expected_fault = _collect(reader._iter_rows_csv(path, layout, chunk_rows, known))
    frames, fault = _collect(iter_rows(path, layout, chunk_rows, known))
    tables, table_fault = _collect(iter_tables(path, layout, chunk_rows, known))
    assert fault == expected_fault
    assert table_fault == expected_fault
    assert len(frames) == len(expected) == len(tables)
    for (frame, errors), (table, table_errors), (want, want_errors) in zip(frames, tables, expected,
                                                                           strict=True):
        assert list(frame.columns) == list(want.columns)
        assert list(frame.dtypes) == list(want.dtypes)
        pd.testing.assert_frame_equal(frame, want, check_exact=True)
        assert errors == want_errors
        assert table_errors == want_errors
        assert table.equals(reader._table_of_frame(want, known))
    return len(expected)


@st.composite
def messy_extracts(draw) -> tuple[bytes, int, dict[str, int], int]:
    delimiter = draw(st.sampled_from([";", ","]))
    names = draw(st.lists(st.sampled_from(COLUMN_NAMES), min_size=1, max_size=8, unique=True))
    for required in ("postcode", "Huisnummer", "voorziening", "begin datum"):
        if required not in names:
            names.insert(draw(st.integers(0, len(names))), required)
    lines = [delimiter.join(names)]
    if draw(st.booleans()):
        lines.insert(0, f"sep={delimiter}" + draw(st.sampled_from(["", delimiter, delimiter * 3])))
    for _ in range(draw(st.integers(0, 2))):
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(["", " ", delimiter * 2])))
    # Oddities the fast path must leave to the csv module, each in some of the files.
    quotes, lone_cr, nul = (draw(st.integers(0, 3)) == 0 for _ in range(3))
    cell = st.sampled_from(CELLS + QUOTED_CELLS * quotes + ["cr\rcr", "cr\r"] * lone_cr + ["nul\x00"] * nul)
    for _ in range(draw(st.integers(0, 25))):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            lines.append(draw(st.sampled_from(["", " ", "\t", "\xa0", "\u3000 ", "\x85"])))
        elif kind == 1:
            filler = st.sampled_from(["", " ", "\xa0", "\t", "\x0b", "\u2003"])
            lines.append(delimiter.join(draw(st.lists(filler, min_size=2, max_size=12))))
        else:
            width = len(names) + draw(st.sampled_from([0, 0, 0, -1, -3, 1, 2, 4]))
            cells = draw(st.lists(cell, min_size=max(width, 1), max_size=max(width, 1)))
            if kind == 2 and width > len(names):
                # Extra fields that are all blank: still a row.
                cells[len(names):] = draw(st.lists(st.sampled_from(["", " ", "\xa0"]),
                                                   min_size=width - len(names), max_size=width - len(names)))
            lines.append(delimiter.join(cells))
    endings = st.sampled_from(["\n", "\r\n"] + ["\r"] * lone_cr)
    text = "".join(line + draw(endings) for line in lines)
    if draw(st.booleans()):
        text = text.rstrip("\r\n")
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    data = text.encode(encoding, errors="replace")
    chunk_rows = draw(st.sampled_from([1, 2, 3, 5, 7, 1000]))
    # The reader's tuning knobs: tiny blocks and windows move every boundary around; _FEW 1 makes every
    # blank-line check go through Python, a huge _FEW through numpy.
    knobs = {"_BLOCK_BYTES": draw(st.sampled_from([1, 7, 64, 1 << 21])),
             "_CSV_WINDOW": draw(st.sampled_from([1, 16, 1 << 14])),
             "_FEW": draw(st.sampled_from([1, 16, 10**9]))}
    field_limit = draw(st.sampled_from([131072, 131072, 6]))
    return data, chunk_rows, knobs, field_limit


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extract=messy_extracts())
def test_fast_reader_equals_the_csv_reader(extract):
    data, chunk_rows, knobs, field_limit = extract
    with tempfile.TemporaryDirectory() as work, ExitStack() as patches:
        for name, value in knobs.items():
            patches.enter_context(mock.patch.object(reader, name, value))
        path = Path(work) / "levering.csv"
        path.write_bytes(data)
        try:
            layout = read_layout(path)
        except FileFault:
            return
        old_limit = csv.field_size_limit(field_limit)
        try:
            _assert_same(path, chunk_rows, layout=layout)
        finally:
            csv.field_size_limit(old_limit)


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 4, 200_000])
def test_examples_from_the_reader_tests_are_equal(tmp_path, chunk_rows):
    texts = [
        f"{HEADER};opmerking\n1234AB;1;01;2026-01-01;\n\n1234AB;2;01;2026-01-01;\"twee\nregels\"\n;;;;\n"
        "1234AB;3;01;2026-01-01;\n\n\n;;;\n",
        "sep=,\r\npostcode,huisnummer,voorziening,begindatum\r\n1234AB,1,01,2026-01-01\r\n",
        f"{HEADER}\n1234AB;1;01;2026-01-01;;\n1234AB;1;01;2026-01-01;Jansen\n1234AB;2\n \xa0;\u3000\n",
        f"\ufeff{HEADER}\r\n" + "".join(f"1234AB;{n};01;2026-01-01\r\n" for n in range(23)),
        f'{HEADER}\n1234AB;"1;01;2026-01-01\n' + ("x" * 200_000) + "\n",
        f"{HEADER}\n1234AB;1;01;2026-01-01\r1234AB;2;01;2026-01-01\r",
    ]
    for number, text in enumerate(texts):
        path = tmp_path / f"levering{number}.csv"
        path.write_bytes(text.encode("utf-8"))
        _assert_same(path, chunk_rows)


def test_an_error_after_a_full_chunk_belongs_to_the_next_chunk(tmp_path):
    rows = "".join(f"1234AB;{n};01;2026-01-01\n" for n in range(10))
    text = f"{HEADER}\n{rows}1234AB;x;01;2026-01-01;Jansen\n"
    path = tmp_path / "levering.csv"
    path.write_bytes(text.encode())
    chunks = list(iter_rows(path, read_layout(path), chunk_rows=5))
    assert [(len(frame), [e.regel for e in errors]) for frame, errors in chunks] == [
        (5, []), (5, []), (0, [12])]
    assert _assert_same(path, 5) == 3


def test_the_register_columns_of_a_wide_file_are_equal(tmp_path):
    header = "postcode;huisnummer;huisletter;huisnummertoevoeging;buurtcode;huishoudens;x"
    body = "".join(f"{1000 + n % 9}AB;{n};{'ab'[n % 2]};{'' if n % 3 else 'bis'};BU{n:08d};{n % 4};é\n"
                   for n in range(3000))
    path = tmp_path / "adressen.csv"
    path.write_bytes((header + "\n" + body).encode("cp1252"))
    layout = read_layout(path, ("postcode", "huisnummer", "buurtcode"), REGISTER_COLUMNS)
    assert layout.encoding == "cp1252"
    assert _assert_same(path, 1000, REGISTER_COLUMNS, layout) == 3


def test_a_plain_file_never_touches_the_csv_module(tmp_path, monkeypatch):
    body = "".join(f"1234AB;{n};01;2026-01-01\r\n" for n in range(1, 24))
    body += ";;;\r\n1234AB;x;01;2026;Jansen\r\n"
    path = tmp_path / "levering.csv"
    path.write_bytes((HEADER + "\r\n" + body).encode())
    layout = read_layout(path)

    def refuse(*args, **kwargs):
        raise AssertionError("the csv module was used for a plain file")

    monkeypatch.setattr(reader, "_iter_rows_csv", refuse)
    monkeypatch.setattr(reader._FastReader, "_csv_records", refuse)
    monkeypatch.setattr(reader.csv, "reader", refuse)
    chunks = list(iter_rows(path, layout, chunk_rows=5))
    assert [len(rows) for rows, _ in chunks] == [5, 5, 5, 5, 3]
    assert pd.concat([rows for rows, _ in chunks])["regel"].tolist() == list(range(2, 25))
    assert [(e.regel, e.code) for _, errors in chunks for e in errors] == [(26, "velden_aantal")]
    assert chunks[-1][1], "the error comes after the last full chunk"


def test_only_the_lines_near_a_quote_go_through_the_csv_module(tmp_path, monkeypatch):
    lines = [f"1234AB;{n};01;2026-01-01" for n in range(1, 2001)]
    lines[1000] = '1234AB;"1001";01;2026-01-01'
    path = tmp_path / "levering.csv"
    path.write_bytes((HEADER + "\n" + "\n".join(lines) + "\n").encode())
    layout = read_layout(path)
    read_by_csv: list[list[str]] = []
    csv_reader = reader.csv.reader

    class CountingReader:
        def __init__(self, *args, **kwargs):
            self.reader = csv_reader(*args, **kwargs)

        def __iter__(self):
            return self

        def __next__(self):
            record = next(self.reader)
            read_by_csv.append(record)
            return record

        @property
        def line_num(self):
            return self.reader.line_num

    monkeypatch.setattr(reader.csv, "reader", CountingReader)
    [(table, errors)] = list(iter_tables(path, layout))
    assert table.num_rows == 2000 and not errors
    assert table["huisnummer"][1000].as_py() == "1001"
    assert table["regel"].to_pylist() == list(range(2, 2002))
    assert read_by_csv == [["1234AB", "1001", "01", "2026-01-01"]]


def test_tables_are_single_chunk_non_null_strings(tmp_path):
    path = tmp_path / "levering.csv"
    path.write_bytes(f"{HEADER}\n1234AB;1;01;2026-01-01\n1234AB;2\n".encode())
    [(table, _)] = list(iter_tables(path, read_layout(path)))
    assert table.schema.field("regel").type == pa.int64()
    for name in reader.DELIVERY_COLUMNS:
        assert table[name].type == pa.string() and table[name].null_count == 0
        assert table[name].num_chunks == 1
    assert table["einddatum"].to_pylist() == ["", ""]
    assert table["voorziening"].to_pylist() == ["01", ""]


def test_an_extract_held_in_memory_is_read_the_same(tmp_path):
    from portal.intake import InMemoryExtract

    data = f"{HEADER}\r\n1234AB;1;01;2026-01-01\r\n\"1234AB\";2;01;2026-01-01\r\n".encode("cp1252")
    path = tmp_path / "levering.csv"
    path.write_bytes(data)
    extract = InMemoryExtract("levering.csv", data)
    layout = read_layout(extract)
    [(rows, _)] = list(iter_rows(extract, layout))
    [(want, _)] = list(reader._iter_rows_csv(path, read_layout(path)))
    pd.testing.assert_frame_equal(rows, want, check_exact=True)
