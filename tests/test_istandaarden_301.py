"""iJw/iWmo 301 messages as input (docs/contract.md §4), on the real examples and variations of them."""

from __future__ import annotations

import copy
import csv
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from lxml import etree
from testdata_paths import ISTANDAARDEN, jw301_without_aanduiding

from linkage.keys import write_key
from linkage.pseudonyms import address_pseudonyms, building_pseudonyms
from pipelines.cli.main import main
from pipelines.intake.delivery import pseudonymise_delivery, validate_delivery
from schemas.codelist import load_code_list
from schemas.readers.csv_reader import FileFault
from schemas.readers.istandaard import XSD_DIR, read_message

EXAMPLES = ISTANDAARDEN
JW = {"m": "http://www.istandaarden.nl/ijw/3_2/jw301/schema", "b": "http://www.istandaarden.nl/ijw/3_2/basisschema/schema"}
CONTACTS = "m:Client/m:Contactgegevens/m:Contact"


@pytest.fixture(scope="module")
def codes():
    return load_code_list()


def _jw301() -> etree._ElementTree:
    """The published JW301 without the `TO` on the client's address (see `jw301_without_aanduiding`)."""
    return etree.ElementTree(etree.fromstring(jw301_without_aanduiding()))


def _save(tree: etree._ElementTree, path: Path) -> Path:
    tree.write(str(path), xml_declaration=True, encoding="UTF-8")
    return path


def _contact(soort: str, postcode: str, huisnummer: str, landcode: str | None) -> etree._Element:
    m, b = f"{{{JW['m']}}}", f"{{{JW['b']}}}"
    contact = etree.Element(f"{m}Contact")
    etree.SubElement(contact, f"{m}Soort").text = soort
    adres = etree.SubElement(contact, f"{m}Adres")
    etree.SubElement(etree.SubElement(adres, f"{b}Huis"), f"{b}Huisnummer").text = huisnummer
    etree.SubElement(adres, f"{b}Postcode").text = postcode
    if landcode:
        etree.SubElement(adres, f"{b}LandCode").text = landcode
    return contact


def test_the_xsds_ship_inside_the_product():
    assert sorted(p.relative_to(XSD_DIR).as_posix() for p in XSD_DIR.rglob("*.xsd")) == [
        "ijw/JW301.xsd", "ijw/basisschema.xsd", "iwmo/WMO301.xsd", "iwmo/basisschema.xsd"]


def test_real_jw301_is_rejected_because_its_address_is_tegenover(codes, tmp_path, test_key):
    """Both rows are rejected (AanduidingWoonadres TO): checked, every row is listed with its reason; as a
    delivery to send, nothing valid is left, so it is a file fault and nothing is written."""
    rejects = tmp_path / "afgekeurd.csv"
    result = validate_delivery(EXAMPLES / "JW301.xml", codes, rejects)
    assert (result.rows_read, result.rows_rejected, result.rows_written) == (2, 2, 0)
    listed = list(csv.DictReader(rejects.open(encoding="utf-8-sig"), delimiter=";"))
    assert [(r["regel"], r["code"], r["waarde"], r["kolom"]) for r in listed] == [
        (line, "adres_aanduiding", "TO", "Client/Contactgegevens/Contact/Adres/Huis/AanduidingWoonadres")
        for line in ("170", "188")]
    assert "TO tegenover" in listed[0]["melding"] and "niet het eigen adres" in listed[0]["melding"]
    out = tmp_path / "jw.parquet"
    with pytest.raises(FileFault, match="adres_aanduiding"):
        pseudonymise_delivery(EXAMPLES / "JW301.xml", test_key, "jeugd", out, codes, tmp_path / "rej.csv")
    assert not out.exists() and not (tmp_path / "rej.csv").exists()


def test_real_jw301_gives_one_row_per_toegewezen_product_at_the_verblijf_address(codes, tmp_path, test_key):
    out = tmp_path / "jw.parquet"
    path = tmp_path / "JW301.xml"
    path.write_bytes(jw301_without_aanduiding())
    result = pseudonymise_delivery(path, test_key, "jeugd", out, codes)
    assert (result.rows_read, result.rows_rejected, result.rows_written) == (2, 0, 2)
    assert result.messages == {"JW301": 1}
    rows = pq.read_table(out).to_pylist()
    # No Soort 01 contact: the client's Soort 03 (verblijf) address, never a relative's.
    [adres] = address_pseudonyms(test_key, ["9999XX|9|B|BEL"])
    [pand] = building_pseudonyms(test_key, ["9999XX|9"])
    assert {(r["adres_pseudoniem"], r["pand_pseudoniem"], r["voorziening"], r["domein"]) for r in rows} == {
        (adres, pand, "55", "jeugd")}
    assert sorted((str(r["begindatum"]), str(r["einddatum"])) for r in rows) == [
        ("2026-04-01", "2026-07-14"), ("2026-04-01", "2026-07-19")]
    _, frame = read_message(EXAMPLES / "JW301.xml")
    assert frame["regel"].tolist() == [170, 188]


