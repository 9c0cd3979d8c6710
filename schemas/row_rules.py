"""Row rules of docs/contract.md §4, per chunk: prepare the parsed columns, let the GX suite judge them.

`prepare_rows` runs the canonicaliser (schemas/canonical.py, the one source of truth for addresses),
the code normaliser and the date parser and adds their results as columns; the expectation suite of
the delivery format (schemas/suites/*.json, see schemas/expectation_suites.py) then decides which rows
fail which rule. A row with any failing rule is rejected with one RowError per failing check; valid
rows go on with their canonical address, code, domain and dates.

The raw columns are read and trimmed as Arrow strings, and the columns the suites judge are built as
pandas categoricals (a few distinct values per chunk): GX sees the same values as with plain object
columns, but hashes, filters and compares them at a fraction of the cost.
tests/test_row_rules_columns.py holds both forms against each other.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.canonical import canonicalise_arrow, string_series
from schemas.codelist import CodeList
from schemas.expectation_suites import CSV_SUITE, MESSAGE_SUITE, RowRuleSuite, suite_for
from schemas.messages import RowError

# Day-first and year-first dates with `-` or `/`; Excel sometimes adds a midnight time.
_TIME = r"(?:[ T]0{1,2}:00(?::00(?:\.0+)?)?)?"
_ISO = rf"^(?P<y>[0-9]{{4}})[-/](?P<m>[0-9]{{1,2}})[-/](?P<d>[0-9]{{1,2}}){_TIME}$"
_DUTCH = rf"^(?P<d>[0-9]{{1,2}})[-/](?P<m>[0-9]{{1,2}})[-/](?P<y>[0-9]{{4}}){_TIME}$"

ADDRESS_ERROR_COLUMNS = {
    "fout_postcode": "postcode",
    "fout_huisnummer": "huisnummer",
    "fout_huisletter": "huisletter",
    "fout_toevoeging": "huisnummertoevoeging",
}
RAW_COLUMNS = ("postcode", "huisnummer", "huisletter", "huisnummertoevoeging", "voorziening",
               "begindatum", "einddatum", "bedrag")
MAX_AMOUNT_CENTS = 100_000_000
"""An amount over € 1 000 000 for one record is a typing error (docs/contract.md §12)."""
# An amount (docs/contract.md §12): digits with an optional decimal part of 1 or 2 digits after `,` or
# `.`; the integer part may group thousands with the other separator (`1.234,56`, `1,234.56`). A lone
# separator followed by exactly 3 digits groups thousands (`1.234` and `1,234` are 1234 euro): euro
# amounts have at most 2 decimals. An optional leading `€` and a leading `-` (judged: negative).
_AMOUNT = re.compile(
    r"^(?P<neg>-)?\s*(?:€\s*)?(?P<int>[0-9]+|[0-9]{1,3}(?:(?P<sep>[.,])[0-9]{3})(?:(?P=sep)[0-9]{3})*)"
    r"(?:(?P<dec>[.,])(?P<frac>[0-9]{1,2}))?$"
)
MESSAGE_COLUMNS = ("landcode", "adres_gevonden")
"""Extra columns of rows read from a 301 message (schemas/readers/istandaard.py); they also carry
`adres_aanduiding`, the AanduidingWoonadres of an address that cannot be used (missing means none)."""


def parse_timestamps(raw: pd.Series) -> pd.Series:
    """Parse `YYYY-MM-DD` and `D-M-YYYY` (also with `/`) to datetime64; NaT for empty or impossible dates."""
    return _timestamps(_trimmed(raw, len(raw)), raw.index)


def _timestamps(text: pa.Array, index: pd.Index) -> pd.Series:
    # An extract repeats few distinct dates: parse each once.
    encoded = text.dictionary_encode()
    parsed = _parse_distinct(pd.Series(encoded.dictionary.to_pylist(), dtype="object"))
    positions = encoded.indices.to_numpy(zero_copy_only=False)
    return pd.Series(parsed.to_numpy().take(positions), index=index, dtype=parsed.dtype)


def _parse_distinct(text: pd.Series) -> pd.Series:
    parts = text.str.extract(_ISO).fillna(text.str.extract(_DUTCH))
    numbers = parts.apply(pd.to_numeric, errors="coerce")
    valid_parts = numbers.notna().all(axis=1) & numbers["y"].between(1900, 2199)
    if not len(text):
        return pd.Series([], dtype="datetime64[s]")
    return pd.to_datetime(
        numbers.where(valid_parts).rename(columns={"y": "year", "m": "month", "d": "day"}),
        errors="coerce",
    )


def amount_cents(text: str) -> tuple[int | None, str | None]:
    """(eurocent, None) for a readable amount, (None, rule code) when not; (None, None) when empty."""
    text = text.strip()
    if not text:
        return None, None
    match = _AMOUNT.match(text)
    if match is None or (match["sep"] and match["dec"] == match["sep"]):
        return None, "bedrag_ongeldig"
    euros = int(match["int"].replace(".", "").replace(",", ""))
    cents = euros * 100 + int((match["frac"] or "0").ljust(2, "0"))
    if match["neg"] and cents:
        return None, "bedrag_negatief"
    if cents > MAX_AMOUNT_CENTS:
        return None, "bedrag_te_hoog"
    return cents, None


def _amounts(text: pa.Array, index: pd.Index) -> tuple[pd.Series, pd.Series]:
    """Per row the amount in eurocent (nullable Int64) and its fault (categorical, missing when none)."""
    encoded = text.dictionary_encode()
    parsed = [amount_cents(value) for value in encoded.dictionary.to_pylist()]
    positions = encoded.indices.to_numpy(zero_copy_only=False)
    cents = pd.array([c for c, _ in parsed], dtype="Int64").take(positions)
    labels = sorted({f for _, f in parsed if f})
    fault_codes = np.array([labels.index(f) if f else -1 for _, f in parsed], dtype=np.int64)
    return pd.Series(cents, index=index), _categories(fault_codes[positions], labels, index)


def parse_dates(raw: pd.Series) -> pd.Series:
    """Like `parse_timestamps`, as `datetime.date` objects (NaT when unreadable)."""
    return _as_dates(parse_timestamps(raw))


def _text(series: pd.Series | None, index: pd.Index | None = None) -> pd.Series:
    if series is None:
        return pd.Series("", index=index, dtype="object")
    return series.astype("object").where(series.notna(), "").astype(str)


def _trimmed(series: pd.Series | None, length: int) -> pa.Array:
    """A raw column as Arrow strings without surrounding whitespace; missing values become "".

    The values of `_text(series).str.strip()`: pandas trims its (Arrow) strings with the same kernel,
    which strips exactly the characters for which Python's `str.isspace()` holds.
    """
    if series is None:
        return pa.array(np.full(length, "", dtype=object), pa.string())
    if isinstance(series.dtype, pd.StringDtype):
        values = series.array
    elif series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) == "string":
        values = series.to_numpy()
    else:  # numbers, dates, mixed values...: their `str()`, as `_text` gives them
        values = _text(series).array
    array = pa.array(values, type=pa.string(), from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return pc.utf8_trim_whitespace(array.fill_null("") if array.null_count else array)


def _categories(positions: np.ndarray, labels: list, index: pd.Index) -> pd.Series:
    """A categorical column: `labels[position]` per row, missing where the position is -1.

    The columns the suites judge are categorical: the same values for GX, and cheap for it to hash,
    filter and compare (a handful of distinct values in a chunk of many rows).
    """
    categories = pd.Index(labels, dtype="object")
    return pd.Series(pd.Categorical.from_codes(positions, categories=categories), index=index)


def _dictionary_column(values: pa.DictionaryArray, index: pd.Index) -> pd.Series:
    positions = values.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    return _categories(positions, values.dictionary.to_pylist(), index)


def _filled(text: pa.Array, index: pd.Index) -> pd.Series:
    """The value, or missing when empty: GX's not-null expectations see empty fields as missing."""
    missing = pa.scalar(None, pa.string())
    return _dictionary_column(pc.if_else(pc.equal(text, ""), missing, text).dictionary_encode(), index)


