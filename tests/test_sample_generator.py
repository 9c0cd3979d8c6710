"""The sample municipality generator (data/sample/generate.py) and the truth it writes."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sample_loader import load_module, load_sample_generator

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "data" / "sample"


generator = load_sample_generator()
truth = load_module("factlab_truth", Path(__file__).with_name("truth.py"))

POSTCODE = re.compile(r"^[1-9][0-9]{3}[A-Z]{2}$")
PERIOD = truth.period_bounds("2026H1")


@pytest.fixture(scope="module")
def sample():
    return generator.generate()


@pytest.fixture(scope="module")
def sample_truth(sample):
    return truth.truth_from_rows(sample.register_rows(), sample.truth_rows(), sample.area_rows())


def _decoded(delivery) -> str:
    return delivery.content.decode(delivery.encoding)


def _table(delivery) -> list[dict[str, str]]:
    reader = csv.reader(io.StringIO(_decoded(delivery)), delimiter=delivery.delimiter)
    header = [h.strip().lower() for h in next(reader)]
    return [dict(zip(header, row, strict=True)) for row in reader]


def _column(delivery, name: str) -> list[str]:
    return [row[name] for row in _table(delivery)]


def test_generator_imports_no_project_code():
    source = (SAMPLE_DIR / "generate.py").read_text(encoding="utf-8")
    imports = re.findall(r"^\s*(?:from|import)\s+([a-zA-Z_][\w.]*)", source, flags=re.MULTILINE)
    project = {"linkage", "schemas", "pipelines", "reports", "disclosure"}
    assert not {name.split(".")[0] for name in imports} & project
    assert "pandas" not in imports and "numpy" not in imports


def test_deterministic_for_a_seed():
    kwargs = {"seed": 11, "gemeentecode": "GM9111", "n_addresses": 1500, "n_wijken": 5, "n_buurten": 15}
    first, second = generator.generate(**kwargs), generator.generate(**kwargs)
    assert first.register_rows() == second.register_rows()
    assert first.truth_rows() == second.truth_rows()
    assert [d.content for d in first.deliveries.values()] == [d.content for d in second.deliveries.values()]
    other = generator.generate(**{**kwargs, "seed": 12})
    assert other.register_rows() != first.register_rows()


def test_committed_sample_is_what_the_default_seed_generates(sample, tmp_path):
    """data/sample/ must be regenerated whenever the generator changes, and hold nothing stale."""
    generator.write_sample(sample, tmp_path)
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(
        p.relative_to(SAMPLE_DIR).as_posix()
        for folder in ("leveringen", "leveringen_reeks", "waarheid")
        for p in (SAMPLE_DIR / folder).rglob("*")
        if p.is_file()
    )
    # Other files beside the generated ones (such as demo.json) may live in data/sample, not in these folders.
    generated = ("leveringen/", "leveringen_reeks/", "waarheid/")
    assert committed == [n for n in written if n.startswith(generated)]
    stale = [n for n in written if (tmp_path / n).read_bytes() != (SAMPLE_DIR / n).read_bytes()]
    assert not stale, f"regenerate with: python data/sample/generate.py --out data/sample  ({stale})"


def test_sample_stays_small():
    total = sum(p.stat().st_size for p in SAMPLE_DIR.rglob("*") if p.is_file())
    # 3 MB plus adressen_kenmerken.csv (the register with the §9 kenmerken) plus leveringen_reeks/ (the
    # extracts of the four partners with amounts for the three earlier half-years, §12: 1.1 MB)
    assert total < 4_700_000


def test_area_codes_nest(sample):
    gm = sample.gemeentecode[2:]
    areas = {row["code"]: row["naam"] for row in sample.area_rows()}
    wijken = [c for c in areas if c.startswith("WK")]
    buurten = [c for c in areas if c.startswith("BU")]
    assert sample.gemeentecode in areas
    assert len(wijken) >= 5 and len(buurten) >= 15
    assert all(re.fullmatch(rf"WK{gm}\d{{2}}", c) for c in wijken)
    assert all(re.fullmatch(rf"BU{gm}\d{{4}}", c) for c in buurten)
    assert all("WK" + b[2:8] in areas for b in buurten)
    assert all(any(b[2:8] == w[2:] for b in buurten) for w in wijken)
    assert all(areas.values()) and len(set(areas.values())) == len(areas)
    assert {a.buurtcode for a in sample.register} == set(buurten)


def test_register_looks_like_a_bag_extract(sample):
    register = pd.DataFrame(sample.register_rows())
    assert register["postcode"].str.fullmatch(POSTCODE).all()
    assert not register["postcode"].str[4:].isin(["SA", "SD", "SS"]).any()
    key = ["postcode", "huisnummer", "huisletter", "huisnummertoevoeging"]
    assert not register.duplicated(key).any()
    assert register["huisletter"].str.fullmatch(r"[A-Z]?").all()
    assert register["huisnummertoevoeging"].str.fullmatch(r"[0-9A-Z]{0,4}").all()
    # a toevoeging never starts with a lone letter, so `12-2`-style writing splits back unambiguously
    assert not register["huisnummertoevoeging"].str.fullmatch(r"[A-Z]").any()
    # every postcode lies in one buurt; a buurt has several postcodes
    assert (register.groupby("postcode")["buurtcode"].nunique() == 1).all()
    assert register.groupby("buurtcode")["postcode"].nunique().median() >= 3
    # buildings with several addresses: flats with toevoegingen 1, 2, 3 and houses with A, B
    per_pand = register.groupby(["postcode", "huisnummer"]).size()
    assert (per_pand > 1).mean() > 0.05
    assert {"1", "2", "3"} <= set(register["huisnummertoevoeging"])
    assert {"A", "B"} <= set(register["huisletter"])
    households = register["huishoudens"].astype(int)
    assert households.min() >= 1 and (households == 1).mean() > 0.9 and households.max() > 1


def test_kenmerken_follow_cbs_shares_and_samenloop(sample):
    """Contract §9 in the sample: CBS-like household types, and samenloop most among eenouder and laag."""
    register = pd.DataFrame(sample.register_rows())
    types = register["kenmerk_huishoudtype"].replace("", "onbekend").value_counts(normalize=True)
    assert 0.33 < types["eenpersoons"] < 0.45 and 0.05 < types["eenouder"] < 0.14
    assert 0.003 < types["onbekend"] < 0.02
    assert set(register["kenmerk_leeftijd"]) <= {"", "18-26", "27-44", "45-64", "65-74", "75+"}
    assert register["kenmerk_inkomen"].nunique() <= 12
    assert register["kenmerk_huishoudtype"].str.len().max() <= 32
    domains: dict[int, set[str]] = {}
    for row in sample.truth_rows():
        if row["adres_id"] and row["ongeldig"] == "nee" and row["begindatum"] <= "2026-06-30" and (
                not row["einddatum"] or row["einddatum"] >= "2026-01-01"):
            domains.setdefault(int(row["adres_id"]), set()).add(row["domein"])
    register["samenloop"] = [len(domains.get(int(i), ())) >= 2 for i in register["adres_id"]]
    by_type = register.groupby("kenmerk_huishoudtype")["samenloop"].mean()
    by_income = register.groupby("kenmerk_inkomen")["samenloop"].mean()
    assert by_type["eenouder"] > 3 * register["samenloop"].mean()
    assert by_income["laag"] > 2 * by_income["hoog"]


def test_buurten_have_a_wijkteam(sample):
    rows = sample.area_rows()
    teams = {r["code"]: r["gebied_wijkteam"] for r in rows if r["code"].startswith("BU")}
    assert all(teams.values()) and len(set(teams.values())) == 3
    assert all(not r["gebied_wijkteam"] for r in rows if not r["code"].startswith("BU"))


def test_small_buurten_exist(sample_truth):
    per_buurt = sample_truth.register.groupby("buurtcode")["huishoudens"].sum()
    assert (per_buurt < 50).sum() >= 2
    assert (per_buurt >= 50).sum() >= 15


def test_prevalences_in_the_range_cbs_publishes(sample_truth):
    shares = truth.prevalences(sample_truth, *PERIOD).iloc[0]
    assert 0.08 <= shares["met_voorziening"] <= 0.15
    assert 0.015 <= shares["domeinen_2plus"] <= 0.03


def test_stacking_clusters_in_the_high_wijken(sample, sample_truth):
    per_wijk = truth.prevalences(sample_truth, *PERIOD, level="wijk")
    high = [w.code for w in sample.wijken if w.profile == "hoog"]
    others = [w.code for w in sample.wijken if w.profile != "hoog"]
    assert 1 <= len(high) <= 2
    assert per_wijk.loc[high, "domeinen_2plus"].min() > 1.5 * per_wijk.loc[others, "domeinen_2plus"].max()


def test_partners_cover_the_three_domains(sample):
    assert len(sample.deliveries) >= 6
    codes: dict[str, set[str]] = {}
    for record in sample.records:
        if not record.invalid:
            codes.setdefault(record.domain, set()).add(record.code)
    assert codes["jeugd"] & {str(c) for c in range(40, 56)}
    assert codes["jeugd"] & {str(c) for c in range(31, 39)}
    assert codes["wmo"] <= {f"{c:02d}" for c in range(1, 19)} and len(codes["wmo"]) >= 5
    assert codes["werk_inkomen"] == {"PW01", "PW02", "PW03", "PW04", "PW05"}
    domains = {d.domain for d in sample.deliveries.values()}
    assert domains == {"jeugd", "wmo", "werk_inkomen"}


def test_extracts_are_messy_like_excel_exports(sample):
    deliveries = list(sample.deliveries.values())
    assert {d.delimiter for d in deliveries} == {";", ","}
    boms = [d.content.startswith(b"\xef\xbb\xbf") for d in deliveries]
    assert any(boms) and not all(boms)
    cp1252 = [d for d in deliveries if d.encoding == "cp1252"]
    assert cp1252
    for delivery in cp1252:
        with pytest.raises(UnicodeDecodeError):
            delivery.content.decode("utf-8")
    dates = {v for d in deliveries for c in ("begindatum", "einddatum") for v in _column(d, c)}
    for pattern in (r"\d{2}-\d{2}-\d{4}", r"\d-\d-\d{4}", r"\d{4}-\d{2}-\d{2}", r"\d{2}/\d{2}/\d{4}"):
        assert any(re.fullmatch(pattern, v) for v in dates), pattern
    codes = {v for d in deliveries for v in _column(d, "voorziening")}
    assert "1" in codes and any(re.fullmatch(r"\d+\.0", v) for v in codes)
    postcodes = {v for d in deliveries for v in _column(d, "postcode")}
    assert any(re.fullmatch(r"\d{4} [a-z]{2}", v) for v in postcodes)
    numbers = {v for d in deliveries for v in _column(d, "huisnummer")}
    for pattern in (r"\d+[a-z]", r"\d+-\d+", r"\d+ bis", r"\d+ [A-Z]"):
        assert any(re.fullmatch(pattern, v) for v in numbers), pattern
    headers = [h for d in deliveries for h in d.header]
    assert "Toevoeging" in headers and "huisnummertoevoeging" not in {
        h.strip().lower() for h in sample.deliveries["jeugdteam_noord"].header
    }
    assert any(h != h.strip() for h in headers) and any(h.isupper() and len(h) > 3 for h in headers)
    assert any(h.strip() != h.strip().lower() for h in headers)
    extra = {h.strip().lower() for h in headers}
    assert {"naam", "bsn"} <= extra
    without_detail = [d for d in deliveries if "huisletter" not in {h.strip().lower() for h in d.header}]
    assert without_detail


def test_fictional_bsns_are_in_the_test_range(sample):
    for delivery in sample.deliveries.values():
        if "bsn" in {h.strip().lower() for h in delivery.header}:
            for bsn in _column(delivery, "bsn"):
                digits = [int(c) for c in bsn]
                assert bsn.startswith("999") and len(digits) == 9
                weighted = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=False))
                assert (weighted - digits[8]) % 11 == 0


def test_every_extract_has_the_hard_cases(sample_truth):
    records = sample_truth.records
    start, end = (pd.Timestamp(d) for d in PERIOD)
    for partner, own in records.groupby("partner"):
        valid = own[~own["ongeldig"]]
        reasons = set(own.loc[own["ongeldig"], "reden"])
        assert set(generator.INVALID_KINDS) <= reasons, partner
        assert (valid["koppeling"] == "geen").sum() >= 3, partner
        assert (valid["koppeling"] == "pand").sum() >= 1, partner
        assert (valid["einddatum"] < start).sum() >= 1, partner
        assert (valid["begindatum"] > end).sum() >= 1, partner
        assert (valid["duplicaat_van"] != "").sum() >= 2, partner


def test_period_boundaries_are_exercised(sample_truth):
    valid = sample_truth.records[~sample_truth.records["ongeldig"]]
    start, end = (pd.Timestamp(d) for d in PERIOD)
    assert (valid["einddatum"] == start).any()
    assert (valid["begindatum"] == end).any()
    assert (valid["einddatum"] == start - pd.Timedelta(days=1)).any()
    assert (valid["begindatum"] == end + pd.Timedelta(days=1)).any()


def test_truth_links_follow_contract_paragraph_7(sample):
    """Each valid record's expected link is what §7 says for its canonical address."""
    # §7 (v2) also links on the alternative reading `postcode|nr||L` of a typed `nrL` (§3 step 8). The
    # generator's register has no one-letter toevoeging, so that reading never reaches a register address
    # and the links below (address, then pand) are the whole rule for the sample.
    assert not [a for a in sample.register if len(a.toevoeging) == 1 and a.toevoeging.isalpha()]
    by_canonical = {"|".join(map(str, a.parts)): a.adres_id for a in sample.register}
    per_pand: dict[str, list[int]] = {}
    for a in sample.register:
        per_pand.setdefault(f"{a.postcode}|{a.huisnummer}", []).append(a.adres_id)
    for row in sample.truth_rows():
        if row["ongeldig"] == "ja":
            assert row["adres_id"] == "" and row["reden"]
            continue
        canonical = row["canoniek"]
        pand = canonical.rsplit("|", 2)[0]
        if canonical in by_canonical:
            assert (row["koppeling"], row["adres_id"]) == ("adres", str(by_canonical[canonical]))
        elif len(per_pand.get(pand, [])) == 1:
            assert (row["koppeling"], row["adres_id"]) == ("pand", str(per_pand[pand][0]))
        else:
            assert (row["koppeling"], row["adres_id"]) == ("geen", "")
        assert row["domein"] in {"jeugd", "wmo", "werk_inkomen"}


