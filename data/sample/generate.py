#!/usr/bin/env python3
"""The fictional municipality of the Factlab sample, with its ground truth.

Deterministic for a seed, standard library only, and independent of the Factlab code on purpose: the
truth in `waarheid/` comes from the model that wrote the partner extracts, never from parsing them, so
tests can hold the pipeline against it.

    python data/sample/generate.py --out data/sample --seed 2026

Importable too (tests load it with importlib): `generate(...)` builds a `Sample` in memory and
`write_sample(sample, folder)` writes it.
"""

import argparse
import csv
import io
import json
import math
import random
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

PERIOD_NAME = "2026H1"
PERIOD_START = date(2026, 1, 1)
PERIOD_END = date(2026, 6, 30)
SERIES = ("2024H2", "2025H1", "2025H2", "2026H1")
"""The half-years the sample covers: households enter and leave between them, samenloop lasts."""
FORMER_SHARE = 0.3
"""Chance, relative to the address's chance of help now, that a household had help that ended before the
period (between 2024-07-01 and 2025-12-31): the households that leave the series."""
FORMER_BEGIN = (date(2022, 6, 1), date(2025, 3, 31))
FORMER_END = (date(2024, 7, 1), date(2025, 12, 31))

DEFAULT_SEED = 2026
DEFAULT_GEMEENTECODE = "GM9001"
DEFAULT_GEMEENTENAAM = "Lindewaard"
DEFAULT_ADDRESSES = 20_000
DEFAULT_WIJKEN = 8
DEFAULT_BUURTEN = 26

DOMAINS = ("jeugd", "wmo", "werk_inkomen")
# Postcode letters as PostNL hands them out; SA, SD and SS are never used.
POSTCODE_LETTERS = "ABCDEGHJKLMNPRSTVWXZ"
FORBIDDEN_POSTCODE_LETTERS = ("SA", "SD", "SS")

# Share of addresses per exclusive domain combination in an average wijk, before the wijk profile.
COMBINATION_BASE: dict[tuple[str, ...], float] = {
    ("jeugd",): 0.030,
    ("wmo",): 0.045,
    ("werk_inkomen",): 0.022,
    ("jeugd", "wmo"): 0.0025,
    ("jeugd", "werk_inkomen"): 0.0065,
    ("wmo", "werk_inkomen"): 0.0042,
    ("jeugd", "wmo", "werk_inkomen"): 0.0020,
}
# Multipliers (one domain, several domains) per wijk profile: stacking clusters in the 'hoog' wijken.
PROFILE_FACTORS = {"hoog": (1.35, 2.6), "gemiddeld": (1.0, 1.0), "laag": (0.75, 0.45)}

WIJK_NAMES = (
    "Molenkwartier", "Noorderhout", "De Akkers", "Havenwijk", "Zuiderveld", "Westerlanden",
    "Oosterpolder", "De Biezen", "Vinkenhof", "Kerkebuurt", "Reeënveld", "Het Broek", "De Horst",
    "Spoorzicht", "Waterrijk", "Klaverkamp",
)
BUURT_PREFIXES = (
    "Linden", "Eiken", "Beuken", "Wilgen", "Essen", "Berken", "Kastanje", "Populieren", "Meidoorn",
    "Hazelaar", "Vlier", "Iepen", "Elzen", "Rozen", "Tulpen", "Seringen", "Lavendel", "Klaver",
    "Heide", "Duin", "Veen", "Zand", "Beek", "Molen", "Kerk", "Slot", "Vaart", "Sluis", "Dijk", "Reeën",
)
BUURT_SUFFIXES = (
    "hof", "laan", "park", "rijk", "hoeve", "kamp", "weide", "veld", "buurt", "oord", "hage", "wijk",
)
SMALL_BUURT_NAMES = (
    "Bedrijventerrein De Vaart", "Recreatiepark Het Ven", "Buitengebied Noord", "Landgoed Eikenrode",
    "Polder De Zuidkamp", "Bedrijvenpark Sluiskade", "Buitengebied Zuid", "Jachthaven Het Diep",
)

FIRST_NAMES = (
    "Anna", "Bram", "Chloë", "Daan", "Emma", "Fatima", "Gijs", "Hélène", "Ilse", "Jesse", "Kees", "Lotte",
    "Mohamed", "Noël", "Ömer", "Priya", "Quinten", "Rachid", "Sanne", "Tim", "Ufuk", "Vera", "Wouter",
    "Yara", "Zoë", "José", "Inès", "Joëlle", "Björn", "Aïcha",
)
# (tussenvoegsel, achternaam); all characters exist in Windows-1252.
SURNAMES = (
    ("de", "Vries"), ("", "Jansen"), ("de", "Jong"), ("", "Bakker"), ("", "Visser"), ("", "Smit"),
    ("", "Meijer"), ("de", "Boer"), ("", "Mulder"), ("de", "Groot"), ("", "Bos"), ("", "Vos"),
    ("", "Peters"), ("", "Hendriks"), ("van", "Dijk"), ("", "Dekker"), ("", "Brouwer"), ("", "Çelik"),
    ("", "Öztürk"), ("", "Kuijpers"), ("el", "Amrani"), ("", "Bennani"), ("", "Müller"), ("", "Nuñez"),
    ("van der", "Linden"), ("", "Hoekstra"), ("", "Dogan"), ("ter", "Beek"), ("van den", "Broek"),
    ("", "Brandão"), ("", "Siriné"), ("", "Haddouchi"), ("", "Lefèvre"),
)
STAFF = (
    "M. Kuipers", "drs. A. de Wit", "É. Rémy", "J. Haddou", "E. van Rijn", "S. Oudshoorn", "R. Zwart",
    "L. Bekkers",
)
AIDS = {
    "08": "Regiotaxipas", "11": "Rolstoel", "12": "Scootmobiel", "13": "Traplift", "14": "Douchestoel",
}

# Codes per partner with their weights; legacy iJw codes (31-38) are still running at jeugdteam_zuid.
TEAM_CODES = {"45": 40, "50": 10, "41": 8, "44": 6, "43": 4, "46": 4, "47": 6, "48": 10, "49": 2,
              "40": 3, "42": 3, "53": 2, "52": 2}
LEGACY_CODES = {"31": 5, "32": 3, "34": 3, "35": 2, "36": 1, "38": 1}
GGZ_CODES = {"45": 50, "54": 20, "55": 15, "51": 15}
ZORG_CODES = {"01": 45, "02": 20, "03": 10, "07": 10, "06": 8, "10": 4, "04": 3}
AID_CODES = {"11": 25, "12": 20, "13": 25, "14": 20, "08": 10}
WORK_CODES = {"PW01": 55, "PW02": 15, "PW03": 20, "PW04": 10}
DEBT_CODES = {"PW05": 1}
UNKNOWN_CODES = {
    "jeugd": ("39", "56", "99"), "wmo": ("19", "99", "20"), "werk_inkomen": ("PW06", "PW9", "WW01"),
}


@dataclass(frozen=True)
class PartnerStyle:
    """How one partner exports its extract from Excel."""

    name: str
    domain: str
    delimiter: str
    encoding: str
    line_end: str
    columns: tuple[tuple[str, str], ...]
    """(header label as the partner typed it, field it holds)."""
    date_formats: dict[str, int]
    code_formats: dict[str, int]
    postcode_formats: dict[str, int]
    pack_share: float
    """Share of addresses with letter or toevoeging typed into the huisnummer column."""

    @property
    def has_detail_columns(self) -> bool:
        fields = {f for _, f in self.columns}
        return "huisletter" in fields and "toevoeging" in fields

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"


