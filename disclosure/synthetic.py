"""Synthetic gemeenten for testing and measuring disclosure control: households first, then counts.

Counts are aggregated from generated households, so every additive relation and area sum holds the
way it does for real data. Nothing here is used on real data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from schemas.areas import code_part, wijk_of
from schemas.indicators import (
    DOMAIN_INDICATORS,
    DOMAINS,
    HOUSEHOLDS,
    INDICATORS,
    MULTI_DOMAIN,
    WITH_SERVICE,
    indicator_for_domain_set,
    organisation_count_indicator,
    service_count_indicator,
)


@dataclass(frozen=True)
class SyntheticGemeente:
    """Sizes and rates of a generated gemeente."""

    wijken: int = 15
    buurten_per_wijk: int = 4
    min_huishoudens: int = 20
    max_huishoudens: int = 1500
    min_gebruik: float = 0.04
    max_gebruik: float = 0.25


def synthetic_households(rng: np.random.Generator, spec: SyntheticGemeente = SyntheticGemeente()) -> tuple[
        pd.DataFrame, pd.DataFrame]:
    """Households per buurt (register) and households with voorzieningen (one row each)."""
    buurten = []
    users = []
    for w in range(spec.wijken):
        for b in range(spec.buurten_per_wijk):
            buurtcode = f"BU0999{code_part(w)}{code_part(b)}"
            households = int(rng.integers(spec.min_huishoudens, spec.max_huishoudens + 1))
            buurten.append({"buurtcode": buurtcode, "wijkcode": wijk_of(buurtcode),
                            "gemeentecode": "GM0999", "huishoudens": households})
            share = rng.uniform(spec.min_gebruik, spec.max_gebruik)
            n_users = int(rng.binomial(households, share))
            domain_p = rng.uniform(0.15, 0.6, size=len(DOMAINS))
            for _ in range(n_users):
                domains = frozenset(d for d, p in zip(DOMAINS, domain_p, strict=True) if rng.random() < p)
                if not domains:
                    domains = frozenset([DOMAINS[int(rng.integers(len(DOMAINS)))]])
                services = len(domains) + int(rng.poisson(0.6))
                organisations = int(rng.integers(1, services + 1))
                users.append({"buurtcode": buurtcode, "domeinen": domains, "voorzieningen": services,
                              "organisaties": organisations})
    return pd.DataFrame(buurten), pd.DataFrame(users, columns=["buurtcode", "domeinen", "voorzieningen",
                                                               "organisaties"])


def household_indicators(domains: frozenset[str], services: int, organisations: int) -> list[str]:
    """The indicators one household with voorzieningen counts in."""
    names = [WITH_SERVICE, *(DOMAIN_INDICATORS[d] for d in DOMAINS if d in domains),
             indicator_for_domain_set(domains), service_count_indicator(services),
             organisation_count_indicator(organisations)]
    if len(domains) >= 2:
        names.append(MULTI_DOMAIN)
    return names


def counts_from_households(register: pd.DataFrame, users: pd.DataFrame,
                           levels: tuple[str, ...] = ("gemeente", "wijk")) -> pd.DataFrame:
    """True counts per area and indicator (the input of `protect_table`)."""
    per_buurt = {code: dict.fromkeys(INDICATORS, 0) for code in register["buurtcode"]}
    for row in register.itertuples():
        per_buurt[row.buurtcode][HOUSEHOLDS] = int(row.huishoudens)
    for row in users.itertuples():
        for name in household_indicators(row.domeinen, int(row.voorzieningen), int(row.organisaties)):
            per_buurt[row.buurtcode][name] += 1
    buurt = pd.DataFrame.from_dict(per_buurt, orient="index")[list(INDICATORS)]
    buurt.index.name = "buurtcode"
    buurt = buurt.join(register.set_index("buurtcode")[["wijkcode", "gemeentecode"]])
    area_column = {"gemeente": "gemeentecode", "wijk": "wijkcode", "buurt": None}
    frames = []
    present = [level for level in ("gemeente", "wijk", "buurt") if level in levels]
    for position, level in enumerate(present):
        if level == "buurt":
            table = buurt[list(INDICATORS)]
            parents = buurt[area_column[present[position - 1]]] if position else None
        else:
            table = buurt.groupby(area_column[level])[list(INDICATORS)].sum()
            parents = (buurt.groupby(area_column[level])[area_column[present[position - 1]]].first()
                       if position else None)
        long = table.reset_index(names="gebiedscode").melt(id_vars="gebiedscode", var_name="indicator",
                                                           value_name="aantal")
        long["niveau"] = level
        long["bovenliggend"] = long["gebiedscode"].map(parents) if parents is not None else None
        frames.append(long)
    counts = pd.concat(frames, ignore_index=True)
    counts["aantal"] = counts["aantal"].astype("int64")
    counts["bovenliggend"] = counts["bovenliggend"].astype(object).where(counts["bovenliggend"].notna(), None)
    return counts[["gebiedscode", "niveau", "bovenliggend", "indicator", "aantal"]]


def synthetic_counts(seed: int, spec: SyntheticGemeente = SyntheticGemeente(),
                     levels: tuple[str, ...] = ("gemeente", "wijk")) -> pd.DataFrame:
    """A generated gemeente's true counts."""
    register, users = synthetic_households(np.random.default_rng(seed), spec)
    return counts_from_households(register, users, levels)
