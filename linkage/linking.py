"""Linking pseudonymised deliveries to the pseudonymised register in DuckDB (docs/contract.md §7).

Produces the true (unprotected) counts per area and indicator, the quality table per partner and
the household microdata without pseudonyms. Disclosure control happens after this, elsewhere.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from linkage.costs import cost_cells
from linkage.deliveries import (  # noqa: F401  (the metadata checks live in a module without DuckDB)
    DeliveryFile,
    LinkageError,
    _check_steps,
    check_keys,
    describe_delivery,
)
from linkage.sql_units import execute
from schemas.atomic import private_workdir
from schemas.formats import AMOUNT_KIND, AMOUNT_WHOLE_ASSIGNMENT, REGISTER_FORMAT, expect_format
from schemas.indicators import (
    COMBINATION_INDICATORS,
    DOMAIN_INDICATORS,
    DOMAINS,
    HOUSEHOLDS,
    INDICATORS,
    LEVELS,
    MULTI_DOMAIN,
    ONLY_INDICATORS,
    WITH_SERVICE,
    organisation_count_indicator,
    service_count_indicator,
)
from schemas.periods import Period

MAX_SERVICES = 4
MAX_ORGANISATIONS = 3
MAX_BIT_SET = 126
"""Distinct values a HUGEINT bit set holds (households_bitsets.sql)."""
LEVEL_COLUMNS = {"gemeente": "gemeentecode", "wijk": "wijkcode", "buurt": "buurtcode"}


@dataclass
class LinkageResult:
    counts: pd.DataFrame
    """True counts: gebiedscode, niveau, bovenliggend, indicator, aantal."""
    quality: pd.DataFrame
    households: pd.DataFrame
    """One row per household with a voorziening, no pseudonym, shuffled."""
    register_key_id: str
    stage_counts: dict[str, int]
    costs: pd.DataFrame | None = None
    """(§12) True cost cells (linkage/costs.py CELL_COLUMNS, eurocent); None without household amounts."""


@dataclass
class LinkedHouseholds:
    """The outcome of linking, before any aggregation: no pseudonym leaves the DuckDB connection."""

    households: pd.DataFrame
    """One row per linked household with a record in the period: buurtcode, wijkcode, gemeentecode,
    domeinen, aantal_voorzieningen, aantal_organisaties; ordered by content."""
    denominators: pd.DataFrame
    """Register households per buurt (with wijk and gemeente)."""
    quality: pd.DataFrame
    register_key_id: str
    stage_counts: dict[str, int]
    unit_seconds: dict[str, float] = field(default_factory=dict)
    """Wall time per SQL unit (linkage/sql/), for benchmarks and logs: where linking spends its time."""
    costs: pd.DataFrame | None = None
    """(§12) One row per linked household: buurtcode, wijkcode, gemeentecode, domeinen, bedrag (eurocent),
    records_met_bedrag; ordered by content. Only for protected sums (disclosure/magnitude.py)."""


def link_records(deliveries: list[DeliveryFile], register: Path, period: Period) -> LinkedHouseholds:
    """Link every delivered record to the register (docs/contract.md §7) and reduce them to households."""
    register_meta = expect_format(register, REGISTER_FORMAT)
    register_key_id = register_meta.get("key_id", "")
    check_keys(deliveries, register_meta)
    partners = sorted({d.partner for d in deliveries})
    organisations = {partner: number for number, partner in enumerate(partners)}
    seconds: dict[str, float] = {}
    with private_connection() as con:

        def run(name: str, parameters: dict[str, object] | None = None, frame: bool = False):
            started = time.perf_counter()
            try:
                result = execute(con, name, parameters)
                result = result.df() if frame else result
            except duckdb.Error as exc:  # a damaged file; DuckDB's text is not passed on
                if not reading_failed(exc):
                    raise
                raise LinkageError(damaged_file_message(parameters, register)) from None
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started
            return result

        run("load_register", {"path": str(register)})
        run("create_deliveries")
        run("create_records")
        for number, delivery in enumerate(deliveries):
            ids = {"levering": number, "organisatie": organisations[delivery.partner],
                   "path": str(delivery.path)}
            run("count_delivery", {**ids, "partner": delivery.partner, "key_id": delivery.key_id})
            unit, amounts = _insert_unit(delivery)
            run(unit, {**ids, "period_start": period.start, "period_end": period.end, **amounts})
        run("link_records", {"register": str(register)})
        quality = run("quality_per_partner", frame=True)
        run(_households_unit(con, len(partners)))
        households = run("household_rows", frame=True)
        costs = run("household_costs", frame=True)
        denominators = run("register_households", frame=True)
        stage_row = run("stage_counts", frame=True).iloc[0]
        stage_counts = {name: int(value) for name, value in stage_row.items()}
    return LinkedHouseholds(households, denominators, _quality_types(quality), register_key_id, stage_counts,
                            {name: round(value, 3) for name, value in seconds.items()}, costs)


def _insert_unit(delivery: DeliveryFile) -> tuple[str, dict[str, object]]:
    """The SQL unit that inserts a delivery's records, and its extra parameters (amounts, §12)."""
    if "bedrag" not in pq.read_schema(delivery.path).names:
        return "insert_delivery_v1", {}
    return "insert_delivery", {"pro_rata": delivery.meta.get(AMOUNT_KIND) == AMOUNT_WHOLE_ASSIGNMENT}


