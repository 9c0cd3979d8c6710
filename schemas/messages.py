"""Dutch messages per rule code, kept as data in `meldingen.csv`."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources


@cache
def _templates() -> dict[str, str]:
    text = resources.files("schemas").joinpath("meldingen.csv").read_text(encoding="utf-8")
    return {row["code"]: row["melding"] for row in csv.DictReader(text.splitlines(), delimiter=";")}


def message(code: str, waarde: str = "", verwacht: str = "") -> str:
    """The Dutch message for a rule code, with the offending value filled in."""
    return _templates()[code].format(waarde=waarde, verwacht=verwacht)


def rule_codes() -> list[str]:
    return list(_templates())


@dataclass(frozen=True)
class RowError:
    """One reason a row of an extract was rejected (or, for duplicates, merged)."""

    regel: int
    kolom: str
    waarde: str
    code: str
    melding: str

    @classmethod
    def of(cls, regel: int, kolom: str, waarde: str, code: str, verwacht: str = "") -> RowError:
        return cls(regel, kolom, waarde, code, message(code, waarde, verwacht))
