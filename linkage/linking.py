"""Linking pseudonymised deliveries to the pseudonymised register in DuckDB (docs/contract.md §7).

Produces the true (unprotected) counts per area and indicator, the quality table per partner and
the household microdata without pseudonyms. Disclosure control happens after this, elsewhere.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from linkage.areas import (
    Levels,
    kenmerk_columns,
    kenmerk_groups,
    published_levels,
)
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
from schemas.formats import (
    ALTERNATIVE_COLUMN,
    AMOUNT_COLUMN,
    AMOUNT_KIND,
    AMOUNT_WHOLE_ASSIGNMENT,
    REGISTER_FORMAT,
    expect_format,
)
from schemas.indicators import (
    DOMAIN_INDICATORS,
    DOMAINS,
    DURATION_INDICATORS,
    HOUSEHOLDS,
    INFLOW,
    INFLOW_MULTI_DOMAIN,
    MULTI_DOMAIN,
    OUTFLOW,
    SERVICE_CODE_PREFIX,
    STACK_INDICATORS,
    WITH_SERVICE,
    domain_count_indicator,
    indicator_for_domain_set,
    organisation_count_indicator,
    service_count_indicator,
    table_indicators,
)
from schemas.periods import Period

MAX_SERVICES = 4
MAX_ORGANISATIONS = 3
MAX_BIT_SET = 126
"""Distinct values a HUGEINT bit set holds (households_bitsets.sql)."""


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

    cube: pd.DataFrame
    """Linked households per buurt (and kenmerk values) and profile (household_cube.sql): small, the
    per-household rows stay in DuckDB."""
    microdata: pd.DataFrame
    """One row per linked household for huishoudens.parquet (household_microdata.sql): no pseudonym,
    ordered by content only; aggregate_households shuffles it."""
    denominators: pd.DataFrame
    """Register households per buurt (with wijk and gemeente)."""
    quality: pd.DataFrame
    register_key_id: str
    stage_counts: dict[str, int]
    unit_seconds: dict[str, float] = field(default_factory=dict)
    """Wall time per SQL unit (linkage/sql/), for benchmarks and logs: where linking spends its time."""
    service_counts: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Linked households per buurt and delivered voorziening code (§11): buurtcode, wijkcode,
    gemeentecode, voorziening, aantal."""
    period: Period | None = None
    """The period the records were counted in; the §10 indicators are measured against it."""
    costs: pd.DataFrame | None = None
    """(§12) One row per linked household: buurtcode, wijkcode, gemeentecode, domeinen, bedrag (eurocent),
    records_met_bedrag; ordered by content. Only for protected sums (disclosure/magnitude.py); None when no
    record in the period has an amount."""


def link_records(deliveries: list[DeliveryFile], register: Path, period: Period) -> LinkedHouseholds:
    """Link every delivered record to the register (docs/contract.md §7) and reduce them to households."""
    register_meta = expect_format(register, REGISTER_FORMAT)
    register_key_id = register_meta.get("key_id", "")
    check_keys(deliveries, register_meta)
    partners = sorted({d.partner for d in deliveries})
    organisations = {partner: number for number, partner in enumerate(partners)}
    seconds: dict[str, float] = {}
    with private_connection() as con:

        def run(name: str, parameters: dict[str, object] | None = None, frame: bool = False,
                source: Path | None = None):
            started = time.perf_counter()
            with reading(source or Path(str((parameters or {}).get("path") or register))):
                result = execute(con, name, parameters)
                result = result.df() if frame else result
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started
            return result

        run("load_register", {"path": str(register)})
        run("create_deliveries")
        run("create_records")
        for number, delivery in enumerate(deliveries):
            ids = {"levering": number, "organisatie": organisations[delivery.partner]}
            run("count_delivery", {**ids, "path": str(delivery.path), "partner": delivery.partner,
                                   "key_id": delivery.key_id})
            with reading(delivery.path):  # columns an older file lacks read as null (§3 step 8, §12)
                delivery_view(con, delivery.path)
            pro_rata = delivery.meta.get(AMOUNT_KIND) == AMOUNT_WHOLE_ASSIGNMENT  # a 301 Budget (§12)
            run("insert_delivery", {**ids, "period_start": period.start, "period_end": period.end,
                                    "pro_rata": pro_rata}, source=delivery.path)
        run("link_records", {"register": str(register)})
        quality = run("quality_per_partner", frame=True)
        households_unit = _households_unit(con, len(partners))
        if households_unit == "households":  # households_bitsets takes the dates in its own pass
            run("household_dates")
        run(households_unit)
        cube = run("household_cube", {
            "max_voorzieningen": MAX_SERVICES, "max_organisaties": MAX_ORGANISATIONS,
            "period_start": period.start, "period_end": period.end,
        }, frame=True)
        micro = run("household_microdata", frame=True)
        service_counts = run("household_services", frame=True)
        has_amounts = int(quality["records_met_bedrag"].sum()) > 0  # no amount: no costs (§12)
        costs = run("household_costs", frame=True) if has_amounts else None
        denominators = run("register_households", frame=True)
        stage_row = run("stage_counts", frame=True).iloc[0]
        stage_counts = {name: int(value) for name, value in stage_row.items()}
    return LinkedHouseholds(cube, micro, denominators, _quality_types(quality), register_key_id, stage_counts,
                            {name: round(value, 3) for name, value in seconds.items()}, service_counts,
                            period, costs)


