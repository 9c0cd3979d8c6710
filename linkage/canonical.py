"""Canonical address v1 (CONTRACT §3): the one canonicaliser, vectorised over columns.

Every place that turns an address into a pseudonym goes through `canonicalise_addresses`;
`canonical_address` is the same function applied to one address.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

CANONICAL_VERSION = "v1"

POSTCODE_PATTERN = r"^[1-9][0-9]{3}[A-Z]{2}$"
FORBIDDEN_POSTCODE_LETTERS = ("SA", "SD", "SS")
HOUSE_NUMBER_SPLIT = r"^(?P<nr>[0-9]{1,5})[\s\-/.]*(?P<letter>[A-Z](?![A-Z]))?[\s\-/.]*(?P<toev>[0-9A-Z]{1,4})?$"
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


@dataclass(frozen=True)
class CanonicalAddress:
    postcode: str
    huisnummer: int
    huisletter: str
    toevoeging: str

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


def canonicalise_addresses(
    postcode: pd.Series,
    huisnummer: pd.Series,
    huisletter: pd.Series | None = None,
    toevoeging: pd.Series | None = None,
) -> pd.DataFrame:
    """Canonicalise address columns.

    Returns a frame on the same index with `canoniek` and `pand` (the strings that get hashed,
    <NA> when invalid) and, per input column, the rule code that failed (`fout_postcode`,
    `fout_huisnummer`, `fout_huisletter`, `fout_toevoeging`; <NA> when fine).
    """
    index = postcode.index
    pc_raw = _text(postcode, index)
    nr_raw = _text(huisnummer, index)
    letter_raw = _text(huisletter, index)
    toev_raw = _text(toevoeging, index)

    pc = pc_raw.str.replace(r"\s+", "", regex=True).str.upper()
    pc_error = pd.Series(pd.NA, index=index, dtype="object")
    pc_error = pc_error.mask(~pc.str.fullmatch(POSTCODE_PATTERN), POSTCODE_INVALID)
    pc_error = pc_error.mask(pc_error.isna() & pc.str[4:].isin(FORBIDDEN_POSTCODE_LETTERS), POSTCODE_FORBIDDEN)
    pc_error = pc_error.mask(pc == "", POSTCODE_MISSING)

    nr = nr_raw.str.strip().str.upper()
    letter = letter_raw.str.strip().str.upper()
    toev = toev_raw.str.upper().str.replace(r"[^0-9A-Z]", "", regex=True)

    all_digits = nr.str.fullmatch(r"[0-9]+")
    needs_split = ~all_digits & (letter == "") & (toev == "") & (nr != "")
    parts = nr.where(needs_split, "").str.extract(HOUSE_NUMBER_SPLIT)
    split_ok = needs_split & parts["nr"].notna()

    number_text = nr.where(all_digits, parts["nr"].where(split_ok, ""))
    letter = letter.mask(split_ok, parts["letter"].fillna(""))
    toev = toev.mask(split_ok, parts["toev"].fillna(""))

    number_text = number_text.fillna("")
    has_number = number_text.str.fullmatch(r"[0-9]+")
    # Lengths beyond 9 digits cannot be valid and must not overflow the integer conversion.
    stripped = number_text.str.lstrip("0")
    in_range = has_number & (stripped.str.len() <= 5) & (stripped != "")
    number_value = stripped.where(in_range, "")

    nr_error = pd.Series(pd.NA, index=index, dtype="object")
    nr_error = nr_error.mask(~has_number, HOUSE_NUMBER_INVALID)
    nr_error = nr_error.mask(has_number & ~in_range, HOUSE_NUMBER_RANGE)
    nr_error = nr_error.mask(nr == "", HOUSE_NUMBER_MISSING)

    letter_error = pd.Series(pd.NA, index=index, dtype="object").mask(
        ~(letter.str.fullmatch(r"[A-Z]?")), HOUSE_LETTER_INVALID
    )
    toev_error = pd.Series(pd.NA, index=index, dtype="object").mask(toev.str.len() > 4, ADDITION_INVALID)

    valid = pc_error.isna() & nr_error.isna() & letter_error.isna() & toev_error.isna()
    pand = (pc + "|" + number_value).where(valid, pd.NA)
    canonical = (pand + "|" + letter + "|" + toev).where(valid, pd.NA)
    return pd.DataFrame(
        {
            "canoniek": canonical,
            "pand": pand,
            "fout_postcode": pc_error,
            "fout_huisnummer": nr_error,
            "fout_huisletter": letter_error,
            "fout_toevoeging": toev_error,
        },
        index=index,
    )


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
    pc, number, letter, toev = str(row["canoniek"]).split("|")
    return CanonicalAddress(pc, int(number), letter, toev)
