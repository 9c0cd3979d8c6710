"""Issue 21 (docs/contract.md §10): series over periods, norms, status and revisions."""

from __future__ import annotations

import csv
import html
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from test_report_data import GEMEENTE, WIJKEN, write_synthetic_out

from disclosure.protect import protect_table
from disclosure.revision import DIFFERENCE, PATTERN, _small_difference, audit_revision
from disclosure.rules import load_rules
from disclosure.synthetic import SyntheticGemeente, synthetic_counts
from pipelines.cli.main import main
from pipelines.inbox import series_outputs
from reports.build import build_report
from reports.formatting import format_count, format_rate
from reports.normen import NormsError, load_norms
from reports.reeks import SeriesError, check_series

ROOT = Path(__file__).resolve().parent.parent
AREAS = ROOT / "data" / "sample" / "gebieden.csv"
SERIES = (("2024H2", -6), ("2025H1", -4), ("2025H2", -2))


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    base = tmp_path_factory.mktemp("reeks")
    earlier = [write_synthetic_out(base / label, period=label, shift=shift) for label, shift in SERIES]
    return write_synthetic_out(base / "2026H1"), earlier


def _cells(folder: Path) -> dict[tuple[str, str], dict[str, str]]:
    with (folder / "samenloop.csv").open(encoding="utf-8") as f:
        return {(r["gebiedscode"], r["indicator"]): r for r in csv.DictReader(f)}


def _shown(row: dict[str, str]) -> tuple[str, str]:
    if row["geheim"] == "true":
        return ".", "."
    return format_count(int(row["aantal"])), format_rate(float(row["per_1000_huishoudens"]))


def _table(document: str, table_id: str) -> list[list[str]]:
    body = document.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)
        rows.append([html.unescape(re.sub(r"<[^>]+>", " ", c)).split() for c in cells])
    return rows


# -- --reeks --------------------------------------------------------------------------------------


def test_series_chapter_shows_each_period_from_its_own_published_figures(series) -> None:
    current, earlier = series
    document = build_report(current, reeks=list(reversed(earlier)), pdf=False)[0].read_text(encoding="utf-8")
    assert 'id="ontwikkeling"' in document
    rows = _table(document, "tabel-reeks-gemeente")
    header = [" ".join(c) for c in rows[0]]
    assert header[1:] == ["2024H2", "2025H1", "2025H2", "2026H1"]
    samenloop = next(r for r in rows[1:] if " ".join(r[0]).startswith("Samenloop"))
    for folder, shown in zip([*earlier, current], samenloop[1:], strict=True):
        count, rate = _shown(_cells(folder)[(GEMEENTE[0], "domeinen:2+")])
        assert shown == ([count] if count == "." else [count, rate])
    assert document.count('id="grafiek-reeks-wijken"') == 1
    for naam in WIJKEN.values():
        assert naam in html.unescape(document.split('id="tabel-reeks-wijken"', 1)[1])


