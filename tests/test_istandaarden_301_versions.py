"""What a 301 delivery means (docs/contract.md §4 v2, docs/istandaarden.md), on edited copies of the examples.

Every valid scenario is a variant of the published JW301/WMO301 example, edited as a gemeente's system
would (a later message with the same ToewijzingNummer, RedenWijziging 05 or 13, another release, an
AanduidingWoonadres) and checked against the XSD before use; then `factlab pseudonymise` reads the folder.
"""

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
from linkage.pseudonyms import address_pseudonyms
from pipelines.cli.main import main
from pipelines.intake.delivery import pseudonymise_delivery, validate_delivery
from portal.intake import check_upload
from schemas.codelist import load_code_list
from schemas.readers.csv_reader import FileFault
from schemas.readers.istandaard import XSD_DIR

JW = {"m": "http://www.istandaarden.nl/ijw/3_2/jw301/schema", "b": "http://www.istandaarden.nl/ijw/3_2/basisschema/schema"}
PRODUCTS = "m:Client/m:ToegewezenProducten/m:ToegewezenProduct"
CONTACTS = "m:Client/m:Contactgegevens/m:Contact"


@pytest.fixture(scope="module")
def codes():
    return load_code_list()


@pytest.fixture(scope="module")
def jw_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_DIR / "ijw" / "JW301.xsd")))


def _base() -> etree._ElementTree:
    """The published JW301 (toewijzingen 300201 and 300202) with a usable address (no `TO`)."""
    return etree.ElementTree(etree.fromstring(jw301_without_aanduiding()))


def _header(tree: etree._ElementTree, dagtekening: str, identificatie: str) -> None:
    ident = tree.find("m:Header/m:BerichtIdentificatie", JW)
    ident.find("b:Dagtekening", JW).text = dagtekening
    ident.find("b:Identificatie", JW).text = identificatie


def _product(tree: etree._ElementTree, nummer: str) -> etree._Element:
    return next(product for product in tree.findall(PRODUCTS, JW)
                if product.findtext("m:ToewijzingNummer", namespaces=JW) == nummer)


def _change(tree: etree._ElementTree, nummer: str, einddatum: str, reden: str, dagtekening: str) -> None:
    """A new version of toewijzing `nummer`: new einddatum, RedenWijziging, Toewijzingsdatum (OP033x1)."""
    product = _product(tree, nummer)
    product.find("m:Toewijzingsdatum", JW).text = dagtekening
    end = product.find("m:Einddatum", JW)
    end.text = einddatum
    redenwijziging = etree.Element(f"{{{JW['m']}}}RedenWijziging")
    redenwijziging.text = reden
    redenwijziging.tail = end.tail
    end.addnext(redenwijziging)  # the XSD's order: Einddatum, RedenWijziging, Omvang


def _only(tree: etree._ElementTree, nummer: str) -> None:
    """A message that carries only toewijzing `nummer` (a 301 holds the toewijzingen that changed)."""
    for product in tree.findall(PRODUCTS, JW):
        if product.findtext("m:ToewijzingNummer", namespaces=JW) != nummer:
            product.getparent().remove(product)


def _save(tree: etree._ElementTree, path: Path, schema: etree.XMLSchema | None) -> Path:
    if schema is not None:
        assert schema.validate(tree), schema.error_log  # the scenario is a valid message
    tree.write(str(path), xml_declaration=True, encoding="UTF-8")
    return path


def _pseudonymise(folder: Path, tmp_path: Path, test_key) -> tuple[str, list[dict]]:
    """`factlab pseudonymise` on the folder: its output and the records written."""
    key = tmp_path / "sleutel.json"
    write_key(test_key, key)
    out = tmp_path / "uit.parquet"
    result = CliRunner().invoke(main, ["pseudonymise", str(folder), "--key", str(key), "--partner", "jeugd",
                                       "--out", str(out), "--rejects", str(tmp_path / "afgekeurd.csv")])
    assert result.exit_code == 0, result.output
    return result.output, pq.read_table(out).to_pylist()


def _periods(records: list[dict]) -> list[tuple[str, str]]:
    return sorted((str(r["begindatum"]), str(r["einddatum"])) for r in records)