def test_duplicates_repeat_the_line_exactly(sample):
    for record in sample.records:
        if record.duplicate_of is not None:
            assert record.cells == record.duplicate_of.cells
            assert record.line > record.duplicate_of.line


def test_written_files(sample, tmp_path):
    generator.write_sample(sample, tmp_path)
    with (tmp_path / "adressen.csv").open(encoding="utf-8") as handle:
        header = handle.readline().strip()
    assert header == "postcode;huisnummer;huisletter;huisnummertoevoeging;buurtcode;huishoudens"
    with (tmp_path / "adressen_kenmerken.csv").open(encoding="utf-8") as handle:
        header = handle.readline().strip()
    assert header == ("postcode;huisnummer;huisletter;huisnummertoevoeging;buurtcode;huishoudens;"
                      "kenmerk_huishoudtype;kenmerk_leeftijd;kenmerk_inkomen")
    loaded = truth.load_truth(tmp_path)
    assert len(loaded.register) == len(sample.register) and len(loaded.records) == len(sample.records)
    geo = json.loads((tmp_path / "wijken.geojson").read_text(encoding="utf-8"))
    props = [f["properties"] for f in geo["features"]]
    assert {p["wijkcode"] for p in props} == {w.code for w in sample.wijken}
    assert all(p["wijknaam"] for p in props)
    for feature in geo["features"]:
        ring = feature["geometry"]["coordinates"][0]
        assert feature["geometry"]["type"] == "Polygon" and ring[0] == ring[-1] and len(ring) == 5
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "2026H1" in readme
    assert sorted(p.name for p in (tmp_path / "leveringen").iterdir()) == sorted(
        d.filename for d in sample.deliveries.values()
    )


