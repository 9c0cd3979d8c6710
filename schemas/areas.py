"""Reading AREAS.csv (docs/contract.md §6): the names of the gemeente, its wijken and buurten."""

from __future__ import annotations

import csv
from pathlib import Path


def read_area_names(path: Path) -> dict[str, str]:
    """AREAS.csv (`code;naam`, `;` or `,`, UTF-8 or Windows-1252) as a code → name mapping."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return {}
    delimiter = ";" if lines[0].count(";") >= lines[0].count(",") else ","
    reader = csv.reader(lines, delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader)]
    try:
        code_at, name_at = header.index("code"), header.index("naam")
    except ValueError:
        code_at, name_at = 0, 1
    return {
        row[code_at].strip().upper(): row[name_at].strip()
        for row in reader
        if len(row) > max(code_at, name_at)
    }
