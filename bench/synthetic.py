"""Synthetic benchmark data at any scale: an address register, areas and raw partner extracts.

Everything is built column-wise with numpy and pyarrow (no Python loop per row), so the land scale
(8 million addresses, 5 million records) is generated in seconds. The addresses are fictional;
the extracts are spelled the way people type them (`1234 ab`, `12a`, `12-2`), with a few rejects and a
few addresses that are not in the register, so every stage does its real work.
"""

from __future__ import annotations

import string
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from schemas.areas import code_part

FORBIDDEN_LETTERS = {"SA", "SD", "SS"}
LETTER_PAIRS = np.array(
    [a + b for a in string.ascii_uppercase for b in string.ascii_uppercase if a + b not in FORBIDDEN_LETTERS]
)
ADDRESSES_PER_POSTCODE = 18
POSTCODE_SPACE = 9000 * len(LETTER_PAIRS)
POSTCODE_STRIDE = 7_919  # coprime with POSTCODE_SPACE: consecutive postcodes spread over the country
PERIOD = "2025"

DOMAIN_CODES = {
    "jeugd": np.array([f"{c}" for c in range(40, 56)]),
    "wmo": np.array([f"{c:02d}" for c in range(1, 19)]),
    "werk_inkomen": np.array([f"PW0{c}" for c in range(1, 6)]),
}
PARTNER_DOMAINS = ("jeugd", "wmo", "werk_inkomen")


@dataclass(frozen=True)
class Scale:
    name: str
    addresses: int
    records: int
    partners: int
    gemeenten: int
    wijken_per_gemeente: int
    buurten_per_wijk: int


SCALES = {
    "gemeente": Scale("gemeente", 150_000, 50_000, 8, 1, 20, 6),
    "land": Scale("land", 8_000_000, 5_000_000, 30, 342, 10, 4),
    # For tests and quick trials of the benchmark itself; not a scale of the issue.
    "klein": Scale("klein", 20_000, 6_000, 4, 1, 6, 3),
}


@dataclass(frozen=True)
class SyntheticSet:
    folder: Path
    register: Path
    areas: Path
    extracts: list[Path]
    period: str
    scale: Scale

    def as_dict(self) -> dict[str, object]:
        return {"map": str(self.folder), "periode": self.period, **asdict(self.scale)}


def _strings(values: np.ndarray) -> pa.Array:
    array = pa.array(values if values.dtype.kind == "U" else values.astype(str), pa.string())
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _int_text(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values, pa.int64()), pa.string())


def _write_csv(table: pa.Table, path: Path, delimiter: str = ";") -> None:
    options = pacsv.WriteOptions(delimiter=delimiter, quoting_style="none", include_header=False)
    with pa.OSFile(str(path), "wb") as sink:
        sink.write((delimiter.join(table.column_names) + "\n").encode("utf-8"))
        pacsv.write_csv(table, sink, options)


@dataclass(frozen=True)
class _Register:
    digits: np.ndarray  # "1234"
    letters: np.ndarray  # "AB"
    huisnummer: np.ndarray  # int
    huisletter: np.ndarray  # "" or one letter
    toevoeging: np.ndarray  # "" or digits
    buurt: np.ndarray  # int index of the buurt

    @property
    def postcode(self) -> np.ndarray:
        return np.char.add(self.digits, self.letters)


