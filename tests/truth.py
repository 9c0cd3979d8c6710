"""The expected true figures of a generated sample, computed independently of the Factlab code.

Input is the generator's own truth (in memory, or `waarheid/` on disk): the register with address ids
and one row per extract line with the address it belongs to. Plain pandas, no project imports, so the
end-to-end test can hold the pipeline's output against it.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

DOMAINS = ("jeugd", "wmo", "werk_inkomen")
LEVELS = ("gemeente", "wijk", "buurt")

_COMBINATIONS = (
    ("jeugd", "wmo"),
    ("jeugd", "werk_inkomen"),
    ("wmo", "werk_inkomen"),
    ("jeugd", "wmo", "werk_inkomen"),
)
INDICATORS: tuple[str, ...] = (
    "huishoudens",
    "met_voorziening",
    *(f"domein:{d}" for d in DOMAINS),
    *(f"alleen:{d}" for d in DOMAINS),
    *("combinatie:" + "+".join(c) for c in _COMBINATIONS),
    "domeinen:2+",
    "voorzieningen:1",
    "voorzieningen:2",
    "voorzieningen:3",
    "voorzieningen:4+",
    "organisaties:1",
    "organisaties:2",
    "organisaties:3+",
)
"""The indicators of docs/contract.md §7, spelled out here on purpose rather than imported."""

_EXCLUSIVE = (*(f"alleen:{d}" for d in DOMAINS), *("combinatie:" + "+".join(c) for c in _COMBINATIONS))
V2_INDICATORS: tuple[str, ...] = (
    "domeinen:1",
    "domeinen:2",
    "domeinen:3",
    *(f"{c}&voorzieningen:{k}" for c in _EXCLUSIVE for k in ("1", "2", "3", "4+")),
    "instroom:met_voorziening",
    "instroom:domeinen:2+",
    "uitstroom:met_voorziening",
    "samenloop_duur:0-1",
    "samenloop_duur:1-2",
    "samenloop_duur:2+",
)
"""The fixed indicators contract v2 adds (§10, §11, §12); `voorziening:<code>` comes per delivered code."""

QUALITY_COLUMNS = ("records", "records_in_periode", "gekoppeld_adres", "gekoppeld_alternatief",
                   "gekoppeld_pand", "niet_gekoppeld", "records_met_bedrag")
"""kwaliteit.csv after partner and key_id (docs/contract.md §7; v2 added `gekoppeld_alternatief` and, last,
`records_met_bedrag` of §12)."""
COST_INDICATORS: tuple[str, ...] = (
    "met_voorziening",
    "domeinen:2+",
    *(f"alleen:{d}" for d in DOMAINS),
    *("combinatie:" + "+".join(c) for c in _COMBINATIONS),
    "domeinen:1",
    "domeinen:2",
    "domeinen:3",
)
"""The indicators of kosten.csv (docs/contract.md §12)."""
LINK_KINDS = {"adres": "gekoppeld_adres", "alternatief": "gekoppeld_alternatief", "pand": "gekoppeld_pand",
              "geen": "niet_gekoppeld"}
"""The generator's `koppeling` of a record and the kwaliteit.csv column that counts it."""


# docs/contract.md §3 step 2, copied from the contract text.
HOUSE_NUMBER_SPLIT = re.compile(
    r"^(?P<nr>[0-9]{1,5})[\s\-/.]*(?P<letter>[A-Z](?![A-Z]))?[\s\-/.]*(?P<toev>[0-9A-Z]{1,4})?$"
)