PARTNERS: tuple[PartnerStyle, ...] = (
    PartnerStyle(
        "jeugdteam_noord", "jeugd", ";", "cp1252", "\r\n",
        (("Postcode", "postcode"), ("Huisnummer", "huisnummer"), ("Huisletter", "huisletter"),
         ("Toevoeging", "toevoeging"), ("Voorziening", "voorziening"), ("Begindatum", "begindatum"),
         ("Einddatum", "einddatum"), ("Naam", "naam"), ("BSN", "bsn"), ("Bedrag", "bedrag_periode")),
        {"dmy": 1}, {"plain": 1}, {"compact": 6, "spaced": 3, "lower": 1}, 0.35,
    ),
    PartnerStyle(
        "jeugdteam_zuid", "jeugd", ",", "utf-8-sig", "\n",
        (("postcode", "postcode"), ("huisnummer", "huisnummer"), ("huisletter", "huisletter"),
         ("huisnummertoevoeging", "toevoeging"), ("voorziening", "voorziening"), ("begindatum", "begindatum"),
         ("einddatum", "einddatum"), ("clientnummer", "clientnummer")),
        {"iso": 1}, {"plain": 1}, {"compact": 1}, 0.1,
    ),
    PartnerStyle(
        "jeugd_ggz", "jeugd", ";", "utf-8", "\n",
        ((" POSTCODE ", "postcode"), (" HUISNUMMER ", "huisnummer"), (" VOORZIENING ", "voorziening"),
         (" BEGINDATUM ", "begindatum"), (" EINDDATUM ", "einddatum"), (" BEHANDELAAR ", "medewerker"),
         (" BEDRAG ", "bedrag_periode")),
        {"dmy_slash": 1}, {"plain": 8, "float": 2}, {"spaced": 5, "compact": 5}, 1.0,
    ),
    PartnerStyle(
        "wmo_zorgkracht", "wmo", ";", "cp1252", "\r\n",
        (("Postcode", "postcode"), ("Huisnummer", "huisnummer"), ("Huisletter", "huisletter"),
         ("Huisnummertoevoeging", "toevoeging"), ("Voorziening", "voorziening"), ("Begindatum", "begindatum"),
         ("Einddatum", "einddatum"), ("Naam", "naam"), ("BSN", "bsn"), ("Indicatie uren per week", "uren"),
         ("bedrag", "bedrag_periode")),
        {"dmy_short": 1}, {"stripped": 8, "plain": 2}, {"compact": 5, "spaced": 4, "padded": 1}, 0.2,
    ),
    PartnerStyle(
        "wmo_hulpmiddelen", "wmo", ",", "utf-8-sig", "\r\n",
        (("Postcode ", "postcode"), (" Huisnummer", "huisnummer"), ("HuisLetter", "huisletter"),
         ("HUISNUMMERTOEVOEGING", "toevoeging"), ("Voorziening", "voorziening"), ("Begindatum", "begindatum"),
         ("Einddatum", "einddatum"), ("Omschrijving hulpmiddel", "hulpmiddel")),
        {"iso": 7, "dmy": 3}, {"float": 7, "plain": 3}, {"compact": 7, "spaced": 3}, 0.2,
    ),
    PartnerStyle(
        "werk_inkomen_gemeente", "werk_inkomen", ";", "utf-8", "\n",
        (("BSN", "bsn"), ("Naam", "naam"), ("Postcode", "postcode"), ("Huisnummer", "huisnummer"),
         ("Huisletter", "huisletter"), ("Huisnummertoevoeging", "toevoeging"), ("Voorziening", "voorziening"),
         ("Begindatum", "begindatum"), ("Einddatum", "einddatum"), ("Uitkering per maand", "uitkering"),
         ("Bedrag", "bedrag_periode")),
        {"dmy": 5, "iso": 3, "dmy_short": 2}, {"plain": 1}, {"compact": 8, "spaced": 2}, 0.3,
    ),
    PartnerStyle(
        "schuldhulp_plus", "werk_inkomen", ",", "cp1252", "\r\n",
        (("Naam", "naam_omgekeerd"), ("Postcode", "postcode"), ("Huisnummer", "huisnummer"),
         ("Voorziening", "voorziening"), ("Begindatum", "begindatum"), ("Einddatum", "einddatum"),
         ("Casemanager", "medewerker")),
        {"dmy_slash": 6, "dmy_short": 4}, {"plain": 1}, {"spaced_lower": 5, "lower": 3, "spaced": 2}, 1.0,
    ),
)
PARTNER_BY_NAME = {p.name: p for p in PARTNERS}
ENCODING_NAMES = {"cp1252": "Windows-1252", "utf-8": "UTF-8 zonder BOM", "utf-8-sig": "UTF-8 met BOM"}
DATE_EXAMPLES = {
    "dmy": "`31-01-2026`", "dmy_short": "`1-2-2026`", "dmy_slash": "`31/01/2026`", "iso": "`2026-01-31`",
}
INVALID_KINDS = (
    "postcode", "voorziening", "datum", "einddatum_voor_begindatum", "huisnummer", "postcode+datum",
)


@dataclass
class Buurt:
    code: str
    naam: str
    wijkcode: str
    small: bool
    size: int = 0
    factor: float = 1.0
    team: int = 0


KENMERKEN = ("huishoudtype", "leeftijd", "inkomen")
"""Register columns kenmerk_<naam> (docs/contract.md §9), added by the key custodian from the BRP."""
HOUSEHOLD_TYPES = {  # CBS households 2024, roughly
    "eenpersoons": 39.0, "paar_zonder_kinderen": 28.0, "paar_met_kinderen": 24.0, "eenouder": 7.5,
    "overig": 1.5,
}
AGE_CLASSES = ("18-26", "27-44", "45-64", "65-74", "75+")
AGE_BY_TYPE = {  # age class of the oldest resident per household type (shares)
    "eenpersoons": (9, 22, 30, 16, 23),
    "paar_zonder_kinderen": (3, 17, 33, 26, 21),
    "paar_met_kinderen": (0.5, 45, 52, 2, 0.5),
    "eenouder": (2, 38, 52, 6, 2),
    "overig": (25, 25, 25, 13, 12),
}
INCOME_CLASSES = {"laag": 30.0, "midden": 40.0, "hoog": 30.0}
UNKNOWN_SHARE = 0.01
"""Share of register rows where the BRP gave no value: the column stays empty (= onbekend)."""
TEAMS = ("Wijkteam Noord", "Wijkteam Midden", "Wijkteam Zuid")


@dataclass
class Wijk:
    code: str
    naam: str
    index: int
    profile: str
    noord: bool
    buurten: list[Buurt] = field(default_factory=list)


@dataclass(frozen=True)
class Address:
    adres_id: int
    postcode: str
    huisnummer: int
    huisletter: str
    toevoeging: str
    buurtcode: str
    huishoudens: int

    @property
    def parts(self) -> tuple[str, int, str, str]:
        return (self.postcode, self.huisnummer, self.huisletter, self.toevoeging)

    @property
    def pand(self) -> tuple[str, int]:
        return (self.postcode, self.huisnummer)


@dataclass
class Person:
    naam: str
    naam_omgekeerd: str
    bsn: str
    clientnummer: str


@dataclass
class Record:
    """One line of a partner extract as the model meant it."""

    partner: str
    parts: tuple[str, int, str, str]
    """The address as the partner has it (may differ from the register address for pand links)."""
    adres_id: int | None
    koppeling: str
    """'adres', 'pand' or 'geen': how the record must link (docs/contract.md §7)."""
    code: str
    begin: date | None
    end: date | None
    person: Person
    invalid: str = ""
    bedrag: int | None = None
    """Eurocent spent on the record within PERIOD_NAME (docs/contract.md §12); None = not delivered."""
    bedragen: dict[str, int | None] = field(default_factory=dict)
    """Eurocent spent on the record within each half-year of SERIES (`bedrag` is that of PERIOD_NAME)."""
    overrides: dict[str, str] = field(default_factory=dict)
    duplicate_of: "Record | None" = None
    cells: list[str] = field(default_factory=list)
    line: int = 0

    @property
    def domain(self) -> str:
        return domain_of(self.code)

    @property
    def canonical(self) -> str:
        pc, nr, letter, toev = self.parts
        return f"{pc}|{nr}|{letter}|{toev}"


@dataclass
class Delivery:
    partner: str
    domain: str
    filename: str
    encoding: str
    delimiter: str
    header: list[str]
    rows: list[list[str]]
    content: bytes
    earlier: dict[str, bytes] = field(default_factory=dict)
    """The extract as the partner delivered it for each earlier half-year of SERIES: the same lines, with
    the amounts of that half-year (only partners that deliver amounts; docs/contract.md §12)."""


@dataclass
class Sample:
    parameters: dict
    gemeentecode: str
    gemeentenaam: str
    wijken: list[Wijk]
    register: list[Address]
    records: list[Record]
    deliveries: dict[str, Delivery]
    kenmerken: dict[int, dict[str, str]] = field(default_factory=dict)
    """adres_id -> kenmerk -> value ('' = unknown)."""

    def area_rows(self) -> list[dict[str, str]]:
        """gebieden.csv: code, naam, and on the BU rows the buurt's wijkteam (an own division, §9)."""
        empty = {"gebied_wijkteam": "", "gebied_wijkteam_naam": ""}
        rows = [{"code": self.gemeentecode, "naam": self.gemeentenaam, **empty}]
        rows += [{"code": w.code, "naam": w.naam, **empty} for w in self.wijken]
        rows += [{"code": b.code, "naam": b.naam, "gebied_wijkteam": f"WT{b.team + 1:02d}",
                  "gebied_wijkteam_naam": TEAMS[b.team]} for w in self.wijken for b in w.buurten]
        return rows

    def register_rows(self) -> list[dict[str, str]]:
        """The register with address ids, as in `waarheid/register.csv`."""
        return [
            {
                "adres_id": str(a.adres_id),
                "postcode": a.postcode,
                "huisnummer": str(a.huisnummer),
                "huisletter": a.huisletter,
                "huisnummertoevoeging": a.toevoeging,
                "buurtcode": a.buurtcode,
                "huishoudens": str(a.huishoudens),
                **{f"kenmerk_{k}": self.kenmerken.get(a.adres_id, {}).get(k, "") for k in KENMERKEN},
            }
            for a in self.register
        ]

    def truth_rows(self) -> list[dict[str, str]]:
        """One row per line of every extract, as in `waarheid/records.csv`."""
        rows = []
        for record in sorted(self.records, key=lambda r: (r.partner, r.line)):
            valid = not record.invalid
            rows.append(
                {
                    "partner": record.partner,
                    "regel": str(record.line),
                    "adres_id": str(record.adres_id) if valid and record.adres_id is not None else "",
                    "koppeling": record.koppeling if valid else "",
                    "canoniek": record.canonical if valid else "",
                    "voorziening": record.code,
                    "domein": record.domain,
                    "begindatum": record.begin.isoformat() if record.begin else "",
                    "einddatum": record.end.isoformat() if record.end else "",
                    "ongeldig": "ja" if record.invalid else "nee",
                    "reden": record.invalid,
                    "duplicaat_van": str(record.duplicate_of.line) if record.duplicate_of else "",
                    "bedrag": "" if record.bedrag is None or record.invalid else str(record.bedrag),
                    **{f"bedrag_{label}": "" if record.bedragen.get(label) is None or record.invalid
                       else str(record.bedragen[label]) for label in SERIES},
                }
            )
        return rows


