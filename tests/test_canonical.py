"""Canonical address v1 (docs/contract.md §3): the shared test vectors and properties of the canonicaliser."""

from __future__ import annotations

import string
import sys

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.pseudonyms import address_pseudonyms, building_pseudonyms
from schemas.canonical import PYTHON_WHITESPACE, canonical_address, canonicalise_addresses


def test_key_id_of_test_key(test_key):
    assert test_key.key_id == "c623fe5f8f22a953"


def test_vectors_reproduced_exactly(test_key, vector_rows):
    assert len(vector_rows) >= 20
    for row in vector_rows:
        address = canonical_address(
            row["postcode"], row["huisnummer"], row["huisletter"], row["huisnummertoevoeging"]
        )
        if row["canoniek"] == "ONGELDIG":
            assert address is None, row
            continue
        assert address is not None, row
        assert address.canonical == row["canoniek"]
        assert address_pseudonyms(test_key, [address.canonical]) == [row["adres_pseudoniem"]]
        assert building_pseudonyms(test_key, [address.pand]) == [row["pand_pseudoniem"]]


def test_vectorised_equals_scalar_on_vectors(vector_rows):
    frame = pd.DataFrame(vector_rows)
    result = canonicalise_addresses(
        frame["postcode"], frame["huisnummer"], frame["huisletter"], frame["huisnummertoevoeging"]
    )
    expected = [None if c == "ONGELDIG" else c for c in frame["canoniek"]]
    assert [None if pd.isna(c) else c for c in result["canoniek"]] == expected


def test_invalid_rows_name_the_failing_field():
    frame = canonicalise_addresses(
        pd.Series(["12345", "1234AB", "1234AB", "1234AB"]),
        pd.Series(["1", "0", "12", "12"]),
        pd.Series(["", "", "AB", ""]),
        pd.Series(["", "", "", "ABCDE"]),
    )
    assert frame["fout_postcode"].tolist()[0] == "postcode_ongeldig"
    assert frame["fout_huisnummer"].tolist()[1] == "huisnummer_bereik"
    assert frame["fout_huisletter"].tolist()[2] == "huisletter_ongeldig"
    assert frame["fout_toevoeging"].tolist()[3] == "toevoeging_ongeldig"


def test_missing_and_nan_inputs_are_invalid_not_crashes():
    frame = canonicalise_addresses(pd.Series([None, "1234AB"]), pd.Series(["1", None]))
    assert frame["canoniek"].isna().all()


postcodes = st.builds(
    lambda d, l1, l2: f"{d}{l1}{l2}",
    st.integers(1000, 9999).map(str),
    st.sampled_from(string.ascii_uppercase),
    st.sampled_from(string.ascii_uppercase),
)
numbers = st.integers(1, 99999)
letters = st.sampled_from(["", *string.ascii_uppercase])
additions = st.text(alphabet=string.ascii_uppercase + string.digits, max_size=4)


def _respell_postcode(pc: str, data) -> str:
    spaced = pc[:4] + data.draw(st.sampled_from(["", " ", "  "])) + pc[4:]
    cased = "".join(c.lower() if data.draw(st.booleans()) else c for c in spaced)
    return data.draw(st.sampled_from(["", " "])) + cased + data.draw(st.sampled_from(["", " "]))


@settings(max_examples=150, deadline=None)
@given(postcodes, numbers, letters, additions, st.data())
def test_case_and_spacing_insensitive(pc, nr, letter, toev, data):
    reference = canonical_address(pc, str(nr), letter, toev)
    variant = canonical_address(
        _respell_postcode(pc, data),
        data.draw(st.sampled_from(["", "0", "00"])) + str(nr),
        letter.lower() if data.draw(st.booleans()) else letter,
        toev.lower() + data.draw(st.sampled_from(["", " ", "-"])),
    )
    assert variant == reference


@settings(max_examples=150, deadline=None)
@given(postcodes, numbers, letters, additions)
def test_idempotent(pc, nr, letter, toev):
    first = canonical_address(pc, str(nr), letter, toev)
    if first is None:
        return
    second = canonical_address(first.postcode, str(first.huisnummer), first.huisletter, first.toevoeging)
    assert second == first


@settings(max_examples=150, deadline=None)
@given(
    postcodes,
    numbers,
    st.sampled_from(string.ascii_uppercase),
    st.text(string.digits, min_size=1, max_size=4),
    st.sampled_from(["", " ", "-", "/", "."]),
)
def test_house_number_typed_in_one_field_equals_split_fields(pc, nr, letter, toev, sep):
    combined = canonical_address(pc, f"{nr}{sep}{letter.lower()}{sep}{toev}")
    split = canonical_address(pc, str(nr), letter, toev)
    assert combined == split


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12), st.text(max_size=12), st.text(max_size=3), st.text(max_size=8))
def test_never_crashes_on_arbitrary_text(pc, nr, letter, toev):
    address = canonical_address(pc, nr, letter, toev)
    if address is not None:
        assert address.canonical.count("|") == 3
        assert 1 <= address.huisnummer <= 99999


def test_the_written_out_whitespace_is_exactly_what_python_calls_whitespace():
    """The vectorised canonicaliser strips what `str.isspace()` holds for; the list is written out, so a
    Python whose Unicode tables differ must show here, not as a silent difference in pseudonyms."""
    assert PYTHON_WHITESPACE == "".join(chr(i) for i in range(sys.maxunicode + 1) if chr(i).isspace())