def test_a_period_with_other_rules_is_named_and_left_out(series, tmp_path: Path) -> None:
    current, earlier = series
    other = write_synthetic_out(tmp_path / "2025H1", period="2025H1", shift=-4)
    manifest = json.loads((other / "manifest.json").read_text(encoding="utf-8"))
    manifest["beveiliging"]["regels"]["min_publiceerbaar"] = 15
    (other / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    document = build_report(current, reeks=[earlier[0], other], pdf=False)[0].read_text(encoding="utf-8")
    header = [" ".join(c) for c in _table(document, "tabel-reeks-gemeente")[0]]
    assert header[1:] == ["2024H2", "2026H1"]
    assert "2025H1 (map 2025H1): andere regels voor geheimhouding" in document


def test_a_period_from_before_the_cost_rules_stays_in_the_series(series, tmp_path: Path) -> None:
    """An older manifest lacks kosten_* in beveiliging.regels: read as the defaults, not as other rules;
    a period with other cost rules is left out."""
    from disclosure.rules import COST_RULE_KEYS, default_rules

    current = shutil.copytree(series[0], tmp_path / "2026H1")  # the fixture is shared: change copies
    older = shutil.copytree(series[1][0], tmp_path / "2024H2")
    rules = default_rules().as_dict()
    for folder, regels in ((current, rules), (older, {k: v for k, v in rules.items()
                                                      if k not in COST_RULE_KEYS})):
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        manifest["beveiliging"]["regels"] = regels
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    other = write_synthetic_out(tmp_path / "2025H1", period="2025H1", shift=-4)
    manifest = json.loads((other / "manifest.json").read_text(encoding="utf-8"))
    manifest["beveiliging"]["regels"] = {**rules, "kosten_bescherming_procent": 20}
    (other / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    document = build_report(current, reeks=[older, other], pdf=False)[0].read_text(encoding="utf-8")
    header = [" ".join(c) for c in _table(document, "tabel-reeks-gemeente")[0]]
    assert header[1:] == ["2024H2", "2026H1"]
    assert "2025H1 (map 2025H1): andere regels voor geheimhouding" in document


def test_bad_series_members_are_refused_naming_the_folder(series, tmp_path: Path) -> None:
    current, earlier = series
    not_output = tmp_path / "losse-map"
    not_output.mkdir()
    with pytest.raises(SeriesError, match="losse-map is geen Factlab-uitvoer"):
        check_series([earlier[0], not_output], "2026H1")
    with pytest.raises(SeriesError, match="2025H1 staat twee keer"):
        check_series([earlier[1], earlier[1]], "2026H1")
    with pytest.raises(SeriesError, match="de periode van deze run zelf"):
        check_series([current], "2026H1")
    quarter = write_synthetic_out(tmp_path / "kwartaal", period="2025H2")
    manifest = json.loads((quarter / "manifest.json").read_text(encoding="utf-8"))
    manifest["periode"]["label"] = "2025Q4"
    (quarter / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(SeriesError, match="kwartaal.*alleen halfjaren"):
        check_series([earlier[0], quarter], "2026H1")
    assert len(check_series(earlier, "2026H1")) == 3


def test_cli_refuses_a_bad_series_before_the_run_with_exit_2(series, tmp_path: Path) -> None:
    _, earlier = series
    out = tmp_path / "uit"
    args = ["run", "--deliveries", str(tmp_path), "--register", str(tmp_path / "r.parquet"), "--areas",
            str(AREAS), "--period", "2026H1", "--out", str(out), "--geen-pdf"]
    result = CliRunner().invoke(main, [*args, "--reeks", str(earlier[0]), str(earlier[0])])
    assert result.exit_code == 2, result.output
    assert "2024H2 staat twee keer" in result.output and "Traceback" not in result.output
    assert not out.exists()
    result = CliRunner().invoke(main, [*args, "--reeks", str(tmp_path)])
    assert result.exit_code == 2 and f"{tmp_path} is geen Factlab-uitvoer" in result.output


# -- --normen -------------------------------------------------------------------------------------


def test_norms_show_nulmeting_now_and_whether_met(series, tmp_path: Path) -> None:
    current, earlier = series
    wijk = next(iter(WIJKEN))
    now = _cells(current)
    rate = float(now[(GEMEENTE[0], "domeinen:2+")]["per_1000_huishoudens"])
    wijk_rate = float(now[(wijk, "met_voorziening")]["per_1000_huishoudens"])
    norms = tmp_path / "normen.toml"
    norms.write_text(
        f'["domeinen:2+"]\nmax_per_1000 = {rate - 0.1}\n\n["met_voorziening"]\nmin_per_1000 = 1.0\n'
        f'["met_voorziening".wijken]\n{wijk} = {wijk_rate + 0.1}\n',
        encoding="utf-8",
    )
    document = build_report(current, reeks=earlier, normen=norms, pdf=False)[0].read_text(encoding="utf-8")
    rows = _table(document, "tabel-normen")
    assert "Nulmeting 2024H2" in " ".join(" ".join(c) for c in rows[0])
    by_area = {(" ".join(r[0]), " ".join(r[1])): r for r in rows[1:]}
    samenloop = next(v for k, v in by_area.items() if k[0].startswith("Samenloop"))
    base = _cells(earlier[0])[(GEMEENTE[0], "domeinen:2+")]
    assert samenloop[2] == [_shown(base)[1]] and samenloop[3] == [format_rate(rate)]
    assert samenloop[5] == ["niet", "gehaald"]
    assert next(v for k, v in by_area.items() if k[1] == WIJKEN[wijk])[5] == ["niet", "gehaald"]
    gemeente_row = next(v for k, v in by_area.items() if k[1] == GEMEENTE[1] and "voorziening" in k[0])
    assert gemeente_row[5] == ["gehaald"]
    summary = document.split('class="samenvatting"', 1)[1].split("</ul>", 1)[0]
    assert "is niet gehaald" in summary and "is gehaald" in summary


def test_without_series_the_nulmeting_is_vorige_else_the_current_period(series, tmp_path: Path) -> None:
    current, earlier = series
    norms = tmp_path / "normen.toml"
    norms.write_text('["domeinen:2+"]\nmax_per_1000 = 500\n', encoding="utf-8")
    with_previous = build_report(current, vorige=earlier[2], normen=norms, pdf=False)[0].read_text("utf-8")
    assert "Nulmeting 2025H2" in with_previous
    alone = build_report(current, normen=norms, pdf=False)[0].read_text("utf-8")
    assert "Nulmeting 2026H1" in alone


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('["domeinen:7+"]\nmax_per_1000 = 1\n', r'sleutel \["domeinen:7\+"\]: onbekende indicator'),
        ('["domeinen:2+"]\nmax_per_1000 = 1001\n', r"sleutel domeinen:2\+\.max_per_1000: 1001 ligt niet"),
        ('["domeinen:2+"]\nmin_per_1000 = -1\n', r"sleutel domeinen:2\+\.min_per_1000: -1 ligt niet tussen"),
        ('["domeinen:2+"]\nmax_per_1000 = 1\n["domeinen:2+".wijken]\nWK099901 = 2000\n',
         r"sleutel domeinen:2\+\.wijken\.WK099901: 2000"),
        ('["domeinen:2+"]\nmax_per_1000 = 1\nmin_per_1000 = 0\n', "precies één"),
    ],
)
def test_bad_norms_name_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "normen.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(NormsError, match=message) as caught:
        load_norms(path)
    assert str(path) in str(caught.value)


def test_cli_refuses_bad_norms_with_exit_2(tmp_path: Path) -> None:
    norms = tmp_path / "normen.toml"
    norms.write_text('["onzin"]\nmax_per_1000 = 1\n', encoding="utf-8")
    result = CliRunner().invoke(main, [
        "run", "--deliveries", str(tmp_path), "--register", str(tmp_path / "r.parquet"),
        "--areas", str(AREAS), "--period", "2026H1", "--out", str(tmp_path / "uit"), "--normen", str(norms),
    ])
    assert result.exit_code == 2 and "onzin" in result.output and str(norms) in result.output
    assert not (tmp_path / "uit").exists()


# -- status ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["voorlopig", "definitief"])
def test_status_from_the_manifest_is_on_the_first_page(tmp_path: Path, status: str) -> None:
    out = write_synthetic_out(tmp_path / "uit")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    manifest["status"] = status
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    document = build_report(out, pdf=False)[0].read_text(encoding="utf-8")
    first_page = document.split("</header>", 1)[0]
    words = {"voorlopig": "voorlopige cijfers", "definitief": "definitieve cijfers"}[status]
    assert words in first_page.split('class="status"', 1)[1]
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["status"] == status


# -- --herziening ---------------------------------------------------------------------------------

RULES = load_rules()


def _protected(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    counts = synthetic_counts(seed, SyntheticGemeente(wijken=3, buurten_per_wijk=2))
    return protect_table(counts, RULES), counts


def _as_published(protected: pd.DataFrame) -> pd.DataFrame:
    return protected[["gebiedscode", "indicator", "aantal", "geheim"]].copy()


def test_a_revision_identical_to_the_earlier_publication_passes() -> None:
    protected, counts = _protected(3)
    result = audit_revision(protected, _as_published(protected), RULES, counts)
    assert result.passed and result.joint_checked


def test_a_cell_published_in_one_version_and_secret_in_the_other_is_named() -> None:
    protected, counts = _protected(3)
    earlier = _as_published(protected)
    shown = np.flatnonzero(~earlier["geheim"].to_numpy() & (earlier["indicator"] != "huishoudens").to_numpy())
    row = int(shown[len(shown) // 2])
    earlier.iloc[row, earlier.columns.get_loc("geheim")] = True
    earlier.iloc[row, earlier.columns.get_loc("aantal")] = pd.NA
    result = audit_revision(protected, earlier, RULES, counts)
    assert not result.passed
    named = {(f.gebiedscode, f.indicator, f.soort) for f in result.findings}
    assert (protected["gebiedscode"].iat[row], protected["indicator"].iat[row], PATTERN) in named


def test_a_provably_small_difference_is_named_and_a_large_one_is_not() -> None:
    assert _small_difference(RULES, 10, 15) and _small_difference(RULES, 15, 10)
    assert not _small_difference(RULES, 10, 10) and not _small_difference(RULES, 10, 20)
    protected, counts = _protected(3)
    earlier = _as_published(protected)
    shown = np.flatnonzero(~earlier["geheim"].to_numpy() & (earlier["aantal"].fillna(0) >= 20).to_numpy())
    small, large = int(shown[0]), int(shown[1])
    column = earlier.columns.get_loc("aantal")
    earlier.iloc[small, column] = int(earlier.iat[small, column]) - 5
    earlier.iloc[large, column] = int(earlier.iat[large, column]) - 10
    result = audit_revision(protected, earlier, RULES, counts)
    named = {(f.gebiedscode, f.indicator): f.soort for f in result.findings}
    assert named.get((protected["gebiedscode"].iat[small], protected["indicator"].iat[small])) == DIFFERENCE
    assert (protected["gebiedscode"].iat[large], protected["indicator"].iat[large]) not in named
    for finding in result.findings:  # area and indicator only, never a count
        assert not re.search(r"\d", finding.describe_nl().replace(finding.gebiedscode, "").replace(
            finding.indicator, ""))


def test_late_deliveries_are_checked_on_both_tables_together() -> None:
    """A second version from other true values: every named cell really differs between the versions."""
    first, _ = _protected(3)
    counts = synthetic_counts(3, SyntheticGemeente(wijken=3, buurten_per_wijk=2))
    second = protect_table(counts, RULES)
    earlier = _as_published(first)
    result = audit_revision(second, earlier, RULES, counts)
    assert result.passed  # same truth, same rules: the same table
    later, later_counts = _protected(4)  # other truth over the same areas stands in for late deliveries
    checked = audit_revision(later, earlier, RULES, later_counts)
    assert not checked.passed  # a whole other gemeente: many cells change pattern
    for finding in checked.findings:
        key = (later["gebiedscode"] == finding.gebiedscode) & (later["indicator"] == finding.indicator)
        a, b = first.loc[key].iloc[0], later.loc[key].iloc[0]
        assert (a["geheim"], a["aantal"]) != (b["geheim"], b["aantal"]) or finding.soort == "samen"


# -- the inbox's series ---------------------------------------------------------------------------


def test_inbox_finds_earlier_outputs_of_the_same_kind_oldest_first(tmp_path: Path) -> None:
    root = tmp_path / "uitvoer"
    for label in ("2024H2", "2025H1", "2025H2", "2026H1", "2026H2"):
        write_synthetic_out(root / label, period=label)
    (root / "2023H2").mkdir()  # named as a period, no output
    (root / "notities").mkdir()
    mislabelled = write_synthetic_out(root / "2024H1", period="2024H2")  # manifest names another period
    assert mislabelled.is_dir()
    quarter = root / "2025Q4"
    quarter.mkdir()
    assert series_outputs(root, "2026H1") == [root / "2024H2", root / "2025H1", root / "2025H2"]
    assert series_outputs(root, "2026H1", limit=2) == [root / "2025H1", root / "2025H2"]
    assert series_outputs(tmp_path / "leeg", "2026H1") == []


def test_the_run_stops_on_an_unsafe_revision_naming_cells_without_counts(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from disclosure.protect import DisclosureError
    from pipelines.revision import check_revision
    from pipelines.stapeling_steps import LocalReporter

    protected, counts = _protected(3)
    earlier_dir = tmp_path / "2026H1-eerder"
    earlier_dir.mkdir()
    published = protected.drop(columns=["bovenliggend", "reden"]).assign(gebiedsnaam="x")
    published.to_csv(earlier_dir / "samenloop.csv", index=False)
    settings = SimpleNamespace(herziening=earlier_dir, rules=RULES)
    check_revision(protected, counts, settings, LocalReporter())  # the same publication: fine

    row = int(np.flatnonzero(~protected["geheim"].to_numpy() & (protected["indicator"] != "huishoudens"))[0])
    published.loc[published.index[row], ["geheim", "aantal"]] = [True, pd.NA]
    published.to_csv(earlier_dir / "samenloop.csv", index=False)
    with pytest.raises(DisclosureError) as caught:
        check_revision(protected, counts, settings, LocalReporter())
    message = str(caught.value)
    assert f"{protected['gebiedscode'].iat[row]} {protected['indicator'].iat[row]}" in message
    assert "niets gepubliceerd" in message
    assert f" {int(protected['aantal'].iat[row])} " not in message.split("Cellen:", 1)[1]


def test_a_period_with_other_areas_is_left_out_and_every_indicator_is_in_the_table(series, tmp_path):
    from schemas.indicators import INDICATORS

    current, earlier = series
    other = write_synthetic_out(tmp_path / "2025H2", period="2025H2", shift=-2)
    rows = (other / "samenloop.csv").read_text(encoding="utf-8").splitlines()
    wijk = next(iter(WIJKEN))
    (other / "samenloop.csv").write_text("\n".join(r for r in rows if not r.startswith(wijk)) + "\n", "utf-8")
    document = build_report(current, reeks=[earlier[0], other], pdf=False)[0].read_text(encoding="utf-8")
    assert "2025H2 (map 2025H2): andere gebieden" in document
    table = _table(document, "tabel-reeks-gemeente")
    assert len(table) == 1 + len(INDICATORS)


def test_at_most_twelve_periods_the_oldest_are_named(tmp_path: Path) -> None:
    labels = [f"{year}H{half}" for year in range(2019, 2026) for half in (1, 2)]  # 14 half-years
    earlier = [write_synthetic_out(tmp_path / label, period=label) for label in labels]
    current = write_synthetic_out(tmp_path / "2026H1")
    document = build_report(current, reeks=earlier, pdf=False)[0].read_text(encoding="utf-8")
    header = [" ".join(c) for c in _table(document, "tabel-reeks-gemeente")[0]][1:]
    assert header == [*labels[-11:], "2026H1"]
    for dropped in labels[:3]:
        assert f"{dropped}: meer dan 12 perioden" in document


def _late_deliveries(k: int):
    """True counts before and after k late households with jeugd + wmo in one buurt."""
    from disclosure.synthetic import counts_from_households, synthetic_households

    register, users = synthetic_households(np.random.default_rng(5), SyntheticGemeente(wijken=3,
                                                                                       buurten_per_wijk=2))
    extra = pd.DataFrame([{"buurtcode": register["buurtcode"].iat[1], "domeinen": frozenset({"jeugd", "wmo"}),
                           "voorzieningen": 2, "organisaties": 2}] * k)
    before = counts_from_households(register, users, ("gemeente", "wijk"))
    more = pd.concat([users, extra], ignore_index=True)
    after = counts_from_households(register, more, ("gemeente", "wijk"))
    return before, after


@pytest.mark.parametrize("k", [1, 3])
def test_a_few_late_households_are_caught(k: int) -> None:
    before, after = _late_deliveries(k)
    result = audit_revision(protect_table(after, RULES), _as_published(protect_table(before, RULES)), RULES,
                            after)
    assert not result.passed
    changed = set(zip(after.loc[after["aantal"] != before["aantal"], "gebiedscode"],
                      after.loc[after["aantal"] != before["aantal"], "indicator"], strict=True))
    assert {(f.gebiedscode, f.indicator) for f in result.findings} & changed


def test_the_difference_lp_pins_a_secret_cell_from_the_sums() -> None:
    """Both versions known exactly except one cell in the later one: the sums pin its change (3)."""
    from disclosure.model import build_table_model
    from disclosure.protect import true_count_vector
    from disclosure.revision import _difference_failures

    before, after = _late_deliveries(3)
    model, cells = build_table_model(before)
    x, y = true_count_vector(before, model, cells), true_count_vector(after, model, cells)
    changed = np.flatnonzero(y != x)
    unchanged = np.flatnonzero(y == x)[:5]
    target = int(changed[0])
    low_y, high_y = y.astype(float), y.astype(float)
    low_y[target], high_y[target] = 0.0, np.inf  # secret in the later version
    bounds = ((x.astype(float), x.astype(float)), (low_y, high_y))
    use_row = np.ones(len(model.rows), dtype=bool)
    failing = _difference_failures(model, bounds, use_row, np.array([target, *unchanged]), RULES)
    assert failing == [target]
