"""Amounts when linking (docs/contract.md §12): 301 budgets pro rata, old files, records_met_bedrag."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
from test_linking import BU1, BU2, KEY_ID, write_delivery, write_register

from linkage.linking import describe_delivery, link_records
from schemas.formats import (
    AMOUNT_KIND,
    AMOUNT_WHOLE_ASSIGNMENT,
    DELIVERY_FORMAT,
    DELIVERY_FORMAT_VERSION,
    with_metadata,
)
from schemas.periods import parse_period


def _register(tmp_path):
    return write_register(tmp_path / "reg.parquet", [("a1", "p1", BU1, 1), ("a2", "p2", BU1, 1),
                                                     ("a4", "p4", BU2, 1)])


def test_amounts_per_household_and_records_with_an_amount(tmp_path):
    csv = write_delivery(tmp_path / "csv.parquet", "wijkteam", [
        ("a1", "p1", "01", "wmo", date(2026, 1, 1), None, None, 150_000),
        ("a1", "p1", "PW01", "werk_inkomen", date(2026, 1, 1), None, None, 50_000),
        ("a2", "p2", "01", "wmo", date(2026, 1, 1), None, None, None),
    ])
    # 301: a Budget for 1 Jan - 31 Dec 2026 (365 days), of which 181 days fall in 2026H1.
    msg = write_delivery(tmp_path / "301.parquet", "jeugd", [
        ("a4", "p4", "45", "jeugd", date(2026, 1, 1), date(2026, 12, 31), None, 365_000),
        ("a4", "p4", "41", "jeugd", date(2026, 1, 1), None, None, 999_999),  # no einddatum: no pro rata
    ], extra_meta={AMOUNT_KIND: AMOUNT_WHOLE_ASSIGNMENT})
    linked = link_records([describe_delivery(csv), describe_delivery(msg)], _register(tmp_path),
                          parse_period("2026H1"))
    costs = linked.costs.set_index("domeinen")
    assert costs.at["werk_inkomen+wmo", "bedrag"] == 200_000
    assert costs.at["wmo", "bedrag"] == 0 and costs.at["wmo", "records_met_bedrag"] == 0
    assert costs.at["jeugd", "bedrag"] == 181_000
    quality = linked.quality.set_index("partner")
    assert list(linked.quality.columns)[-1] == "records_met_bedrag"
    assert quality.at["wijkteam", "records_met_bedrag"] == 2
    assert quality.at["jeugd", "records_met_bedrag"] == 1


def test_a_version_1_delivery_without_alternative_or_amount_still_links(tmp_path):
    path = write_delivery(tmp_path / "oud.parquet", "oud",
                          [("a1", "p1", "01", "wmo", date(2026, 1, 1), None)], version="1")
    assert {"adres_pseudoniem_alt", "bedrag"}.isdisjoint(pq.read_schema(path).names)
    linked = link_records([describe_delivery(path)], _register(tmp_path), parse_period("2026"))
    assert linked.costs is None  # no record has an amount: nothing to sum
    assert linked.quality["records_met_bedrag"].tolist() == [0]
    assert linked.quality["records_in_periode"].tolist() == [1]


def test_a_version_2_delivery_written_before_amounts_links_on_its_alternative(tmp_path):
    """A file with `adres_pseudoniem_alt` but no `bedrag` (§3 step 8, before §12): the alternative links,
    every amount is unknown."""
    table = pa.table({"adres_pseudoniem": ["x9"], "pand_pseudoniem": ["p9"], "voorziening": ["01"],
                      "domein": ["wmo"], "begindatum": [date(2026, 1, 1)],
                      "einddatum": pa.array([None], pa.date32()), "adres_pseudoniem_alt": ["a2"]})
    path = tmp_path / "zonder_bedrag.parquet"
    pq.write_table(with_metadata(table, {"format": DELIVERY_FORMAT, "format_version": DELIVERY_FORMAT_VERSION,
                                         "partner": "alt", "key_id": KEY_ID, "rows_read": 1,
                                         "rows_rejected": 0}), path)
    linked = link_records([describe_delivery(path)], _register(tmp_path), parse_period("2026"))
    quality = linked.quality.iloc[0]
    assert quality["gekoppeld_alternatief"] == 1 and quality["records_met_bedrag"] == 0
    assert linked.costs is None  # no record has an amount: nothing to sum