def _readable(text: pa.Array, parsed: pd.Series) -> pd.Series:
    """True when a filled-in date parsed, False when it did not, missing when the field is empty."""
    empty = pc.equal(text, "").to_numpy(zero_copy_only=False)
    positions = np.where(empty, -1, parsed.notna().to_numpy()).astype(np.int8)
    return _categories(positions, [False, True], parsed.index)


def _codes(text: pa.Array, index: pd.Index) -> pd.Series:
    """`CodeList.unmangle` of the column, worked out once per distinct value."""
    encoded = text.dictionary_encode()
    distinct = pd.Categorical(CodeList.unmangle(pd.Series(encoded.dictionary.to_pylist(), dtype="object")))
    positions = np.asarray(distinct.codes).take(encoded.indices.to_numpy(zero_copy_only=False))
    return _categories(positions, list(distinct.categories), index)


def suite_name_for(rows: pd.DataFrame) -> str:
    """Rows from a 301 message carry the address columns of the message; they get the 301 suite."""
    return MESSAGE_SUITE if all(c in rows.columns for c in MESSAGE_COLUMNS) else CSV_SUITE


def prepare_rows(rows: pd.DataFrame, codes: CodeList) -> pd.DataFrame:
    """The chunk with raw values (trimmed) and the parsed columns the suites judge, on a RangeIndex."""
    rows = rows.reset_index(drop=True)
    index = rows.index
    text = {name: _trimmed(rows.get(name), len(index)) for name in RAW_COLUMNS}
    address = canonicalise_arrow(text["postcode"], text["huisnummer"], text["huisletter"],
                                 text["huisnummertoevoeging"])
    begin = _timestamps(text["begindatum"], index)
    end = _timestamps(text["einddatum"], index)
    columns: dict[str, pd.Series] = {
        # `bron` numbers the file a row came from when a delivery is a folder of messages.
        "bron": rows["bron"].astype("int64") if "bron" in rows else pd.Series(0, index=index, dtype="int64"),
        "regel": rows["regel"].astype("int64"),
    }
    columns.update({name: string_series(values, index) for name, values in text.items()})
    columns["canoniek"] = string_series(address["canoniek"], index)
    columns["pand"] = string_series(address["pand"], index)
    columns["canoniek_alt"] = string_series(address["canoniek_alt"], index)
    columns.update({name: _dictionary_column(address[name], index) for name in ADDRESS_ERROR_COLUMNS})
    columns["voorziening_ingevuld"] = _filled(text["voorziening"], index)
    columns["voorziening_code"] = _codes(text["voorziening"], index)
    columns["begindatum_ingevuld"] = _filled(text["begindatum"], index)
    columns["begindatum_leesbaar"] = _readable(text["begindatum"], begin)
    columns["einddatum_leesbaar"] = _readable(text["einddatum"], end)
    columns["begindatum_datum"] = begin
    columns["einddatum_datum"] = end
    columns["bedrag_cent"], columns["fout_bedrag"] = _amounts(text["bedrag"], index)
    prepared = pd.DataFrame(columns, index=index)
    if all(c in rows.columns for c in MESSAGE_COLUMNS):
        found = rows["adres_gevonden"].astype(bool)
        landcode = rows["landcode"].astype("object").where(rows["landcode"].notna(), None)
        prepared["adres_gevonden"] = _categories(found.to_numpy().astype(np.int8), [False, True], index)
        # Only a found address judges the country; only a Dutch one its AanduidingWoonadres; only a
        # Dutch one without an aanduiding is judged field by field (one reason per row).
        prepared["landcode"] = landcode.where(found, None).astype("category")
        dutch = found & (landcode.isna() | landcode.eq("NL"))
        aanduiding = rows["adres_aanduiding"] if "adres_aanduiding" in rows else pd.Series(None, index=index)
        aanduiding = aanduiding.astype("object").where(aanduiding.notna() & dutch, None)
        prepared["adres_aanduiding"] = aanduiding.astype("category")
        dutch &= aanduiding.isna()
        for column in ADDRESS_ERROR_COLUMNS:
            prepared[column] = prepared[column].where(dutch, pd.NA)
        address_columns = ["canoniek", "pand", "canoniek_alt"]
        prepared[address_columns] = prepared[address_columns].where(dutch, pd.NA)
    return prepared


