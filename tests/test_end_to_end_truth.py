"""End to end against the truth: a municipality the pipeline has never seen, through the real CLI.

A second gemeente (another seed, code and size than data/sample) is generated into a temporary folder,
then run through `factlab key new`, `register`, `pseudonymise` (per extract) and `run` exactly as
contract §6 writes them. Every published cell of samenloop.csv is held against the true count computed by
tests/truth.py from the generator's own model; the rejects and kwaliteit.csv against the truth per line.

The fast tests at the bottom check tests/truth.py itself on a tiny hand-made case.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sample_loader import load_module, load_sample_generator

from schemas.formats import KOSTEN_COLUMNS

ROOT = Path(__file__).resolve().parents[1]


generator = load_sample_generator()
truth = load_module("factlab_truth", Path(__file__).with_name("truth.py"))

MUNICIPALITY = {
    "seed": 9876,
    "gemeentecode": "GM9876",
    "gemeentenaam": "Zuidermeer",
    "n_addresses": 5000,
    "n_wijken": 5,
    "n_buurten": 16,
}
PERIOD = "2026H1"
LEVELS = ("gemeente", "wijk")
THRESHOLD = 10
ROUNDING_BASE = 5
MIN_AREA_HOUSEHOLDS = 50
SAMENLOOP_COLUMNS = [
    "gebiedscode",
    "gebiedsnaam",
    "niveau",
    "groep",
    "indicator",
    "aantal",
    "per_1000_huishoudens",
    "geheim",
]
DIVISIONS = ("wijkteam",)
"""Own divisions of the generated gebieden.csv (contract §9), published beside the CBS levels."""
DELIVERY_COLUMNS = {"adres_pseudoniem", "pand_pseudoniem", "voorziening", "domein", "begindatum", "einddatum",
                    "adres_pseudoniem_alt", "bedrag"}
"""docs/contract.md §6; (v2) with `adres_pseudoniem_alt` (§3 step 8) and `bedrag` (§12)."""


def _factlab() -> str:
    beside_python = Path(sys.executable).with_name("factlab")
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which("factlab")
    if found is None:
        pytest.fail("het commando factlab is niet gevonden; installeer eerst met `make install`")
    return found


def _factlab_run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [_factlab(), *args], cwd=cwd, capture_output=True, text=True, timeout=1200, check=False
    )
    assert result.returncode == 0, (
        f"factlab {' '.join(args[:2])} stopte met code {result.returncode}:\n{result.stderr[-4000:]}"
    )
    return result


E2E_KENMERKEN = tuple(k for k in os.environ.get("FACTLAB_E2E_KENMERKEN", "").split(",") if k)
"""The register's kenmerken kept in this test (the generator writes three). By default none: protecting
every group takes far longer than this test may (measured: one kenmerk, 5 859 cells, over 20 minutes on the
shared machine). FACTLAB_E2E_KENMERKEN=huishoudtype runs the whole chain with groups; every check then
covers each (gebied, groep, indicator) and the group sums."""


def _keep_kenmerken(path: Path, keep: tuple[str, ...]) -> None:
    """Drop the register's kenmerk_<naam> columns other than `keep` (the truth reads what is left)."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    columns = [i for i, name in enumerate(rows[0]) if not name.startswith("kenmerk_") or name[8:] in keep]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\n")
        writer.writerows([[r[i] for i in columns] for r in rows])


@dataclass
class Chain:
    folder: Path
    sample: object
    truth: object
    start: date
    end: date
    key_file: Path
    deliveries: Path
    rejects: dict[str, Path]
    out: Path


@pytest.fixture(scope="module")
def chain(tmp_path_factory) -> Chain:
    folder = tmp_path_factory.mktemp("e2e")
    sample = generator.generate(**MUNICIPALITY)
    gemeente = folder / "gemeente"
    generator.write_sample(sample, gemeente)
    _keep_kenmerken(gemeente / "adressen_kenmerken.csv", E2E_KENMERKEN)
    register_source = gemeente / ("adressen_kenmerken.csv" if E2E_KENMERKEN else "adressen.csv")
    key_file = folder / "sleutel" / "sleutel.json"
    key_file.parent.mkdir()
    _factlab_run(["key", "new", "--out", str(key_file)], folder)
    register = folder / "register.parquet"
    _factlab_run(
        ["register", str(register_source), "--key", str(key_file), "--out", str(register)], folder
    )
    deliveries, rejects_dir = folder / "leveringen", folder / "afgekeurd"
    deliveries.mkdir()
    rejects_dir.mkdir()
    rejects: dict[str, Path] = {}
    for delivery in sample.deliveries.values():
        rejects[delivery.partner] = rejects_dir / f"{delivery.partner}.csv"
        _factlab_run(
            [
                "pseudonymise",
                str(gemeente / "leveringen" / delivery.filename),
                "--key",
                str(key_file),
                "--partner",
                delivery.partner,
                "--out",
                str(deliveries / f"{delivery.partner}.parquet"),
                "--rejects",
                str(rejects[delivery.partner]),
            ],
            folder,
        )
    out = folder / "uitvoer"
    _factlab_run(
        [
            "run",
            "--deliveries",
            str(deliveries),
            "--register",
            str(register),
            "--areas",
            str(gemeente / "gebieden.csv"),
            "--period",
            PERIOD,
            "--out",
            str(out),
            "--niveaus",
            ",".join(LEVELS),
        ],
        folder,
    )
    start, end = truth.period_bounds(PERIOD)
    return Chain(folder, sample, truth.load_truth(gemeente), start, end, key_file, deliveries, rejects, out)


