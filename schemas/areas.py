"""CBS area codes and AREAS.csv (docs/contract.md §6): the one place that says what a code looks like.

CBS codes: gemeente `GM` + 4 digits; wijk `WK` + 4 digits + 2 characters; buurt `BU` + 4 digits +
4 characters, a character being a digit or a capital letter (Amsterdam: `WK0363AF`, `BU0363AF01`).
The wijk of a buurt is `WK` + buurtcode[2:8], its gemeente `GM` + buurtcode[2:6].

Also the gemeente's own divisions (§9: `gebied_<naam>` and `gebied_<naam>_naam` on the BU rows).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from schemas.indicators import LEVELS

_CHAR = "[0-9A-Z]"
GEMEENTE_PATTERN = r"^GM[0-9]{4}$"
WIJK_PATTERN = rf"^WK[0-9]{{4}}{_CHAR}{{2}}$"
BUURT_PATTERN = rf"^BU[0-9]{{4}}{_CHAR}{{4}}$"
AREA_PATTERN = rf"^(?:GM[0-9]{{4}}|WK[0-9]{{4}}{_CHAR}{{2}}|BU[0-9]{{4}}{_CHAR}{{4}})$"
"""Any of the three (an AREAS.csv code); usable by `re` and by Arrow's `match_substring_regex` (RE2)."""

LEVEL_PATTERNS = {"gemeente": GEMEENTE_PATTERN, "wijk": WIJK_PATTERN, "buurt": BUURT_PATTERN}
CODE_EXAMPLES = {"gemeente": "GM0363", "wijk": "WK0363AF", "buurt": "BU0363AF01"}
CODE_RULES = {
    "gemeente": "GM gevolgd door 4 cijfers",
    "wijk": "WK gevolgd door 4 cijfers en 2 cijfers of hoofdletters",
    "buurt": "BU gevolgd door 4 cijfers en 4 cijfers of hoofdletters",
}

# Bare codes as the CBS table pc6hnr gives them (without prefix): buurt 8, wijk 6, gemeente 4 characters.
BARE_BUURT_PATTERN = rf"^[0-9]{{4}}{_CHAR}{{4}}$"

_COMPILED = {level: re.compile(pattern) for level, pattern in LEVEL_PATTERNS.items()}
_ANY = re.compile(AREA_PATTERN)


class AreasFileError(ValueError):
    """AREAS.csv cannot be used; the message is Dutch and names file, line and value."""


def normalise_code(value: str) -> str:
    """A code as CBS writes it: trimmed and in capitals (`bu0363af01` → `BU0363AF01`)."""
    return value.strip().upper()


def is_area_code(value: str, level: str | None = None) -> bool:
    """True for a valid CBS code (of `level` when given: gemeente, wijk or buurt), after normalising."""
    pattern = _ANY if level is None else _COMPILED[level]
    return pattern.fullmatch(normalise_code(value)) is not None


def level_of(code: str) -> str | None:
    """gemeente, wijk or buurt for a valid code, else None."""
    code = normalise_code(code)
    return next((level for level, pattern in _COMPILED.items() if pattern.fullmatch(code)), None)


def wijk_of(buurtcode: str) -> str:
    return "WK" + buurtcode[2:8]


def gemeente_of(code: str) -> str:
    return "GM" + code[2:6]


def code_part(number: int) -> str:
    """Two characters of a wijk or buurt code for the number-th wijk (in a gemeente) or buurt (in a wijk).

    0..99 as two digits, like CBS; from 100 on two capital letters (100 → `AA`, 101 → `AB`, …), as CBS
    does for gemeenten with 100 or more wijken (Amsterdam `WK0363AF`). Up to 775.
    """
    if not 0 <= number < 100 + 26 * 26:
        raise ValueError(f"no CBS code part for {number}")
    if number < 100:
        return f"{number:02d}"
    first, second = divmod(number - 100, 26)
    return chr(ord("A") + first) + chr(ord("A") + second)


