"""The one place that knows the indicator names of docs/contract.md §7 and how they relate.

Everything that writes, protects or reports indicators takes the names and their order from here.
"""

from __future__ import annotations

from itertools import combinations

DOMAINS: tuple[str, ...] = ("jeugd", "wmo", "werk_inkomen")
"""The domains in their fixed reporting order."""

DOMAIN_LABELS: dict[str, str] = {"jeugd": "Jeugd", "wmo": "Wmo", "werk_inkomen": "Werk en inkomen"}

LEVELS: tuple[str, ...] = ("gemeente", "wijk", "buurt")
"""Area levels from coarse to fine; each level nests in the previous one."""

HOUSEHOLDS = "huishoudens"
WITH_SERVICE = "met_voorziening"
MULTI_DOMAIN = "domeinen:2+"


def _combination_indicators() -> list[tuple[str, frozenset[str]]]:
    result: list[tuple[str, frozenset[str]]] = []
    for size in range(2, len(DOMAINS) + 1):
        for combo in combinations(DOMAINS, size):
            result.append(("combinatie:" + "+".join(combo), frozenset(combo)))
    return result


DOMAIN_INDICATORS: dict[str, str] = {d: f"domein:{d}" for d in DOMAINS}
ONLY_INDICATORS: dict[str, str] = {d: f"alleen:{d}" for d in DOMAINS}
COMBINATION_INDICATORS: list[tuple[str, frozenset[str]]] = _combination_indicators()

EXCLUSIVE_DOMAIN_SETS: dict[str, frozenset[str]] = {
    **{ONLY_INDICATORS[d]: frozenset([d]) for d in DOMAINS},
    **dict(COMBINATION_INDICATORS),
}
"""The seven exclusive domain combinations; together they partition `met_voorziening`."""

SERVICE_COUNT_INDICATORS: tuple[str, ...] = (
    "voorzieningen:1",
    "voorzieningen:2",
    "voorzieningen:3",
    "voorzieningen:4+",
)
ORGANISATION_COUNT_INDICATORS: tuple[str, ...] = ("organisaties:1", "organisaties:2", "organisaties:3+")

INDICATORS: tuple[str, ...] = (
    HOUSEHOLDS,
    WITH_SERVICE,
    *DOMAIN_INDICATORS.values(),
    *ONLY_INDICATORS.values(),
    *(name for name, _ in COMBINATION_INDICATORS),
    MULTI_DOMAIN,
    *SERVICE_COUNT_INDICATORS,
    *ORGANISATION_COUNT_INDICATORS,
)
"""All indicators of `samenloop.csv`, in publication order."""

INDICATOR_LABELS: dict[str, str] = {
    HOUSEHOLDS: "Huishoudens (totaal)",
    WITH_SERVICE: "Huishoudens met minstens één voorziening",
    **{DOMAIN_INDICATORS[d]: f"Met {DOMAIN_LABELS[d]}" for d in DOMAINS},
    **{ONLY_INDICATORS[d]: f"Alleen {DOMAIN_LABELS[d]}" for d in DOMAINS},
    **{
        name: " + ".join(DOMAIN_LABELS[d] for d in DOMAINS if d in combo)
        for name, combo in COMBINATION_INDICATORS
    },
    MULTI_DOMAIN: "Samenloop: twee of meer domeinen",
    "voorzieningen:1": "1 voorziening",
    "voorzieningen:2": "2 voorzieningen",
    "voorzieningen:3": "3 voorzieningen",
    "voorzieningen:4+": "4 of meer voorzieningen",
    "organisaties:1": "1 organisatie",
    "organisaties:2": "2 organisaties",
    "organisaties:3+": "3 of meer organisaties",
}


def additive_relations() -> list[tuple[str, tuple[str, ...]]]:
    """Sums that hold within one area: (total, parts) with total == sum(parts).

    These are the links an attacker can use to recompute a secret cell, so disclosure control
    and its audit take them from here.
    """
    exclusive = tuple(EXCLUSIVE_DOMAIN_SETS)
    relations: list[tuple[str, tuple[str, ...]]] = [
        (WITH_SERVICE, exclusive),
        (WITH_SERVICE, SERVICE_COUNT_INDICATORS),
        (WITH_SERVICE, ORGANISATION_COUNT_INDICATORS),
        (MULTI_DOMAIN, tuple(name for name, _ in COMBINATION_INDICATORS)),
    ]
    for domain in DOMAINS:
        parts = tuple(name for name, dset in EXCLUSIVE_DOMAIN_SETS.items() if domain in dset)
        relations.append((DOMAIN_INDICATORS[domain], parts))
    return relations


def indicator_for_domain_set(domains: frozenset[str]) -> str:
    """The exclusive-combination indicator for a non-empty set of domains."""
    for name, dset in EXCLUSIVE_DOMAIN_SETS.items():
        if dset == domains:
            return name
    raise ValueError("onbekende combinatie van domeinen")


def service_count_indicator(n: int) -> str:
    return f"voorzieningen:{n}" if n < 4 else "voorzieningen:4+"


def organisation_count_indicator(n: int) -> str:
    return f"organisaties:{n}" if n < 3 else "organisaties:3+"