def test_a_second_municipality(tmp_path):
    other = generator.generate(
        seed=9876,
        gemeentecode="GM9876",
        gemeentenaam="Zuidermeer",
        n_addresses=5000,
        n_wijken=5,
        n_buurten=16,
    )
    generator.write_sample(other, tmp_path)
    loaded = truth.load_truth(tmp_path)
    assert loaded.register["gemeentecode"].unique().tolist() == ["GM9876"]
    assert loaded.register["wijkcode"].nunique() == 5 and loaded.register["buurtcode"].nunique() == 16
    assert len(loaded.register) == 5000
    shares = truth.prevalences(loaded, *PERIOD).iloc[0]
    assert 0.07 <= shares["met_voorziening"] <= 0.16
    assert 0.01 <= shares["domeinen_2plus"] <= 0.035
    assert len(other.deliveries) >= 6


def test_script_writes_a_sample(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(SAMPLE_DIR / "generate.py"),
            "--out",
            str(tmp_path),
            "--seed",
            "3",
            "--gemeentecode",
            "GM9123",
            "--adressen",
            "1200",
            "--wijken",
            "5",
            "--buurten",
            "15",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "adressen.csv").is_file() and (tmp_path / "waarheid" / "records.csv").is_file()
    assert len(list((tmp_path / "leveringen").glob("*.csv"))) >= 6
    params = json.loads((tmp_path / "waarheid" / "parameters.json").read_text(encoding="utf-8"))
    assert params["gemeentecode"] == "GM9123" and params["seed"] == 3


