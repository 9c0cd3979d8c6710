"""The fast canonicaliser and bulk HMAC equal a plain reading of docs/contract.md §3, on random messy input.

`reference_canonical` below is the contract written out row by row with Python's `re` and `hmac`,
deliberately naive. schemas/canonical.py runs the same rules as Arrow kernels over whole columns
(RE2 patterns without the look-ahead, ASCII shortcuts, slices on threads) and linkage/pseudonyms.py
hashes columns in C; these tests hold both to the reference and to the shared test vectors.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import string

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage import pseudonyms
from linkage.keys import Key, compute_key_id
from linkage.pseudonyms import (
    address_pseudonym_column,
    address_pseudonyms,
    building_pseudonym_column,
    building_pseudonyms,
)
from schemas import canonical
from schemas.canonical import canonicalise_addresses, canonicalise_arrow

# --- docs/contract.md §3, row by row ------------------------------------------------------------------------

SPLIT = re.compile(
    r"^(?P<nr>[0-9]{1,5})[\s\-/.]*(?P<letter>[A-Z](?![A-Z]))?[\s\-/.]*(?P<toev>[0-9A-Z]{1,4})?$"
)


def upper(text: str) -> str:
    """Upper case per character (Unicode's one-to-one mapping: `ß` stays one character)."""
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in text)


def reference_canonical(postcode: str, huisnummer: str, huisletter: str, toevoeging: str):
    """(canonical string or None, pand string or None, the four rule codes or None, the canonical string
    of the alternative reading of §3 step 8 or None)."""
    pc = upper(re.sub(r"\s+", "", postcode))
    if pc == "":
        pc_error = "postcode_ontbreekt"
    elif not re.fullmatch(r"[1-9][0-9]{3}[A-Z]{2}", pc):
        pc_error = "postcode_ongeldig"
    elif pc[4:] in ("SA", "SD", "SS"):
        pc_error = "postcode_verboden_letters"
    else:
        pc_error = None

    number = upper(huisnummer.strip())
    letter = upper(huisletter.strip())
    toev = re.sub(r"[^0-9A-Z]", "", upper(toevoeging))
    digits = re.fullmatch(r"[0-9]+", number) is not None
    letter_alone = False
    if not digits and number and not letter and not toev:
        match = SPLIT.search(number)
        if match:
            number, letter, toev = match["nr"], match["letter"] or "", match["toev"] or ""
            letter_alone = bool(letter) and not toev
    if huisnummer.strip() == "":
        number_error = "huisnummer_ontbreekt"
    elif re.fullmatch(r"[0-9]+", number) is None:
        number_error = "huisnummer_ongeldig"
    elif not 1 <= int(number) <= 99999:
        number_error = "huisnummer_bereik"
    else:
        number_error = None
    letter_error = None if re.fullmatch(r"[A-Z]?", letter) else "huisletter_ongeldig"
    toev_error = None if len(toev) <= 4 else "toevoeging_ongeldig"

    errors = (pc_error, number_error, letter_error, toev_error)
    if any(errors):
        return None, None, errors, None
    pand = f"{pc}|{int(number)}"
    return f"{pand}|{letter}|{toev}", pand, errors, f"{pand}||{letter}" if letter_alone else None


def reference_pseudonym(secret: bytes, prefix: str, value: str) -> str:
    return hmac.new(secret, (prefix + value).encode("utf-8"), hashlib.sha256).hexdigest()


# --- messy input ------------------------------------------------------------------------------------

WHITESPACE = " \t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2007\u3000"
ODD = "ßıſéÉ١２ﬀ|_,;'\"\\"
separators = st.sampled_from(["", " ", "-", "/", ".", "  ", " - ", "\xa0", "\t"])
letters = st.sampled_from(["", "a", "A", "b", "Z", "ß", "ı", "é", "ab"])
toevoegingen = st.sampled_from(["", "1", "2", "12", "a", "A3", "bis", "hs", "III", "12345", "3-a", "ﬀ"])
messy_text = st.text(alphabet=string.ascii_letters + string.digits + WHITESPACE + "-/." + ODD, max_size=9)