def judge_rows(prepared: pd.DataFrame, suite: RowRuleSuite, codes: CodeList, bestand: str = "",
               bestanden: list[str] | None = None) -> tuple[pd.DataFrame, list[RowError]]:
    """Run the suite over prepared rows: (valid rows, errors of the rejected rows in line order).

    Errors name `bestand`, or with `bestanden` the file of their row (`bron` indexes it).
    """
    failing = suite.failures(prepared)
    errors: list[RowError] = []
    rejected = np.zeros(len(prepared), dtype=bool)
    if failing:
        bron, regel = prepared["bron"].to_numpy(), prepared["regel"].to_numpy()
        failing.sort(key=lambda item: (bron[item[0]], regel[item[0]], item[1]))
        shown = _shown_values(prepared, suite, failing)
        for position, check_index in failing:
            check = suite.checks[check_index]
            rejected[position] = True
            value = "" if check.waarde_uit is None else shown[check.waarde_uit][position]
            name = bestanden[bron[position]] if bestanden else bestand
            errors.append(RowError.of(int(regel[position]), check.kolom, value, check.regel_code,
                                      bestand=name))
    kept = np.flatnonzero(~rejected)
    voorziening, domein = _known_codes(prepared["voorziening_code"].take(kept), codes)
    valid = pd.DataFrame(
        {
            "bron": prepared["bron"].to_numpy()[kept],
            "regel": prepared["regel"].to_numpy()[kept],
            "canoniek": _rows(prepared["canoniek"], kept).astype(str),
            "pand": _rows(prepared["pand"], kept).astype(str),
            # The alternative reading of docs/contract.md §3 step 8; missing when the row has none.
            "canoniek_alt": _rows(prepared["canoniek_alt"], kept),
            "voorziening": voorziening,
            "domein": domein,
            "begindatum": _as_dates(_rows(prepared["begindatum_datum"], kept)),
            "einddatum": _as_dates(_rows(prepared["einddatum_datum"], kept)),
            "bedrag": _rows(prepared["bedrag_cent"], kept),
        }
    )
    return valid, errors