def domain_of(code: str) -> str:
    """The domain of a canonical voorziening code (docs/contract.md §5); '' when unknown."""
    if code.startswith("PW") and code[2:] in {"01", "02", "03", "04", "05"}:
        return "werk_inkomen"
    if len(code) == 2 and code.isdigit():
        number = int(code)
        if 1 <= number <= 18:
            return "wmo"
        if 31 <= number <= 38 or 40 <= number <= 55:
            return "jeugd"
    return ""


def _pick(rng: random.Random, weights: dict) -> object:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _random_date(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, (last - first).days))


# ---------------------------------------------------------------- areas and the address register


def _build_areas(rng: random.Random, gemeentecode: str, n_wijken: int, n_buurten: int) -> list[Wijk]:
    gm = gemeentecode[2:]
    names = ["Centrum"] + rng.sample(WIJK_NAMES, min(n_wijken - 2, len(WIJK_NAMES)))
    names += [f"Uitbreiding {i}" for i in range(1, n_wijken - 1 - len(names) + 1)]
    names = names[: n_wijken - 1] + ["Buitengebied"]
    # Stacking clusters in one or two wijken; one or two are better off; centre and countryside average.
    middle = list(range(1, n_wijken - 1))
    n_high = 2 if n_wijken >= 6 else 1
    chosen = rng.sample(middle, n_high * 2)
    profiles = ["gemiddeld"] * n_wijken
    for i in chosen[:n_high]:
        profiles[i] = "hoog"
    for i in chosen[n_high:]:
        profiles[i] = "laag"
    wijken = [
        Wijk(f"WK{gm}{i:02d}", names[i], i, profiles[i], noord=i < math.ceil(n_wijken / 2))
        for i in range(n_wijken)
    ]
    per_wijk = [n_buurten // n_wijken] * n_wijken
    for i in rng.sample(range(n_wijken), n_buurten % n_wijken):
        per_wijk[i] += 1
    combos = sorted(p + s for p in BUURT_PREFIXES for s in BUURT_SUFFIXES)
    buurt_names = rng.sample(combos, n_buurten)
    # Small buurten (< 50 households): always one in the countryside, more elsewhere in bigger towns.
    n_small = max(2, n_buurten // 8)
    small_slots = {(n_wijken - 1, per_wijk[-1] - 1)}
    while len(small_slots) < n_small:
        w = rng.randrange(n_wijken)
        # every wijk keeps at least one ordinary buurt
        if sum(1 for slot in small_slots if slot[0] == w) < per_wijk[w] - 1:
            small_slots.add((w, rng.randrange(per_wijk[w])))
    small_names = list(SMALL_BUURT_NAMES) + [f"Buitenplaats {i}" for i in range(1, n_small + 1)]
    for wijk in wijken:
        for j in range(per_wijk[wijk.index]):
            small = (wijk.index, j) in small_slots
            naam = small_names.pop(0) if small else buurt_names.pop()
            wijk.buurten.append(Buurt(f"BU{gm}{wijk.index:02d}{j:02d}", naam, wijk.code, small))
    return wijken


def _buurt_sizes(rng: random.Random, wijken: list[Wijk], n_addresses: int) -> None:
    buurten = [b for w in wijken for b in w.buurten]
    for b in buurten:
        if b.small:
            b.size = rng.randint(12, 40)
    normal = [b for b in buurten if not b.small]
    remaining = n_addresses - sum(b.size for b in buurten if b.small)
    weights = [rng.uniform(0.5, 1.6) for _ in normal]
    total = sum(weights)
    for b, w in zip(normal, weights, strict=True):
        b.size = int(remaining * w / total)
    for b in rng.sample(normal, remaining - sum(b.size for b in normal)):
        b.size += 1
    for b in buurten:
        b.factor = rng.uniform(0.85, 1.15)


def _letter_pairs() -> list[str]:
    pairs = [a + b for a in POSTCODE_LETTERS for b in POSTCODE_LETTERS]
    return [p for p in pairs if p not in FORBIDDEN_POSTCODE_LETTERS]


def _building(rng: random.Random, number: int, flats: float) -> list[tuple[int, str, str]]:
    """The addresses (huisnummer, huisletter, toevoeging) of one building (pand)."""
    kind = _pick(rng, {"single": 0.74 - flats, "duplex": 0.07, "flat": 0.10 + flats * 0.7,
                       "letter_alone": 0.03, "bis": 0.02, "letter_flat": 0.02, "complex": 0.02 + flats * 0.3})
    if kind == "single":
        return [(number, "", "")]
    if kind == "duplex":
        if rng.random() < 0.6:
            return [(number, "", ""), (number, "A", "")]
        return [(number, "A", ""), (number, "B", "")]
    if kind == "flat":
        floors = [(number, "", str(i)) for i in range(1, rng.randint(2, 10) + 1)]
        return ([(number, "", "HS")] if rng.random() < 0.2 else []) + floors
    if kind == "letter_alone":
        return [(number, "A", "")]
    if kind == "bis":
        return [(number, "", ""), (number, "", "BIS")]
    if kind == "letter_flat":
        return [(number, "A", "1"), (number, "A", "2"), (number, "B", "1"), (number, "B", "2")]
    return [(number, "", str(i)) for i in range(1, rng.randint(12, 30) + 1)]


def _build_register(
    rng: random.Random, gemeentecode: str, wijken: list[Wijk]
) -> tuple[list[Address], set[int]]:
    base = rng.randint(21, 94) * 100
    pairs = _letter_pairs()
    raw: list[tuple[str, int, str, str, str, int]] = []
    used_pc4: set[int] = set()
    for wijk in wijken:
        pc4_numbers = iter(range(base + 10 * wijk.index, base + 10 * wijk.index + 10))
        pc4 = next(pc4_numbers)
        pair_index = 0
        flats = {"hoog": 0.12, "gemiddeld": 0.05, "laag": 0.0}[wijk.profile]
        for buurt in wijk.buurten:
            left = buurt.size
            while left > 0:
                if pair_index >= len(pairs):
                    pc4, pair_index = next(pc4_numbers), 0
                used_pc4.add(pc4)
                postcode = f"{pc4}{pairs[pair_index]}"
                pair_index += 1
                in_postcode = min(left, rng.randint(12, 55))
                number = rng.choice((1, 2)) + 2 * rng.randint(0, 40)
                addresses: list[tuple[int, str, str]] = []
                while len(addresses) < in_postcode:
                    building = _building(rng, number, 0.0 if buurt.small else flats)
                    addresses += building[: in_postcode - len(addresses)]
                    number += 2
                for nr, letter, toev in addresses:
                    # a few addresses house two or three households; small buurten stay below 50 households
                    households = 1 if buurt.small else _pick(rng, {1: 960, 2: 33, 3: 7})
                    raw.append((postcode, nr, letter, toev, buurt.code, households))
                left -= in_postcode
    raw.sort(key=lambda a: (a[0], a[1], a[2], a[3]))
    register = [Address(i + 1, *fields) for i, fields in enumerate(raw)]
    return register, used_pc4


# ---------------------------------------------------------------- the households and their records


@dataclass
class _Model:
    rng: random.Random
    register: list[Address]
    wijk_of_buurt: dict[str, tuple[float, Wijk]]
    pand_members: dict[tuple[str, int], list[Address]]
    outside_pc4: list[int]
    records: list[Record] = field(default_factory=list)
    domains_of: dict[int, tuple[str, ...]] = field(default_factory=dict)
    """The domains the model gave each household in the period (for its kenmerken)."""
    persons: dict[tuple[int, str], Person] = field(default_factory=dict)
    presentation: dict[tuple[int, str], tuple[tuple[str, int, str, str], str]] = field(default_factory=dict)

    def person(self, key: tuple[int, str] | None = None) -> Person:
        if key is not None and key in self.persons:
            return self.persons[key]
        rng = self.rng
        first = rng.choice(FIRST_NAMES)
        prefix, surname = rng.choice(SURNAMES)
        full_surname = f"{prefix} {surname}".strip()
        person = Person(
            naam=f"{first} {full_surname}",
            naam_omgekeerd=f"{surname}, {first} {prefix}".strip(),
            bsn=_fictional_bsn(rng),
            clientnummer=f"C{rng.randint(100000, 999999)}",
        )
        if key is not None:
            self.persons[key] = person
        return person

    def written_address(self, address: Address, partner: str) -> tuple[tuple[str, int, str, str], str]:
        """How a partner has this address: mostly exactly, sometimes only right up to the building."""
        key = (address.adres_id, partner)
        if key not in self.presentation:
            alone = len(self.pand_members[address.pand]) == 1
            if alone and self.rng.random() < 0.05:
                self.presentation[key] = (_building_variant(self.rng, address), "pand")
            else:
                self.presentation[key] = (address.parts, "adres")
        return self.presentation[key]

    def add(self, partner: str, address: Address, code: str, begin: date, end: date | None) -> Record:
        parts, koppeling = self.written_address(address, partner)
        record = Record(partner, parts, address.adres_id, koppeling, code, begin, end,
                        self.person((address.adres_id, domain_of(code))))
        self.records.append(record)
        return record


def _fictional_bsn(rng: random.Random) -> str:
    """A nine-digit number in the 999 test range that passes the elfproef, so it looks real but is not."""
    while True:
        digits = [9, 9, 9] + [rng.randint(0, 9) for _ in range(5)]
        total = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True))
        last = total % 11
        if last < 10:
            return "".join(map(str, digits + [last]))


