"""In-memory intake of the portal: same result as `factlab pseudonymise`, nothing written anywhere."""

from __future__ import annotations

import io
import json
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_portal_support import extract
from testdata_paths import ISTANDAARDEN, jw301_without_aanduiding

from linkage.keys import new_key
from pipelines.intake.delivery import pseudonymise_delivery
from portal.intake import (
    BROWSER_COLUMNS,
    BROWSER_FORMAT,
    InMemoryExtract,
    check_upload,
    delivery_parquet,
    display_name,
    upload_digest,
)
from schemas.codelist import load_code_list
from schemas.formats import read_metadata
from schemas.readers.csv_reader import FileFault

MESSAGES = ISTANDAARDEN

MIXED_ROWS = [
    ("1234 ab", "12a", "", "", "1", "31-01-2026", "", "Jansen"),
    ("1234AB", "12 A", "", "", "01", "2026-01-31", "", "Jansen"),  # duplicate of the line above
    ("2500SA", "1", "", "", "PW01", "01-02-2026", "", "De Vries"),
    ("1234AB", "14", "", "", "99", "01-02-2026", "", "Bakker"),
    ("1234AB", "16", "b", "2", "45", "1-2-2026", "30-06-2026", "Smit"),
    ("9999XX", "10", "A", "BEL", "PW03", "01/03/2026", "", "Müller"),
]


@pytest.fixture(scope="module")
def codes():
    return load_code_list()


class WriteRecorder:
    """Records every file opened for writing (audit event 'open') while active."""

    def __init__(self) -> None:
        self.active = False
        self.opened: list[str] = []
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple) -> None:
        if not self.active or event != "open":
            return
        path, mode, flags = args
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & (0o1 | 0o2 | 0o100)
        )
        if writing:
            self.opened.append(str(path))


RECORDER = WriteRecorder()


def test_csv_in_memory_equals_factlab_pseudonymise(tmp_path, test_key, codes):
    raw = extract(MIXED_ROWS, encoding="cp1252")
    source = tmp_path / "levering.csv"
    source.write_bytes(raw)
    expected_out = tmp_path / "verwacht.parquet"
    expected = pseudonymise_delivery(source, test_key, "zorg-a", expected_out, codes)

    result = check_upload([("levering.csv", raw)], test_key, codes)

    assert (result.rows_read, result.rows_rejected, result.rows_duplicate, result.rows_written) == (
        expected.rows_read,
        expected.rows_rejected,
        expected.rows_duplicate,
        expected.rows_written,
    )
    assert result.table.to_pylist() == pq.read_table(expected_out).to_pylist()
    assert result.table.column("adres_pseudoniem_alt").null_count == result.table.num_rows - 1  # only `12a`
    assert dict(result.errors_by_rule) == dict(expected.errors_by_rule)
    assert result.ignored_columns == ["naam"] and result.encoding == "cp1252"
    parquet = tmp_path / "portal.parquet"
    parquet.write_bytes(delivery_parquet(result, "zorg-a", test_key))
    meta = read_metadata(parquet)
    assert meta["partner"] == "zorg-a" and meta["key_id"] == test_key.key_id
    assert meta["rows_read"] == "6" and meta["rows_rejected"] == "2" and meta["rows_duplicate"] == "1"
    assert b"Jansen" not in parquet.read_bytes() and b"1234" not in parquet.read_bytes()


def test_open_and_closed_periods_are_kept_and_ordered_as_factlab_pseudonymise(tmp_path, test_key, codes):
    rows = [
        ("1234AB", "1", "", "", "01", "01-02-2026", "", "x"),
        ("1234AB", "1", "", "", "01", "01-02-2026", "30-06-2026", "x"),
        ("1234AB", "1", "", "", "01", "01-02-2026", "", "x"),
        ("1234AB", "2", "", "", "01", "01-02-2026", "30-06-2026", "x"),
        ("1234AB", "2", "", "", "01", "01-02-2026", "", "x"),
    ]
    source = tmp_path / "levering.csv"
    source.write_bytes(extract(rows))
    expected = pseudonymise_delivery(source, test_key, "zorg-a", tmp_path / "verwacht.parquet", codes)
    result = check_upload([("levering.csv", extract(rows))], test_key, codes)
    assert result.table.to_pylist() == pq.read_table(tmp_path / "verwacht.parquet").to_pylist()
    assert (result.rows_duplicate, result.rows_written) == (expected.rows_duplicate, expected.rows_written)
    assert [(e.regel, e.code) for e in result.listed] == [(4, "dubbele_regel")]


