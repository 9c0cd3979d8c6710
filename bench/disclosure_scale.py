"""A synthetic gemeente of any size, aggregated by the real aggregation, for measuring disclosure control.

Households are drawn per buurt (with kenmerken and voorzieningen), reduced to the household cube that
`linkage/sql/household_cube.sql` produces, and counted by `linkage.linking.area_indicator_counts`, so the
table has every indicator of contract v2 (§7, §9-§11) and all its sums hold as they do for real data.
Nothing here touches real data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from linkage.linking import PROFILE_KEYS, area_indicator_counts
from schemas.areas import code_part
from schemas.indicators import DOMAINS

SERVICE_CODES = {
    "jeugd": ("43", "45", "46", "48"),
    "wmo": ("01", "02", "07", "15"),
    "werk_inkomen": ("PW01", "PW02", "PW03"),
}
HOUSEHOLD_TYPES = (("eenpersoons", 0.39), ("paar_zonder_kinderen", 0.26), ("paar_met_kinderen", 0.24),
                   ("eenouder", 0.08), ("overig", 0.02), ("onbekend", 0.01))
AGE_CLASSES = (("tot_27", 0.08), ("27-44", 0.33), ("45-64", 0.33), ("65-74", 0.13), ("75+", 0.12),
               ("onbekend", 0.01))
USE_FACTOR = {"eenouder": 2.2, "eenpersoons": 1.1, "paar_met_kinderen": 1.0, "paar_zonder_kinderen": 0.6,
              "overig": 1.0, "onbekend": 1.0}


@dataclass(frozen=True)
class ScaleSpec:
    """Sizes of a generated gemeente."""

    huishoudens: int = 450_000
    wijken: int = 99
    buurten: int = 480
    gebruik: float = 0.14
    kenmerken: int = 2
    wijkteams: int = 22
    seed: int = 0


def _areas(spec: ScaleSpec, rng: np.random.Generator) -> pd.DataFrame:
    """Buurten with alphanumeric CBS codes, a wijk and a wijkteam each, and a household count."""
    per_wijk = np.full(spec.wijken, spec.buurten // spec.wijken)
    per_wijk[: spec.buurten - per_wijk.sum()] += 1
    rows = []
    for w, n in enumerate(per_wijk):
        for b in range(int(n)):
            rows.append({"buurtcode": f"BU0363{code_part(w)}{code_part(b)}",
                         "wijkcode": f"WK0363{code_part(w)}", "gemeentecode": "GM0363"})
    areas = pd.DataFrame(rows)
    weights = rng.lognormal(0.0, 0.6, size=len(areas))
    areas["huishoudens"] = np.maximum(1, np.round(weights / weights.sum() * spec.huishoudens)).astype(int)
    return areas


def _draw(rng: np.random.Generator, choices: tuple[tuple[str, float], ...], n: int) -> np.ndarray:
    names = np.array([c for c, _ in choices])
    p = np.array([w for _, w in choices])
    return names[rng.choice(len(names), size=n, p=p / p.sum())]


def synthetic_households(spec: ScaleSpec) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(cube, denominators, service counts) as the linking step hands them to the aggregation."""
    rng = np.random.default_rng(spec.seed)
    areas = _areas(spec, rng)
    buurt = np.repeat(np.arange(len(areas)), areas["huishoudens"].to_numpy())
    n = len(buurt)
    people = pd.DataFrame({"b": buurt})
    kenmerken = []
    if spec.kenmerken >= 1:
        people["kenmerk_huishoudtype"] = _draw(rng, HOUSEHOLD_TYPES, n)
        kenmerken.append("kenmerk_huishoudtype")
    if spec.kenmerken >= 2:
        people["kenmerk_leeftijd"] = _draw(rng, AGE_CLASSES, n)
        kenmerken.append("kenmerk_leeftijd")
    local = rng.uniform(0.4, 1.8, size=len(areas))[buurt]
    factor = (people["kenmerk_huishoudtype"].map(USE_FACTOR).to_numpy() if kenmerken else 1.0)
    users = people[rng.random(n) < np.clip(spec.gebruik * local * factor, 0, 0.9)].reset_index(drop=True)
    m = len(users)
    domain_p = np.array([0.35, 0.45, 0.45])
    flags = rng.random((m, len(DOMAINS))) < domain_p
    none = ~flags.any(axis=1)
    flags[none, rng.integers(0, len(DOMAINS), size=int(none.sum()))] = True
    users["domeinen"] = ["+".join(d for d, f in zip(DOMAINS, row, strict=True) if f) for row in flags]
    n_domains = flags.sum(axis=1)
    # No more distinct voorzieningen than its domains have codes (SERVICE_CODES).
    capacity = flags @ np.array([len(SERVICE_CODES[d]) for d in DOMAINS])
    users["voorzieningen"] = np.minimum(np.minimum(n_domains + rng.poisson(0.5, size=m), 4), capacity)
    users["organisaties"] = np.minimum(rng.integers(1, users["voorzieningen"] + 1), 3)
    users["instroom"] = rng.random(m) < 0.25
    users["instroom_samenloop"] = (n_domains > 1) & (rng.random(m) < 0.2)
    users["uitstroom"] = rng.random(m) < 0.2
    users["duur"] = np.where(n_domains > 1, rng.integers(0, 3, size=m), -1)
    # A samenloop that began in the period is less than a year old at its end.
    users.loc[users["instroom_samenloop"].to_numpy(), "duur"] = 0
    for column in ("buurtcode", "wijkcode", "gemeentecode"):
        users[column] = areas[column].to_numpy()[users["b"]]
        people[column] = areas[column].to_numpy()[people["b"]]
    keys = ["buurtcode", "wijkcode", "gemeentecode", *kenmerken]
    cube = users.groupby([*keys, *PROFILE_KEYS], as_index=False).size().rename(columns={"size": "aantal"})
    denominators = people.groupby(keys, as_index=False).size().rename(columns={"size": "huishoudens"})
    services = _service_counts(users, flags, keys, rng)
    return cube, denominators, services