@st.composite
def postcodes(draw) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(messy_text)
    digits = draw(st.integers(0, 9999))
    pair = draw(st.sampled_from(["AB", "ab", "Sa", "SD", "ss", "ZZ", "aZ", "A", "ABC", "1A"]))
    return (
        draw(st.sampled_from(["", " ", "\xa0"]))
        + f"{digits:04d}"[: draw(st.integers(3, 4))]
        + draw(separators)
        + pair
        + draw(st.sampled_from(["", " ", "\n"]))
    )


@st.composite
def house_numbers(draw) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(messy_text)
    number = draw(st.sampled_from(["", "0", "00", "007"])) + str(draw(st.integers(0, 123456)))
    if draw(st.booleans()):
        return draw(st.sampled_from(["", " "])) + number
    return number + draw(separators) + draw(letters) + draw(separators) + draw(toevoegingen)


rows = st.tuples(
    postcodes(),
    house_numbers(),
    st.one_of(letters, messy_text.map(lambda t: t[:2])),
    st.one_of(toevoegingen, messy_text),
)


def _fast(batch: list[tuple[str, str, str, str]]) -> list[tuple]:
    frame = canonicalise_addresses(*(pd.Series([row[i] for row in batch], dtype=object) for i in range(4)))
    result = []
    for row in frame.itertuples(index=False):
        errors = tuple(
            None if pd.isna(v) else v
            for v in (row.fout_postcode, row.fout_huisnummer, row.fout_huisletter, row.fout_toevoeging)
        )
        result.append(
            (None if pd.isna(row.canoniek) else row.canoniek, None if pd.isna(row.pand) else row.pand, errors,
             None if pd.isna(row.canoniek_alt) else row.canoniek_alt)
        )
    return result


@settings(max_examples=200, deadline=None)
@given(st.lists(rows, min_size=1, max_size=40))
def test_fast_canonicaliser_equals_reference(batch):
    assert _fast(batch) == [reference_canonical(*row) for row in batch]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.text(max_size=10), st.text(max_size=10), st.text(max_size=3), st.text(max_size=6)),
        min_size=1,
        max_size=20,
    )
)
def test_fast_canonicaliser_equals_reference_on_arbitrary_text(batch):
    assert _fast(batch) == [reference_canonical(*row) for row in batch]


@settings(max_examples=50, deadline=None)
@given(st.lists(rows, min_size=5, max_size=60))
def test_slices_on_threads_give_the_same_rows(batch):
    columns = [pa.array([row[i] for row in batch], pa.string()) for i in range(4)]
    whole = canonicalise_arrow(*columns)
    original = canonical.PARALLEL_CHUNK_ROWS
    canonical.PARALLEL_CHUNK_ROWS = 2
    try:
        sliced = canonicalise_arrow(*columns)
    finally:
        canonical.PARALLEL_CHUNK_ROWS = original
    for name in whole:
        assert sliced[name].to_pylist() == whole[name].to_pylist(), name


def test_house_number_split_cases_from_the_contract():
    cases = {
        "12a": "1234AB|12|A|",
        "12-2": "1234AB|12||2",
        "12 bis": "1234AB|12||BIS",
        "12A3": "1234AB|12|A|3",
        "12AB": "1234AB|12||AB",
        "12 A B": "1234AB|12|A|B",
        "12A-B": "1234AB|12|A|B",
        "12A!": None,
        "123456A": "1234AB|12345||6A",
        "12\xa0a": "1234AB|12|A|",
        "0012 a": "1234AB|12|A|",
    }
    for typed, expected in cases.items():
        assert _fast([("1234AB", typed, "", "")])[0][0] == expected, typed
        assert reference_canonical("1234AB", typed, "", "")[0] == expected, typed