OPTIONAL_DELIVERY_COLUMNS = {ALTERNATIVE_COLUMN: "VARCHAR", AMOUNT_COLUMN: "BIGINT"}
"""Delivery columns an older file may lack, with their type: `adres_pseudoniem_alt` (format version 1,
docs/contract.md §3 step 8) and `bedrag` (written before amounts existed, §12)."""


def delivery_view(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """The view `delivery` that insert_delivery.sql reads: one delivery file, with every column of
    OPTIONAL_DELIVERY_COLUMNS it lacks added as null (constant SQL only, never a value from the file)."""
    relation = con.read_parquet(str(path))
    missing = [f"NULL::{kind} AS {column}" for column, kind in OPTIONAL_DELIVERY_COLUMNS.items()
               if column not in relation.columns]
    if missing:
        relation = relation.project(", ".join(["*", *missing]))
    relation.create_view("delivery", replace=True)


def reading_failed(exc: BaseException) -> bool:
    """Whether DuckDB failed on the content of a file (a damaged Parquet page or header), not on the SQL
    or the machine: InvalidInputException, or the bare duckdb.Error a Thrift decoding error comes as."""
    return isinstance(exc, duckdb.InvalidInputException) or type(exc) is duckdb.Error


def damaged_file_message(path: Path) -> str:
    """The Dutch message for a Parquet file whose data DuckDB cannot read (its footer was readable)."""
    return (f"{path.name}: het Parquet-bestand is beschadigd (de gegevens zijn niet te lezen); vraag een "
            "nieuw bestand aan of zet het opnieuw over")


@contextlib.contextmanager
def reading(path: Path) -> Iterator[None]:
    """Turn DuckDB's failure on the content of `path` into a LinkageError; DuckDB's text is not passed on."""
    try:
        yield
    except duckdb.Error as exc:
        if not reading_failed(exc):
            raise
        raise LinkageError(damaged_file_message(path)) from None


CONNECTION_CONFIG = {"preserve_insertion_order": False}


@contextlib.contextmanager
def private_connection() -> Iterator[duckdb.DuckDBPyConnection]:
    """DuckDB in memory that spills (when it must) into a private work folder, never into ./.tmp.

    Row order inside tables is free (preserve_insertion_order off: streaming without reordering); every
    result that leaves DuckDB has its own ORDER BY, so the outputs do not depend on it."""
    with private_workdir("duckdb") as spill:
        with duckdb.connect(config=CONNECTION_CONFIG | {"temp_directory": str(spill)}) as con:
            yield con


def _households_unit(con: duckdb.DuckDBPyConnection, organisations: int) -> str:
    """The SQL unit that reduces linked records to households: bit sets when every set fits in one."""
    services, domains = execute(con, "distinct_values").fetchone()
    return "households_bitsets" if max(services, domains, organisations) <= MAX_BIT_SET else "households"


def aggregate_households(linked: LinkedHouseholds, levels: tuple[str, ...], seed: int = 0,
                         divisions: dict[str, dict[str, str]] | None = None) -> LinkageResult:
    """Count households per area (and own division, §9) for every indicator and group; shuffle the
    household microdata with `seed`."""
    counts = area_indicator_counts(linked.cube.copy(), linked.denominators.copy(), levels,
                                   linked.service_counts.copy(), divisions)
    costs = (None if linked.costs is None
             else cost_cells(linked.costs, linked.denominators.copy(), levels, divisions))
    return LinkageResult(
        counts,
        linked.quality,
        household_microdata(linked.microdata, seed),
        linked.register_key_id,
        dict(linked.stage_counts),
        costs,
    )


def link_deliveries(
    deliveries: list[DeliveryFile], register: Path, period: Period, levels: tuple[str, ...], seed: int = 0,
    divisions: dict[str, dict[str, str]] | None = None,
) -> LinkageResult:
    """Link, then count households per area for every indicator."""
    return aggregate_households(link_records(deliveries, register, period), levels, seed, divisions)


def _quality_types(quality: pd.DataFrame) -> pd.DataFrame:
    for column in quality.columns[2:]:
        quality[column] = quality[column].astype("int64")
    return quality


def household_microdata(micro: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Domain flags per household, rows in a seeded random order (content decides nothing)."""
    # `domeinen` is the sorted domain names joined by "+": a domain is one of its parts. The few distinct
    # domain sets are split once; each household takes its set's flags by position.
    positions, domain_sets = pd.factorize(micro["domeinen"].astype("str"))
    frame = pd.DataFrame({"buurtcode": micro["buurtcode"], "wijkcode": micro["wijkcode"]})
    for domain in DOMAINS:
        flags = np.array([domain in domain_set.split("+") for domain_set in domain_sets], dtype=bool)
        frame[domain] = flags[positions]
    frame["aantal_voorzieningen"] = micro["aantal_voorzieningen"].astype("int64")
    frame["aantal_organisaties"] = micro["aantal_organisaties"].astype("int64")
    for column in kenmerk_columns(micro):
        frame[column] = micro[column].astype(str)  # docs/contract.md §9
    order = np.random.default_rng(seed).permutation(len(frame))
    return frame.iloc[order].reset_index(drop=True)


PROFILE_KEYS = ["domeinen", "voorzieningen", "organisaties", "instroom", "instroom_samenloop", "uitstroom",
                "duur"]
"""The columns of household_cube.sql that decide which indicators a household counts in."""


def _profile_indicators(domains: frozenset[str], services: int, organisations: int, inflow: bool,
                        inflow_multi: bool, outflow: bool, duration: int) -> list[str]:
    names = [WITH_SERVICE, *(DOMAIN_INDICATORS[d] for d in DOMAINS if d in domains)]
    combination = indicator_for_domain_set(domains)
    names.append(combination)
    if len(domains) > 1:
        names.append(MULTI_DOMAIN)
    names.append(domain_count_indicator(len(domains)))
    names.append(service_count_indicator(services))
    names.append(STACK_INDICATORS[combination, service_count_indicator(services)])
    names.append(organisation_count_indicator(organisations))
    if inflow:
        names.append(INFLOW)
    if inflow_multi:
        names.append(INFLOW_MULTI_DOMAIN)
    if outflow:
        names.append(OUTFLOW)
    if duration >= 0:
        names.append(DURATION_INDICATORS[duration])
    return names


def _profile_memberships(cube: pd.DataFrame, indicators: tuple[str, ...]) -> _Memberships:
    """Number each cube row's profile (domain set, capped counts, §10 classes) and list, per distinct
    profile, the positions in `indicators` of the indicators it counts in."""
    codes = cube.groupby(PROFILE_KEYS, sort=False).ngroup().to_numpy()  # numbered in order of appearance
    distinct = cube[PROFILE_KEYS].drop_duplicates().itertuples(index=False)
    position = {name: number for number, name in enumerate(indicators)}
    members = [
        [position[name] for name in _profile_indicators(
            frozenset(row[0].split("+")), int(row[1]), int(row[2]), bool(row[3]), bool(row[4]), bool(row[5]),
            int(row[6])) if name in position]
        for row in distinct
    ]
    sizes = np.array([len(m) for m in members], dtype=np.int64)
    flat = np.array([p for m in members for p in m], dtype=np.int64)
    return _Memberships(codes.astype(np.int64), sizes, np.cumsum(sizes) - sizes, flat)


@dataclass
class _Memberships:
    """Which indicators each profile counts in, as flat arrays (CSR: offsets and sizes into `flat`)."""

    profile: np.ndarray
    """The profile number of every cube row."""
    sizes: np.ndarray
    offsets: np.ndarray
    flat: np.ndarray


def area_indicator_counts(
    cube: pd.DataFrame, denominators: pd.DataFrame, levels: tuple[str, ...],
    service_counts: pd.DataFrame | None = None, divisions: dict[str, dict[str, str]] | None = None,
) -> pd.DataFrame:
    """Every indicator for every area of the requested levels, zeros included; per kenmerk value too.

    `divisions` are the gemeente's own area divisions (§9): name -> buurtcode -> area code; each is
    published as its own level under the gemeente. Rows of groep "" (all households) come first.
    """
    if service_counts is None or service_counts.empty:
        # No voorziening counted (e.g. nothing linked): an empty frame with the group columns too.
        service_counts = pd.DataFrame(
            columns=["buurtcode", "wijkcode", "gemeentecode", *kenmerk_columns(denominators), "voorziening",
                     "aantal"], dtype=object
        )
    service_counts = service_counts.assign(indicators=SERVICE_CODE_PREFIX + service_counts["voorziening"])
    indicators = table_indicators(service_counts["voorziening"].unique())
    published = published_levels(levels, divisions, [cube, denominators, service_counts])
    memberships = _profile_memberships(cube, indicators)
    cube = cube.assign(_profiel=memberships.profile)
    tables = _Tables(cube, denominators, service_counts)
    frames = [_group_counts(tables, tables, published, indicators, memberships, "")]
    for column, value, group in kenmerk_groups(denominators):
        subset = tables.where(column, value)
        frames.append(_group_counts(subset, tables, published, indicators, memberships, group))
    result = pd.concat(frames, ignore_index=True)
    result["aantal"] = result["aantal"].astype("int64")
    result["bovenliggend"] = (
        result["bovenliggend"].astype("object").where(result["bovenliggend"].notna(), None)
    )
    return result[["gebiedscode", "niveau", "groep", "bovenliggend", "indicator", "aantal"]]


@dataclass
class _Tables:
    """The aggregation's inputs for one group of households."""

    cube: pd.DataFrame
    denominators: pd.DataFrame
    services: pd.DataFrame

    def where(self, column: str, value: str) -> _Tables:
        return _Tables(self.cube[self.cube[column].astype(str) == value],
                       self.denominators[self.denominators[column].astype(str) == value],
                       self.services[self.services[column].astype(str) == value])


def _profile_cells(group: _Tables, memberships: _Memberships, area: np.ndarray, width: int) -> np.ndarray:
    """Flat cell numbers (area position * width + indicator position) and weights of every (cube row,
    indicator it counts in) pair whose area is published."""
    known = area >= 0
    profile = group.cube["_profiel"].to_numpy()[known]
    weights = group.cube["aantal"].to_numpy(dtype=np.int64)[known]
    sizes = memberships.sizes[profile]
    starts = np.repeat(memberships.offsets[profile] - (np.cumsum(sizes) - sizes), sizes)
    members = memberships.flat[starts + np.arange(int(sizes.sum()))]
    return np.repeat(area[known], sizes) * width + members, np.repeat(weights, sizes)


def _group_counts(group: _Tables, everyone: _Tables, published: Levels, indicators: tuple[str, ...],
                  memberships: _Memberships, name: str) -> pd.DataFrame:
    """All cells of one group: the areas come from all households, so every group has every area."""
    frames = []
    width = len(indicators)
    indicator_index = pd.Index(indicators)
    for level in published.ordered:
        code_column = published.columns[level]
        parents = published.areas(everyone.denominators, level)
        area_index = pd.Index(parents.index)
        cells, weights = _profile_cells(group, memberships, area_index.get_indexer(group.cube[code_column]),
                                        width)
        service_area = area_index.get_indexer(group.services[code_column])
        service_indicator = indicator_index.get_indexer(group.services["indicators"])
        known = (service_area >= 0) & (service_indicator >= 0)
        cells = np.concatenate([cells, service_area[known] * width + service_indicator[known]])
        weights = np.concatenate([weights, group.services["aantal"].to_numpy(dtype=np.int64)[known]])
        counts = np.bincount(cells, weights=weights, minlength=len(area_index) * width).astype(np.int64)
        household_totals = group.denominators.groupby(code_column)["huishoudens"].sum()
        counts[indicator_index.get_loc(HOUSEHOLDS)::width] = (
            area_index.map(household_totals).fillna(0).to_numpy().astype(np.int64)
        )
        frames.append(pd.DataFrame({
            "gebiedscode": np.repeat(area_index.to_numpy(), width),
            "indicator": np.tile(np.array(indicators, dtype=object), len(area_index)),
            "aantal": counts,
            "niveau": level,
            "groep": name,
            "bovenliggend": np.repeat(parents.to_numpy(dtype=object), width),
        }))
    return pd.concat(frames, ignore_index=True)
