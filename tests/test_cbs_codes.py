"""CBS area codes as CBS writes them (letters since 2022: `WK0363AF`, `BU0363AF01`), files in which no row
is accepted, the strict AREAS.csv reader, the CBS/PDOK map for --kaart and the CBS pc6hnr table for
`factlab register --cbs-buurten` (docs/contract.md §6, README Sleutelbeheerder).

Real material in tests/testdata/cbs/ (sources in its BRON.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from testdata_paths import TESTDATA

from linkage.keys import write_key
from pipelines.cli.main import main
from pipelines.intake.register import pseudonymise_register
from reports.figures import MapFileError, read_area_geojson, read_wijk_geojson
from schemas.areas import AreasFileError, code_part, is_area_code, level_of, read_area_names
from schemas.readers.csv_reader import FileFault

CBS = TESTDATA / "cbs"
WIJK_MAP = CBS / "wijk_2024_amsterdam_rd.geojson"
BUURT_MAP = CBS / "buurt_2024_almere_rd.geojson"
PC6HNR_2025 = CBS / "pc6hnr20250801_gwb_voorbeeld.csv"
PC6HNR_2024 = CBS / "pc6hnr20240801_gwb_voorbeeld.csv"


def _invoke(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def key_file(tmp_path: Path, test_key) -> Path:
    path = tmp_path / "sleutel.json"
    write_key(test_key, path)
    return path


# ---- the codes -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "level"), [
    ("GM0363", "gemeente"), ("WK0363AF", "wijk"), ("BU0363AF01", "buurt"), ("BU03630000", "buurt"),
    ("WK036300", "wijk"), ("bu0363af01", "buurt"), (" WK0363AA ", "wijk"), ("BU0363AFZZ", "buurt"),
])
def test_valid_cbs_codes(code: str, level: str) -> None:
    assert is_area_code(code, level)
    assert level_of(code) == level


@pytest.mark.parametrize("code", [
    "GM363", "GM03630", "GM036A", "WK0363A", "WK0363AF1", "WKA363AF", "BU0363AF0", "BU036300001",
    "BUA3630000", "BU0363-F01", "BU0363äF01", "0363AF01", "XX0363AF01", "",
])
def test_invalid_cbs_codes(code: str) -> None:
    assert not is_area_code(code)
    assert level_of(code) is None


def test_code_part_follows_cbs_numbers_then_letters() -> None:
    parts = [code_part(n) for n in (0, 7, 99, 100, 101, 125, 126)]
    assert parts == ["00", "07", "99", "AA", "AB", "AZ", "BA"]
    assert all(is_area_code(f"WK0363{code_part(n)}", "wijk") for n in range(0, 776, 25))
    with pytest.raises(ValueError):
        code_part(776)


# ---- register and delivery: letters accepted, nothing accepted is a file fault ---------------------------

def test_register_accepts_amsterdam_codes_and_derives_wijk_and_gemeente(tmp_path, test_key) -> None:
    source = tmp_path / "adressen.csv"
    source.write_text(
        "postcode;huisnummer;huisletter;huisnummertoevoeging;buurtcode\n"
        "1011AB;99;;;BU0363AF01\n"
        "1012JS;1;;;bu0363ad03\n"   # lower case may be put in capitals
        "1012JS;3;;;BU0363AD0\n",    # one character short
        encoding="utf-8",
    )
    result = pseudonymise_register(source, test_key, tmp_path / "reg.parquet", tmp_path / "afgekeurd.csv")
    assert (result.rows_read, result.rows_rejected, result.addresses) == (3, 1, 2)
    table = pq.read_table(tmp_path / "reg.parquet").to_pydict()
    assert sorted(zip(table["buurtcode"], table["wijkcode"], table["gemeentecode"], strict=True)) == [
        ("BU0363AD03", "WK0363AD", "GM0363"), ("BU0363AF01", "WK0363AF", "GM0363")]
    assert "BU0363AD0" in (tmp_path / "afgekeurd.csv").read_text(encoding="utf-8-sig")


def test_register_with_no_accepted_row_exits_2_and_writes_nothing(tmp_path, key_file) -> None:
    source = tmp_path / "adressen.csv"
    source.write_text("postcode;huisnummer;buurtcode\n1011AB;99;WK0363AF\n1011AB;101;0363AF01\n",
                      encoding="utf-8")
    out, rejects = tmp_path / "reg.parquet", tmp_path / "afgekeurd.csv"
    result = _invoke("register", source, "--key", key_file, "--out", out, "--rejects", rejects)
    assert result.exit_code == 2, result.output
    assert "fout: adressen.csv: geen enkele rij is geaccepteerd (2 rijen gelezen)" in result.output
    assert "buurtcode_ongeldig (2×)" in result.output
    assert "Traceback" not in result.output
    assert not out.exists() and not rejects.exists()


def test_delivery_with_no_accepted_row_exits_2_and_writes_nothing(tmp_path, key_file) -> None:
    source = tmp_path / "levering.csv"
    source.write_text("postcode;huisnummer;voorziening;begindatum\n1011AB;99;99;2026-01-01\n"
                      "12345;1;01;2026-01-01\n", encoding="utf-8")
    out, rejects = tmp_path / "uit.parquet", tmp_path / "afgekeurd.csv"
    result = _invoke("pseudonymise", source, "--key", key_file, "--partner", "wijkteam", "--out", out,
                     "--rejects", rejects)
    assert result.exit_code == 2, result.output
    assert "fout: levering.csv: geen enkele rij is geaccepteerd (2 rijen gelezen)" in result.output
    assert not out.exists() and not rejects.exists()
    # Checking only still lists every rejected row for the partner.
    checked = _invoke("validate", source, "--rapport", tmp_path / "rapport")
    assert checked.exit_code == 1, checked.output


# ---- AREAS.csv -------------------------------------------------------------------------------------------

def test_area_names_with_letters_lower_case_and_commas(tmp_path) -> None:
    path = tmp_path / "gebieden.csv"
    path.write_text("Code,Naam\nGM0363,Amsterdam\nwk0363af,Nieuwmarkt/Lastage\n\nBU0363AF01,Lastage\n",
                    encoding="utf-8")
    assert read_area_names(path) == {"GM0363": "Amsterdam", "WK0363AF": "Nieuwmarkt/Lastage",
                                     "BU0363AF01": "Lastage"}
    assert read_area_names(path, gemeenten=["GM0363"])["GM0363"] == "Amsterdam"


@pytest.mark.parametrize(("content", "expected"), [
    ("", "is leeg"),
    ("\n\n", "is leeg"),
    ("gebied;omschrijving\nGM0363;Amsterdam\n", "regel 1: de kopregel moet 'code;naam' zijn"),
    ("code;naam\nGM0363;Amsterdam\nWK0363A;Centrum\n", "regel 3, kolom code: 'WK0363A' is geen CBS-code"),
    ("code;naam\nGM0363;Amsterdam\n\nhallo wereld\n", "regel 4, kolom code: 'hallo wereld' is geen CBS-code"),
    ("code;naam\nGM0363;\n", "regel 2, kolom naam: geen naam bij GM0363"),
    ("code;naam\nWK0363AF;Nieuwmarkt\n", "bevat geen gemeente"),
    ("\x00\x01PK\x03\x04", "de kopregel moet"),
])
def test_area_file_faults_name_file_line_and_value(tmp_path, content: str, expected: str) -> None:
    path = tmp_path / "gebieden.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(AreasFileError) as caught:
        read_area_names(path)
    assert expected in str(caught.value)
    assert str(path) in str(caught.value)


def test_area_file_must_name_every_gemeente_of_the_register(tmp_path) -> None:
    path = tmp_path / "gebieden.csv"
    path.write_text("code;naam\nGM9001;Lindewaard\n", encoding="utf-8")
    with pytest.raises(AreasFileError, match="mist de gemeente\\(n\\) GM0363 uit het register"):
        read_area_names(path, gemeenten=["GM0363", "GM9001"])
    with pytest.raises(AreasFileError, match="kan niet gelezen worden"):
        read_area_names(tmp_path / "bestaat-niet.csv")


def test_run_stops_on_a_bad_areas_file_before_prefect(tmp_path) -> None:
    areas = tmp_path / "gebieden.csv"
    areas.write_text("rommel\n", encoding="utf-8")
    (tmp_path / "reg.parquet").write_bytes(b"")  # exists: the areas file is checked before its content
    out = tmp_path / "uit"
    result = _invoke("run", "--deliveries", tmp_path, "--register", tmp_path / "reg.parquet",
                     "--areas", areas, "--period", "2026", "--out", out, "--geen-pdf")
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"fout: gebiedenbestand {areas}, regel 1")
    assert "Traceback" not in result.output and not out.exists()


# ---- the map ---------------------------------------------------------------------------------------------

def _amsterdam_centre(geojson: dict) -> bool:
    positions = [p for f in geojson["features"] for ring in f["geometry"]["coordinates"] for p in ring]
    return all(4.86 < lon < 4.92 and 52.36 < lat < 52.39 for lon, lat in positions)


def test_real_cbs_wijk_map_in_rd_with_statcode(tmp_path) -> None:
    geojson = read_wijk_geojson(WIJK_MAP)
    codes = [f["properties"]["wijkcode"] for f in geojson["features"]]
    assert codes == ["WK0363AA", "WK0363AB", "WK0363AC", "WK0363AD", "WK0363AE", "WK0363AF"]
    assert _amsterdam_centre(geojson)
    # The Jordaan lies west of the Nieuwmarkt.
    jordaan, nieuwmarkt = geojson["features"][1], geojson["features"][5]
    assert max(p[0] for p in jordaan["geometry"]["coordinates"][0]) < min(
        p[0] for p in nieuwmarkt["geometry"]["coordinates"][0])


def _rewrite(tmp_path: Path, change, name: str = "kaart.geojson") -> Path:
    data = json.loads(WIJK_MAP.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("prop", ["wijkcode", "wk_code", "WK_CODE", "statcode"])
@pytest.mark.parametrize("crs", [None, "urn:ogc:def:crs:EPSG::28992", "EPSG:28992",
                                 "http://www.opengis.net/def/crs/EPSG/0/28992"])
def test_map_property_names_and_rd_crs_spellings(tmp_path, prop: str, crs: str | None) -> None:
    def change(data):
        for feature in data["features"]:
            feature["properties"] = {prop: feature["properties"]["statcode"].lower(), "naam": "x"}
        if crs:
            data["crs"] = {"type": "name", "properties": {"name": crs}}

    geojson = read_wijk_geojson(_rewrite(tmp_path, change))
    assert [f["properties"]["wijkcode"] for f in geojson["features"]][-1] == "WK0363AF"
    assert _amsterdam_centre(geojson)


def test_wgs84_map_is_kept_as_given(tmp_path) -> None:
    wgs84 = read_wijk_geojson(WIJK_MAP)
    path = tmp_path / "wgs84.geojson"
    path.write_text(json.dumps({**wgs84, "crs": {"type": "name", "properties": {
        "name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}}), encoding="utf-8")
    assert read_wijk_geojson(path)["features"] == wgs84["features"]


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: [f["properties"].pop("statcode") for f in d["features"]],
     "geen vlak heeft een wijkcode (eigenschap wijkcode, wk_code, WK_CODE, statcode"),
    (lambda d: d.update(crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3035"}}),
     "coördinatenstelsel 'urn:ogc:def:crs:EPSG::3035' wordt niet ondersteund"),
    (lambda d: d.update(crs={"type": "name", "properties": {"name": "EPSG:4326"}}),
     "passen niet bij EPSG:4326"),
    (lambda d: [f["geometry"].update(coordinates=[[[9e6, 1], [9e6, 2], [9e6 + 1, 1], [9e6, 1]]])
                for f in d["features"]], "passen niet bij RD New (EPSG:28992) of WGS84"),
    (lambda d: d.pop("features"), "het lid 'features' ontbreekt"),
    (lambda d: [f.update(geometry={"type": "Point", "coordinates": [1, 2]}) for f in d["features"]],
     "bevat geen vlakken"),
])
def test_map_faults_say_what_is_missing(tmp_path, change, expected: str) -> None:
    path = _rewrite(tmp_path, change)
    with pytest.raises(MapFileError) as caught:
        read_wijk_geojson(path)
    assert expected in str(caught.value) and str(path) in str(caught.value)


def test_map_without_codes_lists_the_properties_it_found(tmp_path) -> None:
    def change(data):
        for feature in data["features"]:
            feature["properties"] = {"CODE": feature["properties"]["statcode"], "NAAM": "x"}

    with pytest.raises(MapFileError, match="gevonden eigenschappen: CODE, NAAM"):
        read_wijk_geojson(_rewrite(tmp_path, change))


def test_buurt_map_is_refused_as_wijk_map_and_read_as_buurt_map(tmp_path) -> None:
    with pytest.raises(MapFileError, match="bevat buurten"):
        read_wijk_geojson(BUURT_MAP)
    buurten = read_area_geojson(BUURT_MAP, "buurt")
    assert [f["properties"]["buurtcode"] for f in buurten["features"]] == ["BU00340101"]
    with pytest.raises(MapFileError, match="geen vlak heeft een buurtcode.*het lijkt een wijkkaart"):
        read_area_geojson(WIJK_MAP, "buurt")


def test_map_that_is_no_json(tmp_path) -> None:
    path = tmp_path / "kaart.geojson"
    path.write_bytes(b"\xff\xfe niet json")
    with pytest.raises(MapFileError, match="is geen GeoJSON"):
        read_wijk_geojson(path)


def test_run_stops_on_a_bad_map_before_prefect(tmp_path) -> None:
    areas = tmp_path / "gebieden.csv"
    areas.write_text("code;naam\nGM0363;Amsterdam\n", encoding="utf-8")
    kaart = tmp_path / "wijken.geojson"
    kaart.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"gebied": "Centrum"},
         "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}]}),
        encoding="utf-8")
    (tmp_path / "reg.parquet").write_bytes(b"")  # exists: the map is checked before the register's content
    out = tmp_path / "uit"
    result = _invoke("run", "--deliveries", tmp_path, "--register", tmp_path / "reg.parquet",
                     "--areas", areas, "--period", "2026", "--out", out, "--geen-pdf", "--kaart", kaart)
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"fout: kaart {kaart}: geen vlak heeft een wijkcode")
    assert "gevonden eigenschappen: gebied" in result.output
    assert "Traceback" not in result.output and not out.exists()


# ---- register from an address list and the CBS pc6hnr table ----------------------------------------------

def _addresses(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "adressen.csv"
    path.write_text("postcode;huisnummer;huisletter;huisnummertoevoeging\n" + body, encoding="utf-8")
    return path


def test_register_from_addresses_and_pc6hnr_2025(tmp_path, key_file) -> None:
    source = _addresses(tmp_path, "1011 ab;99;;\n1011AB;99;A;\n1011AB;0101;;2\n1012JS;1;;\n5611AA;1;;\n"
                                  "5611AA;3;;\n1011AB;98;;\n")
    out, rejects = tmp_path / "reg.parquet", tmp_path / "afgekeurd.csv"
    result = _invoke("register", source, "--cbs-buurten", PC6HNR_2025, "--key", key_file, "--out", out,
                     "--rejects", rejects)
    assert result.exit_code == 0, result.output
    assert "7 rijen, 2 afgekeurd, 0 dubbel; 5 adressen" in result.output
    assert "2 × buurt_niet_in_cbs" in result.output
    table = pq.read_table(out).to_pydict()
    assert sorted(table["buurtcode"]) == ["BU0363AD03", *["BU0363AF01"] * 3, "BU07721110"]
    assert sorted(set(table["wijkcode"])) == ["WK0363AD", "WK0363AF", "WK077211"]
    assert sorted(set(table["gemeentecode"])) == ["GM0363", "GM0772"]
    listed = rejects.read_text(encoding="utf-8-sig").splitlines()
    assert [line.split(";")[1] for line in listed[1:]] == ["7", "8"]
    assert all(f"CBS-tabel {PC6HNR_2025.name}" in line for line in listed[1:])


def test_pc6hnr_with_commas_and_lost_leading_zeros(tmp_path, test_key) -> None:
    source = _addresses(tmp_path, "9711AA;5;;\n1011AB;99;;\n")
    result = pseudonymise_register(source, test_key, tmp_path / "reg.parquet", cbs_buurten=PC6HNR_2024)
    assert result.rows_rejected == 0
    table = pq.read_table(tmp_path / "reg.parquet").to_pydict()
    assert sorted(zip(table["buurtcode"], table["gemeentecode"], strict=True)) == [
        ("BU00140000", "GM0014"), ("BU0363AF01", "GM0363")]


def test_pc6hnr_2016_column_names_and_ignored_buurtcode_column(tmp_path, test_key) -> None:
    cbs = tmp_path / "pc6hnr20160801_gwb.csv"
    cbs.write_text("pc6;huisnummer;gwb2016_code;wijkcode;gemeentecode\n1011AB;99;03630000;036300;0363\n",
                   encoding="utf-8")
    source = tmp_path / "adressen.csv"
    source.write_text("postcode;huisnummer;buurtcode\n1011AB;99;BU99999999\n", encoding="utf-8")
    pseudonymise_register(source, test_key, tmp_path / "reg.parquet", cbs_buurten=cbs)
    assert pq.read_table(tmp_path / "reg.parquet")["buurtcode"].to_pylist() == ["BU03630000"]


def test_pc6hnr_ambiguous_and_invalid_codes_are_rejected_rows(tmp_path, test_key) -> None:
    cbs = tmp_path / "pc6hnr.csv"
    cbs.write_text("PC6;Huisnummer;Buurt2025\n1011AB;1;0363AF01\n1011AB;1;0363AF02\n1011AB;3;0363AF!1\n"
                   "1011AB;5;0363AF01\n", encoding="utf-8")
    source = _addresses(tmp_path, "1011AB;1;;\n1011AB;3;;\n1011AB;5;;\n")
    result = pseudonymise_register(source, test_key, tmp_path / "reg.parquet", tmp_path / "afgekeurd.csv",
                                   cbs_buurten=cbs)
    assert dict(result.errors_by_rule) == {"buurt_dubbel_in_cbs": 1, "buurtcode_ongeldig": 1}
    assert pq.read_table(tmp_path / "reg.parquet")["buurtcode"].to_pylist() == ["BU0363AF01"]


def test_pc6hnr_file_faults(tmp_path, key_file) -> None:
    wrong = tmp_path / "gemeenten.csv"
    wrong.write_text("GM_CODE;GM_NAAM\nGM0363;Amsterdam\n", encoding="utf-8")
    source = _addresses(tmp_path, "1011AB;99;;\n")
    out = tmp_path / "reg.parquet"
    result = _invoke("register", source, "--cbs-buurten", wrong, "--key", key_file, "--out", out)
    assert result.exit_code == 2, result.output
    assert "gemeenten.csv: dit is geen CBS-tabel" in result.output
    assert "gevonden: gm_code, gm_naam" in result.output
    none_found = _invoke("register", _addresses(tmp_path, "9999ZZ;1;;\n"), "--cbs-buurten", PC6HNR_2025,
                         "--key", key_file, "--out", out)
    assert none_found.exit_code == 2, none_found.output
    assert "geen enkele rij is geaccepteerd" in none_found.output and "buurt_niet_in_cbs" in none_found.output
    missing = _invoke("register", source, "--cbs-buurten", tmp_path / "weg.csv", "--key", key_file,
                      "--out", out)
    assert missing.exit_code == 2 and "kan niet gelezen worden" in missing.output
    assert not out.exists()
    with pytest.raises(FileFault, match="postcode"):
        pseudonymise_register(tmp_path / "gemeenten.csv", None, out, cbs_buurten=PC6HNR_2025)


def test_flow_checks_areas_against_the_register_and_the_map_before_linking(tmp_path, test_key) -> None:
    from types import SimpleNamespace

    from pipelines.stapeling_steps import check_areas_and_map, register_gemeenten

    source = tmp_path / "adressen.csv"
    source.write_text("postcode;huisnummer;buurtcode\n1011AB;99;BU0363AF01\n5611AA;1;BU07721110\n",
                      encoding="utf-8")
    register = tmp_path / "reg.parquet"
    pseudonymise_register(source, test_key, register)
    assert register_gemeenten(register) == ["GM0363", "GM0772"]
    areas = tmp_path / "gebieden.csv"
    areas.write_text("code;naam\nGM0363;Amsterdam\nWK0363AF;Nieuwmarkt/Lastage\n", encoding="utf-8")
    settings = SimpleNamespace(areas=areas, register=register, geojson=None, indeling_kaarten=())
    with pytest.raises(AreasFileError, match="mist de gemeente\\(n\\) GM0772"):
        check_areas_and_map(settings)
    areas.write_text("code;naam\nGM0363;Amsterdam\nGM0772;Eindhoven\n", encoding="utf-8")
    check_areas_and_map(settings)
    settings.geojson = BUURT_MAP
    with pytest.raises(MapFileError, match="bevat buurten"):
        check_areas_and_map(settings)
    # A map per own division (--kaart-indeling): the division must be a gebied_<naam> column, the map usable.
    settings.geojson = None
    areas.write_text("code;naam;gebied_wijkteam\nGM0363;Amsterdam;\nGM0772;Eindhoven;\nBU0363AF01;Kern;WT1\n",
                     encoding="utf-8")
    teams = tmp_path / "wijkteams.geojson"
    teams.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"gebied_wijkteam": "WT1"},
        "geometry": {"type": "Polygon",
                     "coordinates": [[[4.9, 52.3], [4.91, 52.3], [4.91, 52.31], [4.9, 52.3]]]},
    }]}), encoding="utf-8")
    settings.indeling_kaarten = (("wijkteam", teams),)
    check_areas_and_map(settings)
    settings.indeling_kaarten = (("stadsdeel", teams),)
    with pytest.raises(MapFileError, match="geen kolom gebied_stadsdeel"):
        check_areas_and_map(settings)
    settings.indeling_kaarten = (("wijkteam", BUURT_MAP),)
    with pytest.raises(MapFileError, match="geen vlak heeft een code van de indeling 'wijkteam'"):
        check_areas_and_map(settings)