def contract_reading(postcode: str, huisnummer: str, huisletter: str = "",
                     toevoeging: str = "") -> tuple[str, str, str | None] | None:
    """(canonical, pand, alternative) by the words of docs/contract.md §3 steps 1-5 and 8; None if invalid.

    `alternative` is the reading of step 8 (the letter of a free-form house number with no toevoeging after
    it, read as toevoeging), None when there is none. Meant for ASCII input, where `upper()` is the
    contract's upper case.
    """
    postcode = re.sub(r"\s+", "", postcode).upper()
    if not re.fullmatch(r"[1-9][0-9]{3}[A-Z]{2}", postcode) or postcode[4:] in ("SA", "SD", "SS"):
        return None
    number, letter = huisnummer.strip().upper(), huisletter.strip().upper()
    toev = re.sub(r"[^0-9A-Z]", "", toevoeging.upper())
    alternative = False
    if not letter and not toev and not re.fullmatch(r"[0-9]+", number):
        match = HOUSE_NUMBER_SPLIT.match(number)
        if match is None:
            return None
        number, letter, toev = match["nr"], match["letter"] or "", match["toev"] or ""
        alternative = bool(letter) and not toev
    if not re.fullmatch(r"[0-9]+", number) or not 1 <= int(number) <= 99999:
        return None
    if not re.fullmatch(r"[A-Z]?", letter) or len(toev) > 4:
        return None
    pand = f"{postcode}|{int(number)}"
    return f"{pand}|{letter}|{toev}", pand, f"{pand}||{letter}" if alternative else None


def expected_link(canonical: str, alternative: str | None,
                  register: dict[str, int]) -> tuple[str, int | None]:
    """docs/contract.md §7 (v2) for one record, written out in plain Python: (koppeling, adres_id).

    `register` maps the canonical string of every register address to its adres_id. The address links
    first; then the alternative reading of §3 step 8 (`1011AB|107||H` for a typed `107-H`) if exactly
    one register address has it; then the pand (`postcode|huisnummer`) if exactly one register address
    is in it; otherwise nothing.
    """
    if canonical in register:
        return "adres", register[canonical]
    if alternative is not None and alternative in register:  # canonical strings are unique in a register
        return "alternatief", register[alternative]
    pand = canonical.rsplit("|", 2)[0]
    in_pand = [adres_id for address, adres_id in register.items() if address.rsplit("|", 2)[0] == pand]
    return ("pand", in_pand[0]) if len(in_pand) == 1 else ("geen", None)


@dataclass(frozen=True)
class Truth:
    register: pd.DataFrame
    """adres_id (int), buurtcode, wijkcode, gemeentecode, huishoudens (int)."""
    records: pd.DataFrame
    """partner, regel (int), adres_id (Int64, <NA> = must not link), koppeling, canoniek, voorziening, domein,
    begindatum, einddatum (Timestamp or NaT), ongeldig (bool), reden, duplicaat_van."""
    areas: pd.DataFrame
    """code, naam."""


def truth_from_rows(
    register_rows: list[dict[str, str]], record_rows: list[dict[str, str]], area_rows: list[dict[str, str]]
) -> Truth:
    """Build the truth from rows of strings, as the generator holds them in memory or writes them.

    Register columns kenmerk_<naam> (contract §9) are kept, empty as `onbekend`; so are the area rows'
    gebied_<naam> columns (own divisions).
    """
    register = pd.DataFrame(register_rows, dtype=str)
    kenmerken = {c: register[c].fillna("").str.strip().replace("", "onbekend")
                 for c in register.columns if c.startswith("kenmerk_")}
    register = pd.DataFrame(
        {
            "adres_id": register["adres_id"].astype(int),
            "buurtcode": register["buurtcode"],
            "wijkcode": "WK" + register["buurtcode"].str[2:8],
            "gemeentecode": "GM" + register["buurtcode"].str[2:6],
            "huishoudens": register["huishoudens"].astype(int),
            **kenmerken,
        }
    )
    records = pd.DataFrame(record_rows, dtype=str)
    records = records.assign(
        regel=records["regel"].astype(int),
        adres_id=pd.to_numeric(records["adres_id"].replace("", None)).astype("Int64"),
        begindatum=pd.to_datetime(records["begindatum"].replace("", None), format="%Y-%m-%d"),
        einddatum=pd.to_datetime(records["einddatum"].replace("", None), format="%Y-%m-%d"),
        ongeldig=records["ongeldig"].map({"ja": True, "nee": False}).astype(bool),
        # eurocent spent in the period (§12); <NA> = no amount (a truth written before amounts: none); and
        # per half-year of the series (bedrag_<halfjaar>), as the extracts of that half-year deliver them
        **{column: pd.to_numeric(records[column].replace("", None) if column in records else pd.Series(
            None, index=records.index, dtype="object")).astype("Int64")
           for column in ["bedrag", *(c for c in records.columns if c.startswith("bedrag_"))]},
    )
    areas = pd.DataFrame(area_rows, dtype=str).fillna("")
    return Truth(register, records, areas)


