"""Linking rules of docs/contract.md §7 on hand-made pseudonymised files (no key needed)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from linkage.linking import LinkageError, describe_delivery, link_deliveries
from schemas.formats import (
    DELIVERY_FORMAT,
    DELIVERY_FORMAT_VERSION,
    DELIVERY_SCHEMA,
    REGISTER_FORMAT,
    REGISTER_FORMAT_VERSION,
    REGISTER_SCHEMA,
    PseudonymisedFileError,
    with_metadata,
)
from schemas.indicators import table_indicators
from schemas.periods import parse_period

KEY_ID = "0123456789abcdef"


def write_register(path: Path, rows: list[tuple[str, str, str, int]], key_id: str = KEY_ID,
                   kenmerken: dict[str, list[str]] | None = None) -> Path:
    """A pseudonymised register; `kenmerken` adds `kenmerk_*` columns (contract §9), one value per row."""
    table = pa.table(
        {
            "adres_pseudoniem": [r[0] for r in rows],
            "pand_pseudoniem": [r[1] for r in rows],
            "buurtcode": [r[2] for r in rows],
            "wijkcode": ["WK" + r[2][2:8] for r in rows],
            "gemeentecode": ["GM" + r[2][2:6] for r in rows],
            "huishoudens": [r[3] for r in rows],
        },
        schema=REGISTER_SCHEMA,
    )
    for name, values in (kenmerken or {}).items():
        table = table.append_column(name, pa.array(values, pa.string()))
    pq.write_table(
        with_metadata(table, {"format": REGISTER_FORMAT, "format_version": REGISTER_FORMAT_VERSION,
                              "key_id": key_id}),
        path,
    )
    return path


def write_delivery(path: Path, partner: str, rows: list[tuple], key_id: str = KEY_ID,
                   version: str = "", extra_meta: dict[str, str] | None = None) -> Path:
    """Rows (adres, pand, voorziening, domein, begin, einde[, adres_alt[, bedrag]]); `version` "1" writes
    the format of docs/contract.md v1, without `adres_pseudoniem_alt` and `bedrag`."""
    columns = {
        "adres_pseudoniem": [r[0] for r in rows],
        "pand_pseudoniem": [r[1] for r in rows],
        "voorziening": [r[2] for r in rows],
        "domein": [r[3] for r in rows],
        "begindatum": [r[4] for r in rows],
        "einddatum": [r[5] for r in rows],
        "adres_pseudoniem_alt": [r[6] if len(r) > 6 else None for r in rows],
        "bedrag": [r[7] if len(r) > 7 else None for r in rows],
    }
    schema = DELIVERY_SCHEMA
    if version == "1":
        del columns["adres_pseudoniem_alt"], columns["bedrag"]
        schema = pa.schema([f for f in DELIVERY_SCHEMA if f.name not in ("adres_pseudoniem_alt", "bedrag")])
    table = pa.table(columns, schema=schema)
    meta = {
        "format": DELIVERY_FORMAT,
        "format_version": version or DELIVERY_FORMAT_VERSION,
        "partner": partner,
        "key_id": key_id,
        "rows_read": len(rows),
        "rows_rejected": 0,
        **(extra_meta or {}),
    }
    pq.write_table(with_metadata(table, meta), path)
    return path


BU1, BU2 = "BU99990101", "BU99990201"
JAN = date(2026, 1, 15)


@pytest.fixture
def register(tmp_path):
    return write_register(
        tmp_path / "reg.parquet",
        [
            ("a1", "p1", BU1, 1),
            ("a2", "p2", BU1, 1),  # pand p2 has two addresses: never a pand link
            ("a3", "p2", BU1, 1),
            ("a4", "p4", BU2, 2),
            ("a5", "p5", BU2, 1),
        ],
    )


def value(counts, code, indicator):
    row = counts[(counts["gebiedscode"] == code) & (counts["indicator"] == indicator)]
    assert len(row) == 1
    return int(row["aantal"].iloc[0])


def test_link_by_address_then_unique_pand(tmp_path, register):
    deliveries = [
        describe_delivery(
            write_delivery(
                tmp_path / "d1.parquet",
                "jeugd_a",
                [
                    ("a1", "p1", "45", "jeugd", JAN, None),  # address link
                    ("xx", "p4", "45", "jeugd", JAN, None),  # unique pand → a4
                    ("yy", "p2", "45", "jeugd", JAN, None),  # ambiguous pand → unlinked
                    ("zz", "p9", "45", "jeugd", JAN, None),  # outside the register
                    ("a5", "p5", "45", "jeugd", date(2026, 7, 1), None),  # after the period
                ],
            )
        )
    ]
    result = link_deliveries(deliveries, register, parse_period("2026H1"), ("gemeente", "wijk", "buurt"))
    quality = result.quality.iloc[0]
    assert (quality["records"], quality["records_in_periode"]) == (5, 4)
    assert (quality["gekoppeld_adres"], quality["gekoppeld_alternatief"], quality["gekoppeld_pand"],
            quality["niet_gekoppeld"]) == (1, 0, 1, 2)
    counts = result.counts
    assert value(counts, "GM9999", "huishoudens") == 6
    assert value(counts, "GM9999", "met_voorziening") == 2
    assert value(counts, BU2, "met_voorziening") == 1
    assert value(counts, "WK999902", "alleen:jeugd") == 1


@pytest.fixture
def register_with_h(tmp_path):
    """A pand with `107` and `107-H` (toevoeging H, as the BAG writes it), and one where the alternative
    reading is ambiguous: two register addresses share the pseudonym `b1`."""
    return write_register(
        tmp_path / "reg_h.parquet",
        [
            ("a107", "p107", BU1, 1),
            ("a107_h", "p107", BU1, 1),  # what `107-H` means: toevoeging H
            ("a121", "p121", BU2, 1),  # pand p121 has one address
            ("b1", "p9", BU1, 1),
            ("b1", "p9", BU2, 1),
        ],
    )


def test_alternative_reading_links_after_the_address_and_before_the_pand(tmp_path, register_with_h):
    """docs/contract.md §7 (v2): adres, then the alternative pseudonym if exactly one register address has
    it, then a unique pand, otherwise unlinked."""
    rows = [
        ("a107", "p107", "45", "jeugd", JAN, None, "a107_h"),  # the address itself links first
        ("x107h", "p107", "45", "jeugd", JAN, None, "a107_h"),  # `107-H` typed: via the alternative
        ("x107h", "p107", "45", "jeugd", JAN, None),  # no alternative reading: pand p107 is ambiguous
        ("x121h", "p121", "45", "jeugd", JAN, None, "zz"),  # alternative not in the register: unique pand
        ("x9", "p9", "45", "jeugd", JAN, None, "b1"),  # alternative held by two addresses: not used
        ("x9", "p9", "45", "jeugd", date(2027, 1, 1), None, "a107_h"),  # outside the period
    ]
    delivery = describe_delivery(write_delivery(tmp_path / "d.parquet", "jeugd_a", rows))
    assert delivery.alternative
    result = link_deliveries([delivery], register_with_h, parse_period("2026"), ("gemeente", "buurt"))
    quality = result.quality.iloc[0]
    assert list(result.quality.columns) == [
        "partner", "key_id", "records", "records_in_periode", "gekoppeld_adres", "gekoppeld_alternatief",
        "gekoppeld_pand", "niet_gekoppeld", "records_met_bedrag",
    ]
    assert (quality["records_in_periode"], quality["gekoppeld_adres"], quality["gekoppeld_alternatief"],
            quality["gekoppeld_pand"], quality["niet_gekoppeld"]) == (5, 1, 1, 1, 2)
    assert value(result.counts, BU1, "met_voorziening") == 2  # a107 and a107_h
    assert value(result.counts, BU2, "met_voorziening") == 1  # a121


def test_version_1_delivery_is_read_without_alternative(tmp_path, register_with_h):
    path = write_delivery(
        tmp_path / "v1.parquet", "wmo_b",
        [("a107", "p107", "01", "wmo", JAN, None), ("x107h", "p107", "01", "wmo", JAN, None)], version="1",
    )
    delivery = describe_delivery(path)
    assert not delivery.alternative
    result = link_deliveries([delivery], register_with_h, parse_period("2026"), ("gemeente",))
    quality = result.quality.iloc[0]
    assert (quality["gekoppeld_adres"], quality["gekoppeld_alternatief"], quality["niet_gekoppeld"]) == (
        1, 0, 1)


def test_version_2_delivery_without_the_alternative_column_is_refused(tmp_path):
    path = write_delivery(tmp_path / "v2.parquet", "wmo_b", [("a1", "p1", "01", "wmo", JAN, None)],
                          version="1")
    meta = pq.read_schema(path).metadata
    table = pq.read_table(path).replace_schema_metadata({**meta, b"format_version": b"2"})
    pq.write_table(table, path)
    with pytest.raises(PseudonymisedFileError, match="adres_pseudoniem_alt"):
        describe_delivery(path)


def test_unknown_delivery_version_is_refused(tmp_path):
    path = write_delivery(tmp_path / "v3.parquet", "wmo_b", [("a1", "p1", "01", "wmo", JAN, None)],
                          version="3")
    with pytest.raises(PseudonymisedFileError, match="formaatversie '3'"):
        describe_delivery(path)


def test_household_indicators_over_partners_and_domains(tmp_path, register):
    write_delivery(
        tmp_path / "d1.parquet",
        "jeugd_a",
        [("a1", "p1", "45", "jeugd", JAN, None), ("a1", "p1", "43", "jeugd", JAN, None)],
    )
    write_delivery(
        tmp_path / "d2.parquet",
        "wmo_b",
        [("a1", "p1", "01", "wmo", JAN, date(2026, 3, 1)), ("a2", "p2", "01", "wmo", JAN, None)],
    )
    write_delivery(
        tmp_path / "d3.parquet",
        "wi_c",
        [
            ("a1", "p1", "PW01", "werk_inkomen", JAN, None),
            ("a2", "p2", "PW05", "werk_inkomen", JAN, None),
            ("a2", "p2", "PW05", "werk_inkomen", date(2025, 1, 1), None),
        ],
    )
    deliveries = [describe_delivery(p) for p in sorted(tmp_path.glob("d*.parquet"))]
    result = link_deliveries(deliveries, register, parse_period("2026H1"), ("gemeente", "wijk"))
    counts = result.counts
    assert set(counts["niveau"]) == {"gemeente", "wijk"}
    assert list(counts[counts["gebiedscode"] == "GM9999"]["indicator"]) == list(
        table_indicators(["01", "43", "45", "PW01", "PW05"])
    )
    gm = "GM9999"
    assert value(counts, gm, "met_voorziening") == 2
    assert value(counts, gm, "combinatie:jeugd+wmo+werk_inkomen") == 1
    assert value(counts, gm, "combinatie:wmo+werk_inkomen") == 1
    assert value(counts, gm, "domeinen:2+") == 2
    assert value(counts, gm, "voorzieningen:4+") == 1  # 45, 43, 01, PW01
    assert value(counts, gm, "voorzieningen:2") == 1  # 01 and PW05 (twice)
    assert value(counts, gm, "organisaties:3+") == 1
    assert value(counts, gm, "organisaties:2") == 1
    assert value(counts, gm, "domein:jeugd") == 1
    # contract §12 and §11: exact number of domains, the stacking table and one cell per delivered code
    assert [value(counts, gm, f"domeinen:{k}") for k in (1, 2, 3)] == [0, 1, 1]
    assert value(counts, gm, "combinatie:jeugd+wmo+werk_inkomen&voorzieningen:4+") == 1
    assert value(counts, gm, "combinatie:wmo+werk_inkomen&voorzieningen:2") == 1
    assert value(counts, gm, "combinatie:wmo+werk_inkomen&voorzieningen:1") == 0
    assert value(counts, gm, "voorziening:01") == 2
    assert value(counts, gm, "voorziening:PW05") == 1  # two records, one household
    assert value(counts, gm, "voorziening:45") == 1
    micro = result.households
    assert len(micro) == 2
    assert not any("pseudoniem" in c for c in micro.columns)
    assert set(micro.columns) == {
        "buurtcode",
        "wijkcode",
        "jeugd",
        "wmo",
        "werk_inkomen",
        "aantal_voorzieningen",
        "aantal_organisaties",
    }


def test_other_key_is_refused_by_partner_name(tmp_path, register):
    good = write_delivery(tmp_path / "d1.parquet", "jeugd_a", [("a1", "p1", "45", "jeugd", JAN, None)])
    bad = write_delivery(
        tmp_path / "d2.parquet",
        "wmo_zorgkracht",
        [("a1", "p1", "01", "wmo", JAN, None)],
        key_id="fedcba9876543210",
    )
    with pytest.raises(LinkageError, match="wmo_zorgkracht") as caught:
        link_deliveries(
            [describe_delivery(good), describe_delivery(bad)], register, parse_period("2026"), ("gemeente",)
        )
    assert "jeugd_a" not in str(caught.value)


def test_not_a_delivery_is_refused(tmp_path, register):
    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"x": [1]}), plain)
    with pytest.raises(Exception, match="geen gepseudonimiseerde levering"):
        describe_delivery(plain)


def test_bit_set_households_equal_the_distinct_aggregates(tmp_path, monkeypatch):
    """households_bitsets.sql and households.sql give the same households on a messy random run."""
    import random

    from linkage import linking

    rng = random.Random(7)
    buurten = [f"BU9999{w:02d}{b:02d}" for w in range(1, 4) for b in range(1, 4)]
    rows = [(f"a{i}", f"p{i // 3}", rng.choice(buurten), rng.randint(1, 3)) for i in range(600)]
    register_path = write_register(tmp_path / "reg.parquet", rows)
    domains = {"jeugd": ["41", "45", "46"], "wmo": ["02", "04", "99"], "werk_inkomen": ["70", "71"]}
    deliveries = []
    for number in range(7):
        partner = f"partner_{number % 5}"  # two partners deliver twice: one organisation each
        records = []
        for _ in range(400):
            domain = rng.choice(list(domains))
            address = rng.randrange(700)  # some addresses are not in the register
            records.append((f"a{address}" if rng.random() < 0.9 else f"x{address}", f"p{address // 3}",
                            rng.choice(domains[domain]), domain, date(2026, rng.randint(1, 12), 1),
                            None if rng.random() < 0.7 else date(2026, rng.randint(1, 12), 28)))
        path = write_delivery(tmp_path / f"d{number}.parquet", partner, records)
        deliveries.append(describe_delivery(path))
    period = parse_period("2026H1")
    units = []
    original = linking._households_unit
    monkeypatch.setattr(linking, "_households_unit", lambda *a: units.append(original(*a)) or units[-1])
    fast = linking.link_records(deliveries, register_path, period)
    monkeypatch.setattr(linking, "MAX_BIT_SET", 0)
    plain = linking.link_records(deliveries, register_path, period)
    assert units == ["households_bitsets", "households"]
    assert len(fast.microdata) > 100 and fast.microdata["domeinen"].str.contains("+", regex=False).any()
    assert (fast.microdata["aantal_organisaties"] > 1).any()
    pd.testing.assert_frame_equal(fast.microdata, plain.microdata)
    pd.testing.assert_frame_equal(fast.cube, plain.cube)
    assert fast.stage_counts == plain.stage_counts


def test_inflow_outflow_and_duration_of_samenloop(tmp_path, register):
    """Contract §10 on four households in 2026H1, with dates chosen on both sides of each boundary."""
    write_delivery(
        tmp_path / "d1.parquet",
        "jeugd_a",
        [
            ("a1", "p1", "45", "jeugd", date(2024, 3, 1), None),  # jeugd since 2024
            ("a4", "p4", "45", "jeugd", date(2026, 1, 1), date(2026, 6, 30)),  # starts and ends in the period
            ("a5", "p5", "45", "jeugd", date(2025, 7, 1), date(2026, 7, 1)),  # ends after the period
        ],
    )
    write_delivery(
        tmp_path / "d2.parquet",
        "wmo_b",
        [
            ("a1", "p1", "01", "wmo", date(2025, 6, 30), date(2026, 2, 1)),  # samenloop from 2025-06-30
            ("a2", "p2", "01", "wmo", date(2025, 1, 1), None),
            ("a5", "p5", "01", "wmo", date(2023, 1, 1), None),
        ],
    )
    write_delivery(
        tmp_path / "d3.parquet",
        "wi_c",
        [
            ("a2", "p2", "PW01", "werk_inkomen", date(2026, 3, 1), date(2026, 5, 1)),  # samenloop from H1
            ("a5", "p5", "PW01", "werk_inkomen", date(2024, 6, 30), None),
        ],
    )
    deliveries = [describe_delivery(p) for p in sorted(tmp_path.glob("d*.parquet"))]
    counts = link_deliveries(deliveries, register, parse_period("2026H1"), ("gemeente",)).counts
    gm = "GM9999"
    # a4 is the only household whose earliest begindatum lies in the period
    assert value(counts, gm, "instroom:met_voorziening") == 1
    # samenloop begins: a1 2025-06-30, a2 2026-03-01, a5 2024-06-30 (second of its three domain starts)
    assert value(counts, gm, "instroom:domeinen:2+") == 1
    # only a4 has every record ended on or before 2026-06-30
    assert value(counts, gm, "uitstroom:met_voorziening") == 1
    # days to 2026-06-30: a2 121, a1 365 (exactly one year: 1-2), a5 730 (2+)
    assert value(counts, gm, "samenloop_duur:0-1") == 1
    assert value(counts, gm, "samenloop_duur:1-2") == 1
    assert value(counts, gm, "samenloop_duur:2+") == 1
    assert value(counts, gm, "domeinen:2+") == 3


def test_groups_per_kenmerk_value_add_up_to_all_households(tmp_path):
    """Contract §9: every indicator per kenmerk value (onbekend included) at every level; own divisions."""
    rows = [("a1", "p1", BU1, 1), ("a2", "p2", BU1, 2), ("a3", "p3", BU2, 1), ("a4", "p4", BU2, 1)]
    types = ["eenouder", "onbekend", "eenouder", "paar"]
    register = write_register(tmp_path / "reg.parquet", rows, kenmerken={"kenmerk_huishoudtype": types})
    write_delivery(tmp_path / "d1.parquet", "jeugd_a",
                   [("a1", "p1", "45", "jeugd", JAN, None), ("a3", "p3", "45", "jeugd", JAN, None)])
    write_delivery(tmp_path / "d2.parquet", "wmo_b",
                   [("a1", "p1", "01", "wmo", JAN, None), ("a4", "p4", "01", "wmo", JAN, None)])
    deliveries = [describe_delivery(p) for p in sorted(tmp_path.glob("d*.parquet"))]
    divisions = {"wijkteam": {BU1: "T1", BU2: "T1"}}
    result = link_deliveries(deliveries, register, parse_period("2026H1"), ("gemeente", "wijk"),
                             divisions=divisions)
    counts = result.counts
    assert list(counts.columns) == ["gebiedscode", "niveau", "groep", "bovenliggend", "indicator", "aantal"]
    groups = list(dict.fromkeys(counts["groep"]))
    assert groups == ["", "huishoudtype=eenouder", "huishoudtype=onbekend", "huishoudtype=paar"]
    assert set(counts["niveau"]) == {"gemeente", "wijk", "wijkteam"}

    def cell(code, group, indicator):
        row = counts[(counts["gebiedscode"] == code) & (counts["groep"] == group)
                     & (counts["indicator"] == indicator)]
        assert len(row) == 1
        return int(row["aantal"].iloc[0])

    assert cell("GM9999", "huishoudtype=eenouder", "huishoudens") == 2
    assert cell("GM9999", "huishoudtype=eenouder", "domeinen:2+") == 1
    assert cell("GM9999", "huishoudtype=eenouder", "voorziening:45") == 2
    assert cell("GM9999", "huishoudtype=paar", "met_voorziening") == 1
    assert cell("GM9999", "huishoudtype=onbekend", "huishoudens") == 2
    assert cell("GM9999", "huishoudtype=onbekend", "met_voorziening") == 0
    assert cell("WK999902", "huishoudtype=paar", "domein:wmo") == 1
    assert cell("T1", "", "met_voorziening") == 3 and cell("T1", "huishoudtype=paar", "huishoudens") == 1
    assert counts.loc[counts["niveau"] == "wijkteam", "bovenliggend"].eq("GM9999").all()
    # every cell of groep "" is the sum of its kenmerk values, and the rows of groep "" are today's rows
    by_group = counts.pivot_table(index=["gebiedscode", "indicator"], columns="groep", values="aantal")
    values = [g for g in groups if g]
    assert (by_group[values].sum(axis=1) == by_group[""]).all()
    plain = link_deliveries(deliveries, register, parse_period("2026H1"), ("gemeente", "wijk")).counts
    everyone = counts[(counts["groep"] == "") & (counts["niveau"] != "wijkteam")].reset_index(drop=True)
    pd.testing.assert_frame_equal(everyone, plain[plain["groep"] == ""].reset_index(drop=True))
    assert "kenmerk_huishoudtype" in result.households.columns


def test_groups_without_any_voorziening_count_zeros():
    """A register with kenmerken and not one linked record: every group gets its zeros, no KeyError."""
    from linkage.linking import PROFILE_KEYS, area_indicator_counts

    denominators = pd.DataFrame({"buurtcode": [BU1, BU2], "wijkcode": ["WK" + BU1[2:8], "WK" + BU2[2:8]],
                                 "gemeentecode": ["GM" + BU1[2:6]] * 2, "huishoudens": [3, 4],
                                 "kenmerk_huishoudtype": ["eenouder", "paar"]})
    cube = pd.DataFrame(columns=["buurtcode", "wijkcode", "gemeentecode", "kenmerk_huishoudtype",
                                 *PROFILE_KEYS, "aantal"])
    counts = area_indicator_counts(cube, denominators, ("gemeente", "wijk"))
    assert set(counts["groep"]) == {"", "huishoudtype=eenouder", "huishoudtype=paar"}
    households = counts[(counts["indicator"] == "huishoudens") & (counts["niveau"] == "gemeente")]
    assert dict(zip(households["groep"], households["aantal"], strict=True)) == {
        "": 7, "huishoudtype=eenouder": 3, "huishoudtype=paar": 4}
    assert (counts.loc[counts["indicator"] != "huishoudens", "aantal"] == 0).all()
