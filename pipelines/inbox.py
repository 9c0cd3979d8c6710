"""The inbox of a period: where pseudonymised deliveries arrive, and who is still missing.

Layout (docs/prefect.md explains it for analysts):

    inbox/
      2026H1/                   one folder per period, named as the period (2026H1, 2026Q3, 2026)
        verwacht.txt            expected partners, one name a line; '#' starts a comment
        register.parquet        the pseudonymised address register of this period
        gebieden.csv            code;naam of gemeente, wijken (and buurten)
        wijken.geojson          optional: wijk shapes for the map in the report
        <naam>.geojson          optional: the map of the own division gebied_<naam> of gebieden.csv (§9)
        regels.toml             optional: the gemeente's own disclosure rules
        leveringen/
          <partner>.parquet     pseudonymised deliveries; the partner is read from the file's metadata

Who delivered is decided by the partner name in each file's Parquet metadata, not by its file name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from linkage.linking import LinkageError, describe_delivery
from schemas.atomic import private_workdir
from schemas.formats import PseudonymisedFileError
from schemas.periods import PeriodError, parse_period

EXPECTED_FILE = "verwacht.txt"
DELIVERIES_DIR = "leveringen"
REGISTER_FILE = "register.parquet"
AREAS_FILE = "gebieden.csv"
MAP_FILE = "wijken.geojson"
RULES_FILE = "regels.toml"
TOELICHTING_FILE = "toelichting.md"
"""The gemeente's own text per chapter of the report (docs/contract.md §14), when the analist adds it."""
OUTPUT_MARKER = "manifest.json"
PREVIOUS_HALF_YEAR = "vorig-halfjaar"
TIMEZONE = ZoneInfo("Europe/Amsterdam")


class InboxError(Exception):
    """An inbox that cannot be used (Dutch message naming the file or folder)."""


class InboxIncomplete(InboxError):
    """Not every expected partner has delivered (Dutch message naming who is missing)."""


def today_in_amsterdam() -> date:
    return datetime.now(TIMEZONE).date()


def previous_half_year(today: date) -> str:
    """The last half year that has ended on `today`: in February 2027 that is 2026H2, in August 2026H1."""
    return f"{today.year}H1" if today.month >= 7 else f"{today.year - 1}H2"


def resolve_period(periode: str, today: date | None = None) -> str:
    """A period label; `vorig-halfjaar` becomes the last completed half year (Europe/Amsterdam)."""
    if periode.strip().lower() == PREVIOUS_HALF_YEAR:
        return previous_half_year(today or today_in_amsterdam())
    return parse_period(periode).label


def previous_period(label: str) -> str | None:
    """The period before `label` of the same kind (2026H1 → 2025H2); None for a peildatum."""
    period = parse_period(label)
    if len(label) == 4:
        return str(period.start.year - 1)
    if label[4] in "HQ":
        count = 2 if label[4] == "H" else 4
        number = int(label[5])
        year = period.start.year - (number == 1)
        return f"{year}{label[4]}{count if number == 1 else number - 1}"
    return None


def series_outputs(out_root: Path, label: str, limit: int = 11) -> list[Path]:
    """Earlier outputs for the series of period `label`: folders `out_root/<periode>/` named as a period of
    the same kind before `label`, holding a Factlab output (manifest.json naming that period and
    samenloop.csv); the newest `limit`, oldest first. Anything else in `out_root` is left alone."""
    from reports.reeks import SeriesError, output_period, period_kind

    current = parse_period(label)
    found = []
    for folder in sorted(out_root.iterdir()) if out_root.is_dir() else []:
        try:
            period = parse_period(folder.name)
        except PeriodError:
            continue
        if period_kind(period.label) != period_kind(current.label) or period.start >= current.start:
            continue
        try:
            if output_period(folder) != period.label:
                continue
        except SeriesError:
            continue
        found.append((period.start, folder))
    return [folder for _, folder in sorted(found)][-limit:] if limit > 0 else []