def test_real_wmo301_is_rejected_as_foreign_with_line_and_reason(codes, tmp_path):
    rejects = tmp_path / "afgekeurd.csv"
    result = validate_delivery(EXAMPLES / "WMO301.xml", codes, rejects)
    assert (result.rows_read, result.rows_rejected, result.rows_written) == (1, 1, 0)
    [row] = list(csv.DictReader(rejects.open(encoding="utf-8-sig"), delimiter=";"))
    assert (row["bestand"], row["regel"], row["code"], row["waarde"]) == (
        "WMO301.xml", "164", "adres_buitenland", "AD")
    assert row["kolom"].endswith("Adres/LandCode")
    assert "niet in Nederland" in row["melding"]


def test_a_folder_of_messages_in_one_go(codes, tmp_path, test_key):
    folder = tmp_path / "berichten"
    folder.mkdir()
    (folder / "JW301.xml").write_bytes(jw301_without_aanduiding())
    (folder / "WMO301.xml").write_bytes((EXAMPLES / "WMO301.xml").read_bytes())
    (folder / "JW301-nogmaals.xml").write_bytes(jw301_without_aanduiding())
    (folder / "leesmij.txt").write_text("geen bericht", encoding="utf-8")
    rejects = tmp_path / "afgekeurd.csv"
    result = pseudonymise_delivery(folder, test_key, "zorg", tmp_path / "uit.parquet", codes, rejects)
    assert result.messages == {"JW301": 2, "WMO301": 1}
    counts = (result.rows_read, result.rows_rejected, result.rows_duplicate, result.rows_written)
    assert counts == (5, 1, 2, 2)
    assert result.ignored_files == ["leesmij.txt"]
    listed = list(csv.DictReader(rejects.open(encoding="utf-8-sig"), delimiter=";"))
    assert [(r["bestand"], r["regel"], r["code"]) for r in listed] == [
        ("WMO301.xml", "164", "adres_buitenland"),
        ("JW301.xml", "170", "dubbele_regel"),
        ("JW301.xml", "188", "dubbele_regel"),
    ]
    assert "regel 170 van JW301-nogmaals.xml" in listed[1]["melding"]


def test_brp_address_wins_over_verblijf_and_missing_landcode_means_nl(codes, tmp_path, test_key):
    tree = _jw301()
    gegevens = tree.find("m:Client/m:Contactgegevens", JW)
    gegevens.append(_contact("01", "1234 ab", "7", None))
    out = tmp_path / "uit.parquet"
    pseudonymise_delivery(_save(tree, tmp_path / "brp.xml"), test_key, "j", out, codes)
    [adres] = address_pseudonyms(test_key, ["1234AB|7||"])
    assert set(pq.read_table(out).column("adres_pseudoniem").to_pylist()) == {adres}


def test_foreign_brp_address_rejects_even_with_a_dutch_verblijf_address(codes, tmp_path):
    tree = _jw301()
    tree.find("m:Client/m:Contactgegevens", JW).append(_contact("01", "1000", "3", "BE"))
    result = validate_delivery(_save(tree, tmp_path / "be.xml"), codes)
    assert result.errors_by_rule == {"adres_buitenland": 2}


def test_no_client_address_of_soort_01_or_03_rejects_with_a_reason(codes, tmp_path):
    tree = _jw301()
    for contact in tree.findall(CONTACTS, JW):
        if contact.findtext("m:Soort", namespaces=JW) == "03":
            contact.getparent().remove(contact)
    result = validate_delivery(_save(tree, tmp_path / "zonder.xml"), codes)
    assert (result.rows_read, result.rows_rejected) == (2, 2)
    assert result.errors_by_rule == {"adres_ontbreekt": 2}, "relatives' addresses are never used"
    assert "soort 01 (BRP) of 03 (verblijf)" in result.examples[0].melding


