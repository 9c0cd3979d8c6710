"""The list of rejected rows that stays with the partner (`--rejects REJ.csv`)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from schemas.messages import RowError

REJECT_COLUMNS = ("bestand", "regel", "kolom", "waarde", "code", "melding")


class RejectsWriter:
    """Streams RowErrors to a `;`-separated UTF-8 (BOM) CSV that opens cleanly in Dutch Excel."""

    def __init__(self, path: Path, source_name: str) -> None:
        self._handle = path.open("w", encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._handle, delimiter=";", lineterminator="\r\n")
        self._writer.writerow(REJECT_COLUMNS)
        self._source = source_name

    def write(self, errors: Iterable[RowError]) -> None:
        for e in errors:
            self._writer.writerow((self._source, e.regel, e.kolom, e.waarde, e.code, e.melding))

    def close(self) -> None:
        self._handle.close()