@pytest.fixture(scope="module")
def published(chain) -> pd.DataFrame:
    with (chain.out / "samenloop.csv").open(encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle))
    assert header == SAMENLOOP_COLUMNS
    frame = pd.read_csv(chain.out / "samenloop.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    values = frame["geheim"].str.strip().str.lower()
    assert values.isin(["true", "false"]).all(), "geheim moet true of false zijn"
    return frame.assign(geheim=values == "true")


@pytest.fixture(scope="module")
def expected(chain) -> pd.DataFrame:
    groups = ["", *truth.group_values(chain.truth)]
    assert (len(groups) > 1) == bool(E2E_KENMERKEN), "the register must have exactly the kept kenmerken"
    frames = [truth.expected_counts(chain.truth, chain.start, chain.end, level, group)
              for level in (*LEVELS, *DIVISIONS) for group in groups]
    return pd.concat(frames, ignore_index=True).set_index(["gebiedscode", "groep", "indicator"])


def _number(text: str) -> float:
    return float(text.strip())


def _true_households(expected: pd.DataFrame, area: str, group: str = "") -> int:
    return int(expected.loc[(area, group, "huishoudens"), "aantal"])


# ---------------------------------------------------------------- samenloop.csv against the truth


@pytest.mark.slow
def test_every_area_and_indicator_is_there(published, expected):
    assert set(published["niveau"]) == {*LEVELS, *DIVISIONS}
    assert not published.duplicated(["gebiedscode", "groep", "indicator"]).any()
    published_keys = set(zip(published["gebiedscode"], published["groep"], published["indicator"],
                             strict=True))
    assert published_keys == set(expected.index), "precies elke cel van elk gebied, elke groep en indicator"
    codes = {name for name in expected.index.get_level_values("indicator") if name.startswith("voorziening:")}
    assert codes, "geen enkele voorziening:<code> in de waarheid"
    for (area, group), names in published.groupby(["gebiedscode", "groep"])["indicator"]:
        assert set(names) == {*truth.INDICATORS, *truth.V2_INDICATORS, *codes}, (area, group)
    # groep "" comes first: exactly the rows of a run without kenmerken
    assert list(dict.fromkeys(published["groep"]))[0] == ""


@pytest.mark.slow
def test_area_names_and_levels(published, chain):
    areas = chain.truth.areas
    names = dict(zip(areas["code"], areas["naam"], strict=True))
    for division in DIVISIONS:
        names.update(zip(areas[f"gebied_{division}"], areas[f"gebied_{division}_naam"], strict=True))
    for row in published.itertuples(index=False):
        assert row.gebiedsnaam == names[row.gebiedscode]
        level = {"GM": "gemeente", "WK": "wijk", "WT": "wijkteam"}[row.gebiedscode[:2]]
        assert row.niveau == level


@pytest.mark.slow
def test_published_counts_are_rounded_true_counts(published, expected):
    wrong = []
    for row in published.itertuples(index=False):
        true = int(expected.loc[(row.gebiedscode, row.groep, row.indicator), "aantal"])
        if row.geheim:
            if row.aantal.strip() or row.per_1000_huishoudens.strip():
                wrong.append((row.gebiedscode, row.indicator, "geheim maar niet leeg"))
            continue
        value = _number(row.aantal)
        if value != int(value) or int(value) % ROUNDING_BASE:
            wrong.append(
                (row.gebiedscode, row.indicator, f"{row.aantal} is geen veelvoud van {ROUNDING_BASE}")
            )
        elif abs(value - true) > ROUNDING_BASE // 2 or (true == 0) != (value == 0):
            wrong.append((row.gebiedscode, row.indicator, f"gepubliceerd {row.aantal}, waar {true}"))
    assert not wrong, wrong[:20]


@pytest.mark.slow
def test_no_small_true_count_is_published(published, expected):
    leaks = [
        (row.gebiedscode, row.indicator)
        for row in published.itertuples(index=False)
        if not row.geheim
        and 1 <= int(expected.loc[(row.gebiedscode, row.groep, row.indicator), "aantal"]) < THRESHOLD
    ]
    assert not leaks, leaks


@pytest.mark.slow
def test_small_areas_publish_only_households(published, expected):
    for row in published.itertuples(index=False):
        if (
            row.indicator != "huishoudens"
            and _true_households(expected, row.gebiedscode, row.groep) < MIN_AREA_HOUSEHOLDS
        ):
            assert row.geheim and not row.aantal.strip(), (row.gebiedscode, row.indicator)


@pytest.mark.slow
def test_rates_use_the_rounded_counts(published):
    households = {
        (row.gebiedscode, row.groep): _number(row.aantal)
        for row in published.itertuples(index=False)
        if row.indicator == "huishoudens" and not row.geheim
    }
    checked = 0
    for row in published.itertuples(index=False):
        if row.geheim or row.indicator == "huishoudens":
            continue
        denominator = households.get((row.gebiedscode, row.groep))
        assert denominator, f"{row.gebiedscode}: aantal gepubliceerd zonder gepubliceerd aantal huishoudens"
        rate = _number(row.per_1000_huishoudens)
        assert math.isclose(rate, _number(row.aantal) / denominator * 1000, abs_tol=0.05 + 1e-9), (
            row.gebiedscode,
            row.indicator,
            row.per_1000_huishoudens,
        )
        checked += 1
    assert checked > 0


def _area_relations() -> list[tuple[str, list[str]]]:
    """(total, parts) within one area and group, from docs/contract.md §7/§8 and §10-§12, written out here."""
    combos = [n for n in truth.INDICATORS if n.startswith("combinatie:")]
    exclusive = [n for n in truth.INDICATORS if n.startswith("alleen:")] + combos
    groups = [
        ("met_voorziening", exclusive),
        ("met_voorziening", [n for n in truth.INDICATORS if n.startswith("voorzieningen:")]),
        ("met_voorziening", [n for n in truth.INDICATORS if n.startswith("organisaties:")]),
        ("domeinen:2+", combos),
    ]
    groups += [
        (f"domein:{d}", [f"alleen:{d}"] + [c for c in combos if d in c.split(":")[1].split("+")])
        for d in truth.DOMAINS
    ]
    # contract v2: §12 domeinen:k, §11 the stacking table, §10 the duration classes
    domain_count = {c: len(c.split(":")[1].split("+")) for c in exclusive}
    groups += [(f"domeinen:{k}", [c for c in exclusive if domain_count[c] == k]) for k in (1, 2, 3)]
    groups += [("met_voorziening", ["domeinen:1", "domeinen:2", "domeinen:3"]),
               ("domeinen:2+", ["domeinen:2", "domeinen:3"]),
               ("domeinen:2+", ["samenloop_duur:0-1", "samenloop_duur:1-2", "samenloop_duur:2+"])]
    ks = ("1", "2", "3", "4+")
    groups += [(c, [f"{c}&voorzieningen:{k}" for k in ks]) for c in exclusive]
    groups += [(f"voorzieningen:{k}", [f"{c}&voorzieningen:{k}" for c in exclusive]) for k in ks]
    return groups


Key = tuple[str, str, str]
"""(gebiedscode, groep, indicator)"""


def _sum_relations(published: pd.DataFrame) -> list[tuple[Key, list[Key]]]:
    """(total, parts) that an attacker can read: within an area and group, wijken and own divisions to
    the gemeente, and the values of one kenmerk to groep "" (contract §8, §9)."""
    units = published[["gebiedscode", "niveau", "groep"]].drop_duplicates()
    indicators = list(dict.fromkeys(published["indicator"]))
    relations: list[tuple[Key, list[Key]]] = []
    for unit in units.itertuples(index=False):
        area, group = unit.gebiedscode, unit.groep
        relations += [((area, group, total), [(area, group, p) for p in parts])
                      for total, parts in _area_relations()]
    gemeenten = units.loc[units["niveau"] == "gemeente", "gebiedscode"].unique()
    for gemeente in gemeenten:
        for level in ("wijk", *DIVISIONS):
            for group in units["groep"].unique():
                children = units.loc[(units["niveau"] == level) & (units["groep"] == group), "gebiedscode"]
                relations += [((gemeente, group, name), [(c, group, name) for c in children])
                              for name in indicators]
    kenmerken: dict[str, list[str]] = {}
    for group in units["groep"].unique():
        if group:
            kenmerken.setdefault(group.split("=")[0], []).append(group)
    for area in units["gebiedscode"].unique():
        for values in kenmerken.values():
            relations += [((area, "", name), [(area, v, name) for v in values]) for name in indicators]
    return relations


MIN_RANGE_WIDTH = THRESHOLD - 2
"""A secret cell must keep at least 9 possible values (as many as 'secret' itself leaves open: 1..9)."""


def recoverable_secret_cells(published: pd.DataFrame) -> list[tuple]:
    """Secret cells that one published sum narrows to fewer than MIN_RANGE_WIDTH + 1 values.

    A published 0 is exact (1 and 2 would be secret); other published counts are within 2 of the truth.
    """
    if "groep" not in published.columns:
        published = published.assign(groep="")
    cells = {(r.gebiedscode, r.groep, r.indicator): r for r in published.itertuples(index=False)}

    def bounds(key: Key) -> tuple[float, float]:
        value = _number(cells[key].aantal)
        return (value, value) if value == 0 else (value - ROUNDING_BASE // 2, value + ROUNDING_BASE // 2)

    found = []
    for total, parts in _sum_relations(published):
        members = [total, *parts]
        if not parts or any(m not in cells for m in members):
            continue
        secret = [m for m in members if cells[m].geheim]
        if len(secret) != 1:
            continue
        known = {m: bounds(m) for m in members if m != secret[0]}
        if secret[0] == total:
            low, high = sum(b[0] for b in known.values()), sum(b[1] for b in known.values())
        else:
            low = known[total][0] - sum(b[1] for m, b in known.items() if m != total)
            high = known[total][1] - sum(b[0] for m, b in known.items() if m != total)
        if high - max(low, 0) < MIN_RANGE_WIDTH:
            found.append(((secret[0][0], secret[0][2]), total[2], max(low, 0), high))
    return found


@pytest.mark.slow
def test_no_secret_cell_is_recoverable_from_one_sum(published):
    """Secondary suppression (§8), checked independently for every single sum an attacker can read."""
    found = recoverable_secret_cells(published)
    assert not found, found[:10]


@pytest.mark.slow
def test_the_story_survives_protection(published, expected, chain):
    """The high-stacking wijk of the model is the highest published `domeinen:2+` rate."""
    high = {w.code for w in chain.sample.wijken if w.profile == "hoog"}
    rates = {
        row.gebiedscode: _number(row.per_1000_huishoudens)
        for row in published.itertuples(index=False)
        if row.indicator == "domeinen:2+" and row.niveau == "wijk" and not row.geheim and row.groep == ""
    }
    if high & set(rates):  # secondary suppression may hide it; then there is nothing to compare
        assert max(rates, key=rates.get) in high


# ---------------------------------------------------------------- rejects, quality and privacy


def _read_rejects(path: Path) -> list[dict[str, str]]:
    text = path.read_text(encoding="utf-8-sig")
    first = text.splitlines()[0] if text else ""
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    rows = list(csv.DictReader(text.splitlines(), delimiter=delimiter))
    return [{k.strip().lower(): (v or "") for k, v in row.items() if k} for row in rows]


def _is_duplicate_notice(row: dict[str, str]) -> bool:
    """Duplicates are merged and may be listed as a notice; they are not rejected rows."""
    return "dubbel" in row.get("code", "").lower()


@pytest.mark.slow
def test_rejected_rows_match_the_truth(chain):
    expected_lines = truth.expected_rejected_lines(chain.truth)
    for partner, path in chain.rejects.items():
        rows = _read_rejects(path)
        rejected = [r for r in rows if not _is_duplicate_notice(r)]
        if rows and "regel" in rows[0]:
            lines = {int(r["regel"]) for r in rejected}
            assert lines == expected_lines[partner], (partner, sorted(lines ^ expected_lines[partner]))
        else:
            assert len(rejected) == len(expected_lines[partner]), partner


@pytest.mark.slow
def test_duplicate_notices_name_real_duplicates(chain):
    records = chain.truth.records
    for partner, path in chain.rejects.items():
        rows = [r for r in _read_rejects(path) if _is_duplicate_notice(r)]
        if not rows or "regel" not in rows[0]:
            continue
        own = records[(records["partner"] == partner) & ~records["ongeldig"]]
        kept = truth.expected_quality(chain.truth, chain.start, chain.end, merge_duplicates=True)
        n_kept = int(kept.loc[kept["partner"] == partner, "records"].iloc[0])
        assert len({int(r["regel"]) for r in rows}) == len(own) - n_kept, partner


@pytest.mark.slow
def test_quality_matches_the_truth(chain):
    quality = pd.read_csv(chain.out / "kwaliteit.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(quality.columns) == ["partner", "key_id", *truth.QUALITY_COLUMNS]
    key_id = json.loads(chain.key_file.read_text(encoding="utf-8"))["key_id"]
    assert set(quality["key_id"]) == {key_id}
    assert sorted(quality["partner"]) == sorted(chain.sample.deliveries)
    # The contract is silent on duplicate lines: a partner's counts either keep them or count them once.
    candidates = [
        truth.expected_quality(chain.truth, chain.start, chain.end, merge_duplicates=merge).set_index(
            "partner"
        )
        for merge in (False, True)
    ]
    for row in quality.itertuples(index=False):
        got = {c: int(getattr(row, c)) for c in truth.QUALITY_COLUMNS}
        options = [{c: int(e.loc[row.partner, c]) for c in truth.QUALITY_COLUMNS} for e in candidates]
        assert got in options, (row.partner, got, options)
        assert (
            sum(got[c] for c in truth.LINK_KINDS.values()) == got["records_in_periode"]
        )


@pytest.mark.slow
def test_published_costs_are_within_rounding_of_the_truth_and_pass_the_p_rule(chain, published):
    counts = published
    kosten = pd.read_csv(chain.out / "kosten.csv", dtype=str, keep_default_na=False)
    assert tuple(kosten.columns) == KOSTEN_COLUMNS
    groups = ["", *truth.group_values(chain.truth)]
    expected = pd.concat([truth.expected_costs(chain.truth, chain.start, chain.end, level, group)
                          for level in (*LEVELS, *DIVISIONS) for group in groups])
    expected = expected.set_index(["gebiedscode", "groep", "indicator"])
    assert len(kosten) == len(expected)
    keys = zip(kosten["gebiedscode"], kosten["groep"], kosten["indicator"], strict=True)
    assert set(keys) == set(expected.index)
    assert set(kosten["niveau"]) == {*LEVELS, *DIVISIONS}
    shown = kosten[kosten["geheim"] == "false"]
    assert len(shown) and (kosten["geheim"] == "true").any()
    count_published = {(r.gebiedscode, r.groep, r.indicator) for r in counts.itertuples(index=False)
                       if not r.geheim}
    for row in shown.itertuples(index=False):
        key = (row.gebiedscode, row.groep, row.indicator)
        cell = expected.loc[key]
        assert abs(int(row.bedrag) * 100 - int(cell["bedrag"])) <= 500 * 100, key
        if cell["huishoudens"]:
            assert cell["huishoudens"] >= 10
            assert key in count_published, key  # the count cell of the same area, group and indicator
            rest = cell["bedrag"] - cell["grootste"] - cell["tweede"]
            assert rest >= 0.15 * cell["grootste"], key
    assert (kosten.loc[kosten["geheim"] == "true", "bedrag"] == "").all()


@pytest.mark.slow
def test_deliveries_hold_no_names_or_bsn(chain):
    secrets: set[str] = set()
    for delivery in chain.sample.deliveries.values():
        columns = [h.strip().lower() for h in delivery.header]
        for row in delivery.rows:
            for name, value in zip(columns, row, strict=True):
                if name in {"naam", "bsn", "clientnummer"}:
                    secrets.add(value)
    for path in sorted(chain.deliveries.glob("*.parquet")):
        table = pq.read_table(path)
        assert set(table.column_names) == DELIVERY_COLUMNS, path.name
        for column in ("adres_pseudoniem", "pand_pseudoniem", "voorziening", "domein",
                       "adres_pseudoniem_alt"):
            values = set(table.column(column).to_pylist())
            assert not values & secrets, (path.name, column)
        assert all(re.fullmatch(r"[0-9a-f]{64}", v) for v in table.column("adres_pseudoniem").to_pylist())
        alternatives = table.column("adres_pseudoniem_alt").drop_null().to_pylist()
        assert all(re.fullmatch(r"[0-9a-f]{64}", v) for v in alternatives)


@pytest.mark.slow
def test_key_file_follows_the_contract(chain):
    document = json.loads(chain.key_file.read_text(encoding="utf-8"))
    assert document["format"] == "factlab-key" and document["version"] == 1
    assert re.fullmatch(r"[0-9a-f]{16}", document["key_id"])
    assert stat.S_IMODE(chain.key_file.stat().st_mode) == 0o600


@pytest.mark.slow
def test_household_file_matches_the_truth(chain):
    households = pq.read_table(chain.out / "huishoudens.parquet").to_pandas()
    for column in households.columns:
        values = households[column].dropna().astype(str)
        assert not values.str.fullmatch(r"[0-9a-f]{64}").any(), f"pseudoniem in kolom {column}"
    per_buurt = truth.expected_counts(chain.truth, chain.start, chain.end, "buurt")
    per_buurt = per_buurt[(per_buurt["indicator"] == "met_voorziening") & (per_buurt["aantal"] > 0)]
    want = dict(zip(per_buurt["gebiedscode"], per_buurt["aantal"], strict=True))
    got = households["buurtcode"].value_counts().to_dict()
    assert got == want


@pytest.mark.slow
def test_run_writes_the_other_outputs(chain):
    for name in ("manifest.json", "rapport.html", "rapport.pdf", "huishoudens.parquet"):
        assert (chain.out / name).is_file(), name
    manifest = (chain.out / "manifest.json").read_text(encoding="utf-8")
    assert json.loads(manifest)
    for value in (chain.key_file.read_text(encoding="utf-8"),):
        assert json.loads(value)["key"] not in manifest


@pytest.mark.slow
def test_the_audit_of_the_run_passed(chain):
    audit = json.loads((chain.out / "manifest.json").read_text(encoding="utf-8"))["beveiliging"]["audit"]
    assert audit["geslaagd"] is True
    assert audit["cellen_onvoldoende_beschermd"] == 0
    assert audit["regelovertredingen"] == 0
    assert audit["werkelijke_waarde_buiten_interval"] == 0


# ---------------------------------------------------------------- tests/truth.py on a tiny hand-made case

TINY_REGISTER = [
    # adres_id, postcode, huisnummer, buurtcode, huishoudens
    ("1", "1111AA", "1", "BU99990000", "1"),
    ("2", "1111AA", "2", "BU99990000", "2"),
    ("3", "1111AB", "5", "BU99990001", "1"),
    ("4", "1111AB", "7", "BU99990001", "1"),
    ("5", "2222AA", "1", "BU99990100", "3"),
    ("6", "2222AA", "3", "BU99990100", "1"),
]
TINY_RECORDS = [
    # partner, regel, adres_id, koppeling, voorziening, domein, begindatum, einddatum, ongeldig
    ("jt", 2, "1", "adres", "45", "jeugd", "2025-05-01", "", "nee"),
    ("wz", 2, "1", "adres", "01", "wmo", "2026-06-30", "", "nee"),  # begins on the last day: counts
    # ended the day before the period
    ("wi", 2, "1", "adres", "PW01", "werk_inkomen", "2024-01-01", "2025-12-31", "nee"),
    ("wi", 3, "", "", "PW03", "werk_inkomen", "2026-01-01", "", "ja"),  # invalid: never counts
    # ends on the first day of the period
    ("wi", 4, "2", "adres", "PW01", "werk_inkomen", "2023-01-01", "2026-01-01", "nee"),
    ("sh", 2, "2", "adres", "PW05", "werk_inkomen", "2026-02-01", "", "nee"),
    # a duplicate of line 4
    ("wi", 5, "2", "adres", "PW01", "werk_inkomen", "2023-01-01", "2026-01-01", "nee"),
    ("jt", 3, "2", "adres", "45", "jeugd", "2026-07-01", "", "nee"),  # starts after the period
    ("jt", 4, "3", "adres", "45", "jeugd", "2026-01-15", "", "nee"),
    ("ggz", 2, "3", "adres", "45", "jeugd", "2026-03-01", "", "nee"),  # same code, other partner
    ("ggz", 3, "3", "adres", "54", "jeugd", "2026-03-01", "2026-03-31", "nee"),
    ("wh", 2, "3", "pand", "11", "wmo", "2025-01-01", "", "nee"),
    ("wi", 6, "3", "adres", "PW02", "werk_inkomen", "2026-05-05", "", "nee"),
    ("wz", 3, "5", "adres", "02", "wmo", "2025-03-01", "2025-06-30", "nee"),
    ("wz", 4, "6", "alternatief", "01", "wmo", "2026-01-01", "", "nee"),  # typed `3h`, register 3 H
    ("wz", 5, "", "geen", "01", "wmo", "2026-01-01", "", "nee"),  # outside the gemeente
]
TINY_AREAS = [
    ("GM9999", "Klein"),
    ("WK999900", "Noord"),
    ("WK999901", "Zuid"),
    ("BU99990000", "Dorp"),
    ("BU99990001", "Haven"),
    ("BU99990100", "Polder"),
]
TINY_PERIOD = (date(2026, 1, 1), date(2026, 6, 30))


@pytest.fixture
def tiny():
    register = [
        {
            "adres_id": i,
            "postcode": pc,
            "huisnummer": nr,
            "huisletter": "",
            "huisnummertoevoeging": "",
            "buurtcode": bu,
            "huishoudens": hh,
        }
        for i, pc, nr, bu, hh in TINY_REGISTER
    ]
    records = [
        {
            "partner": p,
            "regel": str(line),
            "adres_id": a,
            "koppeling": k,
            "canoniek": f"adres{a}" if a else ("" if bad == "ja" else "9999ZZ|1||"),
            "voorziening": code,
            "domein": dom,
            "begindatum": b,
            "einddatum": e,
            "ongeldig": bad,
            "reden": "datum" if bad == "ja" else "",
            "duplicaat_van": "4" if (p, line) == ("wi", 5) else "",
        }
        for p, line, a, k, code, dom, b, e, bad in TINY_RECORDS
    ]
    areas = [{"code": c, "naam": n} for c, n in TINY_AREAS]
    return truth.truth_from_rows(register, records, areas)


def _counts(frame: pd.DataFrame, names: tuple[str, ...] | None = None) -> dict[str, dict[str, int]]:
    """Non-zero counts per area; only the v1 indicators unless `names` says otherwise (None = all)."""
    names = truth.INDICATORS if names is None else names
    result: dict[str, dict[str, int]] = {}
    for row in frame.itertuples(index=False):
        if row.aantal and (not names or row.indicator in names):
            result.setdefault(row.gebiedscode, {})[row.indicator] = int(row.aantal)
    return result


def test_truth_counts_the_tiny_gemeente(tiny):
    counts = _counts(truth.expected_counts(tiny, *TINY_PERIOD, "gemeente"))
    assert counts == {
        "GM9999": {
            "huishoudens": 9,
            "met_voorziening": 4,
            "domein:jeugd": 2,
            "domein:wmo": 3,
            "domein:werk_inkomen": 2,
            "alleen:wmo": 1,
            "alleen:werk_inkomen": 1,
            "combinatie:jeugd+wmo": 1,
            "combinatie:jeugd+wmo+werk_inkomen": 1,
            "domeinen:2+": 2,
            "voorzieningen:1": 1,
            "voorzieningen:2": 2,
            "voorzieningen:4+": 1,
            "organisaties:1": 1,
            "organisaties:2": 2,
            "organisaties:3+": 1,
        }
    }


def test_truth_counts_the_tiny_wijken_and_buurten(tiny):
    wijken = _counts(truth.expected_counts(tiny, *TINY_PERIOD, "wijk"))
    assert wijken["WK999901"] == {
        "huishoudens": 4,
        "met_voorziening": 1,
        "domein:wmo": 1,
        "alleen:wmo": 1,
        "voorzieningen:1": 1,
        "organisaties:1": 1,
    }
    assert wijken["WK999900"]["huishoudens"] == 5 and wijken["WK999900"]["met_voorziening"] == 3
    buurten = _counts(truth.expected_counts(tiny, *TINY_PERIOD, "buurt"))
    assert buurten["BU99990001"] == {
        "huishoudens": 2,
        "met_voorziening": 1,
        "domein:jeugd": 1,
        "domein:wmo": 1,
        "domein:werk_inkomen": 1,
        "combinatie:jeugd+wmo+werk_inkomen": 1,
        "domeinen:2+": 1,
        "voorzieningen:4+": 1,
        "organisaties:3+": 1,
    }
    frame = truth.expected_counts(tiny, *TINY_PERIOD, "buurt")
    codes = 7  # 45, 54, 01, 11, PW01, PW02, PW05 in the period; 02 ended before it
    assert len(frame) == 3 * (len(truth.INDICATORS) + len(truth.V2_INDICATORS) + codes)
    assert set(frame.loc[frame["gebiedscode"] == "BU99990100", "gebiedsnaam"]) == {"Polder"}


def test_truth_link_rule_of_contract_paragraph_7():
    register = {"1011AB|107||": 1, "1011AB|107||H": 2, "1011AB|121||": 3, "1011AB|9|A|": 4, "1011AB|9|B|": 5}
    assert truth.expected_link("1011AB|107||", None, register) == ("adres", 1)
    assert truth.expected_link("1011AB|107|H|", "1011AB|107||H", register) == ("alternatief", 2)
    assert truth.expected_link("1011AB|107|H|", None, register) == ("geen", None)  # pand of two
    assert truth.expected_link("1011AB|121|H|", "1011AB|121||H", register) == ("pand", 3)
    assert truth.expected_link("1011AB|9|C|", "1011AB|9||C", register) == ("geen", None)


def test_truth_counts_the_v2_indicators_of_the_tiny_gemeente(tiny):
    """Contract §10-§12 by hand: households 1 (jeugd 2025-05-01, wmo from the last day), 2 (PW01 and PW05),
    3 (four codes in three domains, samenloop from 2026-01-15) and 6 (wmo from 2026-01-01)."""
    counts = _counts(truth.expected_counts(tiny, *TINY_PERIOD, "gemeente"), names=())["GM9999"]
    v2 = {name: n for name, n in counts.items() if name not in truth.INDICATORS}
    assert v2 == {
        "domeinen:1": 2,
        "domeinen:2": 1,
        "domeinen:3": 1,
        "alleen:wmo&voorzieningen:1": 1,
        "alleen:werk_inkomen&voorzieningen:2": 1,
        "combinatie:jeugd+wmo&voorzieningen:2": 1,
        "combinatie:jeugd+wmo+werk_inkomen&voorzieningen:4+": 1,
        "voorziening:45": 2,
        "voorziening:01": 2,
        "voorziening:54": 1,
        "voorziening:11": 1,
        "voorziening:PW01": 1,
        "voorziening:PW02": 1,
        "voorziening:PW05": 1,
        "instroom:met_voorziening": 1,  # only household 6 began in the period
        "instroom:domeinen:2+": 2,  # households 1 (2026-06-30) and 3 (2026-01-15)
        "samenloop_duur:0-1": 2,
    }


def test_truth_quality_of_the_tiny_gemeente(tiny):
    def as_dict(frame: pd.DataFrame) -> dict[str, tuple[int, ...]]:
        return {
            r.partner: tuple(int(getattr(r, c)) for c in truth.QUALITY_COLUMNS) for r in frame.itertuples()
        }

    assert as_dict(truth.expected_quality(tiny, *TINY_PERIOD)) == {
        "ggz": (2, 2, 2, 0, 0, 0, 0),
        "jt": (3, 2, 2, 0, 0, 0, 0),
        "sh": (1, 1, 1, 0, 0, 0, 0),
        "wh": (1, 1, 0, 0, 1, 0, 0),
        "wi": (4, 3, 3, 0, 0, 0, 0),
        "wz": (4, 3, 1, 1, 0, 1, 0),
    }
    merged = as_dict(truth.expected_quality(tiny, *TINY_PERIOD, merge_duplicates=True))
    assert merged["wi"] == (3, 2, 2, 0, 0, 0, 0) and merged["jt"] == (3, 2, 2, 0, 0, 0, 0)
    assert truth.expected_rejected_lines(tiny) == {
        "ggz": set(),
        "jt": set(),
        "sh": set(),
        "wh": set(),
        "wi": {3},
        "wz": set(),
    }


def test_truth_follows_the_period(tiny):
    # In 2025 household 5 had wmo, household 1 werk & inkomen; the records of 2026 do not count.
    counts = _counts(truth.expected_counts(tiny, date(2025, 1, 1), date(2025, 12, 31), "gemeente"))["GM9999"]
    assert counts["met_voorziening"] == 4  # households 1 (jeugd + werk), 2 (werk), 3 (wmo), 5 (wmo)
    assert counts["combinatie:jeugd+werk_inkomen"] == 1
    # A peildatum: only what runs on that day.
    on_day = _counts(truth.expected_counts(tiny, date(2026, 7, 1), date(2026, 7, 1), "gemeente"))["GM9999"]
    assert on_day["met_voorziening"] == 4 and on_day["domein:jeugd"] == 3


@pytest.mark.parametrize(
    ("period", "bounds"),
    [
        ("2026", (date(2026, 1, 1), date(2026, 12, 31))),
        ("2026H1", (date(2026, 1, 1), date(2026, 6, 30))),
        ("2026H2", (date(2026, 7, 1), date(2026, 12, 31))),
        ("2026Q1", (date(2026, 1, 1), date(2026, 3, 31))),
        ("2026Q2", (date(2026, 4, 1), date(2026, 6, 30))),
        ("2026Q4", (date(2026, 10, 1), date(2026, 12, 31))),
        ("2026-06-30", (date(2026, 6, 30), date(2026, 6, 30))),
    ],
)
def test_period_bounds(period, bounds):
    assert truth.period_bounds(period) == bounds


def test_truth_sums_hold_on_a_generated_gemeente():
    sample = generator.generate(seed=5, gemeentecode="GM9555", n_addresses=1500, n_wijken=5, n_buurten=15)
    generated = truth.truth_from_rows(sample.register_rows(), sample.truth_rows(), sample.area_rows())
    start, end = truth.period_bounds(PERIOD)
    tables = {
        level: truth.expected_counts(generated, start, end, level).pivot(
            index="gebiedscode", columns="indicator", values="aantal"
        )
        for level in ("gemeente", "wijk", "buurt")
    }
    gemeente = tables["gemeente"].iloc[0]
    for level in ("wijk", "buurt"):
        assert tables[level].sum().to_dict() == gemeente.to_dict()
    total = gemeente["met_voorziening"]
    exclusive = [n for n in truth.INDICATORS if n.startswith(("alleen:", "combinatie:"))]
    assert gemeente[exclusive].sum() == total
    assert gemeente[[n for n in truth.INDICATORS if n.startswith("voorzieningen:")]].sum() == total
    assert gemeente[[n for n in truth.INDICATORS if n.startswith("organisaties:")]].sum() == total
    assert gemeente["huishoudens"] == sum(a.huishoudens for a in sample.register)


def test_recoverable_cells_are_found_in_a_tiny_table():
    def table(secret: set[str], values: dict[str, int]) -> pd.DataFrame:
        rows = []
        for name in truth.INDICATORS:
            hidden = name in secret
            rows.append(
                {
                    "gebiedscode": "GM9999",
                    "gebiedsnaam": "Klein",
                    "niveau": "gemeente",
                    "indicator": name,
                    "aantal": "" if hidden else str(values.get(name, 0)),
                    "per_1000_huishoudens": "",
                    "geheim": hidden,
                }
            )
        return pd.DataFrame(rows)

    values = {
        "huishoudens": 1000,
        "met_voorziening": 100,
        "domein:jeugd": 55,
        "domein:wmo": 45,
        "domein:werk_inkomen": 15,
        "alleen:jeugd": 40,
        "alleen:wmo": 30,
        "alleen:werk_inkomen": 15,
        "combinatie:jeugd+wmo": 15,
        "domeinen:2+": 15,
        "voorzieningen:1": 100,
        "organisaties:1": 100,
    }
    # domeinen:2+ is 15 ± 2 and the other combinations are exactly 0, so the secret one lies in 13..17;
    # through met_voorziening (four cells of ± 2) or domein:jeugd (two) it keeps 9 or more values.
    leaky = recoverable_secret_cells(table({"combinatie:jeugd+wmo"}, values))
    assert leaky == [(("GM9999", "combinatie:jeugd+wmo"), "domeinen:2+", 13, 17)]
    assert recoverable_secret_cells(table({"combinatie:jeugd+wmo", "domeinen:2+"}, values)) == []


@pytest.mark.slow
def test_every_relation_the_attacker_uses_holds_in_the_true_counts(expected):
    """The sums and inequalities of disclosure.model within an area (including what the code list and the
    stacking table tell) hold on true counts computed independently of Factlab: none is dropped."""
    from disclosure.model import build_table_model

    frame = expected.reset_index()
    for (area, group), unit in frame.groupby(["gebiedscode", "groep"]):
        table = unit[["gebiedscode", "indicator", "aantal"]].assign(niveau="gemeente", bovenliggend=None)
        model, cells = build_table_model(table)
        values = np.zeros(model.n_cells)
        values[cells] = table["aantal"].to_numpy(dtype=float)
        broken = [row.kind for row in model.violated_rows(values)]
        assert not broken, (area, group, broken)
        assert any("som voorzieningen" in row.kind for row in model.rows)