def test_301_messages_in_memory_equal_factlab_pseudonymise(tmp_path, test_key, codes):
    folder = tmp_path / "berichten"
    folder.mkdir()
    files = []
    for name in ("WMO301.xml", "JW301.xml"):
        # The published JW301's address is qualified TO (rejected): without it, rows go through.
        data = jw301_without_aanduiding() if name == "JW301.xml" else (MESSAGES / name).read_bytes()
        (folder / name).write_bytes(data)
        files.append((name, data))
    expected_out = tmp_path / "verwacht.parquet"
    expected = pseudonymise_delivery(folder, test_key, "zorg-a", expected_out, codes)

    result = check_upload(files, test_key, codes)

    assert result.kind == "301-xml" and result.files == 2
    assert result.messages == dict(expected.messages)
    assert (result.rows_read, result.rows_rejected, result.rows_written) == (
        expected.rows_read,
        expected.rows_rejected,
        expected.rows_written,
    )
    assert result.table.to_pylist() == pq.read_table(expected_out).to_pylist()
    assert {e.bestand for e in result.examples} <= {"WMO301.xml", "JW301.xml"}


def _outcome(result) -> tuple:
    counts = (result.rows_read, result.rows_rejected, result.rows_duplicate, result.rows_written)
    return counts, dict(result.errors_by_rule)


def test_deduplication_in_shards_equals_one_pass(monkeypatch, test_key, codes):
    import portal.dedup

    rows = [
        (
            f"{1000 + n % 40}AB",
            str(n % 9 + 1),
            "",
            "",
            ("01", "99", "PW01")[n % 3],
            f"0{n % 3 + 1}-02-2026",
            "",
            "x",
        )
        for n in range(900)
    ]
    messages = [(name, jw301_without_aanduiding()) for name in ("a.xml", "b.xml", "c.xml")]
    one_pass = [check_upload(files, test_key, codes) for files in ([("x.csv", extract(rows))], messages)]
    monkeypatch.setattr(portal.dedup, "SHARD_ROWS", 2)
    monkeypatch.setattr(portal.dedup, "LISTED_ERRORS", 30)  # each shard keeps fewer than the whole lists
    sharded = [check_upload(files, test_key, codes) for files in ([("x.csv", extract(rows))], messages)]
    for whole, parts in zip(one_pass, sharded, strict=True):
        assert _outcome(parts) == _outcome(whole) and parts.rows_duplicate > 0
        assert parts.listed == whole.listed[: len(parts.listed)] and parts.examples == whole.examples
        assert parts.table.to_pylist() == whole.table.to_pylist()
    assert len(sharded[0].listed) > 30  # row errors plus the first 30 repeated rows


def test_check_upload_writes_no_file_at_all(test_key, codes):
    raw = extract(
        [
            (f"{1000 + n % 8000}AB", str(n % 500 + 1), "", "", "01", "01-02-2026", "", "Naam Achternaam")
            for n in range(30_000)
        ]
    )
    assert len(raw) > 1024 * 1024  # larger than Starlette's spooling threshold
    check_upload([("warm.csv", extract(MIXED_ROWS))], test_key, codes)  # suites are built outside the window
    RECORDER.opened.clear()
    RECORDER.active = True
    try:
        result = check_upload([("groot.csv", raw)], test_key, codes)
    finally:
        RECORDER.active = False
    assert result.rows_read == 30_000
    assert RECORDER.opened == []


def test_binary_and_unreadable_uploads_get_a_dutch_reason(test_key, codes):
    cases = {
        b"PK\x03\x04rest-of-a-zip": "Excel",
        b"%PDF-1.7 ...": "PDF",
        b"\x89PNG\r\n": "afbeelding",
        b"   \r\n": "leeg",
        b"postcode;huisnummer\r\n1234AB;1\r\n": "verplichte kolom",
        b"<html><body>geen bericht</body></html>": "JW301",
        b'{"formaat": "iets anders"}': "pseudonimiseerpagina",
    }
    for data, phrase in cases.items():
        with pytest.raises(FileFault) as fault:
            check_upload([("bestand.csv", data)], test_key, codes)
        assert phrase in str(fault.value), (data, str(fault.value))


def test_several_files_must_all_be_messages(test_key, codes):
    with pytest.raises(FileFault, match="alleen bij 301-berichten"):
        check_upload([("a.csv", extract(MIXED_ROWS)), ("b.csv", extract(MIXED_ROWS))], test_key, codes)