def _building_variant(rng: random.Random, address: Address) -> tuple[str, int, str, str]:
    """Another address in the same building that is not in the register (the building has one address)."""
    pc, nr, letter, toev = address.parts
    if letter or toev:
        return (pc, nr, "", "")
    letter, toev = rng.choice((("A", ""), ("B", ""), ("", "1"), ("", "HS"), ("", "BIS")))
    return (pc, nr, letter, toev)


def _dates_in_period(rng: random.Random) -> tuple[date, date | None]:
    roll = rng.random()
    if roll < 0.03:
        begin = PERIOD_END
    elif roll < 0.55:
        begin = _random_date(rng, date(2025, 1, 1), PERIOD_END)
    else:
        begin = _random_date(rng, date(2022, 6, 1), date(2024, 12, 31))
    roll = rng.random()
    if roll < 0.5:
        return begin, None
    if roll < 0.53 and begin <= PERIOD_START:
        return begin, PERIOD_START
    return begin, _random_date(rng, max(begin, PERIOD_START), date(2027, 12, 31))


def _dates_before_period(rng: random.Random) -> tuple[date, date]:
    begin = _random_date(rng, date(2023, 1, 1), date(2025, 11, 30))
    end = date(2025, 12, 31) if rng.random() < 0.1 else _random_date(rng, begin, date(2025, 12, 31))
    return begin, end


def _dates_after_period(rng: random.Random) -> tuple[date, date | None]:
    first = PERIOD_END + timedelta(days=1)
    begin = first if rng.random() < 0.15 else _random_date(rng, first, date(2026, 12, 31))
    return begin, None if rng.random() < 0.7 else _random_date(rng, begin, date(2027, 12, 31))


# Costs (docs/contract.md §12): euros per day a record runs in the period, per voorziening; one-off
# payments (bijzondere bijstand, inkomenstoeslag) as a lump sum. Jeugdhulp with verblijf costs far more
# than ambulant help; bijstand is paid per month. Partners not listed here deliver no amounts.
DAILY_RATES: dict[str, float] = {
    "43": 380.0, "44": 240.0, "46": 420.0, "41": 140.0, "45": 28.0, "50": 22.0, "47": 30.0, "48": 35.0,
    "49": 20.0, "40": 45.0, "42": 18.0, "53": 25.0, "52": 25.0, "54": 60.0, "55": 75.0, "51": 90.0,
    "01": 14.0, "02": 32.0, "03": 26.0, "07": 38.0, "06": 16.0, "10": 22.0, "04": 160.0,
    "PW01": 1350.0 * 12 / 365, "PW02": 12.0,
}
LUMP_SUMS: dict[str, tuple[float, float]] = {"PW03": (80.0, 1500.0), "PW04": (300.0, 500.0)}
AMOUNT_FORMATS = {"jeugdteam_noord": "nl_punt", "jeugd_ggz": "en", "wmo_zorgkracht": "nl",
                  "werk_inkomen_gemeente": "nl"}
UNKNOWN_AMOUNT_SHARE = 0.04


PRICE_INDEX = {"2024H2": 0.94, "2025H1": 0.96, "2025H2": 0.98, "2026H1": 1.0}
"""Tariffs per half-year of SERIES, relative to PERIOD_NAME: care gets dearer by about 2% a half-year."""


def half_year(label: str) -> tuple[date, date]:
    """The first and last day of a half-year such as `2025H2`."""
    year, half = int(label[:4]), label[-1]
    return (date(year, 1, 1), date(year, 6, 30)) if half == "1" else (date(year, 7, 1), date(year, 12, 31))


def _amount(rng: random.Random, record: Record, label: str = PERIOD_NAME) -> int | None:
    """Eurocent spent in the half-year `label` on a valid record of a partner that delivers amounts."""
    first, last = half_year(label)
    end = min(record.end or last, last)
    days = (end - max(record.begin, first)).days + 1
    if days <= 0 or record.begin > last:
        return None  # outside the period: the field stays empty
    if rng.random() < UNKNOWN_AMOUNT_SHARE:
        return None
    index = PRICE_INDEX[label]
    if record.code in LUMP_SUMS:
        return round(rng.uniform(*LUMP_SUMS[record.code]) * index * 100)
    return round(DAILY_RATES.get(record.code, 25.0) * index * days * rng.lognormvariate(0, 0.25) * 100)


def _amounts(stage: str, records: list[Record]) -> None:
    """Give the records of partners that deliver amounts their amount in every half-year of SERIES (own
    random stream per half-year: the rest of the sample, and PERIOD_NAME's amounts, stay as they were)."""
    for label in SERIES:
        rng = random.Random(f"{stage}:bedragen" if label == PERIOD_NAME else f"{stage}:bedragen:{label}")
        for record in records:
            if record.partner in AMOUNT_FORMATS and not record.invalid and record.begin is not None:
                record.bedragen[label] = _amount(rng, record, label)
    for record in records:
        record.bedrag = record.bedragen.get(PERIOD_NAME)


def _render_amount(cents: int | None, style: str) -> str:
    """An amount as the partner's spreadsheet writes it: `1.234,56`, `1234,56` or `1234.56`."""
    if cents is None or not style:
        return ""
    euros, rest = divmod(cents, 100)
    if style == "en":
        return f"{euros}.{rest:02d}"
    if style == "nl_punt":
        return f"{euros:,}".replace(",", ".") + f",{rest:02d}"
    return f"{euros},{rest:02d}"


def _codes(rng: random.Random, weights: dict[str, int], counts: dict[int, int]) -> list[str]:
    n = min(_pick(rng, counts), len(weights))
    chosen: list[str] = []
    while len(chosen) < n:
        code = _pick(rng, weights)
        if code not in chosen:
            chosen.append(code)
    return chosen


def _services(rng: random.Random, domain: str, wijk: Wijk) -> list[tuple[str, str]]:
    """(partner, code) of the voorzieningen a household gets in one domain."""
    result: list[tuple[str, str]] = []
    if domain == "jeugd":
        team = "jeugdteam_noord" if wijk.noord else "jeugdteam_zuid"
        with_team = rng.random() < 0.8
        if with_team:
            for code in _codes(rng, TEAM_CODES, {1: 75, 2: 22, 3: 3}):
                if team == "jeugdteam_zuid" and rng.random() < 0.15:
                    code = _pick(rng, LEGACY_CODES)
                result.append((team, code))
        if not with_team or rng.random() < 0.2:
            result += [("jeugd_ggz", c) for c in _codes(rng, GGZ_CODES, {1: 85, 2: 15})]
    elif domain == "wmo":
        roll = rng.random()
        if roll < 0.75:
            result += [("wmo_zorgkracht", c) for c in _codes(rng, ZORG_CODES, {1: 70, 2: 25, 3: 5})]
        if roll >= 0.6:
            result += [("wmo_hulpmiddelen", c) for c in _codes(rng, AID_CODES, {1: 80, 2: 20})]
    else:
        roll = rng.random()
        if roll < 0.8:
            result += [("werk_inkomen_gemeente", c) for c in _codes(rng, WORK_CODES, {1: 60, 2: 35, 3: 5})]
        if roll >= 0.55:
            result.append(("schuldhulp_plus", "PW05"))
    # The same code from the same partner twice is one voorziening; keep the list of distinct pairs.
    return list(dict.fromkeys(result))


def _former_records(model: _Model, address: Address, wijk: Wijk, weights: dict) -> None:
    """A household whose help ended in 2024H2, 2025H1 or 2025H2: it counts in the earlier half-years only."""
    rng = model.rng
    domains = _pick(rng, weights)
    for domain in domains:
        for partner, code in _services(rng, domain, wijk):
            begin = _random_date(rng, *FORMER_BEGIN)
            end = _random_date(rng, max(begin, FORMER_END[0]), FORMER_END[1])
            model.add(partner, address, code, begin, end)


