"""Row rules of CONTRACT §4: every field of a delivery row checked, vectorised per chunk.

A row with any invalid field is rejected with one RowError per failing field; valid rows go on
with their canonical address, code, domain and dates.
"""

from __future__ import annotations

import pandas as pd

from linkage.canonical import canonicalise_addresses
from schemas.codelist import CodeList
from schemas.messages import RowError

_ISO = r"^(?P<y>[0-9]{4})[-/](?P<m>[0-9]{1,2})[-/](?P<d>[0-9]{1,2})$"
_DUTCH = r"^(?P<d>[0-9]{1,2})[-/](?P<m>[0-9]{1,2})[-/](?P<y>[0-9]{4})$"

ADDRESS_ERROR_COLUMNS = {
    "fout_postcode": "postcode",
    "fout_huisnummer": "huisnummer",
    "fout_huisletter": "huisletter",
    "fout_toevoeging": "huisnummertoevoeging",
}


def parse_dates(raw: pd.Series) -> pd.Series:
    """Parse `YYYY-MM-DD` and `D-M-YYYY` (also with `/`); NaT for empty or impossible dates."""
    text = raw.astype("object").where(raw.notna(), "").astype(str).str.strip()
    parts = text.str.extract(_ISO)
    dutch = text.str.extract(_DUTCH)
    parts = parts.fillna(dutch)
    numbers = parts.apply(pd.to_numeric, errors="coerce")
    valid_parts = numbers.notna().all(axis=1) & numbers["y"].between(1900, 2199)
    stamp = pd.to_datetime(
        numbers.where(valid_parts).rename(columns={"y": "year", "m": "month", "d": "day"}),
        errors="coerce",
    )
    return stamp.dt.date.where(stamp.notna(), pd.NaT) if len(stamp) else pd.Series([], dtype="object")


def _text(series: pd.Series) -> pd.Series:
    return series.astype("object").where(series.notna(), "").astype(str)


def validate_rows(rows: pd.DataFrame, codes: CodeList) -> tuple[pd.DataFrame, list[RowError]]:
    """Check a chunk of delivery rows.

    Returns the valid rows (`regel`, `canoniek`, `pand`, `voorziening`, `domein`, `begindatum`,
    `einddatum`) and the errors of the rejected rows.
    """
    address = canonicalise_addresses(
        rows["postcode"], rows["huisnummer"], rows.get("huisletter"), rows.get("huisnummertoevoeging")
    )
    failures: dict[str, pd.Series] = {}
    for error_column, column in ADDRESS_ERROR_COLUMNS.items():
        failures[column] = address[error_column]

    raw_code = _text(rows["voorziening"]).str.strip()
    code = codes.normalise(raw_code)
    failures["voorziening"] = pd.Series(pd.NA, index=rows.index, dtype="object").mask(
        code.isna(), "voorziening_onbekend"
    ).mask(raw_code == "", "voorziening_ontbreekt")

    raw_begin = _text(rows["begindatum"]).str.strip()
    raw_end = _text(rows["einddatum"]).str.strip() if "einddatum" in rows else pd.Series("", index=rows.index)
    begin = parse_dates(raw_begin)
    end = parse_dates(raw_end)
    failures["begindatum"] = pd.Series(pd.NA, index=rows.index, dtype="object").mask(
        begin.isna(), "datum_ongeldig"
    ).mask(raw_begin == "", "begindatum_ontbreekt")
    end_error = pd.Series(pd.NA, index=rows.index, dtype="object").mask(end.isna() & (raw_end != ""), "datum_ongeldig")
    both = begin.notna() & end.notna()
    before = pd.Series(False, index=rows.index)
    if both.any():
        before[both] = pd.to_datetime(end[both]) < pd.to_datetime(begin[both])
    failures["einddatum"] = end_error.mask(before, "einddatum_voor_begindatum")

    failed = pd.DataFrame(failures)
    rejected = failed.notna().any(axis=1)
    errors: list[RowError] = []
    if rejected.any():
        raw_values = {
            "postcode": _text(rows["postcode"]),
            "huisnummer": _text(rows["huisnummer"]),
            "huisletter": _text(rows["huisletter"]) if "huisletter" in rows else None,
            "huisnummertoevoeging": _text(rows["huisnummertoevoeging"]) if "huisnummertoevoeging" in rows else None,
            "voorziening": raw_code,
            "begindatum": raw_begin,
            "einddatum": raw_end,
        }
        stacked = failed[rejected].stack().dropna()
        for (idx, column), rule in stacked.items():
            values = raw_values[column]
            errors.append(RowError.of(int(rows.at[idx, "regel"]), column, "" if values is None else str(values.at[idx]), rule))
        errors.sort(key=lambda e: (e.regel, list(failures).index(e.kolom)))

    keep = ~rejected
    valid = pd.DataFrame(
        {
            "regel": rows.loc[keep, "regel"],
            "canoniek": address.loc[keep, "canoniek"].astype(str),
            "pand": address.loc[keep, "pand"].astype(str),
            "voorziening": code[keep].astype(str),
            "domein": codes.domains(code[keep]).astype(str),
            "begindatum": begin[keep],
            "einddatum": end[keep],
        }
    )
    return valid.reset_index(drop=True), errors
