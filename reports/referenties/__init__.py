"""Published reference figures (national, regional) and the CBS size classes, read from data files here.

docs/contract.md §13: a reference is data with its source and year (a file in the project, never a number
in the code). A reference without publisher, table, table id, URL, period or year is refused at load.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reports.figures import ReportInputError
from reports.formatting import format_count, format_rate

HERE = Path(__file__).parent
REFERENCES_FILE = HERE / "cbs_stapeling.toml"
SIZE_CLASSES_FILE = HERE / "gemeentegrootteklassen.toml"

SOURCE_FIELDS = ("uitgever", "tabel", "tabel_id", "url")
REFERENCE_FIELDS = ("naam", "maatstaf", "waarde", "eenheid", "periode", "jaar")

DEFINITION_CAVEAT = (
    "Niet helemaal vergelijkbaar: CBS koppelt de voorzieningen van personen via het BSN aan een huishouden, "
    "binnen Jeugdwet, Wmo en Participatiewet, en telt ook twee voorzieningen binnen één domein mee. Factlab "
    "koppelt op adres, gebruikt de gegevens van de lokale partners en telt als samenloop alleen hulp uit "
    "twee of meer domeinen."
)


class ReferenceFileError(ReportInputError):
    """A reference file is unusable; the Dutch message names the file, the entry and what is missing."""


@dataclass(frozen=True)
class Source:
    uitgever: str
    tabel: str
    tabel_id: str
    url: str

    def citation(self) -> str:
        return f"{self.uitgever}, tabel ‘{self.tabel}’ ({self.tabel_id}), {self.url}"


@dataclass(frozen=True)
class Reference:
    naam: str
    maatstaf: str
    waarde: float
    eenheid: str
    periode: str
    jaar: int
    bron: Source
    rapport: bool = False
    noemer: float | None = None
    noemer_omschrijving: str = ""

    def text(self) -> str:
        """The figure in words, e.g. "9,7% van de huishoudens gebruikte …, 2e halfjaar 2023"."""
        if self.eenheid == "%":
            text = f"{format_rate(self.waarde)}% {self.maatstaf}"
        elif self.eenheid == "huishoudens":
            text = f"{format_count(int(self.waarde))} huishoudens: {self.maatstaf}"
        else:
            text = f"{format_rate(self.waarde)} {self.eenheid}: {self.maatstaf}"
        if self.noemer is not None:
            text += f" (van de {format_count(int(self.noemer))} {self.noemer_omschrijving})"
        return f"{text}, {self.periode}"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReferenceFileError(f"{path}: het bestand kan niet gelezen worden ({exc.strerror}).") from exc
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ReferenceFileError(f"{path} is geen geldige TOML ({exc}).") from exc


def _source(path: Path, where: str, raw: Any) -> Source:
    if not isinstance(raw, dict):
        raise ReferenceFileError(f"{path}, {where}: de bron ontbreekt (uitgever, tabel, tabel_id, url).")
    missing = [name for name in SOURCE_FIELDS if not str(raw.get(name) or "").strip()]
    if missing:
        raise ReferenceFileError(f"{path}, {where}: de bron mist {', '.join(missing)}.")
    return Source(*(str(raw[name]).strip() for name in SOURCE_FIELDS))


def _reference(path: Path, number: int, raw: Any) -> Reference:
    where = f"referentie {number}"
    if not isinstance(raw, dict):
        raise ReferenceFileError(f"{path}, {where}: geen tabel met velden.")
    where = f"referentie {number} ({str(raw.get('naam') or '?')[:60]})"
    missing = [name for name in REFERENCE_FIELDS if raw.get(name) in (None, "")]
    if missing:
        raise ReferenceFileError(
            f"{path}, {where}: mist {', '.join(missing)}; zonder bron en jaar geen referentie."
        )
    jaar, waarde = raw["jaar"], raw["waarde"]
    if not isinstance(jaar, int) or isinstance(jaar, bool) or not 1900 <= jaar <= 2100:
        raise ReferenceFileError(f"{path}, {where}, veld jaar: '{jaar}' is geen jaartal.")
    if not isinstance(waarde, int | float) or isinstance(waarde, bool):
        raise ReferenceFileError(f"{path}, {where}, veld waarde: '{waarde}' is geen getal.")
    noemer = raw.get("noemer")
    return Reference(
        naam=str(raw["naam"]),
        maatstaf=str(raw["maatstaf"]),
        waarde=float(waarde),
        eenheid=str(raw["eenheid"]),
        periode=str(raw["periode"]),
        jaar=jaar,
        bron=_source(path, where, raw.get("bron")),
        rapport=bool(raw.get("rapport", False)),
        noemer=float(noemer) if isinstance(noemer, int | float) else None,
        noemer_omschrijving=str(raw.get("noemer_omschrijving") or ""),
    )


def load_references(path: Path = REFERENCES_FILE) -> list[Reference]:
    """Every reference in the file; refuses (ReferenceFileError) an entry without source or year."""
    entries = _read_toml(path).get("referentie")
    if not isinstance(entries, list) or not entries:
        raise ReferenceFileError(f"{path} bevat geen enkele [[referentie]].")
    return [_reference(path, i, raw) for i, raw in enumerate(entries, start=1)]


def report_reference(path: Path = REFERENCES_FILE) -> dict[str, str]:
    """The reference the report names under the wijk table: name, figure, source and the caveat."""
    references = load_references(path)
    chosen = next((r for r in references if r.rapport), references[0])
    return {
        "naam": f"{chosen.naam} (referentie)",
        "tekst": chosen.text(),
        "bron": f"{chosen.bron.citation()}; {chosen.periode} (jaar {chosen.jaar}).",
        "voorbehoud": DEFINITION_CAVEAT,
    }


@dataclass(frozen=True)
class SizeClass:
    code: int
    naam: str
    vanaf_huishoudens: float


@dataclass(frozen=True)
class SizeClasses:
    klassen: tuple[SizeClass, ...]
    bron: Source
    jaar: int
    huishoudensgrootte: float
    bron_huishoudensgrootte: Source

    def of(self, huishoudens: int) -> SizeClass:
        """The class of a gemeente with this number of households."""
        found = self.klassen[0]
        for klasse in self.klassen:
            if huishoudens >= klasse.vanaf_huishoudens:
                found = klasse
        return found


def load_size_classes(path: Path = SIZE_CLASSES_FILE) -> SizeClasses:
    """The CBS gemeentegrootteklassen, with their lower bounds converted to households."""
    data = _read_toml(path)
    jaar = (data.get("bron") or {}).get("jaar") if isinstance(data.get("bron"), dict) else None
    if not isinstance(jaar, int):
        raise ReferenceFileError(f"{path}: de bron mist een jaar.")
    size = data.get("gemiddelde_huishoudensgrootte")
    if not isinstance(size, int | float) or size <= 0:
        raise ReferenceFileError(
            f"{path}: gemiddelde_huishoudensgrootte ontbreekt of is geen positief getal."
        )
    raw = data.get("klasse")
    if not isinstance(raw, list) or not raw:
        raise ReferenceFileError(f"{path} bevat geen enkele [[klasse]].")
    try:
        klassen = tuple(
            sorted(
                (
                    SizeClass(int(k["code"]), str(k["naam"]), int(k["vanaf_inwoners"]) / float(size))
                    for k in raw
                ),
                key=lambda k: k.vanaf_huishoudens,
            )
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ReferenceFileError(f"{path}: elke klasse heeft code, naam en vanaf_inwoners nodig.") from exc
    return SizeClasses(
        klassen=klassen,
        bron=_source(path, "bron", data.get("bron")),
        jaar=jaar,
        huishoudensgrootte=float(size),
        bron_huishoudensgrootte=_source(path, "bron_huishoudensgrootte", data.get("bron_huishoudensgrootte")),
    )
