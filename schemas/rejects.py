"""The one writer of rejected rows, and the one guard against spreadsheet formulas in CSV cells.

Every list of rejected rows Factlab writes (validate, pseudonymise, register, the portal's download)
goes through `RejectsWriter`: `;`-separated UTF-8 with BOM and CRLF, so it opens cleanly in Dutch
Excel. Every text cell of every CSV Factlab writes goes through `neutralise_formula`: a cell that a
spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or CR) gets a leading
apostrophe, as OWASP advises for CSV injection. A plain number (`-1`, `+31`, `2.5`) runs nothing and
stays as it is, as do line numbers and rule codes.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from schemas.messages import RowError

REJECT_COLUMNS = ("bestand", "regel", "kolom", "waarde", "code", "melding")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?")


def neutralise_formula(value: object) -> str:
    """The cell as text that no spreadsheet runs as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def restore_formula(text: str) -> str:
    """The cell as it was before `neutralise_formula`, for a Factlab reader of a Factlab CSV.

    Only the guard's apostrophe is taken off (one apostrophe before a formula start). A value that itself
    began with an apostrophe and a formula start cannot be told apart from a guarded one and loses it.
    """
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_START) else text


class RejectsWriter:
    """Streams RowErrors to a list of rejected rows; `bestand` defaults to the source's name.

    Give it a path (the file is created) or an open text stream (e.g. `io.StringIO` for a download).
    """

    def __init__(self, target: Path | TextIO, source_name: str) -> None:
        if isinstance(target, Path):
            self._handle: TextIO = target.open("w", encoding="utf-8-sig", newline="")
            self._owned = True
        else:
            self._handle, self._owned = target, False
            target.write("\ufeff")
        self._writer = csv.writer(self._handle, delimiter=";", lineterminator="\r\n")
        self._writer.writerow(REJECT_COLUMNS)
        self._source = source_name

    def write(self, errors: Iterable[RowError]) -> None:
        guard = neutralise_formula
        self._writer.writerows(
            (guard(e.bestand or self._source), e.regel, guard(e.kolom), guard(e.waarde), guard(e.code),
             guard(e.melding))
            for e in errors
        )

    def close(self) -> None:
        if self._owned and not self._handle.closed:
            self._handle.close()