def _read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def load_truth(folder: Path) -> Truth:
    """The truth a generator wrote into `folder` (`waarheid/`, `gebieden.csv`, and the kenmerken from
    `adressen_kenmerken.csv`, whose lines are the register's addresses in adres_id order)."""
    register = _read_rows(folder / "waarheid" / "register.csv")
    with_kenmerken = folder / "adressen_kenmerken.csv"
    addresses = _read_rows(with_kenmerken) if with_kenmerken.is_file() else []
    if len(addresses) == len(register):
        for row, address in zip(register, addresses, strict=True):
            row.update({k: v for k, v in address.items() if k.startswith("kenmerk_")})
    return truth_from_rows(register, _read_rows(folder / "waarheid" / "records.csv"),
                           _read_rows(folder / "gebieden.csv"))


def period_bounds(period: str) -> tuple[date, date]:
    """First and last day of a period as docs/contract.md §6 writes it: 2026, 2026H1, 2026Q3 or 2026-06-30."""
    if m := re.fullmatch(r"(\d{4})", period):
        year = int(m[1])
        return date(year, 1, 1), date(year, 12, 31)
    if m := re.fullmatch(r"(\d{4})H([12])", period):
        year, half = int(m[1]), int(m[2])
        return (date(year, 1, 1), date(year, 6, 30)) if half == 1 else (date(year, 7, 1), date(year, 12, 31))
    if m := re.fullmatch(r"(\d{4})Q([1-4])", period):
        year, quarter = int(m[1]), int(m[2])
        last = date(year, 12, 31) if quarter == 4 else date(year, 3 * quarter + 1, 1) - timedelta(days=1)
        return date(year, 3 * quarter - 2, 1), last
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", period):
        day = date.fromisoformat(period)
        return day, day
    raise ValueError(f"unknown period {period!r}")