def test_alternative_reading_cases_from_the_contract():
    """§3 step 8: a letter with no toevoeging after it in a free-form house number is also a toevoeging."""
    cases = {
        ("107-H", "", ""): "1011AB|107||H",
        ("121 h", "", ""): "1011AB|121||H",
        ("105H", "", ""): "1011AB|105||H",
        ("12a", "", ""): "1011AB|12||A",
        ("12-2", "", ""): None,
        ("12 bis", "", ""): None,
        ("12A3", "", ""): None,
        ("12 A B", "", ""): None,
        ("12AB", "", ""): None,
        ("107", "H", ""): None,  # separate columns: no ambiguity
        ("107", "", "H"): None,
        ("107H", "", "x"): None,  # a toevoeging column is filled: no split at all, and invalid
    }
    for (number, letter, toev), expected in cases.items():
        assert _fast([("1011 ab", number, letter, toev)])[0][3] == expected, number
        assert reference_canonical("1011 ab", number, letter, toev)[3] == expected, number


# --- HMAC ---------------------------------------------------------------------------------------------


def _key(secret: bytes) -> Key:
    return Key(compute_key_id(secret), "", secret)


values = st.lists(st.text(max_size=130), min_size=0, max_size=30)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=80), values)
def test_bulk_hmac_equals_python_hmac(secret, batch):
    key = _key(secret)
    assert address_pseudonyms(key, batch) == [reference_pseudonym(secret, "adres:v1:", v) for v in batch]
    assert building_pseudonym_column(key, pa.array(batch, pa.large_string())).to_pylist() == [
        reference_pseudonym(secret, "pand:v1:", v) for v in batch
    ]


@pytest.mark.parametrize("implementation", ["sha-instructies", "draagbaar", "hashlib"])
def test_every_hmac_implementation_reproduces_the_vectors(test_key, vector_rows, implementation, monkeypatch):
    bulk = pseudonyms._hmac_bulk
    if implementation == "hashlib":
        monkeypatch.setattr(pseudonyms, "_hmac_bulk", None)
    elif bulk is None:
        pytest.skip("C-extensie niet gebouwd")
    elif implementation == "draagbaar":
        bulk.use_portable(True)
    try:
        valid = [row for row in vector_rows if row["canoniek"] != "ONGELDIG"]
        address = address_pseudonym_column(test_key, pa.array([row["canoniek"] for row in valid]))
        building = building_pseudonyms(
            test_key, pd.Series([row["canoniek"].rsplit("|", 2)[0] for row in valid])
        )
        assert address.to_pylist() == [row["adres_pseudoniem"] for row in valid]
        assert building == [row["pand_pseudoniem"] for row in valid]
    finally:
        if bulk is not None:
            bulk.use_portable(False)


def test_columns_split_over_threads_keep_their_order(test_key, monkeypatch):
    monkeypatch.setattr(pseudonyms, "PARALLEL_MIN_ROWS", 4)
    batch = [f"1234AB|{n}||" for n in range(1, 40)]
    sliced = pa.array(["x", *batch]).slice(1)
    assert address_pseudonym_column(test_key, sliced).to_pylist() == [
        reference_pseudonym(test_key.secret, "adres:v1:", v) for v in batch
    ]


def test_missing_values_get_no_pseudonym(test_key):
    with pytest.raises(TypeError):
        address_pseudonyms(test_key, ["1234AB|1||", None])


def test_vectors_through_the_arrow_path(test_key, vector_rows):
    columns = [
        pa.array([row[name] for row in vector_rows], pa.string())
        for name in ("postcode", "huisnummer", "huisletter", "huisnummertoevoeging")
    ]
    result = canonicalise_arrow(*columns)
    expected = [None if row["canoniek"] == "ONGELDIG" else row["canoniek"] for row in vector_rows]
    assert result["canoniek"].to_pylist() == expected
    valid = result["canoniek"].drop_null()
    assert address_pseudonym_column(test_key, valid).to_pylist() == [
        row["adres_pseudoniem"] for row in vector_rows if row["canoniek"] != "ONGELDIG"
    ]
