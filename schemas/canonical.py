"""Canonical address v1 (docs/contract.md §3): the one canonicaliser, vectorised over Arrow columns.

Besides the canonical string, every row gets its alternative reading (§3 step 8, v2): a free-form
house number split into a number and a letter with nothing after it (`107-H`, `12a`) is also read
with that letter as toevoeging (`1011AB|107||H`); `canoniek_alt` is null for every other row.

Every place that turns an address into a pseudonym goes through `canonicalise_addresses` (pandas in,
pandas out) or `canonicalise_arrow` (Arrow in, Arrow out): the first is a thin wrapper around the
second, and `canonical_address` is the same function applied to one address.

The work is done by Arrow compute kernels (RE2 regular expressions, Unicode-aware trim and upper
case), so no Python code runs per row. Character classes are spelled out so that they mean what
Python's `re` means by them (`\\s` is every character for which `str.isspace()` is true), and the
house-number split of §3.2 is written without its look-ahead, in a form RE2 runs with the same
leftmost-first preference as Python's backtracking; tests/test_canonical_equivalence.py checks both
against a plain-Python reading of the contract on random messy input.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

CANONICAL_VERSION = "v1"

POSTCODE_PATTERN = r"^[1-9][0-9]{3}[A-Z]{2}$"
FORBIDDEN_POSTCODE_LETTERS = ("SA", "SD", "SS")
HOUSE_NUMBER_SPLIT = (
    r"^(?P<nr>[0-9]{1,5})[\s\-/.]*(?P<letter>[A-Z](?![A-Z]))?[\s\-/.]*(?P<toev>[0-9A-Z]{1,4})?$"
)
MAX_HOUSE_NUMBER = 99999

# Rule codes; their Dutch messages live in schemas/meldingen.csv.
POSTCODE_MISSING = "postcode_ontbreekt"
POSTCODE_INVALID = "postcode_ongeldig"
POSTCODE_FORBIDDEN = "postcode_verboden_letters"
HOUSE_NUMBER_MISSING = "huisnummer_ontbreekt"
HOUSE_NUMBER_INVALID = "huisnummer_ongeldig"
HOUSE_NUMBER_RANGE = "huisnummer_bereik"
HOUSE_LETTER_INVALID = "huisletter_ongeldig"
ADDITION_INVALID = "toevoeging_ongeldig"

ERROR_COLUMNS = ("fout_postcode", "fout_huisnummer", "fout_huisletter", "fout_toevoeging")


def _re2_class(characters: list[str]) -> str:
    return "".join(f"\\x{{{ord(c):x}}}" for c in characters)


# Python's `\s` for str patterns: every code point for which str.isspace() holds (tab, newline, the
# ASCII separators 0x1c-0x1f, no-break space, the Unicode spaces...). RE2's own `\s` is ASCII only.
# Written out rather than found by testing all 1.1 million code points at every import (~50 ms in each
# partner process); tests/test_canonical.py checks that the list is exactly what this Python's
# str.isspace() says.
PYTHON_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_WHITESPACE = _re2_class(list(PYTHON_WHITESPACE))
_SEPARATOR = f"[{_WHITESPACE}\\-/.]"
_WHITESPACE_RUN = f"[{_WHITESPACE}]+"
# HOUSE_NUMBER_SPLIT without the look-ahead `(?![A-Z])`: a letter directly followed by another A-Z
# letter is no huisletter, so a toevoeging right after the letter must start with a digit, or be set
# apart by a separator. Alternatives are tried in the order Python's backtracking tries them.
_HOUSE_NUMBER_SPLIT_RE2 = (
    f"^(?P<nr>[0-9]{{1,5}}){_SEPARATOR}*(?:"
    f"(?P<letter>[A-Z])(?:{_SEPARATOR}+(?P<toev_apart>[0-9A-Z]{{1,4}})?|(?P<toev_joined>[0-9][0-9A-Z]{{0,3}}))?"
    f"|(?P<toev>[0-9A-Z]{{1,4}})?)$"
)
_SPLIT_TOEVOEGINGEN = ("toev_apart", "toev_joined", "toev")
PARALLEL_CHUNK_ROWS = 250_000


@dataclass(frozen=True)
class CanonicalAddress:
    postcode: str
    huisnummer: int
    huisletter: str
    toevoeging: str
    alternative: str | None = field(default=None, compare=False)
    """The canonical string of the alternative reading (docs/contract.md §3.8), None when there is none.
    Not part of equality: it says how the address was typed, not which address it is."""

    @property
    def canonical(self) -> str:
        return f"{self.postcode}|{self.huisnummer}|{self.huisletter}|{self.toevoeging}"

    @property
    def pand(self) -> str:
        return f"{self.postcode}|{self.huisnummer}"


def _text(values: pd.Series | list | None, index: pd.Index) -> pd.Series:
    if values is None:
        return pd.Series("", index=index, dtype="object")
    series = pd.Series(values, index=index) if not isinstance(values, pd.Series) else values
    return series.astype("object").where(series.notna(), "").astype(str)


def _arrow_text(values: pd.Series | list | None, index: pd.Index) -> pa.Array:
    """A column as Arrow strings: missing values become "", anything else its `str()`."""
    if values is None:
        return pa.array(np.full(len(index), "", dtype=object), pa.string())
    if isinstance(values, pd.Series) and not values.index.equals(index):
        values = values.reindex(index)
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.StringDtype):
        array = pa.array(values.array, from_pandas=True)
    else:
        try:
            array = pa.array(values, type=pa.string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # numbers, dates...: str() as before
            array = pa.array(_text(values, index), type=pa.string(), from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.type != pa.string():
        array = array.cast(pa.string())
    return array.fill_null("") if array.null_count else array


def _mask(values: pa.Array) -> np.ndarray:
    return values.to_numpy(zero_copy_only=False)


def _lengths(values: pa.Array) -> np.ndarray:
    return _mask(pc.binary_length(values))


def _rule(*candidates: tuple[str, np.ndarray]) -> pa.DictionaryArray:
    """Per row the rule code of the first condition that holds; null when none does."""
    codes = np.full(len(candidates[0][1]), -1, dtype=np.int8)
    for position in reversed(range(len(candidates))):
        codes[candidates[position][1]] = position
    return pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0),
                                          pa.array([code for code, _ in candidates], pa.string()))


def _upper(values: pa.Array) -> pa.Array:
    # Same result; the ASCII kernel is an order of magnitude faster on the usual all-ASCII column.
    if pc.all(pc.string_is_ascii(values)).as_py() is not False:
        return pc.ascii_upper(values)
    return pc.utf8_upper(values)


def _where(values: pa.Array, rows: np.ndarray, function) -> pa.Array:
    """`function(values)` on the rows where `rows` is true; the other rows are left as they are."""
    changed = np.flatnonzero(rows)
    if not len(changed):
        return values
    # One `take` over the column followed by its replacements: about three times faster than
    # replace_with_mask on string columns.
    positions = np.arange(len(values))
    positions[changed] = len(values) + np.arange(len(changed))
    return pc.take(pa.concat_arrays([values, function(pc.take(values, changed))]), positions)


def _valid_only(values: pa.Array, valid: np.ndarray) -> pa.Array:
    """`values` with the rows where `valid` is false set to null (the data stays, unseen)."""
    if values.offset:
        values = pa.concat_arrays([values])
    bitmap = pa.array(valid).buffers()[1]
    return pa.Array.from_buffers(values.type, len(values), [bitmap, *values.buffers()[1:]])


def _split_house_numbers(number: pa.Array, needs_split: np.ndarray) -> tuple[np.ndarray, np.ndarray, pa.Array,
                                                                                pa.Array, pa.Array]:
    """The §3.2 split on the rows that need it, in row order: the rows where it matched, the rows where it
    found a letter with no toevoeging after it (they have the alternative reading of §3.8), and the parts."""
    rows = np.flatnonzero(needs_split)
    parts = pc.extract_regex(pc.take(number, rows), _HOUSE_NUMBER_SPLIT_RE2)
    matched = _mask(parts.is_valid())
    split = np.zeros(len(number), dtype=bool)
    split[rows[matched]] = True
    parts = parts.filter(pa.array(matched))
    toev = pc.binary_join_element_wise(*(pc.struct_field(parts, name) for name in _SPLIT_TOEVOEGINGEN), "")
    letter = pc.struct_field(parts, "letter")
    letter_alone = np.zeros(len(number), dtype=bool)
    letter_alone[rows[matched]] = (_lengths(letter) > 0) & (_lengths(toev) == 0)
    return split, letter_alone, pc.struct_field(parts, "nr"), letter, toev


def _canonicalise_chunk(postcode: pa.Array, huisnummer: pa.Array, huisletter: pa.Array,
                        toevoeging: pa.Array) -> dict[str, pa.Array]:
    # Whitespace can only occur in a postcode that is not all letters and digits; skip the regex elsewhere.
    spaced = ~_mask(pc.utf8_is_alnum(postcode))
    pc_text = _upper(_where(postcode, spaced, lambda v: pc.replace_substring_regex(v, _WHITESPACE_RUN, "")))
    pc_bad = ~_mask(pc.match_substring_regex(pc_text, POSTCODE_PATTERN))
    # Only asked of a postcode that matched the pattern, so its last two characters are its letters.
    pc_forbidden = np.logical_or.reduce([_mask(pc.ends_with(pc_text, letters))
                                         for letters in FORBIDDEN_POSTCODE_LETTERS])
    pc_rule = _rule((POSTCODE_MISSING, _lengths(pc_text) == 0), (POSTCODE_INVALID, pc_bad),
                    (POSTCODE_FORBIDDEN, pc_forbidden))

    number = _upper(pc.utf8_trim_whitespace(huisnummer))
    letter = _upper(pc.utf8_trim_whitespace(huisletter))
    toev = _where(_upper(toevoeging), _lengths(toevoeging) > 0,
                  lambda v: pc.replace_substring_regex(v, "[^0-9A-Z]", ""))

    number_length = _lengths(number)
    # ascii_is_decimal is `^[0-9]+$`: non-empty and only the ASCII digits (no other Unicode digits).
    all_digits = _mask(pc.ascii_is_decimal(number))
    needs_split = ~all_digits & (_lengths(letter) == 0) & (_lengths(toev) == 0) & (number_length > 0)
    letter_alone = np.zeros(len(number), dtype=bool)
    if needs_split.any():
        # A number that is neither all digits nor split stays as typed: it fails the digit test below.
        split, letter_alone, *parts = _split_house_numbers(number, needs_split)
        split_number, split_letter, split_toev = parts
        number, letter, toev = (_where(column, split, lambda _, part=part: part)
                                for column, part in ((number, split_number), (letter, split_letter),
                                                     (toev, split_toev)))

    has_number = _mask(pc.ascii_is_decimal(number))
    # Lengths beyond five digits cannot be valid and are never converted to an integer.
    stripped = pc.utf8_ltrim(number, "0")
    stripped_length = _lengths(stripped)
    in_range = has_number & (stripped_length >= 1) & (stripped_length <= 5)
    number_rule = _rule((HOUSE_NUMBER_MISSING, number_length == 0), (HOUSE_NUMBER_INVALID, ~has_number),
                        (HOUSE_NUMBER_RANGE, ~in_range))
    # `^[A-Z]?$`: empty, or one byte that is an upper-case ASCII letter.
    letter_length = _lengths(letter)
    letter_ok = (letter_length == 0) | ((letter_length == 1) & _mask(pc.ascii_is_upper(letter)))
    letter_rule = _rule((HOUSE_LETTER_INVALID, ~letter_ok))
    toev_rule = _rule((ADDITION_INVALID, _mask(pc.utf8_length(toev)) > 4))

    rules = {"fout_postcode": pc_rule, "fout_huisnummer": number_rule, "fout_huisletter": letter_rule,
             "fout_toevoeging": toev_rule}
    valid = np.logical_and.reduce([_mask(rule.is_null()) for rule in rules.values()])
    pand = pc.binary_join_element_wise(pc_text, stripped, "|")
    canonical = pc.binary_join_element_wise(pand, letter, toev, "|")
    # §3.8: the letter of a free-form house number, read as toevoeging (`1011AB|107||H`); a valid address
    # that has such a reading stays valid in it (one letter A-Z is a valid toevoeging).
    alternative = pc.binary_join_element_wise(pand, pa.scalar(""), letter, "|")
    return {"canoniek": _valid_only(canonical, valid), "pand": _valid_only(pand, valid),
            "canoniek_alt": _valid_only(alternative, valid & letter_alone), **rules}


def _plain_strings(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    return column.cast(pa.string()) if column.type != pa.string() else column


def canonicalise_arrow(postcode: pa.Array | pa.ChunkedArray, huisnummer: pa.Array | pa.ChunkedArray,
                       huisletter: pa.Array | pa.ChunkedArray,
                       toevoeging: pa.Array | pa.ChunkedArray) -> dict[str, pa.Array]:
    """Canonicalise Arrow string columns without nulls (missing = "").

    Returns `canoniek` and `pand` (strings, null when the address is invalid), `canoniek_alt` (the
    alternative reading of §3.8; null when the address is invalid or has none) and the four `fout_*`
    rule codes (dictionary-encoded strings, null when the field is fine). Long columns are cut into
    slices that run side by side (Arrow's kernels release the GIL).
    """
    columns = tuple(_plain_strings(c) for c in (postcode, huisnummer, huisletter, toevoeging))
    n = len(postcode)
    workers = min(os.cpu_count() or 1, 8)
    if n < 2 * PARALLEL_CHUNK_ROWS or workers == 1:
        return _canonicalise_chunk(*columns)
    starts = range(0, n, PARALLEL_CHUNK_ROWS)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(lambda start: _canonicalise_chunk(
            *(column.slice(start, PARALLEL_CHUNK_ROWS) for column in columns)), starts))
    return {name: pa.chunked_array([part[name] for part in parts]).combine_chunks() for name in parts[0]}


def string_series(values: pa.Array, index: pd.Index) -> pd.Series:
    """Arrow strings as a pandas `str` column on `index` (nulls stay missing)."""
    return values.to_pandas().set_axis(index) if len(values) else pd.Series([], index=index, dtype="str")


def _error_series(values: pa.DictionaryArray, index: pd.Index) -> pd.Series:
    labels = np.array([pd.NA, *values.dictionary.to_pylist()], dtype=object)
    codes = _mask(values.indices.fill_null(-1)).astype(np.int64) + 1
    return pd.Series(labels[codes], index=index, dtype="object")


def canonicalise_addresses(
    postcode: pd.Series,
    huisnummer: pd.Series,
    huisletter: pd.Series | None = None,
    toevoeging: pd.Series | None = None,
) -> pd.DataFrame:
    """Canonicalise address columns.

    Returns a frame on the same index with `canoniek` and `pand` (the strings that get hashed,
    <NA> when invalid), `canoniek_alt` (the alternative reading of §3.8, <NA> when there is none)
    and, per input column, the rule code that failed (`fout_postcode`, `fout_huisnummer`,
    `fout_huisletter`, `fout_toevoeging`; <NA> when fine).
    """
    index = postcode.index
    columns = canonicalise_arrow(_arrow_text(postcode, index), _arrow_text(huisnummer, index),
                                 _arrow_text(huisletter, index), _arrow_text(toevoeging, index))
    frame = {name: string_series(columns[name], index) for name in ("canoniek", "pand", "canoniek_alt")}
    frame.update({name: _error_series(columns[name], index) for name in ERROR_COLUMNS})
    return pd.DataFrame(frame, index=index)


def canonical_address(
    postcode: str, huisnummer: str, huisletter: str = "", toevoeging: str = ""
) -> CanonicalAddress | None:
    """Canonicalise one address; None when it is invalid."""
    frame = canonicalise_addresses(
        pd.Series([postcode]), pd.Series([huisnummer]), pd.Series([huisletter]), pd.Series([toevoeging])
    )
    row = frame.iloc[0]
    if pd.isna(row["canoniek"]):
        return None
    pc_text, number, letter, toev = str(row["canoniek"]).split("|")
    alternative = None if pd.isna(row["canoniek_alt"]) else str(row["canoniek_alt"])
    return CanonicalAddress(pc_text, int(number), letter, toev, alternative)