def valid_records_in_period(records: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """Valid records that count in the period: begindatum <= end and (no einddatum or einddatum >= start)."""
    valid = records[~records["ongeldig"]]
    in_period = (valid["begindatum"] <= pd.Timestamp(end)) & (
        valid["einddatum"].isna() | (valid["einddatum"] >= pd.Timestamp(start))
    )
    return valid[in_period]


def household_profiles(truth: Truth, start: date, end: date) -> pd.DataFrame:
    """One row per linked household with a voorziening in the period.

    Columns: adres_id, domeinen (frozenset), voorzieningen (distinct codes), organisaties (distinct partners),
    codes (frozenset of voorziening codes), eerste_begin (earliest begindatum), samenloop_begin (second
    earliest of the earliest begindatum per domain, NaT with one domain), alles_beeindigd (latest
    einddatum when every record has one, else NaT), buurtcode, wijkcode, gemeentecode.
    """
    counted = valid_records_in_period(truth.records, start, end)
    counted = counted[counted["adres_id"].notna()]
    flags = (
        pd.crosstab(counted["adres_id"], counted["domein"]).reindex(columns=list(DOMAINS), fill_value=0) > 0
    )
    grouped = counted.groupby("adres_id")
    profiles = pd.DataFrame(
        {
            "adres_id": flags.index.astype(int),
            "domeinen": [
                frozenset(d for d, has in zip(DOMAINS, row, strict=True) if has) for row in flags.to_numpy()
            ],
            "voorzieningen": grouped["voorziening"].nunique().reindex(flags.index).to_numpy(),
            "organisaties": grouped["partner"].nunique().reindex(flags.index).to_numpy(),
        }
    )
    codes = grouped["voorziening"].agg(frozenset)
    first = grouped["begindatum"].min()
    domain_starts = counted.groupby(["adres_id", "domein"])["begindatum"].min()
    second = domain_starts.groupby(level="adres_id").agg(
        lambda s: sorted(s)[1] if len(s) >= 2 else pd.NaT
    )
    open_records = grouped["einddatum"].agg(lambda s: s.isna().any())
    last_end = grouped["einddatum"].max().where(~open_records)
    profiles = profiles.assign(
        codes=codes.reindex(flags.index).to_numpy(),
        eerste_begin=first.reindex(flags.index).to_numpy(),
        samenloop_begin=pd.to_datetime(second.reindex(flags.index)).to_numpy(),
        alles_beeindigd=pd.to_datetime(last_end.reindex(flags.index)).to_numpy(),
    )
    missing = set(profiles["adres_id"]) - set(truth.register["adres_id"])
    if missing:
        raise ValueError(f"{len(missing)} records link to addresses that are not in the register")
    return profiles.merge(truth.register.drop(columns="huishoudens"), on="adres_id", how="left")


def household_indicators(domains: frozenset[str], n_services: int, n_partners: int) -> list[str]:
    """The indicators (other than `huishoudens`) one household with a voorziening counts in."""
    names = ["met_voorziening"]
    names += [f"domein:{d}" for d in DOMAINS if d in domains]
    ordered = tuple(d for d in DOMAINS if d in domains)
    names.append(f"alleen:{ordered[0]}" if len(ordered) == 1 else "combinatie:" + "+".join(ordered))
    if len(ordered) >= 2:
        names.append("domeinen:2+")
    names.append(f"voorzieningen:{n_services}" if n_services < 4 else "voorzieningen:4+")
    names.append(f"organisaties:{n_partners}" if n_partners < 3 else "organisaties:3+")
    return names


def household_v2_indicators(profile, start: date, end: date) -> list[str]:
    """The v2 indicators (§10-§12) one household with a voorziening counts in, from its profile row."""
    ordered = tuple(d for d in DOMAINS if d in profile.domeinen)
    combination = f"alleen:{ordered[0]}" if len(ordered) == 1 else "combinatie:" + "+".join(ordered)
    n = int(profile.voorzieningen)
    names = [f"domeinen:{len(ordered)}", f"{combination}&voorzieningen:{n if n < 4 else '4+'}"]
    names += [f"voorziening:{code}" for code in sorted(profile.codes)]
    if profile.eerste_begin >= pd.Timestamp(start):
        names.append("instroom:met_voorziening")
    if not pd.isna(profile.alles_beeindigd) and profile.alles_beeindigd <= pd.Timestamp(end):
        names.append("uitstroom:met_voorziening")
    if not pd.isna(profile.samenloop_begin):
        if profile.samenloop_begin >= pd.Timestamp(start):
            names.append("instroom:domeinen:2+")
        days = (pd.Timestamp(end) - profile.samenloop_begin).days
        names.append("samenloop_duur:" + ("0-1" if days < 365 else "1-2" if days < 730 else "2+"))
    return names


def _area_column(truth: Truth, level: str) -> tuple[str, pd.DataFrame]:
    """The register column holding each address's area of `level`, and the register with it."""
    if level in LEVELS:
        return {"gemeente": "gemeentecode", "wijk": "wijkcode", "buurt": "buurtcode"}[level], truth.register
    column = f"gebied_{level}"
    if column not in truth.areas.columns:
        raise ValueError(f"unknown level {level!r}")
    mapping = dict(zip(truth.areas["code"], truth.areas[column], strict=True))
    return column, truth.register.assign(**{column: truth.register["buurtcode"].map(mapping)})


def group_values(truth: Truth) -> list[str]:
    """Every group of contract §9 as samenloop.csv writes it: `<naam>=<waarde>`."""
    return [f"{c[len('kenmerk_'):]}={v}" for c in truth.register.columns if c.startswith("kenmerk_")
            for v in sorted(truth.register[c].unique())]


def expected_counts(truth: Truth, start: date, end: date, level: str, group: str = "") -> pd.DataFrame:
    """The true count of every indicator for every area of a level (own divisions too) that has register
    addresses, for all households (group "") or the households of one kenmerk value (`huishoudtype=eenouder`).

    Columns: gebiedscode, gebiedsnaam, niveau, groep, indicator, aantal; one row per area and indicator.
    """
    column, register = _area_column(truth, level)
    areas = register[column].unique()
    if group:
        name, value = group.split("=", 1)
        register = register[register[f"kenmerk_{name}"] == value]
    households = register.groupby(column)["huishoudens"].sum().reindex(areas, fill_value=0)
    counts = {(area, name): 0 for area in households.index for name in INDICATORS}
    for area, total in households.items():
        counts[(area, "huishoudens")] = int(total)
    everyone = household_profiles(truth, start, end)
    profiles = everyone[everyone["adres_id"].isin(register["adres_id"])]
    profiles = profiles.assign(**{column: profiles["buurtcode"].map(
        dict(zip(register["buurtcode"], register[column], strict=True)))})
    codes = sorted(set().union(*everyone["codes"])) if len(everyone) else []
    for area in households.index:
        for name in (*V2_INDICATORS, *(f"voorziening:{c}" for c in codes)):
            counts[(area, name)] = 0
    memberships = pd.DataFrame(
        {
            "area": profiles[column],
            "indicator": [
                household_indicators(p.domeinen, int(p.voorzieningen), int(p.organisaties))
                + household_v2_indicators(p, start, end)
                for p in profiles.itertuples(index=False)
            ],
        }
    ).explode("indicator")
    for (area, name), n in memberships.groupby(["area", "indicator"]).size().items():
        counts[(area, name)] += int(n)
    names = dict(zip(truth.areas["code"], truth.areas["naam"], strict=True))
    frame = pd.DataFrame(
        [
            {
                "gebiedscode": area,
                "gebiedsnaam": names.get(area, ""),
                "niveau": level,
                "groep": group,
                "indicator": name,
                "aantal": n,
            }
            for (area, name), n in counts.items()
        ]
    )
    return frame.sort_values(["gebiedscode", "indicator"], kind="stable").reset_index(drop=True)


def _drop_duplicates(records: pd.DataFrame) -> pd.DataFrame:
    """Valid rows with the same partner, address, voorziening and dates counted once (first line kept).

    The sample's duplicates repeat the whole line, amount included (docs/contract.md §12)."""
    valid = records[~records["ongeldig"]].sort_values(["partner", "regel"])
    key = ["partner", "canoniek", "voorziening", "begindatum", "einddatum"]
    return valid[~valid.duplicated(subset=key, keep="first")]


def expected_quality(truth: Truth, start: date, end: date, merge_duplicates: bool = False) -> pd.DataFrame:
    """Per partner: valid records, records in the period and how those link (adres, alternatief, pand,
    not at all: the generator's `koppeling`, see `expected_link` for the rule).

    With `merge_duplicates`, identical lines (same address, voorziening and dates) count once.
    """
    records = truth.records
    valid = _drop_duplicates(records) if merge_duplicates else records[~records["ongeldig"]]
    in_period = valid_records_in_period(valid, start, end)
    partners = sorted(records["partner"].unique())
    rows = []
    for partner in partners:
        own = in_period[in_period["partner"] == partner]
        rows.append(
            {
                "partner": partner,
                "records": int((valid["partner"] == partner).sum()),
                "records_in_periode": len(own),
                **{column: int((own["koppeling"] == kind).sum()) for kind, column in LINK_KINDS.items()},
                "records_met_bedrag": int(own["bedrag"].notna().sum()),
            }
        )
    return pd.DataFrame(rows, columns=["partner", *QUALITY_COLUMNS])


def household_costs(truth: Truth, start: date, end: date) -> pd.DataFrame:
    """One row per linked household with a voorziening in the period, with `bedrag`: the sum (eurocent) of
    the amounts of its records in the period; lines equal in every field, amount included, count once,
    lines that differ only in their amount add up (docs/contract.md §12)."""
    profiles = household_profiles(truth, start, end)
    valid = truth.records[~truth.records["ongeldig"]]
    half_year = f"bedrag_{start.year}H{1 if start.month == 1 else 2}"
    is_half_year = (start, end) in ((date(start.year, 1, 1), date(start.year, 6, 30)),
                                    (date(start.year, 7, 1), date(start.year, 12, 31)))
    if half_year in valid.columns and is_half_year:
        valid = valid.assign(bedrag=valid[half_year])  # the amounts of the extracts for that half-year
    key = ["partner", "canoniek", "voorziening", "begindatum", "einddatum", "bedrag"]
    counted = valid_records_in_period(valid.drop_duplicates(subset=key), start, end)
    counted = counted[counted["adres_id"].notna()]
    sums = counted.groupby("adres_id")["bedrag"].sum(min_count=0).fillna(0).astype("int64")
    return profiles.assign(bedrag=profiles["adres_id"].map(sums).fillna(0).astype("int64").to_numpy())


def household_cost_indicators(domains: frozenset[str]) -> list[str]:
    """The indicators of kosten.csv one household counts in."""
    ordered = tuple(d for d in DOMAINS if d in domains)
    names = ["met_voorziening", f"domeinen:{len(ordered)}"]
    names.append(f"alleen:{ordered[0]}" if len(ordered) == 1 else "combinatie:" + "+".join(ordered))
    if len(ordered) >= 2:
        names.append("domeinen:2+")
    return names


def expected_costs(truth: Truth, start: date, end: date, level: str, group: str = "") -> pd.DataFrame:
    """The true cost cells of a level (own divisions too), for all households (group "") or one kenmerk
    value: gebiedscode, groep, indicator, huishoudens, bedrag, grootste, tweede (eurocent), one row per
    area with register addresses and cost indicator."""
    column, register = _area_column(truth, level)
    areas = sorted(register[column].unique())
    households = household_costs(truth, start, end)
    area_of = register.set_index("adres_id")[column]
    households = households.assign(**{column: households["adres_id"].map(area_of)})
    if group:
        name, value = group.split("=", 1)
        households = households[households[f"kenmerk_{name}"] == value]
    exploded = households.assign(
        indicator=[household_cost_indicators(d) for d in households["domeinen"]]).explode("indicator")
    rows = []
    for area in areas:
        for name in COST_INDICATORS:
            amounts = sorted(exploded.loc[(exploded[column] == area) & (exploded["indicator"] == name),
                                          "bedrag"], reverse=True)
            rows.append({"gebiedscode": area, "groep": group, "indicator": name, "huishoudens": len(amounts),
                         "bedrag": int(sum(amounts)), "grootste": int(amounts[0]) if amounts else 0,
                         "tweede": int(amounts[1]) if len(amounts) > 1 else 0})
    return pd.DataFrame(rows)


def expected_rejected_lines(truth: Truth) -> dict[str, set[int]]:
    """Per partner, the line numbers (header = 1) that were made invalid and must be rejected."""
    rejected = truth.records[truth.records["ongeldig"]]
    result = {partner: set() for partner in sorted(truth.records["partner"].unique())}
    for partner, group in rejected.groupby("partner"):
        result[partner] = set(group["regel"].astype(int))
    return result


def prevalences(truth: Truth, start: date, end: date, level: str = "gemeente") -> pd.DataFrame:
    """Per area: households, share with a voorziening and share with voorzieningen in 2+ domains."""
    counts = expected_counts(truth, start, end, level)
    counts = counts.pivot(index="gebiedscode", columns="indicator", values="aantal")
    return pd.DataFrame(
        {
            "huishoudens": counts["huishoudens"],
            "met_voorziening": counts["met_voorziening"] / counts["huishoudens"],
            "domeinen_2plus": counts["domeinen:2+"] / counts["huishoudens"],
        }
    )
