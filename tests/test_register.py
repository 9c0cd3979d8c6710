"""`factlab register`: the custodian pseudonymises the address register (docs/contract.md §6)."""

import pyarrow.parquet as pq
import pytest

from linkage.pseudonyms import address_pseudonyms
from pipelines.intake.register import pseudonymise_register
from schemas.canonical import canonical_address
from schemas.readers.csv_reader import FileFault


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


def test_kenmerk_columns_are_carried_unchanged(tmp_path, test_key):
    """Contract §9: kenmerk_<naam> columns go into the register; empty = onbekend; other columns never."""
    source = tmp_path / "adressen.csv"
    long_label = "x" * 33
    source.write_text(
        "postcode;huisnummer;buurtcode;kenmerk_huishoudtype;Kenmerk_Leeftijd;bsn;kenmerk_2fout\n"
        "1234AB;1;BU12340101;eenouder;75+;123456782;a\n"
        "1234AB;2;BU12340101;; 27-44 ;123456782;a\n"
        f"1234AB;3;BU12340101;{long_label};45-64;123456782;a\n",
        encoding="utf-8",
    )
    rejects = tmp_path / "afgekeurd.csv"
    result = pseudonymise_register(source, test_key, tmp_path / "reg.parquet", rejects)
    assert (result.rows_read, result.rows_rejected) == (3, 1)
    table = pq.read_table(tmp_path / "reg.parquet")
    assert table.column_names[-2:] == ["kenmerk_huishoudtype", "kenmerk_leeftijd"]
    assert "bsn" not in table.column_names and "kenmerk_2fout" not in table.column_names
    rows = sorted(zip(table.column("kenmerk_huishoudtype").to_pylist(),
                      table.column("kenmerk_leeftijd").to_pylist(), strict=True))
    assert rows == [("eenouder", "75+"), ("onbekend", "27-44")]
    assert ";4;kenmerk_huishoudtype;" in rejects.read_text(encoding="utf-8-sig")
    assert "kenmerk_te_lang" in rejects.read_text(encoding="utf-8-sig")


def test_a_kenmerk_with_more_than_twelve_values_is_a_file_fault(tmp_path, test_key):
    source = tmp_path / "adressen.csv"
    lines = [f"1234AB;{n};BU12340101;klasse{n % 13}" for n in range(1, 27)]
    source.write_text("postcode;huisnummer;buurtcode;kenmerk_inkomen\n" + "\n".join(lines) + "\n",
                      encoding="utf-8")
    with pytest.raises(FileFault, match="kenmerk_inkomen.*13 verschillende waarden"):
        pseudonymise_register(source, test_key, tmp_path / "reg.parquet")
    assert not (tmp_path / "reg.parquet").exists()
    twelve = [f"1234AB;{n};BU12340101;klasse{n % 12}" for n in range(1, 27)]
    source.write_text("postcode;huisnummer;buurtcode;kenmerk_inkomen\n" + "\n".join(twelve) + "\n",
                      encoding="utf-8")
    pseudonymise_register(source, test_key, tmp_path / "reg.parquet")
    assert len(set(pq.read_table(tmp_path / "reg.parquet").column("kenmerk_inkomen").to_pylist())) == 12