def _decode(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise AreasFileError(
            f"gebiedenbestand {path}: het bestand kan niet gelezen worden ({exc.strerror or 'leesfout'})"
        ) from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _header(path: Path, line: int, first: str) -> tuple[str, int, int]:
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    header = [h.strip().lower() for h in next(csv.reader([first], delimiter=delimiter))]
    if "code" not in header or "naam" not in header:
        raise AreasFileError(
            f"gebiedenbestand {path}, regel {line}: de kopregel moet 'code;naam' zijn (of 'code,naam'), "
            f"gevonden: '{first.strip()[:80]}'"
        )
    return delimiter, header.index("code"), header.index("naam")


def read_area_names(path: Path, gemeenten: tuple[str, ...] | list[str] | None = None) -> dict[str, str]:
    """AREAS.csv (`code;naam`, `;` or `,`, UTF-8 or Windows-1252) as a code → name mapping.

    Strict, and cheap enough for a check before a run: header `code` and `naam`; every code a valid CBS
    code (lower case is accepted and put in capitals); a name per code; at least one gemeente (GM) row,
    and a row for each of `gemeenten` when given. Raises AreasFileError naming file, line and value.
    """
    path = Path(path)
    lines = _decode(path).splitlines()
    numbered = [(n, line) for n, line in enumerate(lines, start=1) if line.strip()]
    if not numbered:
        raise AreasFileError(f"gebiedenbestand {path} is leeg; verwacht een kopregel 'code;naam' en "
                             "een regel per gemeente, wijk en buurt")
    (first_line, first), rows = numbered[0], numbered[1:]
    delimiter, code_at, name_at = _header(path, first_line, first)
    names: dict[str, str] = {}
    for number, line in rows:
        row = next(csv.reader([line], delimiter=delimiter))
        raw = row[code_at] if len(row) > code_at else ""
        code = normalise_code(raw)
        if _ANY.fullmatch(code) is None:
            raise AreasFileError(
                f"gebiedenbestand {path}, regel {number}, kolom code: '{raw.strip()[:40]}' is geen CBS-code "
                f"({CODE_RULES['gemeente']}, bijv. {CODE_EXAMPLES['gemeente']}; {CODE_RULES['wijk']}, bijv. "
                f"{CODE_EXAMPLES['wijk']}; {CODE_RULES['buurt']}, bijv. {CODE_EXAMPLES['buurt']})"
            )
        name = row[name_at].strip() if len(row) > name_at else ""
        if not name:
            raise AreasFileError(f"gebiedenbestand {path}, regel {number}, kolom naam: geen naam bij {code}")
        names[code] = name
    if not any(code.startswith("GM") for code in names):
        raise AreasFileError(
            f"gebiedenbestand {path} bevat geen gemeente: verwacht een regel met de gemeentecode "
            f"(bijv. '{CODE_EXAMPLES['gemeente']};Amsterdam')"
        )
    missing = sorted({normalise_code(g) for g in gemeenten or ()} - set(names))
    if missing:
        raise AreasFileError(
            f"gebiedenbestand {path} mist de gemeente(n) {', '.join(missing)} uit het register"
        )
    header = [h.strip().lower() for h in next(csv.reader([first], delimiter=delimiter))]
    for code, name in _division_names(header, [next(csv.reader([line], delimiter=delimiter))
                                               for _, line in rows]).items():
        names.setdefault(code, name)
    return names


DIVISION_PATTERN = re.compile(r"gebied_([a-z][a-z0-9_]*)")
AreasError = AreasFileError
"""An AREAS.csv whose own divisions cannot be used (the same error as any other AREAS.csv fault)."""


@dataclass
class AreaDivisions:
    divisions: dict[str, dict[str, str]] = field(default_factory=dict)
    """Division name -> buurtcode -> code of the buurt's area in that division."""
    names: dict[str, str] = field(default_factory=dict)
    """Code -> name of the divisions' areas."""


def _rows(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """The header (trimmed, lower case), the data rows of AREAS.csv and their line numbers."""
    numbered = [(n, line) for n, line in enumerate(_decode(Path(path)).splitlines(), start=1) if line.strip()]
    if not numbered:
        return [], [], []
    first = numbered[0][1]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    parsed = [next(csv.reader([line], delimiter=delimiter)) for _, line in numbered]
    header = [h.strip().lower() for h in parsed[0]]
    return header, parsed[1:], [n for n, _ in numbered[1:]]


def _division_columns(header: list[str]) -> dict[str, tuple[int, int | None]]:
    """Division name -> (column of the code, column of the name or None)."""
    found: dict[str, tuple[int, int | None]] = {}
    for position, column in enumerate(header):
        match = DIVISION_PATTERN.fullmatch(column)
        if not match or (column.endswith("_naam") and column[: -len("_naam")] in header):
            continue
        name_column = f"{column}_naam"
        found[match[1]] = (position, header.index(name_column) if name_column in header else None)
    return found


def _division_names(header: list[str], rows: list[list[str]]) -> dict[str, str]:
    names: dict[str, str] = {}
    for code_at, name_at in _division_columns(header).values():
        for row in rows:
            if name_at is not None and len(row) > max(code_at, name_at) and row[code_at].strip():
                names.setdefault(row[code_at].strip(), row[name_at].strip())
    return names


def read_area_divisions(path: Path) -> AreaDivisions:
    """The own divisions of AREAS.csv; every BU row must name its area in every division."""
    header, rows, lines = _rows(path)
    columns = _division_columns(header)
    if not columns:
        return AreaDivisions()
    if "code" not in header:
        raise AreasError(f"{path.name}: een bestand met eigen gebieden (gebied_<naam>) heeft een kolom "
                         "'code' nodig")
    clash = sorted(set(columns) & set(LEVELS))
    if clash:
        raise AreasError(f"{path.name}: een eigen indeling mag niet {', '.join(clash)} heten; "
                         "kies een andere naam")
    code_at = header.index("code")
    result = AreaDivisions(names=_division_names(header, rows))
    for division, (column_at, _) in columns.items():
        mapping: dict[str, str] = {}
        for line, row in zip(lines, rows, strict=True):
            code = row[code_at].strip().upper() if len(row) > code_at else ""
            if not code.startswith("BU"):
                continue
            value = row[column_at].strip() if len(row) > column_at else ""
            if not value:
                raise AreasError(
                    f"{path.name} regel {line}: kolom gebied_{division} is leeg bij buurt {code}; elke buurt "
                    f"hoort bij een gebied van de indeling '{division}'"
                )
            mapping[code] = value
        result.divisions[division] = mapping
    return result
