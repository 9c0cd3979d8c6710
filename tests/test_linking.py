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
    DELIVERY_SCHEMA,
    FORMAT_VERSION,
    REGISTER_FORMAT,
    REGISTER_SCHEMA,
    with_metadata,
)
from schemas.indicators import INDICATORS
from schemas.periods import parse_period

KEY_ID = "0123456789abcdef"


def write_register(path: Path, rows: list[tuple[str, str, str, int]], key_id: str = KEY_ID) -> Path:
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
    pq.write_table(
        with_metadata(table, {"format": REGISTER_FORMAT, "format_version": FORMAT_VERSION, "key_id": key_id}),
        path,
    )
    return path


def write_delivery(path: Path, partner: str, rows: list[tuple], key_id: str = KEY_ID,
                   extra_meta: dict[str, str] | None = None) -> Path:
    """A pseudonymised delivery of `rows` (adres, pand, voorziening, domein, begin, einde[, bedrag])."""
    table = pa.table(
        {
            "adres_pseudoniem": [r[0] for r in rows],
            "pand_pseudoniem": [r[1] for r in rows],
            "voorziening": [r[2] for r in rows],
            "domein": [r[3] for r in rows],
            "begindatum": [r[4] for r in rows],
            "einddatum": [r[5] for r in rows],
            "bedrag": [r[6] if len(r) > 6 else None for r in rows],
        },
        schema=DELIVERY_SCHEMA,
    )
    meta = {
        "format": DELIVERY_FORMAT,
        "format_version": FORMAT_VERSION,
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
    assert (quality["gekoppeld_adres"], quality["gekoppeld_pand"], quality["niet_gekoppeld"]) == (1, 1, 2)
    counts = result.counts
    assert value(counts, "GM9999", "huishoudens") == 6
    assert value(counts, "GM9999", "met_voorziening") == 2
    assert value(counts, BU2, "met_voorziening") == 1
    assert value(counts, "WK999902", "alleen:jeugd") == 1


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
    assert list(counts[counts["gebiedscode"] == "GM9999"]["indicator"]) == list(INDICATORS)
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
    assert len(fast.households) > 100 and fast.households["domeinen"].str.contains("+", regex=False).any()
    assert (fast.households["aantal_organisaties"] > 1).any()
    pd.testing.assert_frame_equal(fast.households, plain.households)
    assert fast.stage_counts == plain.stage_counts