def read_expected(path: Path) -> tuple[str, ...]:
    """Partner names from verwacht.txt: one a line, blank lines and '#' comments ignored."""
    if not path.is_file():
        raise InboxError(
            f"{path} ontbreekt: zet hierin welke partners voor deze periode leveren, één per regel"
        )
    names: list[str] = []
    for raw in path.read_text(encoding="utf-8-sig").splitlines():
        name = raw.split("#", 1)[0].strip()
        if name and name not in names:
            names.append(name)
    if not names:
        raise InboxError(f"{path} noemt geen enkele partner")
    return tuple(names)


@dataclass(frozen=True)
class InboxStatus:
    periode: str
    folder: Path
    expected: tuple[str, ...]
    delivered: dict[str, tuple[str, ...]]
    """Partner (as in the file's metadata) → its delivery file names."""
    unreadable: tuple[str, ...]
    """Files in leveringen/ that are not Factlab deliveries; the run would refuse them."""

    @property
    def missing(self) -> tuple[str, ...]:
        delivered = {name.casefold() for name in self.delivered}
        return tuple(name for name in self.expected if name.casefold() not in delivered)

    @property
    def unexpected(self) -> tuple[str, ...]:
        expected = {name.casefold() for name in self.expected}
        return tuple(sorted(name for name in self.delivered if name.casefold() not in expected))

    @property
    def complete(self) -> bool:
        return not self.missing and not self.unreadable

    @property
    def deliveries_dir(self) -> Path:
        return self.folder / DELIVERIES_DIR

    def optional_file(self, name: str) -> Path | None:
        path = self.folder / name
        return path if path.is_file() else None

    def division_maps(self) -> dict[str, Path]:
        """The map `<naam>.geojson` of each own division gebied_<naam> of gebieden.csv that has one."""
        return {name: path for name in division_names(self.folder / AREAS_FILE)
                if (path := self.folder / division_map_name(name)).is_file()}

    def summary_nl(self) -> str:
        parts = [
            f"periode {self.periode}: {len(self.expected) - len(self.missing)} van {len(self.expected)} "
            "verwachte partners hebben geleverd"
        ]
        if self.missing:
            parts.append(f"ontbreekt: {', '.join(self.missing)}")
        if self.unreadable:
            parts.append(f"onleesbaar (geen Factlab-levering): {', '.join(self.unreadable)}")
        if self.unexpected:
            parts.append(f"niet verwacht maar wel geleverd: {', '.join(self.unexpected)}")
        return "; ".join(parts)

    def markdown(self) -> str:
        """The status as a Markdown table for a Prefect artifact: partner names and file names only."""
        lines = [
            f"# Inbox {self.periode}",
            "",
            self.summary_nl(),
            "",
            "| partner | status | bestanden |",
            "| --- | --- | --- |",
        ]
        by_folded = {name.casefold(): name for name in self.delivered}
        for name in self.expected:
            found = by_folded.get(name.casefold())
            files = ", ".join(self.delivered[found]) if found else ""
            lines.append(f"| {name} | {'geleverd' if found else '**ontbreekt**'} | {files} |")
        for name in self.unexpected:
            lines.append(f"| {name} | niet verwacht | {', '.join(self.delivered[name])} |")
        for file_name in self.unreadable:
            lines.append(f"| ? | **onleesbaar** | {file_name} |")
        return "\n".join(lines)


def period_folder(inbox: Path, periode: str) -> Path:
    folder = inbox / periode
    if not folder.is_dir():
        raise InboxError(
            f"inbox {folder} bestaat niet; maak per periode een map {inbox}/{periode}/ (zie docs/prefect.md)"
        )
    return folder


def division_map_name(name: str) -> str:
    """The file name of the map of own division `name` in a period folder (never the wijkkaart's name)."""
    return f"{name}.geojson" if f"{name}.geojson" != MAP_FILE else f"{name}-indeling.geojson"


