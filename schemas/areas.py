"""Reading AREAS.csv (docs/contract.md §6): the names of the gemeente, its wijken and buurten, and the
gemeente's own divisions (§9: `gebied_<naam>` and `gebied_<naam>_naam` on the BU rows)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from schemas.indicators import LEVELS

DIVISION_PATTERN = re.compile(r"gebied_([a-z][a-z0-9_]*)")


class AreasError(ValueError):
    """An AREAS.csv that cannot be used (Dutch message naming file, line and column)."""


@dataclass
class AreaDivisions:
    divisions: dict[str, dict[str, str]] = field(default_factory=dict)
    """Division name -> buurtcode -> code of the buurt's area in that division."""
    names: dict[str, str] = field(default_factory=dict)
    """Code -> name of the divisions' areas."""


def _rows(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """The header (trimmed, lower case), the data rows of AREAS.csv and their line numbers (header = 1
    when it is the first line); `;` or `,`, UTF-8 or Windows-1252."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not numbered:
        return [], [], []
    first = numbered[0][1]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    parsed = [next(csv.reader([line], delimiter=delimiter)) for _, line in numbered]
    header = [h.strip().lower() for h in parsed[0]]
    return header, parsed[1:], [n for n, _ in numbered[1:]]


def read_area_names(path: Path) -> dict[str, str]:
    """AREAS.csv as a code → name mapping, own divisions' areas included."""
    header, rows, _ = _rows(path)
    try:
        code_at, name_at = header.index("code"), header.index("naam")
    except ValueError:
        code_at, name_at = 0, 1
    names = {
        row[code_at].strip().upper(): row[name_at].strip()
        for row in rows
        if len(row) > max(code_at, name_at)
    }
    if "code" in header:
        for code, name in _division_names(header, rows).items():
            names.setdefault(code, name)
    return names


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