def _rows(column: pd.Series, positions: np.ndarray) -> pd.Series:
    return column.take(positions).reset_index(drop=True)


def _known_codes(candidates: pd.Series, codes: CodeList) -> tuple[pd.Series, pd.Series]:
    """The code (`CodeList.normalise`) and domain of each row as `str` columns, missing when unknown.

    `candidates` is the categorical `voorziening_code` of the rows (already unmangled): the code list
    is consulted once per category.
    """
    if not isinstance(candidates.dtype, pd.CategoricalDtype):
        candidates = candidates.astype("category")
    known = codes.known(pd.Series(candidates.cat.categories, dtype="object"))
    positions = pa.array(candidates.cat.codes.to_numpy(), mask=candidates.isna().to_numpy())
    index = pd.RangeIndex(len(candidates))
    per_row = [pa.array(values, pa.string(), from_pandas=True).take(positions)
               for values in (known, codes.domains(known))]
    return string_series(per_row[0], index), string_series(per_row[1], index)


def _shown_values(prepared: pd.DataFrame, suite: RowRuleSuite,
                  failing: list[tuple[int, int]]) -> dict[str, dict[int, str]]:
    """Per column the value an error shows, for the failing rows only (one lookup per column)."""
    positions: dict[str, set[int]] = {}
    for position, check_index in failing:
        column = suite.checks[check_index].waarde_uit
        if column is not None:
            positions.setdefault(column, set()).add(position)
    shown = {}
    for column, rows in positions.items():
        ordered = sorted(rows)
        values = prepared[column].take(ordered).tolist()
        shown[column] = {row: _shown(value) for row, value in zip(ordered, values, strict=True)}
    return shown


def _shown(value: object) -> str:
    return "" if value is None or value is pd.NA or value != value else str(value)


def _as_dates(stamp: pd.Series) -> pd.Series:
    """datetime64 as `datetime.date` objects, NaT where missing: `stamp.dt.date.where(notna, NaT)`.

    Arrow makes the date objects (no Python loop); a column without any date stays as pandas makes
    it (datetime64 NaT).
    """
    if not len(stamp):
        return pd.Series([], dtype="object")
    present = stamp.notna()
    if not present.any():
        return stamp.dt.date.where(present, pd.NaT)
    days = pa.array(stamp.to_numpy().astype("datetime64[D]"), from_pandas=True)
    dates = days.to_pandas(date_as_object=True).to_numpy(copy=True)
    dates[~present.to_numpy()] = pd.NaT
    return pd.Series(dates, index=stamp.index, name=stamp.name, dtype="object")


def validate_rows(rows: pd.DataFrame, codes: CodeList, suite: RowRuleSuite | None = None,
                  bestand: str = "") -> tuple[pd.DataFrame, list[RowError]]:
    """Check a chunk of delivery rows (CSV, or 301 rows with `landcode` and `adres_gevonden`).

    Returns the valid rows (`regel`, `canoniek`, `pand`, `voorziening`, `domein`, `begindatum`,
    `einddatum`, `bedrag` in eurocent or missing) and the errors of the rejected rows.
    """
    if suite is None:
        suite = suite_for(suite_name_for(rows), codes.codes())
    return judge_rows(prepare_rows(rows, codes), suite, codes, bestand)
