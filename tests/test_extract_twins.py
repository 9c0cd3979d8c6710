"""Quirky extracts pseudonymise to exactly what their clean twins give (docs/contract.md §4).

Every allowed quirk, in any combination (hypothesis draws them, so also combinations that no
sample file holds): encodings, BOM, delimiters, Excel's `sep=` line, header case/spaces/alias,
column order, extra name/BSN columns, quoting, line endings, blank and delimiter-only lines,
`1`/`2.0` codes, every date form, `12a`/`12-2`/`12 bis` house numbers, `1234 ab` postcodes.

One column may differ, as the contract says it must: `adres_pseudoniem_alt` (§3 step 8) holds the
alternative reading of a letter typed into the huisnummer column with no toevoeging after it (`12a`), and
is null when the letter stood in its own column, as in the clean twin.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.intake.delivery import pseudonymise_delivery
from schemas.codelist import load_code_list

EXTRACTS = Path(__file__).parent / "testdata" / "extracts"
CONTRACT_COLUMNS = ["postcode", "huisnummer", "huisletter", "huisnummertoevoeging", "voorziening",
                    "begindatum", "einddatum"]


@dataclass(frozen=True)
class Record:
    postcode: str
    nummer: int
    letter: str
    toevoeging: str
    code: str
    begin: date
    end: date | None


RECORDS = [
    Record("1234AB", 12, "A", "", "01", date(2026, 1, 31), None),
    Record("1234AB", 12, "", "2", "45", date(2025, 6, 1), date(2026, 3, 31)),
    Record("2511CV", 3, "", "BIS", "PW01", date(2024, 2, 29), None),
    Record("3011AA", 100, "", "", "02", date(2026, 1, 1), date(2026, 12, 31)),
    Record("9711LM", 7, "B", "3", "PW04", date(2023, 11, 15), date(2026, 2, 1)),
    Record("6821BD", 1, "C", "15", "55", date(2022, 9, 9), None),
    Record("1011AB", 99999, "", "HS", "18", date(2026, 7, 4), date(2026, 7, 4)),
    Record("5611AZ", 40, "", "", "10", date(2021, 12, 31), None),
]
EXTRA_VALUES = {
    "naam": ["Zoë de Vries", "Jansen, Piet", 'Müller "Mü"', "Noël\nvan Dijk", "Françoise", "Ödön", "Eva",
             "Bob"],
    "bsn": ["999990019", "999990020", "999990021", "999990022", "999990023", "999990024", "999990025",
            "999990026"],
}


def _clean_csv() -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(CONTRACT_COLUMNS)
    for r in RECORDS:
        writer.writerow([r.postcode, r.nummer, r.letter, r.toevoeging, r.code, r.begin.isoformat(),
                         r.end.isoformat() if r.end else ""])
    return buffer.getvalue().encode("utf-8")


def _postcode(draw, value: str) -> str:
    form = draw(st.sampled_from(["plain", "space", "lower", "space_lower", "padded"]))
    digits, letters = value[:4], value[4:]
    return {"plain": value, "space": f"{digits} {letters}", "lower": value.lower(),
            "space_lower": f"{digits} {letters.lower()}", "padded": f"  {digits}{letters} "}[form]


def _combined_number(draw, r: Record) -> str:
    letter = draw(st.sampled_from([r.letter, r.letter.lower()])) if r.letter else ""
    toev = draw(st.sampled_from([r.toevoeging, r.toevoeging.lower()])) if r.toevoeging else ""
    sep1 = draw(st.sampled_from(["", " "])) if letter else ""
    sep2 = draw(st.sampled_from(["-", " ", "/", " - "])) if toev else ""
    return f"{r.nummer}{sep1}{letter}{sep2}{toev}"


def _code(draw, code: str) -> str:
    if code.isdigit():
        number = int(code)
        return draw(st.sampled_from([code, str(number), f"{number}.0", f"{number},0", f" {code} "]))
    return draw(st.sampled_from([code, code.lower(), f" {code}"]))


def _date(draw, value: date | None) -> str:
    if value is None:
        return draw(st.sampled_from(["", " "]))
    d, m, y = value.day, value.month, value.year
    return draw(st.sampled_from([
        value.isoformat(), f"{d:02d}-{m:02d}-{y}", f"{d}-{m}-{y}", f"{d:02d}/{m:02d}/{y}", f"{d}/{m}/{y}",
        f"{y}/{m}/{d}", f"{value.isoformat()} 00:00:00", f"{d:02d}-{m:02d}-{y} 00:00",
    ]))


def _header_name(draw, name: str) -> str:
    if name == "huisnummertoevoeging":
        name = draw(st.sampled_from(["huisnummertoevoeging", "toevoeging", "huisnummer toevoeging",
                                     "huisnummer_toevoeging"]))
    if name == "begindatum":
        name = draw(st.sampled_from(["begindatum", "begin datum"]))
    name = draw(st.sampled_from([name, name.upper(), name.title(), name.capitalize()]))
    return draw(st.sampled_from(["", " "])) + name + draw(st.sampled_from(["", " "]))


@st.composite
def quirky_extracts(draw) -> tuple[bytes, list[str], list[int]]:
    """A messy rendering of RECORDS, the extra-column values that must never reach the output, and the
    records whose letter was typed into the huisnummer column with no toevoeging (§3 step 8)."""
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    delimiter = draw(st.sampled_from([";", ","]))
    separate = draw(st.booleans())
    columns = ["postcode", "huisnummer", "voorziening", "begindatum", "einddatum"]
    if separate:
        columns += draw(st.sampled_from([["huisletter", "huisnummertoevoeging"], ["huisnummertoevoeging"],
                                         ["huisletter"]]))
    extras = draw(st.sampled_from([[], ["naam"], ["bsn", "naam"]]))
    order = draw(st.permutations(columns + extras))
    header = [_header_name(draw, c) for c in order]
    lines: list[list[str]] = []
    letter_typed_alone = []
    for i, r in enumerate(RECORDS):
        fits_columns = ((not r.letter or "huisletter" in order)
                        and (not r.toevoeging or "huisnummertoevoeging" in order))
        use_columns = fits_columns and draw(st.booleans())
        values = {
            "postcode": _postcode(draw, r.postcode),
            "huisnummer": str(r.nummer) if use_columns else _combined_number(draw, r),
            "huisletter": (r.letter if draw(st.booleans()) else r.letter.lower()) if use_columns else "",
            "huisnummertoevoeging": r.toevoeging if use_columns else "",
            "voorziening": _code(draw, r.code),
            "begindatum": _date(draw, r.begin),
            "einddatum": _date(draw, r.end),
            "naam": EXTRA_VALUES["naam"][i],
            "bsn": EXTRA_VALUES["bsn"][i],
        }
        lines.append([values[c] for c in order])
        if r.letter and not r.toevoeging and not use_columns:
            letter_typed_alone.append(i)
        if draw(st.integers(0, 5)) == 0:
            lines.append(draw(st.sampled_from([[], [""] * len(order)])))
    trailing = draw(st.sampled_from([[], [[]], [[], []], [[""] * len(order)], [[""] * len(order), []]]))
    buffer = io.StringIO()
    line_end = draw(st.sampled_from(["\r\n", "\n"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    if draw(st.booleans()):
        buffer.write(f"sep={delimiter}{line_end}")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=line_end, quoting=quoting)
    writer.writerow(header)
    writer.writerows(lines + trailing)
    secrets = [v for c in extras for v in EXTRA_VALUES[c]]
    return buffer.getvalue().encode(encoding), secrets, letter_typed_alone


@pytest.fixture(scope="module")
def codes():
    return load_code_list()


@pytest.fixture(scope="module")
def clean_twin(codes, test_key, tmp_path_factory):
    work = tmp_path_factory.mktemp("twin")
    source = work / "schoon.csv"
    source.write_bytes(_clean_csv())
    out = work / "schoon.parquet"
    result = pseudonymise_delivery(source, test_key, "partner", out, codes)
    assert (result.rows_read, result.rows_rejected, result.rows_duplicate) == (len(RECORDS), 0, 0)
    return pq.read_table(out).replace_schema_metadata(None)


ALTERNATIVE = "adres_pseudoniem_alt"


def assert_twins(table, clean, key, letter_typed_alone: list[int]) -> None:
    """Equal to the clean twin but for the alternative readings, which are those of `letter_typed_alone`."""
    assert table.drop_columns([ALTERNATIVE]).equals(clean.drop_columns([ALTERNATIVE]))
    assert clean.column(ALTERNATIVE).null_count == clean.num_rows

    def pseudonym(r: Record, letter: str, toev: str) -> str:
        text = f"adres:v1:{r.postcode}|{r.nummer}|{letter}|{toev}"
        return hmac.new(key.secret, text.encode(), hashlib.sha256).hexdigest()

    expected = {pseudonym(RECORDS[i], RECORDS[i].letter, ""): pseudonym(RECORDS[i], "", RECORDS[i].letter)
                for i in letter_typed_alone}
    columns = table.to_pydict()
    got = {a: alt for a, alt in zip(columns["adres_pseudoniem"], columns[ALTERNATIVE], strict=True) if alt}
    assert got == expected


def _pseudonymise(data: bytes, codes, key, work: Path):
    source = work / "levering.csv"
    source.write_bytes(data)
    out, rejects = work / "levering.parquet", work / "afgekeurd.csv"
    result = pseudonymise_delivery(source, key, "partner", out, codes, rejects)
    return result, out, rejects


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(extract=quirky_extracts())
def test_any_combination_of_quirks_gives_the_same_pseudonyms(extract, codes, test_key, clean_twin):
    data, secrets, letter_typed_alone = extract
    with tempfile.TemporaryDirectory() as work:
        result, out, rejects = _pseudonymise(data, codes, test_key, Path(work))
        assert not result.errors_by_rule, result.examples[:3]
        assert result.rows_read == len(RECORDS)
        table = pq.read_table(out).replace_schema_metadata(None)
        assert_twins(table, clean_twin, test_key, letter_typed_alone)
        _assert_never_copied(secrets, out, rejects)


def test_the_sample_twin_in_testdata(codes, test_key, clean_twin, tmp_path):
    schoon = pseudonymise_delivery(EXTRACTS / "schoon.csv", test_key, "p", tmp_path / "schoon.parquet", codes)
    rommelig = pseudonymise_delivery(EXTRACTS / "rommelig.csv", test_key, "p", tmp_path / "rommelig.parquet",
                                     codes, tmp_path / "afgekeurd.csv")
    assert (rommelig.encoding, rommelig.delimiter) == ("cp1252", ",")
    assert rommelig.ignored_columns == ["naam", "bsn", "opmerking"]
    assert (schoon.rows_read, rommelig.rows_read, rommelig.rows_rejected) == (5, 5, 0)
    # rommelig.csv types `12a` for 1234AB 12 A, the first of RECORDS, as schoon.csv is.
    assert_twins(pq.read_table(tmp_path / "rommelig.parquet").replace_schema_metadata(None),
                 pq.read_table(tmp_path / "schoon.parquet").replace_schema_metadata(None), test_key, [0])
    _assert_never_copied(["Jansen", "Zoë", "999990019", "hallo", "meerdere"], tmp_path / "rommelig.parquet",
                         tmp_path / "afgekeurd.csv")


def _assert_never_copied(secrets: list[str], out: Path, rejects: Path) -> None:
    raw = out.read_bytes() + rejects.read_bytes()
    content = " ".join(str(v) for row in pq.read_table(out).to_pylist() for v in row.values())
    metadata = str(pq.read_schema(out).metadata)
    for secret in secrets:
        for piece in secret.replace(",", " ").replace("\n", " ").replace('"', " ").split():
            if len(piece) < 4:
                continue
            assert piece not in content and piece not in metadata
            assert piece.encode("utf-8") not in raw and piece.encode("cp1252", "ignore") not in raw
