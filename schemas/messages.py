"""Dutch messages per rule code, kept as data in `meldingen.csv` (code;melding;oplossing)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources


@cache
def _rules() -> dict[str, dict[str, str]]:
    text = resources.files("schemas").joinpath("meldingen.csv").read_text(encoding="utf-8")
    return {row["code"]: row for row in csv.DictReader(text.splitlines(), delimiter=";")}


def message(code: str, waarde: str = "", verwacht: str = "") -> str:
    """The Dutch message for a rule code, with the offending value filled in."""
    return _rules()[code]["melding"].format(waarde=waarde, verwacht=verwacht)


def fix(code: str) -> str:
    """What a partner does about a rule in general (no row values): for summaries and reports."""
    return _rules()[code].get("oplossing") or ""


def rule_codes() -> list[str]:
    return list(_rules())


@dataclass(frozen=True)
class RowError:
    """One reason a row of an extract was rejected (or, for duplicates, merged).

    `bestand` names the source file when a delivery consists of several (a folder of 301 messages).
    """

    regel: int
    kolom: str
    waarde: str
    code: str
    melding: str
    bestand: str = ""

    @classmethod
    def of(cls, regel: int, kolom: str, waarde: str, code: str, verwacht: str = "",
           bestand: str = "") -> RowError:
        return cls(regel, kolom, waarde, code, message(code, waarde, verwacht), bestand)


def nothing_accepted(file_name: str, rows_read: int, errors_by_rule: dict[str, int]) -> str:
    """The Dutch file-fault message for a file in which no row was accepted (no row values)."""
    text = f"{file_name}: geen enkele rij is geaccepteerd ({rows_read} rijen gelezen); er is niets geschreven"
    if errors_by_rule:
        code, count = max(errors_by_rule.items(), key=lambda item: (item[1], item[0]))
        hint = fix(code) if code in _rules() else ""
        text += f". Meest voorkomende reden: {code} ({count}×)" + (f": {hint}" if hint else "")
    return text
