"""Row rules of CONTRACT §4, per chunk: prepare the parsed columns, let the GX suite judge them.

`prepare_rows` runs the canonicaliser (linkage/canonical.py, the one source of truth for addresses),
the code normaliser and the date parser and adds their results as columns; the expectation suite of
the delivery format (schemas/suites/*.json, see schemas/expectation_suites.py) then decides which rows
fail which rule. A row with any failing rule is rejected with one RowError per failing check; valid
rows go on with their canonical address, code, domain and dates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from linkage.canonical import canonicalise_addresses
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
               "begindatum", "einddatum")
MESSAGE_COLUMNS = ("landcode", "adres_gevonden")
"""Extra columns of rows read from a 301 message (schemas/istandaard.py)."""


def parse_timestamps(raw: pd.Series) -> pd.Series:
    """Parse `YYYY-MM-DD` and `D-M-YYYY` (also with `/`) to datetime64; NaT for empty or impossible dates."""
    text = _text(raw).str.strip()
    # An extract repeats few distinct dates: parse each once.
    codes, uniques = pd.factorize(text)
    parsed = _parse_distinct(pd.Series(uniques, dtype="object"))
    return pd.Series(parsed.to_numpy().take(codes) if len(codes) else parsed.to_numpy()[:0],
                     index=raw.index, dtype=parsed.dtype)


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


def parse_dates(raw: pd.Series) -> pd.Series:
    """Like `parse_timestamps`, as `datetime.date` objects (NaT when unreadable)."""
    stamp = parse_timestamps(raw)
    return stamp.dt.date.where(stamp.notna(), pd.NaT) if len(stamp) else pd.Series([], dtype="object")


def _text(series: pd.Series | None, index: pd.Index | None = None) -> pd.Series:
    if series is None:
        return pd.Series("", index=index, dtype="object")
    return series.astype("object").where(series.notna(), "").astype(str)


def _filled(text: pd.Series) -> pd.Series:
    """The value, or None when empty: GX's not-null expectations see empty fields as missing."""
    return text.astype("object").where(text != "", None)


def _readable(raw: pd.Series, parsed: pd.Series) -> pd.Series:
    """True when a filled-in date parsed, False when it did not, None when the field is empty."""
    return pd.Series(np.where(raw == "", None, parsed.notna()), index=raw.index, dtype="object")


def suite_name_for(rows: pd.DataFrame) -> str:
    """Rows from a 301 message carry the address columns of the message; they get the 301 suite."""
    return MESSAGE_SUITE if all(c in rows.columns for c in MESSAGE_COLUMNS) else CSV_SUITE


def prepare_rows(rows: pd.DataFrame, codes: CodeList) -> pd.DataFrame:
    """The chunk with raw values (trimmed) and the parsed columns the suites judge, on a RangeIndex."""
    rows = rows.reset_index(drop=True)
    index = rows.index
    raw = {name: _text(rows.get(name), index).str.strip() for name in RAW_COLUMNS}
    address = canonicalise_addresses(raw["postcode"], raw["huisnummer"], raw["huisletter"],
                                     raw["huisnummertoevoeging"])
    begin = parse_timestamps(raw["begindatum"])
    end = parse_timestamps(raw["einddatum"])
    prepared = pd.DataFrame({"regel": rows["regel"].astype("int64"), **raw}, index=index)
    # `bron` numbers the file a row came from when a delivery is a folder of messages.
    prepared.insert(0, "bron", rows["bron"].astype("int64") if "bron" in rows else 0)
    for column in ("canoniek", "pand", *ADDRESS_ERROR_COLUMNS):
        prepared[column] = address[column]
    prepared["voorziening_ingevuld"] = _filled(raw["voorziening"])
    prepared["voorziening_code"] = codes.unmangle(raw["voorziening"]).astype("object")
    prepared["begindatum_ingevuld"] = _filled(raw["begindatum"])
    prepared["begindatum_leesbaar"] = _readable(raw["begindatum"], begin)
    prepared["einddatum_leesbaar"] = _readable(raw["einddatum"], end)
    prepared["begindatum_datum"] = begin
    prepared["einddatum_datum"] = end
    if all(c in rows.columns for c in MESSAGE_COLUMNS):
        found = rows["adres_gevonden"].astype(bool)
        landcode = rows["landcode"].astype("object").where(rows["landcode"].notna(), None)
        prepared["adres_gevonden"] = found.astype("object")
        # Only a found address judges the country; only a Dutch one is judged field by field.
        prepared["landcode"] = landcode.where(found, None)
        dutch = found & (landcode.isna() | landcode.eq("NL"))
        for column in ADDRESS_ERROR_COLUMNS:
            prepared[column] = prepared[column].where(dutch, pd.NA)
        prepared[["canoniek", "pand"]] = prepared[["canoniek", "pand"]].where(dutch, pd.NA)
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
        for position, check_index in failing:
            check = suite.checks[check_index]
            rejected[position] = True
            value = "" if check.waarde_uit is None else _shown(prepared.at[position, check.waarde_uit])
            name = bestanden[bron[position]] if bestanden else bestand
            errors.append(RowError.of(int(regel[position]), check.kolom, value, check.regel_code,
                                      bestand=name))
    keep = ~rejected
    code = codes.normalise(prepared.loc[keep, "voorziening"])
    valid = pd.DataFrame(
        {
            "bron": prepared.loc[keep, "bron"],
            "regel": prepared.loc[keep, "regel"],
            "canoniek": prepared.loc[keep, "canoniek"].astype(str),
            "pand": prepared.loc[keep, "pand"].astype(str),
            "voorziening": code.astype(str),
            "domein": codes.domains(code).astype(str),
            "begindatum": _as_dates(prepared.loc[keep, "begindatum_datum"]),
            "einddatum": _as_dates(prepared.loc[keep, "einddatum_datum"]),
        }
    )
    return valid.reset_index(drop=True), errors


def _shown(value: object) -> str:
    return "" if value is None or value is pd.NA or value != value else str(value)


def _as_dates(stamp: pd.Series) -> pd.Series:
    return stamp.dt.date.where(stamp.notna(), pd.NaT) if len(stamp) else pd.Series([], dtype="object")


def validate_rows(rows: pd.DataFrame, codes: CodeList, suite: RowRuleSuite | None = None,
                  bestand: str = "") -> tuple[pd.DataFrame, list[RowError]]:
    """Check a chunk of delivery rows (CSV, or 301 rows with `landcode` and `adres_gevonden`).

    Returns the valid rows (`regel`, `canoniek`, `pand`, `voorziening`, `domein`, `begindatum`,
    `einddatum`) and the errors of the rejected rows.
    """
    if suite is None:
        suite = suite_for(suite_name_for(rows), codes.codes())
    return judge_rows(prepare_rows(rows, codes), suite, codes, bestand)