@pytest.mark.parametrize(
    "hostile",
    [
        "../../etc/passwd",
        "..\\..\\boot.ini",
        "/abs/olute.csv",
        "\x00\x1b[31m.csv",
        "a" * 500 + ".csv",
        ".verborgen",
    ],
)
def test_file_names_are_only_shown_never_paths(hostile):
    shown = display_name(hostile)
    assert "/" not in shown and "\\" not in shown and "\x00" not in shown and "\x1b" not in shown
    assert 0 < len(shown) <= 80 and not shown.startswith(".")


def _browser_file(key_id: str, rows: list[list], read: int, rejected: int) -> bytes:
    return json.dumps(
        {
            "formaat": BROWSER_FORMAT,
            "versie": 1,
            "key_id": key_id,
            "canonical_version": "v1",
            "regels_gelezen": read,
            "regels_afgekeurd": rejected,
            "kolommen": BROWSER_COLUMNS,
            "rijen": rows,
        }
    ).encode()


def test_browser_file_is_checked_with_the_same_rules(test_key, codes, vector_rows):
    valid = [v for v in vector_rows if v["canoniek"] != "ONGELDIG"]
    rows = [
        [i + 2, v["adres_pseudoniem"], v["pand_pseudoniem"], "1", "31-01-2026", ""]
        for i, v in enumerate(valid)
    ]
    rows[0][3] = "99"  # unknown voorziening
    rows[1][4] = "31-02-2026"  # impossible date
    rows[2][5] = "01-01-2025"  # ends before it begins
    result = check_upload(
        [("x.json", _browser_file(test_key.key_id, rows, len(rows) + 3, 3))], test_key, codes
    )
    assert result.kind == "browser"
    assert result.rows_read == len(rows) + 3 and result.rows_rejected_in_browser == 3
    assert result.rows_rejected == 3 + 3
    assert {(e.regel, e.code) for e in result.examples if e.code != "dubbele_regel"} == {
        (2, "voorziening_onbekend"),
        (3, "datum_ongeldig"),
        (4, "einddatum_voor_begindatum"),
    }
    kept = {r["adres_pseudoniem"] for r in result.table.to_pylist()}
    assert kept == {v["adres_pseudoniem"] for v in valid[3:]}
    assert {r["voorziening"] for r in result.table.to_pylist()} == {"01"}
    # The in-browser pseudonymiser makes no alternative reading (docs/contract.md §3 step 8): null column.
    assert result.table.column("adres_pseudoniem_alt").null_count == result.table.num_rows > 0
    stored = pq.read_table(io.BytesIO(delivery_parquet(result, "zorg-a", test_key)))
    assert stored.schema.field("adres_pseudoniem_alt").type == pa.string()
    assert stored.column("adres_pseudoniem_alt").null_count == stored.num_rows
    assert stored.schema.metadata[b"format_version"] == b"2"


def test_browser_file_of_another_key_or_malformed_is_refused(test_key, codes, vector_rows):
    v = vector_rows[0]
    good = [[2, v["adres_pseudoniem"], v["pand_pseudoniem"], "01", "31-01-2026", ""]]
    with pytest.raises(FileFault, match="sleutel"):
        check_upload([("x.json", _browser_file(new_key().key_id, good, 1, 0))], test_key, codes)
    for bad in (
        [[2, "1234AB|12||", v["pand_pseudoniem"], "01", "31-01-2026", ""]],  # a clear address
        [[1, v["adres_pseudoniem"], v["pand_pseudoniem"], "01", "31-01-2026", ""]],  # header line
        [[2, v["adres_pseudoniem"].upper(), v["pand_pseudoniem"], "01", "31-01-2026", ""]],
        good + good,
    ):  # the same line twice
        with pytest.raises(FileFault, match="beschadigd"):
            check_upload([("x.json", _browser_file(test_key.key_id, bad, 5, 0))], test_key, codes)
    with pytest.raises(FileFault, match="aantallen"):
        check_upload([("x.json", _browser_file(test_key.key_id, good, 0, 0))], test_key, codes)


def test_upload_digest_is_sha256_of_the_file_or_of_the_listing():
    import hashlib

    assert upload_digest([("a.csv", b"abc")]) == hashlib.sha256(b"abc").hexdigest()
    listing = f"{hashlib.sha256(b'1').hexdigest()}  a.xml\n{hashlib.sha256(b'2').hexdigest()}  b.xml\n"
    assert upload_digest([("b.xml", b"2"), ("a.xml", b"1")]) == hashlib.sha256(listing.encode()).hexdigest()


def test_in_memory_extract_has_no_path():
    extract_file = InMemoryExtract("x.csv", b"postcode\n")
    with pytest.raises(TypeError):
        open(extract_file)  # noqa: SIM115 - proves there is no file system path behind it
    assert extract_file.open("rb").read() == b"postcode\n"