def _rejected(tmp_path: Path) -> list[dict]:
    return list(csv.DictReader((tmp_path / "afgekeurd.csv").open(encoding="utf-8-sig"), delimiter=";"))


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "berichten"
    folder.mkdir()
    return folder


def test_a_later_message_shortens_a_toewijzing_and_the_earlier_version_is_counted_not_rejected(
        tmp_path, test_key, jw_schema):
    folder = _folder(tmp_path)
    _save(_base(), folder / "b-toewijzing.xml", jw_schema)
    later = _base()
    _header(later, "2026-05-15", "123456789013")
    _change(later, "300201", "2026-05-31", "05", "2026-05-15")
    _only(later, "300201")
    # Named so that it comes first in the folder: the Dagtekening decides, not the file order.
    _save(later, folder / "a-verkorting.xml", jw_schema)
    output, records = _pseudonymise(folder, tmp_path, test_key)
    assert _periods(records) == [("2026-04-01", "2026-05-31"), ("2026-04-01", "2026-07-19")]
    assert "2 rijen gelezen, 0 afgekeurd" in output
    assert "1 ToegewezenProduct(en) vervangen door een latere versie" in output
    assert "verwijderd" not in output
    assert _rejected(tmp_path) == [], "a superseded version is not a rejected row"


def test_a_withdrawal_with_reden_13_removes_the_toewijzing_and_all_its_versions(
        tmp_path, test_key, jw_schema):
    folder = _folder(tmp_path)
    _save(_base(), folder / "toewijzing.xml", jw_schema)
    withdrawal = _base()
    _header(withdrawal, "2026-04-20", "123456789013")
    _change(withdrawal, "300202", "2026-04-01", "13", "2026-04-20")  # Einddatum = Ingangsdatum
    _only(withdrawal, "300202")
    _save(withdrawal, folder / "verwijderd.xml", jw_schema)
    output, records = _pseudonymise(folder, tmp_path, test_key)
    assert _periods(records) == [("2026-04-01", "2026-07-14")], "only 300201 is left"
    assert "1 rijen gelezen, 0 afgekeurd" in output
    assert "2 ToegewezenProduct(en) vervallen: de toewijzing is verwijderd (RedenWijziging 13)" in output
    assert "vervangen" not in output
    assert _rejected(tmp_path) == []


def test_a_withdrawal_that_is_not_the_latest_version_withdraws_nothing(codes, tmp_path, test_key, jw_schema):
    folder = _folder(tmp_path)
    withdrawal = _base()
    _change(withdrawal, "300202", "2026-04-01", "13", "2026-04-01")
    _save(withdrawal, folder / "eerst-verwijderd.xml", jw_schema)
    again = _base()
    _header(again, "2026-06-01", "123456789013")
    _change(again, "300202", "2026-09-30", "04", "2026-06-01")
    _only(again, "300202")
    _save(again, folder / "opnieuw.xml", jw_schema)
    result = pseudonymise_delivery(folder, test_key, "j", tmp_path / "uit.parquet", codes)
    assert (result.rows_read, result.rows_written, result.superseded, result.withdrawn) == (2, 2, 1, 0)
    assert _periods(pq.read_table(tmp_path / "uit.parquet").to_pylist()) == [
        ("2026-04-01", "2026-07-14"), ("2026-04-01", "2026-09-30")]


def test_on_one_dagtekening_the_higher_identificatie_wins_numerically(codes, tmp_path, test_key, jw_schema):
    folder = _folder(tmp_path)
    for identificatie, einddatum in (("10", "2026-06-30"), ("9", "2026-05-31")):
        message = _base()
        _header(message, "2026-04-01", identificatie)
        _change(message, "300201", einddatum, "05", "2026-04-01")
        _only(message, "300201")
        _save(message, folder / f"bericht-{identificatie}.xml", jw_schema)
    result = pseudonymise_delivery(folder, test_key, "j", tmp_path / "uit.parquet", codes)
    assert (result.rows_read, result.superseded) == (1, 1)
    assert _periods(pq.read_table(tmp_path / "uit.parquet").to_pylist()) == [("2026-04-01", "2026-06-30")]