def _service_counts(users: pd.DataFrame, flags: np.ndarray, keys: list[str],
                    rng: np.random.Generator) -> pd.DataFrame:
    """Households per buurt (and kenmerk values) per voorziening code, consistent with each household's
    profile: as many distinct codes as its `voorzieningen` (4 for 4+), at least one in each of its
    domains and none outside them, so every relation of the attacker's model holds (as in real data)."""
    codes_of = [np.array(SERVICE_CODES[domain]) for domain in DOMAINS]
    services = users["voorzieningen"].to_numpy()
    owners: list[int] = []
    chosen: list[str] = []
    for i in range(len(users)):
        domains = np.flatnonzero(flags[i])
        per_domain = np.ones(len(domains), dtype=np.int64)
        room = np.array([len(codes_of[d]) for d in domains]) - 1
        for _ in range(int(services[i]) - len(domains)):
            open_ = np.flatnonzero(room > 0)
            j = open_[rng.integers(0, len(open_))]
            per_domain[j] += 1
            room[j] -= 1
        for d, k in zip(domains, per_domain, strict=True):
            owners.extend([i] * int(k))
            chosen.extend(rng.choice(codes_of[d], size=int(k), replace=False).tolist())
    rows = users.iloc[owners][keys].assign(voorziening=chosen)
    return rows.groupby([*keys, "voorziening"], as_index=False).size().rename(columns={"size": "aantal"})


def scale_counts(spec: ScaleSpec, levels: tuple[str, ...] = ("gemeente", "wijk"),
                 division: bool = True) -> pd.DataFrame:
    """The true counts table of a generated gemeente (the input of `protect_table`)."""
    cube, denominators, services = synthetic_households(spec)
    divisions = None
    if division:
        teams = _wijkteam_of(spec, denominators["wijkcode"])
        mapping = dict(zip(denominators["buurtcode"], teams, strict=True))
        divisions = {"wijkteam": mapping}
    return area_indicator_counts(cube, denominators, levels, services, divisions)


def _wijkteam_of(spec: ScaleSpec, wijkcodes: pd.Series) -> list[str]:
    order = {code: i for i, code in enumerate(sorted(wijkcodes.unique()))}
    return [f"WT{order[c] * spec.wijkteams // spec.wijken:02d}" for c in wijkcodes]