def reading_failed(exc: BaseException) -> bool:
    """Whether DuckDB failed on the content of a file (a damaged Parquet page or header), not on the SQL
    or the machine: InvalidInputException, or the bare duckdb.Error a Thrift decoding error comes as."""
    return isinstance(exc, duckdb.InvalidInputException) or type(exc) is duckdb.Error


def damaged_file_message(parameters: dict[str, object] | None, register: Path) -> str:
    """The Dutch message for a Parquet file whose data DuckDB cannot read (its footer was readable)."""
    path = Path(str((parameters or {}).get("path") or register))
    return (f"{path.name}: het Parquet-bestand is beschadigd (de gegevens zijn niet te lezen); vraag een "
            "nieuw bestand aan of zet het opnieuw over")


@contextlib.contextmanager
def private_connection() -> Iterator[duckdb.DuckDBPyConnection]:
    """DuckDB in memory that spills (when it must) into a private work folder, never into ./.tmp."""
    with private_workdir("duckdb") as spill, duckdb.connect(config={"temp_directory": str(spill)}) as con:
        yield con


def _households_unit(con: duckdb.DuckDBPyConnection, organisations: int) -> str:
    """The SQL unit that reduces linked records to households: bit sets when every set fits in one."""
    services, domains = execute(con, "distinct_values").fetchone()
    return "households_bitsets" if max(services, domains, organisations) <= MAX_BIT_SET else "households"


def aggregate_households(linked: LinkedHouseholds, levels: tuple[str, ...], seed: int = 0) -> LinkageResult:
    """Count households per area for every indicator, and shuffle the household microdata with `seed`."""
    with private_connection() as con:
        con.register("households", linked.households)
        cube = execute(
            con,
            "household_cube",
            {
                "max_voorzieningen": MAX_SERVICES,
                "max_organisaties": MAX_ORGANISATIONS,
            },
        ).df()
        micro = execute(con, "household_microdata").df()
    counts = area_indicator_counts(cube, linked.denominators, levels)
    costs = None if linked.costs is None else cost_cells(linked.costs, linked.denominators, levels)
    return LinkageResult(
        counts,
        linked.quality,
        household_microdata(micro, seed),
        linked.register_key_id,
        dict(linked.stage_counts),
        costs,
    )


def link_deliveries(
    deliveries: list[DeliveryFile], register: Path, period: Period, levels: tuple[str, ...], seed: int = 0
) -> LinkageResult:
    """Link, then count households per area for every indicator."""
    return aggregate_households(link_records(deliveries, register, period), levels, seed)


def _quality_types(quality: pd.DataFrame) -> pd.DataFrame:
    for column in quality.columns[2:]:
        quality[column] = quality[column].astype("int64")
    return quality