def test_the_same_number_from_another_gemeente_is_another_toewijzing(codes, tmp_path, test_key, jw_schema):
    folder = _folder(tmp_path)
    _save(_base(), folder / "gemeente-0384.xml", jw_schema)
    other = _base()
    other.find("m:Header/m:Afzender", JW).text = "0363"
    _header(other, "2026-05-01", "123456789013")
    _change(other, "300201", "2026-05-31", "05", "2026-05-01")
    _only(other, "300201")
    _save(other, folder / "gemeente-0363.xml", jw_schema)
    result = pseudonymise_delivery(folder, test_key, "j", tmp_path / "uit.parquet", codes)
    assert (result.rows_read, result.superseded, result.withdrawn) == (3, 0, 0)


def test_the_same_message_twice_is_one_version_and_its_rows_are_duplicates(codes, tmp_path, test_key):
    folder = _folder(tmp_path)
    for name in ("JW301.xml", "JW301-kopie.xml"):
        (folder / name).write_bytes(jw301_without_aanduiding())
    result = pseudonymise_delivery(folder, test_key, "j", tmp_path / "uit.parquet", codes)
    assert (result.rows_read, result.rows_duplicate, result.rows_written, result.superseded) == (4, 2, 2, 0)


def test_the_portal_resolves_versions_as_factlab_pseudonymise(codes, tmp_path, test_key, jw_schema):
    folder = _folder(tmp_path)
    _save(_base(), folder / "toewijzing.xml", jw_schema)
    later = _base()
    _header(later, "2026-05-15", "123456789013")
    _change(later, "300201", "2026-05-31", "05", "2026-05-15")
    _change(later, "300202", "2026-04-01", "13", "2026-05-15")
    _save(later, folder / "wijziging.xml", jw_schema)
    expected = pseudonymise_delivery(folder, test_key, "j", tmp_path / "uit.parquet", codes)
    uploaded = check_upload([(p.name, p.read_bytes()) for p in sorted(folder.iterdir())], test_key, codes)
    assert (expected.rows_read, expected.superseded, expected.withdrawn) == (1, 1, 2)
    assert (uploaded.rows_read, uploaded.superseded, uploaded.withdrawn) == (1, 1, 2)
    assert uploaded.table.to_pylist() == pq.read_table(tmp_path / "uit.parquet").to_pylist()


def _as_release(data: bytes, release: str, tail: str = "") -> bytes:
    """The message's namespaces as in another release (3.x: `.../3_1/...`; 2.x adds `/2_1` at the end)."""
    text = data.decode("utf-8")
    for standard in ("ijw", "iwmo"):
        for part in ("jw301", "wmo301", "basisschema"):
            text = text.replace(f"istandaarden.nl/{standard}/3_2/{part}/schema",
                                f"istandaarden.nl/{standard}/{release}/{part}/schema{tail}")
    return text.encode("utf-8")


@pytest.mark.parametrize(
    ("example", "release", "tail", "expected"),
    [
        ("JW301.xml", "3_1", "",
         "dit is een JW301-bericht van release 3.1 (iJw 3.1); Factlab leest release 3.2. "
         "Vraag uw leverancier om berichten van release 3.2"),
        ("JW301.xml", "3_0", "", "JW301-bericht van release 3.0"),
        ("WMO301.xml", "2_1", "/2_1",
         "dit is een WMO301-bericht van release 2.1 (iWmo 2.1); Factlab leest release 3.2. "
         "Vraag uw leverancier om berichten van release 3.2 (iWmo 3.2)"),
        ("WMO301.xml", "2_0", "/2_0", "WMO301-bericht van release 2.0"),
    ],
)
def test_another_release_is_a_file_fault_that_names_it(codes, tmp_path, test_key, example, release, tail,
                                                       expected):
    data = _as_release((ISTANDAARDEN / example).read_bytes(), release, tail)
    assert f"/{release}/".encode() in data and b"/3_2/" not in data
    folder = _folder(tmp_path)
    (folder / "oud.xml").write_bytes(data)
    (folder / "JW301.xml").write_bytes(jw301_without_aanduiding())
    with pytest.raises(FileFault) as caught:
        pseudonymise_delivery(folder, test_key, "j", tmp_path / "uit.parquet", codes)
    assert expected in str(caught.value) and "oud.xml" in str(caught.value)
    assert "geen JW301- of WMO301-bericht" not in str(caught.value)
    assert not (tmp_path / "uit.parquet").exists()


