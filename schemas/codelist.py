"""The code list of voorzieningen (docs/contract.md §5), kept as data in `voorzieningen.csv`.

A municipality extends it with its own codes in a file of the same form (`code;naam;domein`),
passed with `--codelijst` or the environment variable FACTLAB_CODELIJST, without touching code.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from schemas.indicators import DOMAINS

EXTENSION_ENV = "FACTLAB_CODELIJST"
_CODE_PATTERN = re.compile(r"^[0-9A-Z]{1,12}$")


class CodeListError(Exception):
    """A code-list file that cannot be used (Dutch message)."""


@dataclass(frozen=True)
class Voorziening:
    code: str
    naam: str
    domein: str


@dataclass(frozen=True)
class CodeList:
    entries: dict[str, Voorziening]

    def domain_of(self, code: str) -> str | None:
        entry = self.entries.get(code)
        return entry.domein if entry else None

    def normalise(self, raw: pd.Series) -> pd.Series:
        """Map raw voorziening values to known codes (<NA> when unknown)."""
        return self.known(self.unmangle(raw))

    def known(self, candidates: pd.Series) -> pd.Series:
        """Unmangled codes that are in the list; <NA> for the others."""
        return candidates.where(candidates.isin(self.entries.keys()), pd.NA)

    @staticmethod
    def unmangle(raw: pd.Series) -> pd.Series:
        """Undo what Excel does to codes, without judging them (<NA> when empty).

        Excel strips leading zeros and turns codes into numbers: `1`, `1.0`, `1,0` mean `01`.
        """
        text = raw.astype("object").where(raw.notna(), "").astype(str)
        # Few distinct codes in many rows: undo Excel once per distinct value.
        positions, uniques = pd.factorize(text)
        distinct = pd.Series(uniques, dtype="object").str.strip().str.upper()
        numeric = distinct.str.extract(r"^0*([0-9]{1,2})(?:[.,]0+)?$")[0]
        candidate = distinct.where(numeric.isna(), numeric.str.zfill(2))
        candidate = candidate.where(candidate != "", pd.NA)
        return pd.Series(candidate.to_numpy().take(positions) if len(positions) else candidate.to_numpy()[:0],
                         index=raw.index, dtype="object")

    def codes(self) -> list[str]:
        return sorted(self.entries)

    def domains(self, codes: pd.Series) -> pd.Series:
        return codes.map({code: v.domein for code, v in self.entries.items()})


def _read_entries(path_or_text: Path | str, source: str) -> dict[str, Voorziening]:
    text = path_or_text.read_text(encoding="utf-8-sig") if isinstance(path_or_text, Path) else path_or_text
    reader = csv.DictReader(text.splitlines(), delimiter=";")
    header = [f.strip().lower() for f in reader.fieldnames or []]
    if header != ["code", "naam", "domein"]:
        raise CodeListError(f"{source}: kopregel moet 'code;naam;domein' zijn")
    entries: dict[str, Voorziening] = {}
    for line_no, row in enumerate(reader, start=2):
        code = (row.get("code") or "").strip().upper()
        domain = (row.get("domein") or "").strip().lower()
        if not _CODE_PATTERN.match(code):
            raise CodeListError(
                f"{source} regel {line_no}: code '{code}' mag alleen cijfers en letters bevatten"
            )
        if domain not in DOMAINS:
            raise CodeListError(
                f"{source} regel {line_no}: domein '{domain}' onbekend; kies uit {', '.join(DOMAINS)}"
            )
        entries[code] = Voorziening(code, (row.get("naam") or "").strip(), domain)
    return entries


def load_code_list(extension: Path | None = None, from_environment: bool = True) -> CodeList:
    """The packaged code list, extended with a municipality's own codes when given.

    Without `extension`, the file named by FACTLAB_CODELIJST extends it, unless `from_environment` is
    False (then it is the national list alone).
    """
    base = resources.files("schemas").joinpath("voorzieningen.csv").read_text(encoding="utf-8")
    entries = _read_entries(base, "voorzieningen.csv")
    if extension is None and from_environment and os.environ.get(EXTENSION_ENV):
        extension = Path(os.environ[EXTENSION_ENV])
    if extension is not None:
        if not extension.is_file():
            raise CodeListError(f"codelijst {extension} bestaat niet")
        extra = _read_entries(extension, str(extension))
        clashes = [c for c in extra if c in entries and entries[c].domein != extra[c].domein]
        if clashes:
            raise CodeListError(
                f"{extension}: code(s) {', '.join(sorted(clashes))} staan al in de landelijke lijst "
                "met een ander domein"
            )
        entries.update(extra)
    return CodeList(entries)