def _household_records(model: _Model) -> None:
    rng = model.rng
    for address in model.register:
        buurt_factor, wijk = model.wijk_of_buurt[address.buurtcode]
        single, multi = PROFILE_FACTORS[wijk.profile]
        weights = {
            combo: share * buurt_factor * (single if len(combo) == 1 else multi)
            for combo, share in COMBINATION_BASE.items()
        }
        roll = rng.random()
        domains: tuple[str, ...] = ()
        for combo, weight in weights.items():
            if roll < weight:
                domains = combo
                break
            roll -= weight
        model.domains_of[address.adres_id] = domains
        for domain in domains:
            for partner, code in _services(rng, domain, wijk):
                begin, end = _dates_in_period(rng)
                if rng.random() < 0.1:
                    # an earlier toewijzing of the same voorziening, ended before the period
                    earlier_begin, earlier_end = _dates_before_period(rng)
                    if earlier_begin < begin:
                        earlier_end = min(earlier_end, begin - timedelta(days=1))
                    model.add(partner, address, code, earlier_begin, earlier_end)
                if rng.random() < 0.06 and (end is None or end <= PERIOD_END):
                    end = _random_date(rng, max(begin, PERIOD_START), PERIOD_END)
                    later_begin, later_end = _dates_after_period(rng)
                    model.add(partner, address, code, later_begin, later_end)
                model.add(partner, address, code, begin, end)
        if not domains and rng.random() < FORMER_SHARE * sum(weights.values()):
            _former_records(model, address, wijk, weights)
        # Help outside the period: it must not count. Some households only have that.
        if rng.random() < (0.12 if domains else 0.035):
            domain = rng.choice([d for d in DOMAINS if d not in domains] or list(DOMAINS))
            partner, code = _services(rng, domain, wijk)[0]
            begin, end = _dates_before_period(rng) if rng.random() < 0.6 else _dates_after_period(rng)
            model.add(partner, address, code, begin, end)


def _weighted(rng: random.Random, base: dict[str, float], factors: dict[str, float]) -> str:
    return _pick(rng, {value: share * factors.get(value, 1.0) for value, share in base.items()})


def _household_kenmerken(rng: random.Random, domains: tuple[str, ...]) -> dict[str, str]:
    """Kenmerken of one household given the help it gets: jeugdhulp goes with children, Wmo with age,
    werk en inkomen with a low income; samenloop most of all with single parents and low incomes."""
    types: dict[str, float] = {}
    ages: dict[str, float] = {}
    income: dict[str, float] = {}
    for domain, type_f, age_f, income_f in (
        ("jeugd",
         {"paar_met_kinderen": 3.0, "eenouder": 6.0, "eenpersoons": 0.05, "paar_zonder_kinderen": 0.1},
         {"27-44": 1.5, "65-74": 0.2, "75+": 0.1}, {"laag": 1.5}),
        ("wmo", {"eenpersoons": 1.6, "paar_met_kinderen": 0.5}, {"65-74": 2.0, "75+": 4.0, "18-26": 0.5},
         {"laag": 1.4, "hoog": 0.7}),
        ("werk_inkomen", {"eenouder": 3.0, "eenpersoons": 1.4, "paar_zonder_kinderen": 0.6},
         {"18-26": 2.0, "65-74": 0.3, "75+": 0.1}, {"laag": 6.0, "midden": 0.8, "hoog": 0.05}),
    ):
        if domain in domains:
            for target, factors in ((types, type_f), (ages, age_f), (income, income_f)):
                for value, factor in factors.items():
                    target[value] = target.get(value, 1.0) * factor
    if len(domains) >= 2:
        types["eenouder"] = types.get("eenouder", 1.0) * 2.5
        income["laag"] = income.get("laag", 1.0) * 2.0
    household_type = _weighted(rng, HOUSEHOLD_TYPES, types)
    age = _weighted(rng, dict(zip(AGE_CLASSES, AGE_BY_TYPE[household_type], strict=True)), ages)
    result = {"huishoudtype": household_type, "leeftijd": age,
              "inkomen": _weighted(rng, INCOME_CLASSES, income)}
    return {k: ("" if rng.random() < UNKNOWN_SHARE else v) for k, v in result.items()}


def _unlinked_records(model: _Model) -> None:
    """Clients outside the gemeente and addresses the register does not know: counted, never linked."""
    rng = model.rng
    postcodes = sorted({a.postcode for a in model.register})
    pand_numbers: dict[str, set[int]] = {}
    for a in model.register:
        pand_numbers.setdefault(a.postcode, set()).add(a.huisnummer)
    multi_panden = sorted(p for p, members in model.pand_members.items() if len(members) > 1)
    for style in PARTNERS:
        n = sum(1 for r in model.records if r.partner == style.name)
        for i in range(max(3, round(0.025 * n)) + max(2, round(0.01 * n))):
            if i < max(3, round(0.025 * n)):
                pc4 = rng.choice(model.outside_pc4)
                parts = (f"{pc4}{rng.choice(_letter_pairs())}", rng.randint(1, 180), "", "")
            elif rng.random() < 0.5:
                pc, nr = rng.choice(multi_panden)
                taken = {m.toevoeging for m in model.pand_members[(pc, nr)]}
                toev = next(str(t) for t in range(40, 99) if str(t) not in taken)
                parts = (pc, nr, "", toev)
            else:
                pc = rng.choice(postcodes)
                nr = max(pand_numbers[pc]) + 2 * rng.randint(1, 20)
                parts = (pc, nr, "", "")
            if style.domain == "jeugd":
                code = _pick(rng, GGZ_CODES if style.name == "jeugd_ggz" else TEAM_CODES)
            elif style.name in ("wmo_zorgkracht", "wmo_hulpmiddelen"):
                code = _pick(rng, ZORG_CODES if style.name == "wmo_zorgkracht" else AID_CODES)
            elif style.name == "schuldhulp_plus":
                code = "PW05"
            else:
                code = _pick(rng, WORK_CODES)
            begin, end = _dates_in_period(rng) if rng.random() < 0.8 else _dates_before_period(rng)
            model.records.append(Record(style.name, parts, None, "geen", code, begin, end, model.person()))


def _invalid_records(model: _Model) -> None:
    """Rows a partner must get back: each is invalid under docs/contract.md §4 whatever else it holds."""
    rng = model.rng
    for style in PARTNERS:
        own = [r for r in model.records if r.partner == style.name]
        n_invalid = max(len(INVALID_KINDS), round(0.012 * len(own)))
        for i in range(n_invalid):
            kind = INVALID_KINDS[i] if i < len(INVALID_KINDS) else rng.choice(INVALID_KINDS)
            template = rng.choice(own)
            begin, end = _dates_in_period(rng)
            record = Record(style.name, template.parts, None, "", template.code, begin, end, model.person(),
                            invalid=kind)
            fmt = _pick(rng, style.date_formats)
            if "postcode" in kind:
                pc4 = template.parts[0][:4]
                bad_postcodes = ("12345", f"{pc4}SA", f"{pc4}SS", f"{pc4} A", "0" + pc4[1:] + "AB")
                record.overrides["postcode"] = rng.choice(bad_postcodes)
            if "datum" in kind and kind != "einddatum_voor_begindatum":
                record.overrides["begindatum"] = _impossible_date(rng, fmt)
            if kind == "einddatum_voor_begindatum":
                record.end = record.begin - timedelta(days=rng.randint(1, 90))
            if kind == "voorziening":
                record.code = rng.choice(UNKNOWN_CODES[style.domain])
            if kind == "huisnummer":
                record.overrides["huisnummer"] = rng.choice(("nvt", "", "0", "?"))
            model.records.append(record)


def _impossible_date(rng: random.Random, fmt: str) -> str:
    choices = {
        "dmy": ("31-02-2026", "30-13-2025", "00-01-2026"),
        "dmy_short": ("31-2-2026", "0-1-2026", "12-13-2025"),
        "dmy_slash": ("31/02/2026", "32/01/2026", "15/13/2025"),
        "iso": ("2026-02-30", "2025-13-01", "2026-00-10"),
    }[fmt]
    return rng.choice(choices + ("onbekend",))


# ---------------------------------------------------------------- rendering the extracts


def _render_postcode(rng: random.Random, postcode: str, formats: dict[str, int]) -> str:
    fmt = _pick(rng, formats)
    digits, letters = postcode[:4], postcode[4:]
    return {
        "compact": postcode,
        "spaced": f"{digits} {letters}",
        "lower": postcode.lower(),
        "spaced_lower": f"{digits} {letters.lower()}",
        "padded": f" {postcode} ",
    }[fmt]


def _pack_house_number(rng: random.Random, nr: int, letter: str, toev: str) -> str:
    """Letter and toevoeging typed into the huisnummer column, the ways people do it."""
    if letter and toev:
        return rng.choice((f"{nr}{letter}-{toev}", f"{nr}{letter.lower()}{toev}", f"{nr} {letter} {toev}"))
    if letter:
        lower = letter.lower()
        return rng.choice((f"{nr}{lower}", f"{nr}{letter}", f"{nr} {letter}", f"{nr}-{lower}"))
    if toev.isdigit():
        return rng.choice((f"{nr}-{toev}", f"{nr}/{toev}", f"{nr} - {toev}"))
    return rng.choice((f"{nr} {toev.lower()}", f"{nr}{toev.lower()}", f"{nr}-{toev}"))


def _render_code(rng: random.Random, code: str, formats: dict[str, int]) -> str:
    if not code.isdigit():
        return code
    fmt = _pick(rng, formats)
    if fmt == "stripped":
        return str(int(code))
    if fmt == "float":
        return f"{int(code)}.0"
    return code