@pytest.mark.parametrize(
    "kwargs",
    [
        {"gemeentecode": "GM12"},
        {"gemeentecode": "XX1234"},
        {"n_wijken": 4},
        {"n_buurten": 10},
        {"n_addresses": 100},
    ],
)
def test_bad_parameters_are_refused(kwargs):
    with pytest.raises(ValueError):
        generator.generate(**kwargs)


def test_four_half_years_with_households_entering_leaving_and_lasting_samenloop(sample, sample_truth):
    """The sample covers 2024H2 … 2026H1 (docs/contract.md §10): levels stay in the CBS range while
    households enter and leave between half-years, and samenloop often lasts the whole series."""
    assert sample.parameters["reeks"] == ["2024H2", "2025H1", "2025H2", "2026H1"]
    households, multi = [], []
    for label in sample.parameters["reeks"]:
        start, end = truth.period_bounds(label)
        shares = truth.prevalences(sample_truth, start, end).iloc[0]
        assert 0.08 <= shares["met_voorziening"] <= 0.15, label
        assert 0.01 <= shares["domeinen_2plus"] <= 0.03, label
        profiles = truth.household_profiles(sample_truth, start, end)
        households.append(set(profiles["adres_id"]))
        multi.append(set(profiles.loc[profiles["domeinen"].map(len) >= 2, "adres_id"]))
    for before, after in zip(households, households[1:], strict=False):
        assert len(after - before) >= 100 and len(before - after) >= 100
    lasting = set.intersection(*multi)
    assert len(lasting) >= 0.3 * len(multi[-1])