def household_microdata(micro: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Domain flags per household, rows in a seeded random order (content decides nothing)."""
    domain_sets = micro["domeinen"].astype("str")
    frame = pd.DataFrame({"buurtcode": micro["buurtcode"], "wijkcode": micro["wijkcode"]})
    for domain in DOMAINS:
        # `domeinen` is the sorted domain names joined by "+": a domain is one of its parts.
        part = rf"(?:^|\+){re.escape(domain)}(?:\+|$)"
        frame[domain] = domain_sets.str.contains(part, regex=True).astype(bool)
    frame["aantal_voorzieningen"] = micro["aantal_voorzieningen"].astype("int64")
    frame["aantal_organisaties"] = micro["aantal_organisaties"].astype("int64")
    order = np.random.default_rng(seed).permutation(len(frame))
    return frame.iloc[order].reset_index(drop=True)


def _profile_indicators(domains: frozenset[str], services: int, organisations: int) -> list[str]:
    names = [WITH_SERVICE, *(DOMAIN_INDICATORS[d] for d in DOMAINS if d in domains)]
    if len(domains) == 1:
        names.append(ONLY_INDICATORS[next(iter(domains))])
    else:
        names.extend(name for name, combo in COMBINATION_INDICATORS if combo == domains)
        names.append(MULTI_DOMAIN)
    names.append(service_count_indicator(services))
    names.append(organisation_count_indicator(organisations))
    return names


def area_indicator_counts(
    cube: pd.DataFrame, denominators: pd.DataFrame, levels: tuple[str, ...]
) -> pd.DataFrame:
    """Every indicator for every area of the requested levels, zeros included."""
    profile_keys = ["domeinen", "voorzieningen", "organisaties"]
    # Few distinct profiles (domain set, capped counts) occur: derive the indicators of each once.
    distinct = cube[profile_keys].drop_duplicates()
    profile_indicators = distinct.assign(
        indicators=[
            _profile_indicators(frozenset(d.split("+")), int(s), int(o))
            for d, s, o in zip(distinct["domeinen"], distinct["voorzieningen"], distinct["organisaties"],
                               strict=True)
        ]
    ).explode("indicators")
    ordered_levels = [level for level in LEVELS if level in levels]
    frames = []
    for position, level in enumerate(ordered_levels):
        code_column = LEVEL_COLUMNS[level]
        parent_column = LEVEL_COLUMNS[ordered_levels[position - 1]] if position else None
        areas = denominators.groupby(code_column, as_index=False).agg(
            huishoudens=("huishoudens", "sum"),
            bovenliggend=(parent_column, "first") if parent_column else (code_column, lambda s: None),
        )
        grid = pd.MultiIndex.from_product(
            [areas[code_column], INDICATORS], names=["gebiedscode", "indicator"]
        )
        per_profile = cube.groupby([code_column, *profile_keys], as_index=False)["aantal"].sum()
        counted = (
            per_profile.merge(profile_indicators, on=profile_keys)
            .groupby([code_column, "indicators"])["aantal"]
            .sum()
            .rename_axis(["gebiedscode", "indicator"])
            .reindex(grid, fill_value=0)
            .reset_index()
        )
        household_totals = areas.set_index(code_column)["huishoudens"]
        is_total = counted["indicator"] == HOUSEHOLDS
        counted.loc[is_total, "aantal"] = (
            counted.loc[is_total, "gebiedscode"].map(household_totals).to_numpy()
        )
        counted["niveau"] = level
        counted["bovenliggend"] = counted["gebiedscode"].map(areas.set_index(code_column)["bovenliggend"])
        frames.append(counted)
    result = pd.concat(frames, ignore_index=True)
    result["aantal"] = result["aantal"].astype("int64")
    result["bovenliggend"] = (
        result["bovenliggend"].astype("object").where(result["bovenliggend"].notna(), None)
    )
    return result[["gebiedscode", "niveau", "bovenliggend", "indicator", "aantal"]]
