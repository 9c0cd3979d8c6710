"""`factlab register`: the custodian pseudonymises the address register (docs/contract.md §6)."""

import pyarrow.parquet as pq

from linkage.pseudonyms import address_pseudonyms
from pipelines.intake.register import pseudonymise_register
from schemas.canonical import canonical_address


def test_register_columns_codes_and_metadata(tmp_path, test_key):
    source = tmp_path / "adressen.csv"
    source.write_text(
        "postcode;huisnummer;huisletter;huisnummertoevoeging;buurtcode;huishoudens\n"
        "1234 ab;12;a;;BU12340101;\n"
        "1234AB;12;;2;bu12340101;3\n"
        "1234AB;12;A;;BU12340101;1\n"  # same address as line 2: counted once
        "12345;1;;;BU12340101;1\n"  # invalid postcode
        "1234AC;1;;;BU1234;1\n"  # invalid buurtcode
        "1234AC;2;;;BU12340202;-1\n",  # invalid households
        encoding="utf-8",
    )
    rejects = tmp_path / "afgekeurd.csv"
    result = pseudonymise_register(source, test_key, tmp_path / "reg.parquet", rejects)
    assert (result.rows_read, result.rows_rejected, result.rows_duplicate) == (6, 3, 1)
    assert (result.addresses, result.households) == (2, 4)
    table = pq.read_table(tmp_path / "reg.parquet")
    assert table.column_names == [
        "adres_pseudoniem",
        "pand_pseudoniem",
        "buurtcode",
        "wijkcode",
        "gemeentecode",
        "huishoudens",
    ]
    assert set(table.column("wijkcode").to_pylist()) == {"WK123401"}
    assert set(table.column("gemeentecode").to_pylist()) == {"GM1234"}
    meta = table.schema.metadata
    assert meta[b"key_id"] == test_key.key_id.encode()
    expected = address_pseudonyms(test_key, [canonical_address("1234AB", "12", "A").canonical])[0]
    assert expected in table.column("adres_pseudoniem").to_pylist()
    text = rejects.read_text(encoding="utf-8-sig")
    assert "regel" in text and ";6;buurtcode;BU1234;buurtcode_ongeldig;" in text
    assert ";4;(regel);;dubbel_adres;" in text