def test_amounts_are_realistic_and_some_partners_deliver_none(sample, sample_truth):
    records = sample_truth.records
    with_amount = records[records["bedrag"].notna()]
    assert set(with_amount["partner"]) < set(records["partner"])  # some partners deliver no amounts
    assert {"jeugdteam_zuid", "wmo_hulpmiddelen", "schuldhulp_plus"}.isdisjoint(with_amount["partner"])
    start, end = PERIOD
    in_period = truth.valid_records_in_period(records, start, end)
    delivering = in_period[in_period["partner"].isin(set(with_amount["partner"]))]
    share = delivering["bedrag"].notna().mean()
    assert 0.9 < share < 1.0  # a few amounts are unknown
    days = ((delivering["einddatum"].fillna(pd.Timestamp(end)).clip(upper=pd.Timestamp(end))
             - delivering["begindatum"].clip(lower=pd.Timestamp(start))).dt.days + 1)
    per_day = (delivering["bedrag"] / 100 / days).groupby(delivering["voorziening"]).median()
    assert per_day["43"] > 5 * per_day["45"]  # jeugdhulp with verblijf far above ambulant
    assert 30 < per_day["PW01"] < 60  # bijstand: about 1 350 euro a month
    assert (with_amount["bedrag"] < 100_000_000).all()


