"""Pseudonymising the address register (docs/contract.md §6 `factlab register`), done by the key custodian.

The register of a whole country has millions of rows, so the work is done on Arrow columns: no
Python object per address. Chunks of the CSV are checked as they are read; the valid rows are kept
as Arrow columns, duplicates are found on dictionary codes, and both pseudonyms come from the bulk
HMAC straight into Arrow string columns.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from linkage.keys import Key
from linkage.pseudonyms import HEX_LENGTH, address_pseudonym_column, building_pseudonym_column
from pipelines.intake.cbs_buurten import CbsLayout, lookup_buurten, read_cbs_layout
from pipelines.progress import Progress, count_lines_later
from schemas.areas import BUURT_PATTERN
from schemas.atomic import private_workdir
from schemas.canonical import CANONICAL_VERSION, canonicalise_arrow
from schemas.clock import now_iso
from schemas.formats import REGISTER_FORMAT, REGISTER_FORMAT_VERSION, REGISTER_SCHEMA, with_metadata
from schemas.messages import RowError, nothing_accepted
from schemas.outpaths import atomic_files
from schemas.readers.csv_reader import (
    FileFault,
    iter_tables,
    normalise_header,
    raw_header_names,
    read_layout,
)
from schemas.rejects import RejectsWriter
from schemas.row_rules import ADDRESS_ERROR_COLUMNS

REGISTER_REQUIRED = ("postcode", "huisnummer", "buurtcode")
ADDRESSES_REQUIRED = ("postcode", "huisnummer")
"""With --cbs-buurten the buurt comes from CBS; a buurtcode column in the address list is then ignored."""
REGISTER_COLUMNS = (
    "postcode",
    "huisnummer",
    "huisletter",
    "huisnummertoevoeging",
    "buurtcode",
    "huishoudens",
)
BUURT_INVALID = "buurtcode_ongeldig"
BUURT_NOT_IN_CBS = "buurt_niet_in_cbs"
BUURT_AMBIGUOUS_IN_CBS = "buurt_dubbel_in_cbs"
HOUSEHOLDS_INVALID = "huishoudens_ongeldig"
_PLAIN_COUNT = r"^[0-9]{1,15}$"
"""Household counts that are certainly valid integers; anything else is judged like pandas.to_numeric."""

_VALID_SCHEMA = pa.schema(
    [("regel", pa.int64()), ("canoniek", pa.string()), ("pand", pa.string()), ("buurtcode", pa.string()),
     ("huishoudens", pa.int64())]
)
KENMERK_PATTERN = r"^kenmerk_[a-z][a-z0-9_]*$"
"""docs/contract.md §9: group columns the key custodian may add; carried into the register unchanged."""
KENMERK_UNKNOWN = "onbekend"
KENMERK_MAX_LENGTH = 32
KENMERK_MAX_VALUES = 12
KENMERK_TOO_LONG = "kenmerk_te_lang"
_UNIQUE_COLUMNS = ("adres_pseudoniem", "pand_pseudoniem")
"""Pseudonyms are all different and hex: dictionary encoding and compression would only cost time."""


@dataclass
class RegisterResult:
    rows_read: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0
    addresses: int = 0
    households: int = 0
    errors_by_rule: Counter[str] = field(default_factory=Counter)


def area_codes(buurtcode: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Wijk and gemeente codes nested in a buurt code (docs/contract.md §6)."""
    return (pc.binary_join_element_wise("WK", pc.utf8_slice_codeunits(buurtcode, 2, 8), ""),
            pc.binary_join_element_wise("GM", pc.utf8_slice_codeunits(buurtcode, 2, 6), ""))


def _mask(values: pa.Array) -> np.ndarray:
    return values.to_numpy(zero_copy_only=False)