def _register(n: int, rng: np.random.Generator, buurten: int = 1) -> _Register:
    """n unique addresses; about one in six shares its pand (postcode + number) with others."""
    pand_size = rng.choice([1, 2, 3, 4], size=n, p=[0.84, 0.08, 0.05, 0.03])
    pand_of = np.repeat(np.arange(n), pand_size)[:n]
    position = np.arange(n) - np.searchsorted(pand_of, pand_of)
    postcode_index = pand_of // ADDRESSES_PER_POSTCODE
    number = pand_of % ADDRESSES_PER_POSTCODE * 2 + 1 + (postcode_index % 7)
    scrambled = postcode_index * POSTCODE_STRIDE % POSTCODE_SPACE
    digits = (1000 + scrambled // len(LETTER_PAIRS)).astype("<U4")
    letters = LETTER_PAIRS[scrambled % len(LETTER_PAIRS)]
    # Second and later addresses of a pand get a letter (A, B) or a toevoeging (1, 2, 3), like 12A, 12-2.
    uses_letter = (pand_of % 3) == 0
    letter = np.where((position > 0) & uses_letter, np.array(list(string.ascii_uppercase))[position % 26], "")
    toevoeging = np.where((position > 0) & ~uses_letter, position.astype(str), "")
    buurt = np.arange(n, dtype=np.int64) * buurten // n
    return _Register(digits, letters, number, letter, toevoeging, buurt)


def _area_codes(buurt: np.ndarray, scale: Scale, first: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    wijk = buurt // scale.buurten_per_wijk
    gemeente = wijk // scale.wijken_per_gemeente + first
    wijk_in_gemeente = wijk % scale.wijken_per_gemeente
    buurt_in_wijk = buurt % scale.buurten_per_wijk
    gm = np.char.zfill(gemeente.astype(str), 4)
    # From 100 wijken in a gemeente (or buurten in a wijk) on, CBS uses letters: WK0363AF, BU0363AF01.
    parts = np.array([code_part(i) for i in range(int(max(wijk_in_gemeente.max(initial=0),
                                                          buurt_in_wijk.max(initial=0))) + 1)])
    wk = np.char.add(gm, parts[wijk_in_gemeente])
    bu = np.char.add(wk, parts[buurt_in_wijk])
    return gm, wk, bu


def _write_register(
    reg: _Register, scale: Scale, folder: Path, rng: np.random.Generator, first: int
) -> tuple[Path, Path]:
    n = len(reg.digits)
    unique_buurten = np.unique(reg.buurt)
    gm, wk, bu = _area_codes(unique_buurten, scale, first)
    buurtcode = np.char.add("BU", bu)[np.searchsorted(unique_buurten, reg.buurt)]
    households = np.where(rng.random(n) < 0.03, 0, 1)
    table = pa.table(
        {
            "postcode": _strings(reg.postcode),
            "huisnummer": _int_text(reg.huisnummer),
            "huisletter": _strings(reg.huisletter),
            "huisnummertoevoeging": _strings(reg.toevoeging),
            "buurtcode": _strings(buurtcode),
            "huishoudens": _int_text(households),
        }
    )
    register = folder / "adressen.csv"
    _write_csv(table, register)
    codes = np.concatenate(
        [np.char.add("GM", np.unique(gm)), np.char.add("WK", np.unique(wk)), np.char.add("BU", bu)]
    )
    names = np.char.add("Gebied ", codes)
    areas = folder / "gebieden.csv"
    _write_csv(pa.table({"code": _strings(codes), "naam": _strings(names)}), areas)
    return register, areas


def _messy_spelling(reg: _Register, rows: np.ndarray, rng: np.random.Generator) -> dict[str, pa.Array]:
    """The address columns of an extract, typed the way people do."""
    n = len(rows)
    digits, letters = reg.digits[rows], reg.letters[rows]
    postcode = np.char.add(digits, letters)
    number = reg.huisnummer[rows]
    letter = reg.huisletter[rows]
    toev = reg.toevoeging[rows]
    style = rng.random(n)
    spaced = style < 0.15
    lower = (style >= 0.15) & (style < 0.25)
    pc_text = np.where(
        spaced,
        np.char.add(np.char.add(digits, " "), np.char.lower(letters)),
        np.where(lower, np.char.lower(postcode), postcode),
    )
    combined = rng.random(n) < 0.3
    number_text = number.astype(str)
    with_letter = np.char.add(number_text, np.char.lower(letter))
    with_toev = np.where(toev != "", np.char.add(np.char.add(with_letter, "-"), toev), with_letter)
    huisnummer = np.where(combined, with_toev, number_text)
    huisletter = np.where(combined, "", letter)
    toevoeging = np.where(combined, "", toev)
    return {
        "postcode": _strings(pc_text),
        "huisnummer": _strings(huisnummer),
        "huisletter": _strings(huisletter),
        "huisnummertoevoeging": _strings(toevoeging),
    }


def _dates(days: np.ndarray, dutch: bool) -> pa.Array:
    stamps = pa.array(days.astype("datetime64[D]"), pa.date32())
    return pc.strftime(stamps, format="%d-%m-%Y" if dutch else "%Y-%m-%d")


def _write_extracts(reg: _Register, scale: Scale, folder: Path, rng: np.random.Generator) -> list[Path]:
    n_addresses = len(reg.digits)
    users = max(1, int(scale.records / 2.2))
    user_rows = rng.choice(n_addresses, size=min(users, n_addresses), replace=False)
    extracts_dir = folder / "leveringen"
    extracts_dir.mkdir(parents=True, exist_ok=True)
    per_partner = np.full(scale.partners, scale.records // scale.partners)
    per_partner[: scale.records % scale.partners] += 1
    paths = []
    for partner, count in enumerate(per_partner):
        domain = PARTNER_DOMAINS[partner % len(PARTNER_DOMAINS)]
        # A household with help tends to get it from several partners: draw from a shared pool, skewed.
        pick = np.minimum(
            (rng.pareto(1.2, size=count) * len(user_rows) / 8).astype(np.int64), len(user_rows) - 1
        )
        rows = user_rows[pick]
        columns = _messy_spelling(reg, rows, rng)
        unknown = rng.random(count) < 0.02
        if unknown.any():
            fake = np.char.add((1000 + rng.integers(0, 9000, unknown.sum())).astype(str), "ZZ")
            columns["postcode"] = pc.if_else(
                pa.array(unknown), pa.array(np.zeros(count, dtype="<U6")), columns["postcode"]
            )
            columns["postcode"] = pc.replace_with_mask(columns["postcode"], pa.array(unknown), _strings(fake))
        codes = DOMAIN_CODES[domain]
        columns["voorziening"] = _strings(codes[rng.integers(0, len(codes), count)])
        begin = rng.integers(
            np.datetime64("2022-01-01").astype(int), np.datetime64("2025-12-31").astype(int), count
        )
        ongoing = rng.random(count) < 0.5
        end = begin + rng.integers(30, 900, count)
        dutch = partner % 2 == 1
        columns["begindatum"] = _dates(begin, dutch)
        columns["einddatum"] = pc.if_else(pa.array(ongoing), pa.scalar("", pa.string()), _dates(end, dutch))
        invalid = rng.random(count) < 0.005
        if invalid.any():
            columns["huisnummer"] = pc.replace_with_mask(
                columns["huisnummer"], pa.array(invalid), pa.array(np.full(invalid.sum(), "nvt"), pa.string())
            )
        columns["clientnummer"] = _int_text(rng.integers(10_000_000, 99_999_999, count))
        path = extracts_dir / f"partner{partner + 1:02d}.csv"
        _write_csv(pa.table(columns), path, delimiter=";" if partner % 3 else ",")
        paths.append(path)
    return paths


def generate(scale: Scale, folder: Path, seed: int = 2026, first_gemeente: int = 1) -> SyntheticSet:
    """Write register, areas and extracts for `scale` into `folder` (made if needed).

    Gemeente codes count up from `first_gemeente` (GM0001, GM0002...).
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    reg = _register(
        scale.addresses, rng, scale.gemeenten * scale.wijken_per_gemeente * scale.buurten_per_wijk
    )
    register, areas = _write_register(reg, scale, folder, rng, first_gemeente)
    extracts = _write_extracts(reg, scale, folder, rng)
    return SyntheticSet(folder, register, areas, extracts, PERIOD, scale)


def address_columns(n: int, seed: int = 7) -> dict[str, pa.Array]:
    """n messy address spellings drawn from a register of n addresses (for the pseudonymisation kernel)."""
    rng = np.random.default_rng(seed)
    reg = _register(n, rng)
    return _messy_spelling(reg, rng.permutation(n), rng)
