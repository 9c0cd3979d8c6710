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

QUALITY_COLUMNS = ("records", "records_in_periode", "gekoppeld_adres", "gekoppeld_pand", "niet_gekoppeld",
                   "records_met_bedrag")
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
    """Build the truth from rows of strings, as the generator holds them in memory or writes them."""
    register = pd.DataFrame(register_rows, dtype=str)
    register = pd.DataFrame(
        {
            "adres_id": register["adres_id"].astype(int),
            "buurtcode": register["buurtcode"],
            "wijkcode": "WK" + register["buurtcode"].str[2:8],
            "gemeentecode": "GM" + register["buurtcode"].str[2:6],
            "huishoudens": register["huishoudens"].astype(int),
        }
    )
    records = pd.DataFrame(record_rows, dtype=str)
    records = records.assign(
        regel=records["regel"].astype(int),
        adres_id=pd.to_numeric(records["adres_id"].replace("", None)).astype("Int64"),
        begindatum=pd.to_datetime(records["begindatum"].replace("", None), format="%Y-%m-%d"),
        einddatum=pd.to_datetime(records["einddatum"].replace("", None), format="%Y-%m-%d"),
        ongeldig=records["ongeldig"].map({"ja": True, "nee": False}).astype(bool),
        # eurocent spent in the period (§12); <NA> = no amount (a truth written before amounts: none)
        bedrag=pd.to_numeric(records["bedrag"].replace("", None) if "bedrag" in records else pd.Series(
            None, index=records.index, dtype="object")).astype("Int64"),
    )
    areas = pd.DataFrame(area_rows, dtype=str)[["code", "naam"]]
    return Truth(register, records, areas)


def _read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def load_truth(folder: Path) -> Truth:
    """The truth a generator wrote into `folder` (`waarheid/` and `gebieden.csv`)."""
    return truth_from_rows(
        _read_rows(folder / "waarheid" / "register.csv"),
        _read_rows(folder / "waarheid" / "records.csv"),
        _read_rows(folder / "gebieden.csv"),
    )


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
    buurtcode, wijkcode, gemeentecode.
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


def _area_column(level: str) -> str:
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}")
    return {"gemeente": "gemeentecode", "wijk": "wijkcode", "buurt": "buurtcode"}[level]


def expected_counts(truth: Truth, start: date, end: date, level: str) -> pd.DataFrame:
    """The true count of every indicator for every area of a level that has register addresses.

    Columns: gebiedscode, gebiedsnaam, niveau, indicator, aantal; one row per area and indicator.
    """
    column = _area_column(level)
    households = truth.register.groupby(column)["huishoudens"].sum()
    counts = {(area, name): 0 for area in households.index for name in INDICATORS}
    for area, total in households.items():
        counts[(area, "huishoudens")] = int(total)
    profiles = household_profiles(truth, start, end)
    memberships = pd.DataFrame(
        {
            "area": profiles[column],
            "indicator": [
                household_indicators(d, int(v), int(o))
                for d, v, o in zip(
                    profiles["domeinen"], profiles["voorzieningen"], profiles["organisaties"], strict=True
                )
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
    """Per partner: valid records, records in the period and how those link (adres, pand, not at all).

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
                "gekoppeld_adres": int((own["koppeling"] == "adres").sum()),
                "gekoppeld_pand": int((own["koppeling"] == "pand").sum()),
                "niet_gekoppeld": int((own["koppeling"] == "geen").sum()),
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


def expected_costs(truth: Truth, start: date, end: date, level: str) -> pd.DataFrame:
    """The true cost cells of a level: gebiedscode, indicator, huishoudens, bedrag, grootste, tweede
    (eurocent), one row per area with register addresses and cost indicator."""
    column = _area_column(level)
    households = household_costs(truth, start, end)
    exploded = households.assign(
        indicator=[household_cost_indicators(d) for d in households["domeinen"]]).explode("indicator")
    rows = []
    for area in sorted(truth.register[column].unique()):
        for name in COST_INDICATORS:
            amounts = sorted(exploded.loc[(exploded[column] == area) & (exploded["indicator"] == name),
                                          "bedrag"], reverse=True)
            rows.append({"gebiedscode": area, "indicator": name, "huishoudens": len(amounts),
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