def _contact(soort: str, postcode: str, huisnummer: str, aanduiding: str | None) -> etree._Element:
    m, b = f"{{{JW['m']}}}", f"{{{JW['b']}}}"
    contact = etree.Element(f"{m}Contact")
    etree.SubElement(contact, f"{m}Soort").text = soort
    adres = etree.SubElement(contact, f"{m}Adres")
    huis = etree.SubElement(adres, f"{b}Huis")
    etree.SubElement(huis, f"{b}Huisnummer").text = huisnummer
    if aanduiding:
        etree.SubElement(huis, f"{b}AanduidingWoonadres").text = aanduiding
    etree.SubElement(adres, f"{b}Postcode").text = postcode
    return contact


def test_an_address_with_an_aanduiding_gives_way_to_the_next_contact_without_one(
        codes, tmp_path, test_key, jw_schema):
    tree = copy.deepcopy(_base())  # the verblijf (03) address 9999XX 9 B BEL, without aanduiding
    gegevens = tree.find("m:Client/m:Contactgegevens", JW)
    gegevens.insert(0, _contact("01", "1234AB", "7", "TO"))  # BRP address, but "tegenover 7"
    out = tmp_path / "uit.parquet"
    result = pseudonymise_delivery(_save(tree, tmp_path / "to.xml", jw_schema), test_key, "j", out, codes)
    assert (result.rows_read, result.rows_rejected) == (2, 0)
    [verblijf] = address_pseudonyms(test_key, ["9999XX|9|B|BEL"])
    assert {r["adres_pseudoniem"] for r in pq.read_table(out).to_pylist()} == {verblijf}


def test_without_an_address_lacking_an_aanduiding_the_rows_are_rejected_with_a_reason(
        codes, tmp_path, jw_schema):
    tree = _base()
    for contact in tree.findall(CONTACTS, JW):
        if contact.findtext("m:Soort", namespaces=JW) == "03":
            contact.getparent().remove(contact)
    gegevens = tree.find("m:Client/m:Contactgegevens", JW)
    gegevens.insert(0, _contact("03", "1234AB", "7", "WW"))
    gegevens.insert(0, _contact("01", "1234AB", "5", "BY"))
    path = _save(tree, tmp_path / "by.xml", jw_schema)
    rejects = tmp_path / "afgekeurd.csv"
    result = validate_delivery(path, codes, rejects)
    assert (result.rows_read, result.rows_rejected) == (2, 2)
    assert result.errors_by_rule == {"adres_aanduiding": 2}, "one reason per row, the BRP address's"
    listed = list(csv.DictReader(rejects.open(encoding="utf-8-sig"), delimiter=";"))
    assert {(r["code"], r["waarde"]) for r in listed} == {("adres_aanduiding", "BY")}
    assert "BY bij" in listed[0]["melding"]


def test_when_every_toewijzing_is_withdrawn_the_delivery_is_empty_not_faulty(tmp_path, test_key, jw_schema):
    folder = _folder(tmp_path)
    _save(_base(), folder / "toewijzing.xml", jw_schema)
    withdrawal = _base()
    _header(withdrawal, "2026-04-20", "123456789013")
    for nummer in ("300201", "300202"):
        _change(withdrawal, nummer, "2026-04-01", "13", "2026-04-20")
    _save(withdrawal, folder / "verwijderd.xml", jw_schema)
    output, records = _pseudonymise(folder, tmp_path, test_key)
    assert records == []
    assert "0 rijen gelezen, 0 afgekeurd" in output and "4 ToegewezenProduct(en) vervallen" in output
    rapport = tmp_path / "rapport"
    result = CliRunner().invoke(main, ["validate", str(folder), "--rapport", str(rapport)])
    assert result.exit_code == 0, result.output
    page = (rapport / "berichten.controle.html").read_text(encoding="utf-8")
    assert "4 ToegewezenProduct(en) zijn vervallen" in page