def test_amounts_are_written_as_the_partner_formats_them(sample):
    for name, pattern in (("jeugdteam_noord", r"^[0-9]{1,3}(\.[0-9]{3})*,[0-9]{2}$"),
                          ("jeugd_ggz", r"^[0-9]+\.[0-9]{2}$"), ("wmo_zorgkracht", r"^[0-9]+,[0-9]{2}$")):
        values = [v for v in _column(sample.deliveries[name], "bedrag") if v]
        assert values and all(re.match(pattern, v) for v in values), name
        assert any(not v for v in _column(sample.deliveries[name], "bedrag")), name


def test_every_half_year_of_the_series_has_its_own_amounts(sample):
    """§12: an amount belongs to a period. The partners with amounts deliver an extract per earlier half-year:
    the same lines, the amounts of that half-year (as the truth has them), dearer care above cheaper care."""
    earlier = [label for label in generator.SERIES if label != generator.PERIOD_NAME]
    with_amounts = {name for name, d in sample.deliveries.items() if d.earlier}
    assert with_amounts == set(generator.AMOUNT_FORMATS) and len(with_amounts) < len(sample.deliveries)
    truth = {(r["partner"], int(r["regel"])): r for r in sample.truth_rows()}
    for name in with_amounts:
        delivery = sample.deliveries[name]
        assert set(delivery.earlier) == set(earlier)
        style = next(s for s in generator.PARTNERS if s.name == name)
        column = [field for _, field in style.columns].index("bedrag_periode")
        for label in earlier:
            text = delivery.earlier[label].decode(delivery.encoding)
            rows = list(csv.reader(io.StringIO(text), delimiter=delivery.delimiter))
            assert rows[0] == delivery.header and len(rows) == len(delivery.rows) + 1
            for line, (row, original) in enumerate(zip(rows[1:], delivery.rows, strict=True), start=2):
                assert row[:column] + row[column + 1:] == original[:column] + original[column + 1:]
                cents = truth[(name, line)][f"bedrag_{label}"]
                assert row[column] == generator._render_amount(int(cents) if cents else None,
                                                                generator.AMOUNT_FORMATS[name])
    amounts = {label: [int(r[f"bedrag_{label}"]) for r in truth.values() if r[f"bedrag_{label}"]]
               for label in generator.SERIES}
    assert all(len(v) > 1000 for v in amounts.values())
    for label in generator.SERIES:  # jeugdhulp with verblijf (43) costs far more than ambulant help (45)
        by_code = {}
        for r in truth.values():
            if r[f"bedrag_{label}"]:
                by_code.setdefault(r["voorziening"], []).append(int(r[f"bedrag_{label}"]))
        median = {code: sorted(v)[len(v) // 2] for code, v in by_code.items()}
        assert median["43"] > 5 * median["45"], label


def _cells(geometry: dict) -> set[tuple[int, int]]:
    """The unit cells of [0, 4)² inside a Polygon or MultiPolygon (even-odd over all its rings)."""
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    rings = [ring for polygon in polygons for ring in polygon]
    inside = set()
    for i in range(4):
        for j in range(4):
            x, y = i + 0.5, j + 0.5
            crossings = sum((a[1] > y) != (b[1] > y) and x < a[0] + (y - a[1]) * (b[0] - a[0]) / (b[1] - a[1])
                            for ring in rings for a, b in zip(ring, ring[1:], strict=False))
            if crossings % 2:
                inside.add((i, j))
    return inside


@pytest.mark.parametrize(
    ("rectangles", "kind", "parts"),
    [
        ([(0, 0, 1, 2), (1, 0, 2, 1), (1, 1, 3, 2)], "Polygon", 1),  # strips that touch: one outline
        ([(0, 0, 1, 1), (1, 1, 2, 2)], "MultiPolygon", 2),  # touching at a corner only
        ([(0, 0, 3, 1), (0, 1, 1, 3), (2, 1, 3, 3), (0, 3, 3, 4)], "Polygon", 1),  # a ring round a hole
        ([(0, 0, 1, 1), (3, 3, 4, 4)], "MultiPolygon", 2),
    ],
    ids=["aaneen", "hoekpunt", "gat", "los"],
)
def test_dissolve_outlines_exactly_the_union_of_the_rectangles(rectangles, kind, parts):
    geometry = generator._dissolve([tuple(float(v) for v in r) for r in rectangles])
    assert geometry["type"] == kind
    assert (1 if kind == "Polygon" else len(geometry["coordinates"])) == parts
    union = {(i, j) for x0, y0, x1, y1 in rectangles for i in range(x0, x1) for j in range(y0, y1)}
    assert _cells(geometry) == union
    polygons = [geometry["coordinates"]] if kind == "Polygon" else geometry["coordinates"]
    for polygon in polygons:
        for ring in polygon:
            assert ring[0] == ring[-1] and len(ring) == len({tuple(p) for p in ring}) + 1  # closed, simple
            corners = [ring[-2], *ring]
            for a, b, c in zip(corners, corners[1:], corners[2:], strict=False):  # every vertex a corner
                assert (b[0] - a[0]) * (c[1] - b[1]) != (b[1] - a[1]) * (c[0] - b[0]), (a, b, c)


def test_wijkteam_map_covers_each_wijkteam_exactly_by_its_buurten(sample, tmp_path):
    generator.write_sample(sample, tmp_path)
    teams = json.loads((tmp_path / "wijkteam.geojson").read_text(encoding="utf-8"))
    buurten = json.loads((tmp_path / "buurten.geojson").read_text(encoding="utf-8"))
    team_of = {row["code"]: row["gebied_wijkteam"] for row in sample.area_rows() if row["gebied_wijkteam"]}
    codes = sorted(f["properties"]["gebied_wijkteam"] for f in teams["features"])
    assert codes == sorted(set(team_of.values()))

    def area(ring):
        return abs(sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, ring[1:], strict=False))) / 2

    for feature in teams["features"]:
        geometry = feature["geometry"]
        polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        team_area = sum(area(p[0]) - sum(area(h) for h in p[1:]) for p in polygons)
        members = [area(b["geometry"]["coordinates"][0]) for b in buurten["features"]
                   if team_of[b["properties"]["buurtcode"]] == feature["properties"]["gebied_wijkteam"]]
        assert team_area == pytest.approx(sum(members), rel=1e-9)
        assert len(polygons) < len(members), "neighbouring buurten are one outline"
