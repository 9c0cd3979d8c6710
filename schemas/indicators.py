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
"""The indicators of docs/contract.md §7 (v1), in publication order; the report shows these."""



DOMAIN_COUNT_INDICATORS: tuple[str, ...] = tuple(f"domeinen:{k}" for k in range(1, len(DOMAINS) + 1))
"""§12: households with exactly k domains."""

STACK_INDICATORS: dict[tuple[str, str], str] = {
    (combination, services): f"{combination}&{services}"
    for combination in EXCLUSIVE_DOMAIN_SETS
    for services in SERVICE_COUNT_INDICATORS
}
"""§11: (exclusive combination, voorzieningen:k) -> `<c>&voorzieningen:<k>` (the CBS stacking table)."""

INFLOW = "instroom:met_voorziening"
INFLOW_MULTI_DOMAIN = "instroom:domeinen:2+"
OUTFLOW = "uitstroom:met_voorziening"
DURATION_INDICATORS: tuple[str, ...] = ("samenloop_duur:0-1", "samenloop_duur:1-2", "samenloop_duur:2+")
"""§10: days from the start of samenloop to the last day of the period: < 365, 365-729, >= 730."""
FLOW_INDICATORS: tuple[str, ...] = (INFLOW, INFLOW_MULTI_DOMAIN, OUTFLOW, *DURATION_INDICATORS)

SERVICE_CODE_PREFIX = "voorziening:"
"""§11: `voorziening:<code>` for every code delivered in the period; the only indicators that vary per run."""

INDICATOR_FAMILIES: dict[str, tuple[str, ...]] = {
    "v1": INDICATORS,
    "domeinen": DOMAIN_COUNT_INDICATORS,
    "stapeling": tuple(STACK_INDICATORS.values()),
    "stroom": FLOW_INDICATORS,
}
"""Fixed indicators in families: a table has the v1 family and, per other family, all of it or none."""

FIXED_INDICATORS: tuple[str, ...] = tuple(name for family in INDICATOR_FAMILIES.values() for name in family)
"""Every fixed indicator of `samenloop.csv` (contract v2), in publication order."""


def service_indicator(code: str) -> str:
    return SERVICE_CODE_PREFIX + code


def table_indicators(service_codes: list[str] | tuple[str, ...] | set[str]) -> tuple[str, ...]:
    """All indicators of one run's table: the fixed ones, then `voorziening:<code>` per code, by code."""
    return (*FIXED_INDICATORS, *(service_indicator(c) for c in sorted(set(service_codes))))


def domain_count_indicator(n: int) -> str:
    return DOMAIN_COUNT_INDICATORS[n - 1]


def duration_indicator(days: int) -> str:
    """The samenloop_duur class of a samenloop that has lasted `days` days at the end of the period."""
    return DURATION_INDICATORS[0 if days < 365 else 1 if days < 730 else 2]


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
    "domeinen:1": "Precies één domein",
    "domeinen:2": "Precies twee domeinen",
    "domeinen:3": "Alle drie de domeinen",
    INFLOW: "Instroom: eerste voorziening begon in de periode",
    INFLOW_MULTI_DOMAIN: "Instroom samenloop: samenloop begon in de periode",
    OUTFLOW: "Uitstroom: alle voorzieningen eindigden in de periode",
    "samenloop_duur:0-1": "Samenloop korter dan een jaar",
    "samenloop_duur:1-2": "Samenloop één tot twee jaar",
    "samenloop_duur:2+": "Samenloop twee jaar of langer",
}
for (_combination, _services), _name in STACK_INDICATORS.items():
    INDICATOR_LABELS[_name] = f"{INDICATOR_LABELS[_combination]}, {INDICATOR_LABELS[_services].lower()}"


def indicator_label(name: str) -> str:
    """The Dutch label of any indicator, `voorziening:<code>` included."""
    if name.startswith(SERVICE_CODE_PREFIX):
        return f"Met voorziening {name[len(SERVICE_CODE_PREFIX):]}"
    return INDICATOR_LABELS.get(name, name)


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
    # §12: households by their number of domains.
    for k, name in enumerate(DOMAIN_COUNT_INDICATORS, start=1):
        relations.append((name, tuple(c for c, dset in EXCLUSIVE_DOMAIN_SETS.items() if len(dset) == k)))
    relations.append((WITH_SERVICE, DOMAIN_COUNT_INDICATORS))
    relations.append((MULTI_DOMAIN, DOMAIN_COUNT_INDICATORS[1:]))
    # §11: the stacking table adds up over k to its combination and over combinations to voorzieningen:k.
    for combination in EXCLUSIVE_DOMAIN_SETS:
        parts = tuple(STACK_INDICATORS[combination, k] for k in SERVICE_COUNT_INDICATORS)
        relations.append((combination, parts))
    for k in SERVICE_COUNT_INDICATORS:
        relations.append((k, tuple(STACK_INDICATORS[c, k] for c in EXCLUSIVE_DOMAIN_SETS)))
    # §10: the duration classes split samenloop.
    relations.append((MULTI_DOMAIN, DURATION_INDICATORS))
    return relations


def inequality_relations() -> list[tuple[str, str]]:
    """(part, whole) pairs with part <= whole by definition (§10); used when they hold in the table.

    Samenloop that began in the period (at most a year long) has lasted less than 365 days at its end;
    only a samenloop that began on 1 January of a leap year ends at 365 days, and then the table
    breaks the pair and it is not used.
    """
    return [(INFLOW, WITH_SERVICE), (INFLOW_MULTI_DOMAIN, MULTI_DOMAIN), (OUTFLOW, WITH_SERVICE),
            (INFLOW_MULTI_DOMAIN, DURATION_INDICATORS[0])]


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