def division_names(areas: Path) -> list[str]:
    """The own divisions (gebied_<naam>) of an areas file; none when it cannot be read (the run says why)."""
    from schemas.areas import AreasFileError, read_area_divisions

    try:
        return sorted(read_area_divisions(areas).divisions)
    except (AreasFileError, OSError, UnicodeDecodeError):
        return []


def inbox_status(inbox: Path, periode: str) -> InboxStatus:
    """Who is expected, who delivered, and which files cannot be read, for one period."""
    folder = period_folder(inbox, periode)
    expected = read_expected(folder / EXPECTED_FILE)
    for required in (REGISTER_FILE, AREAS_FILE):
        if not (folder / required).is_file():
            raise InboxError(
                f"{folder / required} ontbreekt; de sleutelbeheerder levert het register, "
                "de gemeente het gebiedenbestand"
            )
    delivered: dict[str, list[str]] = {}
    unreadable: list[str] = []
    deliveries = folder / DELIVERIES_DIR
    for path in sorted(deliveries.glob("*.parquet")) if deliveries.is_dir() else []:
        try:
            delivery = describe_delivery(path)
        except (PseudonymisedFileError, LinkageError):
            unreadable.append(path.name)
            continue
        delivered.setdefault(delivery.partner, []).append(path.name)
    return InboxStatus(
        periode, folder, expected, {k: tuple(v) for k, v in sorted(delivered.items())}, tuple(unreadable)
    )


def fill_demo_inbox(sample: Path, inbox: Path, periode: str | None = None) -> InboxStatus:
    """Play custodian and partners on the sample municipality: a period folder with pseudonymised files.

    Uses a throw-away key that is never written to disk; rejected rows are discarded, as they would
    stay with the partner.
    """
    from linkage.keys import new_key
    from pipelines.intake.delivery import pseudonymise_delivery
    from pipelines.intake.register import pseudonymise_register
    from schemas.codelist import load_code_list

    extracts = sample / DELIVERIES_DIR
    if not (sample / "adressen.csv").is_file() or not extracts.is_dir():
        raise InboxError(
            f"{sample} bevat geen voorbeeldgemeente (adressen.csv en leveringen/); maak die met "
            f"python data/sample/generate.py --out {sample}"
        )
    label = resolve_period(periode or _sample_period(sample))
    folder = inbox / label
    (folder / DELIVERIES_DIR).mkdir(parents=True, exist_ok=True)
    key = new_key()
    codes = load_code_list()
    pseudonymise_register(sample / "adressen.csv", key, folder / REGISTER_FILE)
    partners = []
    with private_workdir("afgekeurd") as rejects:
        for extract in sorted(extracts.iterdir()):
            if extract.suffix.lower() not in {".csv", ".xml"}:
                continue
            partners.append(extract.stem)
            target = folder / DELIVERIES_DIR / f"{extract.stem}.parquet"
            discarded = Path(rejects) / f"{extract.stem}.csv"
            pseudonymise_delivery(extract, key, extract.stem, target, codes, discarded)
    (folder / AREAS_FILE).write_bytes((sample / "gebieden.csv").read_bytes())
    if (sample / MAP_FILE).is_file():
        (folder / MAP_FILE).write_bytes((sample / MAP_FILE).read_bytes())
    for name in division_names(sample / "gebieden.csv"):
        if (sample / division_map_name(name)).is_file():
            (folder / division_map_name(name)).write_bytes((sample / division_map_name(name)).read_bytes())
    (folder / EXPECTED_FILE).write_text(
        "# partners die voor deze periode leveren, één per regel\n" + "".join(f"{p}\n" for p in partners),
        encoding="utf-8",
    )
    return inbox_status(inbox, label)


def _sample_period(sample: Path) -> str:
    for settings in (sample / "demo.json", sample / "waarheid" / "parameters.json"):
        if settings.is_file():
            document = json.loads(settings.read_text(encoding="utf-8"))
            if document.get("periode"):
                return str(document["periode"])
    raise InboxError(
        f"{sample}: geen periode gevonden (demo.json of waarheid/parameters.json); geef --periode op"
    )