def _households(raw: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(count, bad) per row: an empty field means 1; a count must be a whole number ≥ 0."""
    # utf8_trim_whitespace removes exactly what Python's str.strip() removes.
    text = pc.utf8_trim_whitespace(raw)
    text = pc.if_else(pc.equal(pc.binary_length(text), 0), "1", text)
    plain = _mask(pc.match_substring_regex(text, _PLAIN_COUNT))
    counts = np.zeros(len(text), dtype=np.int64)
    bad = np.zeros(len(text), dtype=bool)
    if plain.any():
        counts[plain] = _mask(pc.cast(text.filter(pa.array(plain)), pa.int64()))
    other = np.flatnonzero(~plain)
    if len(other):
        # Rare spellings (`2.0`, `-1`, `drie`) get exactly the judgement pandas.to_numeric gives.
        numbers = pd.to_numeric(pd.Series(text.take(pa.array(other)).to_pylist(), dtype="object"),
                                errors="coerce").to_numpy(dtype="float64")
        wrong = np.isnan(numbers) | (numbers < 0) | (np.mod(numbers, 1) != 0)
        bad[other] = wrong
        counts[other[~wrong]] = numbers[~wrong].astype(np.int64)
    return counts, bad


def kenmerk_columns(source: Path, layout) -> dict[str, str]:
    """The `kenmerk_<naam>` columns of a register CSV (§9) in header order: name -> the reader's key."""
    names = [n for n in raw_header_names(source, layout) if re.fullmatch(KENMERK_PATTERN, n)]
    return {name: normalise_header(name) for name in dict.fromkeys(names)}


def _kenmerk_values(rows: pa.Table, kenmerken: dict[str, str]) -> tuple[list[pa.Array], list[tuple]]:
    """Per kenmerk the trimmed labels (empty = onbekend) and a failure for labels that are too long."""
    values, failures = [], []
    for key in kenmerken.values():
        text = pc.utf8_trim_whitespace(rows[key].combine_chunks())
        text = pc.if_else(pc.equal(pc.binary_length(text), 0), KENMERK_UNKNOWN, text)
        values.append(text)
        too_long = _mask(pc.greater(pc.utf8_length(text), KENMERK_MAX_LENGTH))
        failures.append((key, too_long, KENMERK_TOO_LONG))
    return values, failures


def _check_kenmerk_counts(source: Path, register: pa.Table, kenmerken: dict[str, str]) -> None:
    for name in kenmerken:
        distinct = len(pc.unique(register[name].combine_chunks()))
        if distinct > KENMERK_MAX_VALUES:
            raise FileFault(
                f"{source.name}: kolom '{name}' heeft {distinct} verschillende waarden; een kenmerk mag "
                f"er hoogstens {KENMERK_MAX_VALUES} hebben (leeg telt als '{KENMERK_UNKNOWN}'); "
                "voeg klassen samen."
            )


def _valid_schema(kenmerken: dict[str, str]) -> pa.Schema:
    return pa.schema([*_VALID_SCHEMA, *(pa.field(name, pa.string()) for name in kenmerken)])


def _check_chunk(rows: pa.Table, check_buurt: bool = True,
                 kenmerken: dict[str, str] | None = None) -> tuple[pa.Table, list[RowError]]:
    """The valid rows of a chunk (regel, canoniek, pand, buurtcode, huishoudens, kenmerken) and row errors.

    Without `check_buurt` (the buurt comes from CBS later) the buurtcode column is left empty.
    """
    address = canonicalise_arrow(rows["postcode"], rows["huisnummer"], rows["huisletter"],
                                 rows["huisnummertoevoeging"])
    buurt = pc.utf8_upper(pc.utf8_trim_whitespace(rows["buurtcode"].combine_chunks()))
    if not check_buurt:
        buurt = pa.array(np.full(rows.num_rows, ""), type=pa.string())
    households, bad_households = _households(rows["huishoudens"].combine_chunks())
    # Per check: the column, the rows that fail it, and its rule (per row for the address fields).
    failures: list[tuple[str, np.ndarray, pa.Array | str]] = [
        (column, _mask(address[error].is_valid()), address[error])
        for error, column in ADDRESS_ERROR_COLUMNS.items()
    ]
    if check_buurt:
        failures.append(("buurtcode", ~_mask(pc.match_substring_regex(buurt, BUURT_PATTERN)), BUURT_INVALID))
    failures.append(("huishoudens", bad_households, HOUSEHOLDS_INVALID))
    kenmerken = kenmerken or {}
    display = {key: name for name, key in kenmerken.items()}
    labels, label_failures = _kenmerk_values(rows, kenmerken)
    failures.extend(label_failures)
    rejected = np.logical_or.reduce([failed for _, failed, _ in failures])
    errors: list[RowError] = []
    if rejected.any():
        lines = _mask(rows["regel"])
        for position in np.flatnonzero(rejected).tolist():
            for column, failed, rule in failures:
                if failed[position]:
                    code = rule if isinstance(rule, str) else rule[position].as_py()
                    value = rows[column][position].as_py()
                    errors.append(RowError.of(int(lines[position]), display.get(column, column), value, code))
    keep = pa.array(~rejected)
    valid = pa.table(
        [rows["regel"].combine_chunks().filter(keep), address["canoniek"].filter(keep),
         address["pand"].filter(keep), buurt.filter(keep), pa.array(households).filter(keep),
         *(label.filter(keep) for label in labels)],
        schema=_valid_schema(kenmerken),
    )
    return valid, errors


def _hex_digits(pseudonyms: pa.Array) -> np.ndarray:
    """The pseudonyms' hex text as an (n, 64) byte matrix (a view, no copy)."""
    n = len(pseudonyms)
    start = pseudonyms.offset * HEX_LENGTH
    digits = np.frombuffer(pseudonyms.buffers()[2], dtype=np.uint8, count=start + n * HEX_LENGTH)
    return digits[start:].reshape(n, HEX_LENGTH)


def _pseudonym_order(pseudonyms: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Rows in pseudonym order (equal pseudonyms in row order), and per position whether it repeats the
    pseudonym before it.

    Sorted on the first 16 hex digits; rows with an equal prefix are compared whole. Equal prefixes of
    different pseudonyms (about one chance in a million for a national register) fall back to a full sort.
    """
    n = len(pseudonyms)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    digits = _hex_digits(pseudonyms)
    nibbles = digits[:, :16] - np.uint8(ord("0"))
    nibbles = np.where(nibbles > 9, nibbles - np.uint8(ord("a") - ord("0") - 10), nibbles)
    # Two hex digits make a byte; eight bytes read big-endian keep the order of the hex text.
    packed = np.ascontiguousarray((nibbles[:, 0::2] << 4) | nibbles[:, 1::2])
    prefix = packed.view(">u8").ravel()
    order = np.argsort(prefix, kind="stable")
    repeats = np.zeros(n, dtype=bool)
    ties = np.flatnonzero(prefix[order[1:]] == prefix[order[:-1]]) + 1
    if len(ties):
        same = (digits[order[ties]] == digits[order[ties - 1]]).all(axis=1)
        if not same.all():
            # Arrow's sort is stable: equal pseudonyms keep their row order.
            order = _mask(pc.sort_indices(pseudonyms))
            sorted_digits = digits[order]
            repeats[1:] = (sorted_digits[1:] == sorted_digits[:-1]).all(axis=1)
            return order, repeats
        repeats[ties] = True
    return order, repeats


def _valid_rows(source: Path, layout, result: RegisterResult, rejects_writer: RejectsWriter,
                check_buurt: bool, kenmerken: dict[str, str], bar: Progress) -> pa.Table:
    """All valid rows of the register file; rejected rows go to the writer and the counts."""
    chunks: list[pa.Table] = []
    for rows, structural in iter_tables(source, layout, known=(*REGISTER_COLUMNS, *kenmerken.values())):
        valid, errors = _check_chunk(rows, check_buurt, kenmerken)
        all_errors = sorted(structural + errors, key=lambda e: e.regel)
        result.rows_read += rows.num_rows + len(structural)
        result.rows_rejected += len({e.regel for e in all_errors})
        result.errors_by_rule.update(e.code for e in all_errors)
        rejects_writer.write(all_errors)
        chunks.append(valid)
        bar.advance(rows.num_rows + len(structural))
    register = pa.concat_tables(chunks) if chunks else _valid_schema(kenmerken).empty_table()
    _check_kenmerk_counts(source, register, kenmerken)
    return register


def _with_cbs_buurten(register: pa.Table, cbs: CbsLayout, result: RegisterResult,
                      rejects_writer: RejectsWriter) -> pa.Table:
    """The rows whose postcode and huisnummer have one valid buurt in the CBS table, with that buurt."""
    match = lookup_buurten(register["pand"].combine_chunks(), cbs)
    buurt = match.buurt
    valid_code = _mask(pc.fill_null(pc.match_substring_regex(buurt, BUURT_PATTERN), False))
    missing = _mask(buurt.is_null()) & ~match.ambiguous
    rejected = ~valid_code
    lines = _mask(register["regel"].combine_chunks())
    errors: list[RowError] = []
    for position in np.flatnonzero(rejected).tolist():
        line = int(lines[position])
        if match.ambiguous[position] or missing[position]:
            rule = BUURT_AMBIGUOUS_IN_CBS if match.ambiguous[position] else BUURT_NOT_IN_CBS
            errors.append(RowError.of(line, "postcode+huisnummer", "", rule, cbs.path.name))
        else:
            errors.append(RowError.of(line, "buurtcode", buurt[position].as_py(), BUURT_INVALID))
    result.rows_rejected += len(errors)
    result.errors_by_rule.update(e.code for e in errors)
    rejects_writer.write(errors)
    keep = pa.array(~rejected)
    column = register.schema.get_field_index("buurtcode")
    return register.filter(keep).set_column(column, "buurtcode", buurt.filter(keep))


def pseudonymise_register(source: Path, key: Key, out: Path, rejects: Path | None = None,
                          cbs_buurten: Path | None = None,
                          progress: Progress | None = None) -> RegisterResult:
    """Pseudonymise the address register; an address listed twice counts once (first line wins).

    With `cbs_buurten` (the CBS pc6hnr table) the source is an address list without buurtcode, and each
    address gets the buurt of its postcode and huisnummer; an address not in the table is rejected.
    `progress` hears of each stage and chunk read (counts only).
    """
    bar = progress or Progress.off()
    bar.stage("register lezen en controleren")
    count_lines_later(source, bar)
    required = REGISTER_REQUIRED if cbs_buurten is None else ADDRESSES_REQUIRED
    kenmerken = kenmerk_columns(source, read_layout(source, required=required, known=REGISTER_COLUMNS))
    layout = read_layout(source, required=required, known=(*REGISTER_COLUMNS, *kenmerken.values()))
    cbs = read_cbs_layout(cbs_buurten) if cbs_buurten is not None else None
    result = RegisterResult()
    targets = [out] if rejects is None else [out, rejects]
    with private_workdir("register") as work, atomic_files(*targets) as staged:
        rejects_writer = RejectsWriter(Path(work) / "afgekeurd.csv", source.name)
        try:
            register = _valid_rows(source, layout, result, rejects_writer, cbs is None, kenmerken, bar)
            if cbs is not None and register.num_rows:
                register = _with_cbs_buurten(register, cbs, result, rejects_writer)
            if register.num_rows == 0:
                raise FileFault(nothing_accepted(source.name, result.rows_read, result.errors_by_rule))
            # An address listed twice has one pseudonym: duplicates sit side by side in pseudonym order.
            bar.stage("pseudonimiseren en dubbele adressen zoeken", register.num_rows)
            adres = address_pseudonym_column(key, register["canoniek"])
            order, repeats = _pseudonym_order(adres)
            lines = _mask(register["regel"])
            first_row = order[~repeats][np.cumsum(~repeats) - 1]
            repeated, first_of = order[repeats], first_row[repeats]
            in_line_order = np.argsort(repeated, kind="stable")
            dup_errors = [
                RowError.of(line, "(regel)", "", "dubbel_adres", str(first_line))
                for line, first_line in zip(lines[repeated[in_line_order]].tolist(),
                                            lines[first_of[in_line_order]].tolist(), strict=True)
            ]
            result.rows_duplicate = len(dup_errors)
            result.errors_by_rule.update(e.code for e in dup_errors)
            rejects_writer.write(dup_errors)
        finally:
            rejects_writer.close()
        kept = pa.array(order[~repeats])
        buurt = register["buurtcode"].combine_chunks().take(kept)
        wijk, gemeente = area_codes(buurt)
        table = pa.table(
            [adres.take(kept), building_pseudonym_column(key, register["pand"]).take(kept), buurt, wijk,
             gemeente, register["huishoudens"].take(kept),
             *(register[name].combine_chunks().take(kept) for name in kenmerken)],
            schema=pa.schema([*REGISTER_SCHEMA, *(pa.field(name, pa.string()) for name in kenmerken)]),
        )
        del register, adres
        result.addresses = table.num_rows
        result.households = int(pc.sum(table["huishoudens"]).as_py() or 0)
        metadata = {
            "format": REGISTER_FORMAT,
            "format_version": REGISTER_FORMAT_VERSION,
            "key_id": key.key_id,
            "canonical_version": CANONICAL_VERSION,
            "rows_read": result.rows_read,
            "rows_rejected": result.rows_rejected,
            "rows_duplicate": result.rows_duplicate,
            "created": now_iso(),
        }
        # Hex text does not compress with snappy: skipping it saves time, not space.
        pq.write_table(with_metadata(table, metadata), staged[0],
                       use_dictionary=[c for c in table.column_names if c not in _UNIQUE_COLUMNS],
                       compression={c: "none" if c in _UNIQUE_COLUMNS else "snappy"
                                    for c in table.column_names})
        if rejects is not None:  # the register and its rejected rows replace their targets together
            shutil.copyfile(Path(work) / "afgekeurd.csv", staged[1])
    return result