def _render_date(value: date | None, fmt: str) -> str:
    if value is None:
        return ""
    return {
        "dmy": f"{value.day:02d}-{value.month:02d}-{value.year}",
        "dmy_short": f"{value.day}-{value.month}-{value.year}",
        "dmy_slash": f"{value.day:02d}/{value.month:02d}/{value.year}",
        "iso": value.isoformat(),
    }[fmt]


def _render(rng: random.Random, style: PartnerStyle, record: Record) -> list[str]:
    pc, nr, letter, toev = record.parts
    values: dict[str, str] = {"postcode": _render_postcode(rng, pc, style.postcode_formats)}
    if (letter or toev) and (not style.has_detail_columns or rng.random() < style.pack_share):
        values.update(huisnummer=_pack_house_number(rng, nr, letter, toev), huisletter="", toevoeging="")
    else:
        values.update(
            huisnummer=str(nr),
            huisletter=letter.lower() if letter and rng.random() < 0.3 else letter,
            toevoeging=toev.lower() if toev.isalpha() and rng.random() < 0.3 else toev,
        )
    values["voorziening"] = _render_code(rng, record.code, style.code_formats)
    fmt = _pick(rng, style.date_formats)
    values["begindatum"] = _render_date(record.begin, fmt)
    values["einddatum"] = _render_date(record.end, fmt)
    values.update(
        naam=record.person.naam,
        naam_omgekeerd=record.person.naam_omgekeerd,
        bsn=record.person.bsn,
        clientnummer=record.person.clientnummer,
        medewerker=rng.choice(STAFF),
        uren=f"{rng.randint(1, 12)},{rng.choice((0, 5))}",
        hulpmiddel=AIDS.get(record.code, "Overig hulpmiddel"),
        uitkering=f"{rng.randint(0, 2)}.{rng.randint(0, 999):03d},{rng.randint(0, 99):02d}".lstrip("0."),
        bedrag_periode=_render_amount(record.bedrag, AMOUNT_FORMATS.get(style.name, "")),
    )
    values.update(record.overrides)
    return [values[f] for _, f in style.columns]


def _deliveries(model: _Model) -> dict[str, Delivery]:
    rng = model.rng
    deliveries: dict[str, Delivery] = {}
    for style in PARTNERS:
        own = [r for r in model.records if r.partner == style.name]
        rng.shuffle(own)
        for record in own:
            record.cells = _render(rng, style, record)
        # Duplicates: the same line exported twice, somewhere later in the file.
        valid = [r for r in own if not r.invalid]
        for original in rng.sample(valid, max(2, round(0.008 * len(valid)))):
            copy = Record(original.partner, original.parts, original.adres_id, original.koppeling,
                          original.code, original.begin, original.end, original.person,
                          bedrag=original.bedrag, bedragen=dict(original.bedragen), duplicate_of=original,
                          cells=list(original.cells))
            position = rng.randint(own.index(original) + 1, len(own))
            own.insert(position, copy)
            model.records.append(copy)
        for line, record in enumerate(own, start=2):
            record.line = line
        header = [label for label, _ in style.columns]
        rows = [r.cells for r in own]
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=style.delimiter, lineterminator=style.line_end)
        writer.writerow(header)
        writer.writerows(rows)
        content = buffer.getvalue().encode(style.encoding)
        deliveries[style.name] = Delivery(style.name, style.domain, style.filename, style.encoding,
                                          style.delimiter, header, rows, content, _earlier(style, own))
    return deliveries


def _earlier(style: PartnerStyle, own: list[Record]) -> dict[str, bytes]:
    """The partner's extract for each earlier half-year: its lines with the amounts of that half-year."""
    if style.name not in AMOUNT_FORMATS:
        return {}
    column = [field for _, field in style.columns].index("bedrag_periode")
    extracts = {}
    for label in SERIES:
        if label == PERIOD_NAME:
            continue
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=style.delimiter, lineterminator=style.line_end)
        writer.writerow([label_ for label_, _ in style.columns])
        for record in own:
            cells = list(record.cells)
            if record.bedragen:  # a valid line: the amount of this half-year
                cells[column] = _render_amount(record.bedragen.get(label), AMOUNT_FORMATS[style.name])
            writer.writerow(cells)
        extracts[label] = buffer.getvalue().encode(style.encoding)
    return extracts


# ---------------------------------------------------------------- the whole sample


def generate(
    seed: int = DEFAULT_SEED,
    gemeentecode: str = DEFAULT_GEMEENTECODE,
    gemeentenaam: str = DEFAULT_GEMEENTENAAM,
    n_addresses: int = DEFAULT_ADDRESSES,
    n_wijken: int = DEFAULT_WIJKEN,
    n_buurten: int = DEFAULT_BUURTEN,
) -> Sample:
    """Build a fictional gemeente with its register, partner extracts and ground truth, in memory."""
    if not (len(gemeentecode) == 6 and gemeentecode.startswith("GM") and gemeentecode[2:].isdigit()):
        raise ValueError("gemeentecode must be GM followed by four digits")
    if not 5 <= n_wijken <= 99 or n_buurten < max(15, n_wijken * 2) or n_buurten > n_wijken * 99:
        raise ValueError("need 5..99 wijken and at least 15 buurten, two or more per wijk")
    if n_addresses < 60 * n_buurten:
        raise ValueError("need at least 60 addresses per buurt")
    stage = f"{seed}:{gemeentecode}"
    wijken = _build_areas(random.Random(f"{stage}:gebieden"), gemeentecode, n_wijken, n_buurten)
    _buurt_sizes(random.Random(f"{stage}:omvang"), wijken, n_addresses)
    all_buurten = [b for w in wijken for b in w.buurten]
    for position, buurt in enumerate(all_buurten):  # three wijkteams, cutting across wijk borders
        buurt.team = position * len(TEAMS) // len(all_buurten)
    register, used_pc4 = _build_register(random.Random(f"{stage}:adressen"), gemeentecode, wijken)
    wijk_of_buurt = {b.code: (b.factor, w) for w in wijken for b in w.buurten}
    pand_members: dict[tuple[str, int], list[Address]] = {}
    for address in register:
        pand_members.setdefault(address.pand, []).append(address)
    low, high = min(used_pc4), max(used_pc4)
    outside = [pc4 for pc4 in (low - 30, low - 20, high + 25, high + 40) if 1000 <= pc4 <= 9999]
    model = _Model(random.Random(f"{stage}:cliënten"), register, wijk_of_buurt, pand_members, outside)
    _household_records(model)
    # A separate stream: kenmerken follow the households' help without changing any record.
    kenmerk_rng = random.Random(f"{stage}:kenmerken")
    kenmerken = {a.adres_id: _household_kenmerken(kenmerk_rng, model.domains_of.get(a.adres_id, ()))
                 for a in register}
    _unlinked_records(model)
    _invalid_records(model)
    _amounts(stage, model.records)
    deliveries = _deliveries(model)
    parameters = {
        "seed": seed, "gemeentecode": gemeentecode, "gemeentenaam": gemeentenaam, "adressen": n_addresses,
        "wijken": n_wijken, "buurten": n_buurten, "periode": PERIOD_NAME,
        "periode_begin": PERIOD_START.isoformat(), "periode_eind": PERIOD_END.isoformat(),
        "reeks": list(SERIES),
    }
    return Sample(parameters, gemeentecode, gemeentenaam, wijken, register, model.records, deliveries,
                  kenmerken)


def _geojson(sample: Sample) -> tuple[dict, dict]:
    """Wijken as a grid of rectangles, buurten as vertical strips of their wijk (WGS84, fictional place)."""
    n = len(sample.wijken)
    cols = math.ceil(math.sqrt(n))
    width, height, west, north = 0.025, 0.016, 5.30, 52.20
    wijk_features, buurt_features = [], []

    def ring(x0: float, y0: float, x1: float, y1: float) -> list[list[list[float]]]:
        corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
        return [[[round(x, 5), round(y, 5)] for x, y in corners]]

    for wijk in sample.wijken:
        row, col = divmod(wijk.index, cols)
        x0, y1 = west + col * width, north - row * height
        x1, y0 = x0 + width, y1 - height
        wijk_features.append({
            "type": "Feature",
            "properties": {"wijkcode": wijk.code, "wijknaam": wijk.naam},
            "geometry": {"type": "Polygon", "coordinates": ring(x0, y0, x1, y1)},
        })
        step = width / len(wijk.buurten)
        for j, buurt in enumerate(wijk.buurten):
            buurt_features.append({
                "type": "Feature",
                "properties": {"buurtcode": buurt.code, "buurtnaam": buurt.naam, "wijkcode": wijk.code},
                "geometry": {
                    "type": "Polygon", "coordinates": ring(x0 + j * step, y0, x0 + (j + 1) * step, y1),
                },
            })
    return (
        {"type": "FeatureCollection", "features": wijk_features},
        {"type": "FeatureCollection", "features": buurt_features},
    )


def _turn(previous: tuple[int, int], point: tuple[int, int], following: tuple[int, int]) -> int:
    """0 for a left turn, 1 straight on, 2 for a right turn."""
    cross = ((point[0] - previous[0]) * (following[1] - point[1])
             - (point[1] - previous[1]) * (following[0] - point[0]))
    return 0 if cross > 0 else 1 if cross == 0 else 2