def test_product_without_categorie_and_end_before_start_are_row_errors(codes, tmp_path):
    tree = _jw301()
    first, second = tree.findall("m:Client/m:ToegewezenProducten/m:ToegewezenProduct", JW)
    first.remove(first.find("m:Product", JW))
    second.find("m:Einddatum", JW).text = "2026-03-01"
    path = _save(tree, tmp_path / "fouten.xml")
    lines = [p.sourceline for p in etree.parse(str(path)).iterfind(".//m:ToegewezenProduct", JW)]
    result = validate_delivery(path, codes)
    assert sorted((e.regel, e.code, e.kolom) for e in result.examples) == [
        (lines[0], "productcategorie_ontbreekt", "ToegewezenProduct/Product/Categorie"),
        (lines[1], "einddatum_voor_begindatum", "ToegewezenProduct/Einddatum"),
    ]


def test_xsd_violation_is_a_file_fault_that_quotes_no_value(codes, tmp_path):
    tree = _jw301()
    tree.find(f"{CONTACTS}/m:Adres/b:Postcode", JW).text = "GEHEIM123"
    path = _save(tree, tmp_path / "ongeldig.xml")
    with pytest.raises(FileFault) as caught:
        validate_delivery(path, codes)
    text = str(caught.value)
    assert "ongeldig.xml" in text and "XSD van JW301" in text and "Postcode" in text
    assert "GEHEIM123" not in text


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"<?xml version='1.0'?><Bericht><Client>", "geen geldige XML"),
        (b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><x>&e;</x>", "DOCTYPE"),
        (b"<jw315:Bericht xmlns:jw315='http://www.istandaarden.nl/ijw/3_2/jw315/schema'/>", "JW315-bericht"),
        (b"<jw301:Bericht xmlns:jw301='http://www.istandaarden.nl/ijw/3_1/jw301/schema'/>", "release 3.1"),
        (b"<html><body>hallo</body></html>", "geen JW301- of WMO301-bericht"),
    ],
)
def test_unusable_messages_are_file_faults(codes, tmp_path, content, fragment):
    path = tmp_path / "bericht.xml"
    path.write_bytes(content)
    with pytest.raises(FileFault, match=fragment):
        validate_delivery(path, codes)


def test_folder_with_a_broken_message_lists_it_and_writes_nothing(codes, tmp_path, test_key):
    folder = tmp_path / "berichten"
    folder.mkdir()
    (folder / "JW301.xml").write_bytes((EXAMPLES / "JW301.xml").read_bytes())
    (folder / "kapot.xml").write_bytes(b"<niet af")
    out = tmp_path / "uit.parquet"
    with pytest.raises(FileFault, match=r"1 van de 2 berichten .*\n  kapot\.xml regel 1"):
        pseudonymise_delivery(folder, test_key, "p", out, codes, tmp_path / "afgekeurd.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["berichten"]


def test_cli_pseudonymises_a_folder_and_recognises_a_message_by_content(tmp_path, test_key):
    key = tmp_path / "sleutel.json"
    write_key(test_key, key)
    folder = tmp_path / "berichten"
    folder.mkdir()
    (folder / "JW301.xml").write_bytes(jw301_without_aanduiding())
    (folder / "WMO301.xml").write_bytes((EXAMPLES / "WMO301.xml").read_bytes())
    runner = CliRunner()
    result = runner.invoke(main, ["pseudonymise", str(folder), "--key", str(key), "--partner", "zorg",
                                  "--out", str(tmp_path / "uit.parquet")])
    assert result.exit_code == 0, result.output
    assert "301-berichten gelezen: 1 JW301, 1 WMO301" in result.output
    assert "2 records gepseudonimiseerd" in result.output
    renamed = tmp_path / "export.dat"
    renamed.write_bytes(jw301_without_aanduiding())
    result = runner.invoke(main, ["validate", str(renamed), "--rapport", str(tmp_path / "rapport")])
    assert result.exit_code == 0, result.output
    assert "2 rijen gelezen, 0 afgekeurd" in result.output


def test_row_values_are_what_the_message_says(tmp_path):
    tree = _jw301()
    twin = copy.deepcopy(tree)
    _, frame = read_message(_save(twin, tmp_path / "kopie.xml"))
    address = frame[["postcode", "huisnummer", "huisletter", "huisnummertoevoeging", "landcode"]]
    assert address.iloc[0].tolist() == ["9999XX", "9", "B", "BEL", "NL"]
