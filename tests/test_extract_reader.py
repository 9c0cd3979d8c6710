"""Reading extracts as partners export them (contract §4): encodings, delimiters, headers, odd files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from schemas.readers.csv_reader import FileFault, iter_rows, normalise_header, read_layout

HEADER = "postcode;huisnummer;voorziening;begindatum"


def _write(tmp_path: Path, data: bytes, name: str = "levering.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _rows(path: Path, chunk_rows: int = 200_000) -> pd.DataFrame:
    layout = read_layout(path)
    frames = [rows for rows, _ in iter_rows(path, layout, chunk_rows=chunk_rows)]
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp1252", b"")],
)
def test_encodings_are_detected_and_names_survive(tmp_path, encoding, bom):
    text = "postcode;huisnummer;voorziening;begindatum;naam\r\n1234AB;1;01;2026-01-01;Zoë Müller\r\n"
    path = _write(tmp_path, bom + text.encode(encoding))
    layout = read_layout(path)
    assert layout.encoding == ("cp1252" if encoding == "cp1252" else "utf-8-sig")
    assert layout.ignored_columns == ["naam"]
    rows = _rows(path)
    assert rows.loc[0, "postcode"] == "1234AB"
    assert "naam" not in rows.columns


@pytest.mark.parametrize("delimiter", [";", ","])
def test_delimiter_is_detected_and_quoted_fields_keep_delimiters(tmp_path, delimiter):
    d = delimiter
    text = (f'Naam{d}postcode{d}huisnummer{d}voorziening{d}begindatum\n'
            f'"Jansen{d} Piet"{d}1234AB{d}"12{d}a"{d}01{d}2026-01-01\n')
    path = _write(tmp_path, text.encode())
    assert read_layout(path).delimiter == delimiter
    rows = _rows(path)
    assert rows.loc[0, "huisnummer"] == f"12{d}a"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("PostCode", "postcode"), (" Huisnummer ", "huisnummer"),
     ("Huisnummer toevoeging", "huisnummertoevoeging"), ("HUISNUMMER_TOEVOEGING", "huisnummertoevoeging"),
     ("Toevoeging", "huisnummertoevoeging"),
     ("\ufeffBegin datum", "begindatum"), ("eind-datum", "einddatum"), ("Naam", "naam")],
)
def test_header_names_are_case_and_space_insensitive_with_aliases(raw, expected):
    assert normalise_header(raw) == expected


def test_line_numbers_count_physical_lines_with_quoted_newlines_and_blank_lines(tmp_path):
    text = (
        f"{HEADER};opmerking\n"
        "1234AB;1;01;2026-01-01;\n"
        "\n"
        "1234AB;2;01;2026-01-01;\"twee\nregels\"\n"
        ";;;;\n"
        "1234AB;3;01;2026-01-01;\n"
        "\n\n;;;\n"
    )
    rows = _rows(_write(tmp_path, text.encode()))
    assert rows["regel"].tolist() == [2, 4, 7]
    assert rows["huisnummer"].tolist() == ["1", "2", "3"]


def test_excel_sep_line_sets_the_delimiter_and_is_not_the_header(tmp_path):
    text = "sep=,\r\npostcode,huisnummer,voorziening,begindatum\r\n1234AB,1,01,2026-01-01\r\n"
    path = _write(tmp_path, text.encode())
    layout = read_layout(path)
    assert layout.delimiter == ","
    assert _rows(path)["regel"].tolist() == [3]


def test_chunks_keep_every_row_once_with_its_line(tmp_path):
    body = "".join(f"1234AB;{n};01;2026-01-01\n" for n in range(1, 24))
    path = _write(tmp_path, (HEADER + "\n" + body).encode())
    layout = read_layout(path)
    chunks = [rows for rows, _ in iter_rows(path, layout, chunk_rows=5)]
    assert [len(c) for c in chunks] == [5, 5, 5, 5, 3]
    combined = pd.concat(chunks, ignore_index=True)
    assert combined["regel"].tolist() == list(range(2, 25))


def test_extra_fields_beyond_the_header_are_a_row_error(tmp_path):
    text = f"{HEADER}\n1234AB;1;01;2026-01-01;;\n1234AB;1;01;2026-01-01;Jansen\n"
    path = _write(tmp_path, text.encode())
    layout = read_layout(path)
    [(rows, errors)] = list(iter_rows(path, layout))
    assert rows["regel"].tolist() == [2]
    assert [(e.regel, e.code, e.waarde) for e in errors] == [(3, "velden_aantal", "5")]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "leeg"),
        (b"\n\n;;;\n", "geen kopregel"),
        (b"PK\x03\x04\x14\x00\x06\x00", "Excel-werkmap"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "oud Excel-bestand"),
        ("postcode;huisnummer".encode("utf-16"), "UTF-16"),
        (b"%PDF-1.7\n", "PDF"),
        (b"abc\x00def\n", "geen tekstbestand"),
        (b"postcode;huisnummer;begindatum\n1234AB;1;2026-01-01\n", "voorziening"),
        (b"postcode\thuisnummer\tvoorziening\tbegindatum\n", "tabs"),
        (b"postcode;postcode;huisnummer;voorziening;begindatum\n", "twee keer"),
        (b"postcode;huisnummer;voorziening;begindatum\n\x81\x8d\x8f\n", "niet te lezen"),
    ],
)
def test_unusable_files_are_a_file_fault_with_a_dutch_message(tmp_path, data, fragment):
    path = _write(tmp_path, data)
    with pytest.raises(FileFault, match=fragment) as caught:
        list(iter_rows(path, read_layout(path)))
    assert "levering.csv" in str(caught.value)


def test_a_file_without_header_gets_a_fault_that_does_not_repeat_the_data(tmp_path):
    path = _write(tmp_path, b"Jansen;999990019;1234AB;12;01;2026-01-01\n")
    with pytest.raises(FileFault, match="gegevens in plaats van kolomnamen") as caught:
        read_layout(path)
    assert "999990019" not in str(caught.value) and "Jansen" not in str(caught.value)


def test_missing_file_and_unbalanced_quotes_are_file_faults(tmp_path):
    with pytest.raises(FileFault, match="niet gevonden"):
        read_layout(tmp_path / "bestaat-niet.csv")
    big = f'{HEADER}\n1234AB;"1;01;2026-01-01\n' + ("x" * 200_000) + "\n"
    path = _write(tmp_path, big.encode())
    with pytest.raises(FileFault, match="regel .*beschadigd"):
        list(iter_rows(path, read_layout(path)))