def _outline(covered: set[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """The closed outlines of a set of grid cells, as rings of grid points with the cells on their left
    (outer rings counter-clockwise, holes clockwise); where two cells touch at a corner, rings stay apart."""
    edges: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for i, j in covered:
        sides = (((i, j - 1), (i, j), (i + 1, j)), ((i + 1, j), (i + 1, j), (i + 1, j + 1)),
                 ((i, j + 1), (i + 1, j + 1), (i, j + 1)), ((i - 1, j), (i, j + 1), (i, j)))
        for outside, start, end in sides:  # bottom, right, top, left: the side's neighbour and its ends
            if outside not in covered:
                edges.setdefault(start, []).append(end)
    rings = []
    while edges:
        start = point = min(edges)  # the lowest left point: one edge leaves it
        previous, first = None, edges[start][0]
        ring = []
        while True:
            options = edges[point]
            following = (first if previous is None
                         else min(options, key=lambda o, p=previous, q=point: _turn(p, q, o)))
            options.remove(following)
            if not options:
                del edges[point]
            if previous is not None and _turn(previous, point, following) != 1:
                ring.append(point)
            previous, point = point, following
            if point == start:
                break
        if _turn(previous, start, first) != 1:  # the start is a corner unless the outline runs straight on
            ring.insert(0, start)
        rings.append(ring)
    return rings


def _dissolve(rectangles: list[tuple[float, float, float, float]]) -> dict:
    """The union of axis-parallel rectangles (x0, y0, x1, y1) as a GeoJSON Polygon or MultiPolygon."""
    xs = sorted({x for r in rectangles for x in (r[0], r[2])})
    ys = sorted({y for r in rectangles for y in (r[1], r[3])})
    covered = {(i, j) for i in range(len(xs) - 1) for j in range(len(ys) - 1)
               if any(r[0] <= xs[i] and xs[i + 1] <= r[2] and r[1] <= ys[j] and ys[j + 1] <= r[3]
                      for r in rectangles)}
    polygons: list[list[list[list[float]]]] = []
    holes = []
    for ring in _outline(covered):
        coordinates = [[xs[i], ys[j]] for i, j in [*ring, ring[0]]]
        area = sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(coordinates, coordinates[1:], strict=False))
        (polygons.append([coordinates]) if area > 0 else holes.append(coordinates))
    for hole in holes:  # into the outer ring around it (none in the sample: its teams are runs of strips)
        x, y = hole[0]
        for polygon in polygons:
            ring = polygon[0]
            crossings = sum((a[1] > y) != (b[1] > y) and x < a[0] + (y - a[1]) * (b[0] - a[0]) / (b[1] - a[1])
                            for a, b in zip(ring, ring[1:], strict=False))
            if crossings % 2:
                polygon.append(hole)
                break
    if len(polygons) == 1:
        return {"type": "Polygon", "coordinates": polygons[0]}
    return {"type": "MultiPolygon", "coordinates": polygons}


def _wijkteam_geojson(sample: Sample, buurten: dict) -> dict:
    """The wijkteams (the own division of gebieden.csv) as the union of their buurten's rectangles."""
    boxes = {}
    for feature in buurten["features"]:
        ring = feature["geometry"]["coordinates"][0]
        xs, ys = [p[0] for p in ring], [p[1] for p in ring]
        boxes[feature["properties"]["buurtcode"]] = (min(xs), min(ys), max(xs), max(ys))
    features = []
    for team, naam in enumerate(TEAMS):
        members = [boxes[b.code] for w in sample.wijken for b in w.buurten if b.team == team]
        if members:
            features.append({
                "type": "Feature",
                "properties": {"gebied_wijkteam": f"WT{team + 1:02d}", "gebied_wijkteam_naam": naam},
                "geometry": _dissolve(members),
            })
    return {"type": "FeatureCollection", "features": features}


def _write_csv(path: Path, header: list[str], rows: list[dict[str, str]] | list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([row[h] for h in header] if isinstance(row, dict) else row)


def write_sample(sample: Sample, out: Path) -> None:
    """Write the register, areas, maps, extracts, truth and README into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "leveringen").mkdir(exist_ok=True)
    (out / "waarheid").mkdir(exist_ok=True)
    register = sample.register_rows()
    register_columns = ["postcode", "huisnummer", "huisletter", "huisnummertoevoeging", "buurtcode",
                        "huishoudens"]
    _write_csv(out / "adressen.csv", register_columns, register)
    # The same register with the kenmerken (§9): a separate file, because protecting every group of
    # three kenmerken takes far longer than the demo may.
    _write_csv(out / "adressen_kenmerken.csv", [*register_columns, *(f"kenmerk_{k}" for k in KENMERKEN)],
               register)
    _write_csv(out / "gebieden.csv", ["code", "naam", "gebied_wijkteam", "gebied_wijkteam_naam"],
               sample.area_rows())
    wijken, buurten = _geojson(sample)
    (out / "wijken.geojson").write_text(json.dumps(wijken, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "buurten.geojson").write_text(json.dumps(buurten, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "wijkteam.geojson").write_text(json.dumps(_wijkteam_geojson(sample, buurten), ensure_ascii=False)
                                          + "\n", encoding="utf-8")
    for delivery in sample.deliveries.values():
        (out / "leveringen" / delivery.filename).write_bytes(delivery.content)
        for label, content in delivery.earlier.items():  # the extracts with amounts of earlier half-years
            (out / "leveringen_reeks" / label).mkdir(parents=True, exist_ok=True)
            (out / "leveringen_reeks" / label / delivery.filename).write_bytes(content)
    # The kenmerken stay in adressen_kenmerken.csv only (same order as adres_id): the sample must stay small.
    truth_columns = [c for c in register[0] if not c.startswith("kenmerk_")]
    _write_csv(out / "waarheid" / "register.csv", truth_columns, register)
    truth = sample.truth_rows()
    _write_csv(out / "waarheid" / "records.csv", list(truth[0]), truth)
    wijk_rows = [{"wijkcode": w.code, "wijknaam": w.naam, "profiel": w.profile,
                  "jeugdteam": "noord" if w.noord else "zuid"} for w in sample.wijken]
    _write_csv(out / "waarheid" / "wijken.csv", list(wijk_rows[0]), wijk_rows)
    (out / "waarheid" / "parameters.json").write_text(
        json.dumps(sample.parameters, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    (out / "README.md").write_text(_readme(sample), encoding="utf-8")


def _readme(sample: Sample) -> str:
    """The sample's README.md: what it is, its files, the deliveries, the story in the numbers, the truth."""
    return "\n".join((
        _readme_intro(sample),
        _README_FILES,
        _readme_deliveries(sample),
        _readme_story(sample),
        _README_KENMERKEN,
        _README_TRUTH,
    ))


def _readme_intro(sample: Sample) -> str:
    """Title, what the sample is, how to make it again, and its parameters."""
    p = sample.parameters
    households = sum(a.huishoudens for a in sample.register)
    return f"""# Voorbeeldgemeente {p['gemeentenaam']} ({p['gemeentecode']})

Een verzonnen gemeente om Factlab mee te laten zien en te testen. Niets hierin gaat over echte mensen:
adressen, namen en BSN's zijn gegenereerd (de BSN's liggen in de testreeks 999…). Alles wordt gemaakt door
`generate.py` (alleen de standaardbibliotheek van Python, zonder Factlab-code), deterministisch per seed:

    python data/sample/generate.py --out data/sample --seed {p['seed']}

Parameters: seed {p['seed']}, {p['adressen']} adressen ({households} huishoudens), {p['wijken']} wijken,
{p['buurten']} buurten. Bedoeld voor periode **{p['periode']}** ({p['periode_begin']} t/m
{p['periode_eind']}); de voorzieningen lopen van 2022 tot 2027, dus filteren op periode doet ertoe (ook op
de randen: einddatum 2026-01-01 telt mee, begindatum 2026-07-01 niet).
"""


_README_FILES = """\
## Bestanden

| bestand | inhoud |
| --- | --- |
| `adressen.csv` | adresregister (docs/contract.md §6), met de kolom `huishoudens` |
| `adressen_kenmerken.csv` | hetzelfde register met de kenmerken van §9 (zie onder) |
| `gebieden.csv` | `code;naam` van de gemeente, wijken (WK + 6) en buurten (BU + 8, met hun wijkteam) |
| `wijken.geojson` | rechthoeken per wijk voor de kaart (eigenschappen `wijkcode`, `wijknaam`) |
| `buurten.geojson` | rechthoeken per buurt (eigenschappen `buurtcode`, `buurtnaam`, `wijkcode`) |
| `wijkteam.geojson` | de wijkteams: hun buurten samengevoegd (eigenschap `gebied_wijkteam`) |
| `leveringen/*.csv` | ruwe extracten van de partners, zoals ze vóór pseudonimisering uit Excel komen |
| `leveringen_reeks/<halfjaar>/` | extracten met bedragen, met de bedragen van een eerder halfjaar |
| `waarheid/` | de grondwaarheid uit het model van de generator (zie onder) |
"""


def _readme_deliveries(sample: Sample) -> str:
    """One table row per partner extract, then what is messy in them on purpose."""
    partner_lines = []
    for style in PARTNERS:
        d = sample.deliveries[style.name]
        n = len(d.rows)
        enc = ENCODING_NAMES[style.encoding]
        partner_lines.append(
            f"| `{style.filename}` | {style.domain} | {n} | `{style.delimiter}`, {enc}, "
            f"datums als {', '.join(DATE_EXAMPLES[f] for f in style.date_formats)} |"
        )
    partners = "\n".join(partner_lines)
    return f"""## Leveringen

| bestand | domein | regels | vorm |
| --- | --- | --- | --- |
{partners}

""" + _README_DELIVERY_NOTES


_README_DELIVERY_NOTES = """\
Zoals mensen exporteren: `;` en `,` als scheidingsteken, Windows-1252 en UTF-8 met en zonder BOM, datums
als `31-01-2026`, `1-2-2026`, `2026-01-31` en `31/01/2026`, voorzieningscodes zonder voorloopnul (`1`) of
als getal (`2.0`, `45.0`), postcodes als `1234 ab`, huisnummers als `12a`, `12-2`, `12 bis` of `12 A` met
lege kolommen huisletter/toevoeging (of zonder die kolommen), de kolom `Toevoeging` in plaats van
`huisnummertoevoeging`, kopregels in hoofdletters of met spaties, en extra kolommen (`naam`, `bsn`,
`clientnummer`, …) die Factlab nooit mag overnemen.

Elke levering bevat ook:
- ongeldige regels (postcode als `12345` of met SA/SS, onbekende voorzieningscode, onmogelijke datum,
  einddatum vóór begindatum, onleesbaar huisnummer; één regel met twee fouten), die afgewezen moeten worden;
- cliënten buiten de gemeente (postcode niet in het register) en adressen die het register niet kent:
  niet te koppelen;
- adressen die niet precies in het register staan, maar waarvan het pand (postcode + huisnummer) precies één
  adres in het register heeft: die koppelen op pand (docs/contract.md §7);
- voorzieningen die vóór de periode eindigden of erna beginnen (en huishoudens die alleen in de eerdere
  halfjaren hulp hadden);
- dubbele regels (dezelfde regel twee keer geëxporteerd).

Vier partners (jeugdteam noord, jeugd-GGZ, Wmo Zorgkracht, Werk en inkomen) leveren een kolom `Bedrag`: de
euro's die in de periode aan de regel besteed zijn, elk in de notatie van hun spreadsheet (`1.234,56`,
`1234.56`, `1234,56`), soms leeg (onbekend). Jeugdhulp met verblijf kost per dag veel meer dan ambulante
hulp; bijstand gaat per maand. De andere drie partners leveren geen bedragen (docs/contract.md §12).
Een bedrag hoort bij een periode: voor elk eerder halfjaar van de reeks leveren deze vier partners hun
extract nog eens, met dezelfde regels en de bedragen van dat halfjaar (tarieven ongeveer 2% per halfjaar
lager), in `leveringen_reeks/<halfjaar>/`; `factlab demo` rekent elk halfjaar met die extracten.

Jeugdhulp staat op het adres van de ouder met gezag, zoals de CBS-monitor dat doet. Jeugdteam noord
werkt in de noordelijke wijken, jeugdteam zuid (met nog oude productcategorieën 31-38) in de zuidelijke.
"""


def _readme_story(sample: Sample) -> str:
    """Which wijken have high and low stapeling and which buurten are small."""
    high = ", ".join(f"{w.naam} ({w.code})" for w in sample.wijken if w.profile == "hoog")
    low = ", ".join(f"{w.naam} ({w.code})" for w in sample.wijken if w.profile == "laag")
    small = ", ".join(f"{b.naam} ({b.code})" for w in sample.wijken for b in w.buurten if b.small)
    return f"""## Het verhaal in de cijfers

Ongeveer 8-15% van de huishoudens heeft een voorziening en 1,5-3% heeft voorzieningen in twee of meer
domeinen, zoals in de CBS-monitor. Stapeling is duidelijk hoger in {high}; lager in {low}.
Kleine buurten (minder dan 50 huishoudens, alleen het aantal huishoudens mag naar buiten): {small}.
"""


_README_KENMERKEN = """\
## Kenmerken en wijkteams (docs/contract.md §9)

`adressen_kenmerken.csv` is het register met de kolommen die de sleutelbeheerder uit de BRP toevoegt
(een apart bestand: de demo gebruikt `adressen.csv`, want elke groep beveiligen kost veel rekentijd):
`kenmerk_huishoudtype`
(`eenpersoons`, `paar_zonder_kinderen`, `paar_met_kinderen`, `eenouder`, `overig`; ongeveer de verdeling
van CBS: 39, 28, 24, 7,5 en 1,5%), `kenmerk_leeftijd` (leeftijdsklasse van de oudste bewoner: `18-26`,
`27-44`, `45-64`, `65-74`, `75+`, per huishoudtype verdeeld) en `kenmerk_inkomen` (`laag`, `midden`, `hoog`).
Ongeveer 1% van de rijen heeft per kenmerk geen waarde (telt als `onbekend`). De kenmerken volgen de hulp
van het huishouden: jeugdhulp hoort bij huishoudens met kinderen, Wmo bij ouderen, werk en inkomen bij een
laag inkomen, en samenloop komt het vaakst voor bij eenoudergezinnen en huishoudens met een laag inkomen.
De kenmerken komen uit een eigen toevalsstroom: ze veranderen niets aan de leveringen.

`gebieden.csv` deelt de buurten in drie wijkteams in (`gebied_wijkteam`: `WT01`..`WT03`, met
`gebied_wijkteam_naam`), dwars door de wijkgrenzen heen; Factlab publiceert ze als `niveau=wijkteam`.
`wijkteam.geojson` is hun kaart (de buurten per wijkteam samengevoegd), voor
`factlab run ... --kaart-indeling wijkteam=wijkteam.geojson`.

"""

_README_TRUTH = """\
## Grondwaarheid (`waarheid/`)

Door de generator uit zijn eigen model geschreven, niet door de extracten te lezen:
- `register.csv`: het register met `adres_id` (volgnummer in `adressen.csv`), `buurtcode` en `huishoudens`
  (de kenmerken staan alleen in `adressen_kenmerken.csv`, in dezelfde volgorde);
- `records.csv`: één rij per regel van elk extract: `partner`, `regel` (kopregel = 1), `adres_id` waarop
  de regel hoort te koppelen (leeg: niet te koppelen), `koppeling` (`adres`, `pand` of `geen`), `canoniek`
  adres, `voorziening` (canonieke code), `domein`, `begindatum`, `einddatum`, `ongeldig` (`ja` = moet
  afgewezen worden), `reden`, `duplicaat_van` (regel waarvan dit een kopie is), `bedrag` (eurocent in
  de periode, leeg = geen bedrag) en `bedrag_<halfjaar>` (eurocent in elk halfjaar van de reeks);
- `wijken.csv`: het profiel per wijk (hoog, gemiddeld, laag) en het jeugdteam;
- `parameters.json`: de parameters van deze generatie.

`tests/truth.py` rekent daaruit de ware aantallen per gebied en indicator uit; de end-to-end-test legt de
uitvoer van `factlab run` daarnaast.

## Vier halfjaren

Dezelfde leveringen beschrijven de gemeente over vier halfjaren: **2024H2, 2025H1, 2025H2 en 2026H1** (een
partner levert zijn hele bestand, met begin- en einddatums). Huishoudens komen erbij (begindatums verspreid
over 2022 tot en met 2026H1) en vallen af: een deel van de huishoudens had hulp die tussen 2024-07-01 en
2025-12-31 afliep, en telt dus alleen in de eerdere halfjaren. Samenloop duurt vaak lang: veel huishoudens
met hulp uit twee of meer domeinen hebben die al sinds 2022-2024 en zonder einddatum. `factlab demo`
draait de eerdere halfjaren eerst (zonder pdf, naast de uitvoermap, in `<uitvoer>-reeks/<periode>/`) en
toont de hele reeks in het rapport van 2026H1 (hoofdstuk "Ontwikkeling", docs/contract.md §10).
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Maak de verzonnen voorbeeldgemeente met grondwaarheid.")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent, help="uitvoermap")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--gemeentecode", default=DEFAULT_GEMEENTECODE, help="GM + 4 cijfers")
    parser.add_argument("--gemeentenaam", default=DEFAULT_GEMEENTENAAM)
    parser.add_argument("--adressen", type=int, default=DEFAULT_ADDRESSES, help="aantal adressen")
    parser.add_argument("--wijken", type=int, default=DEFAULT_WIJKEN)
    parser.add_argument("--buurten", type=int, default=DEFAULT_BUURTEN)
    args = parser.parse_args(argv)
    try:
        sample = generate(
            args.seed, args.gemeentecode, args.gemeentenaam, args.adressen, args.wijken, args.buurten
        )
    except ValueError as exc:
        parser.error(str(exc))
    write_sample(sample, args.out)
    print(f"{sample.gemeentenaam}: {len(sample.register)} adressen, {len(sample.records)} regels in "
          f"{len(sample.deliveries)} leveringen, geschreven naar {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
