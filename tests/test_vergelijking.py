"""`factlab vergelijk` (docs/contract.md §13): three generated gemeenten, run for real, compared from their
published files only; outputs with other disclosure rules or another kind of period are refused."""

from __future__ import annotations

import csv
import html
import json
import re
import shutil
import statistics
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.synthetic import Scale, generate
from linkage.keys import new_key
from pipelines.cli.main import main
from pipelines.fanout_flow import comparison_folder
from pipelines.intake.delivery import pseudonymise_delivery
from pipelines.intake.register import pseudonymise_register
from pipelines.stapeling_steps import run_locally
from reports.pdf import CHROMIUM
from reports.referenties import load_size_classes
from reports.vergelijking import (
    COLUMNS,
    ComparisonError,
    check_comparable,
    compare_outputs,
    load_output,
    period_kind,
)
from schemas.codelist import load_code_list
from schemas.indicators import HOUSEHOLDS, INDICATORS, MULTI_DOMAIN

SIZES = {1: 1_500, 2: 3_000, 3: 4_000}
"""Addresses per gemeente: the first in a smaller CBS size class than the other two."""


def _run_gemeente(folder: Path, number: int) -> Path:
    data = generate(Scale("mini", SIZES[number], SIZES[number] // 5, 2, 1, 2, 2), folder / "data",
                    seed=number, first_gemeente=number)
    key, codes = new_key(), load_code_list()
    pseudonymise_register(data.register, key, folder / "register.parquet")
    (folder / "leveringen").mkdir()
    for extract in data.extracts:
        target = folder / "leveringen" / f"{extract.stem}.parquet"
        pseudonymise_delivery(extract, key, extract.stem, target, codes)
    out = folder / "uitvoer"
    run_locally(deliveries=str(folder / "leveringen"), register=str(folder / "register.parquet"),
                areas=str(data.areas), period=data.period, out=str(out), niveaus="gemeente,wijk",
                regels=None, vorige=None, geojson=None, pdf=False)
    return out


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    base = tmp_path_factory.mktemp("gemeenten")
    return [_run_gemeente(base / f"gm{n}", n) for n in SIZES]


def _published(out: Path) -> dict[str, dict[str, str]]:
    with (out / "samenloop.csv").open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["niveau"] == "gemeente" and not r.get("groep")]
    return {r["indicator"]: r for r in rows}


def test_comparison_csv_is_the_published_gemeente_rows(outputs: list[Path], tmp_path: Path) -> None:
    written = compare_outputs(outputs, tmp_path / "vgl", pdf=False)
    assert [p.name for p in written] == ["vergelijking.csv", "vergelijking.html"]
    with (tmp_path / "vgl" / "vergelijking.csv").open(encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        rows = list(reader)
    assert len(rows) == len(outputs) * len(INDICATORS)
    for out in outputs:
        published = _published(out)
        code = next(iter(published.values()))["gebiedscode"]
        mine = {r["indicator"]: r for r in rows if r["gebiedscode"] == code}
        assert set(mine) == set(INDICATORS)
        for name, row in mine.items():
            source = published[name]
            assert (row["aantal"], row["geheim"]) == (source["aantal"], source["geheim"])
            if source["per_1000_huishoudens"]:
                expected = float(source["per_1000_huishoudens"])
                assert float(row["per_1000_huishoudens"]) == pytest.approx(expected)
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        assert {r["periode"] for r in mine.values()} == {manifest["periode"]["label"]}
    assert not [p.name for p in (tmp_path / "vgl").iterdir() if p.name.startswith(".")]


def test_html_ranks_gemeenten_with_their_size_class_and_group_median(
    outputs: list[Path], tmp_path: Path
) -> None:
    compare_outputs(outputs, tmp_path, pdf=False)
    document = (tmp_path / "vergelijking.html").read_text(encoding="utf-8")
    classes = load_size_classes()
    published = [_published(out) for out in outputs]
    klasse = {p[HOUSEHOLDS]["gebiedscode"]: classes.of(int(p[HOUSEHOLDS]["aantal"])) for p in published}
    assert len({k.code for k in klasse.values()}) == 2, "the fixture should give two size classes"
    start = document.index('id="indicator-domeinen:2+"')
    body = document[document.index("<tbody>", start) : document.index("</tbody>", start)]
    cell_pattern = r"<t[hd][^>]*>(.*?)</t[hd]>"
    rows = [
        [html.unescape(re.sub(r"<[^>]+>", "", v)).strip() for v in re.findall(cell_pattern, r, re.S)]
        for r in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]
    rates = {p[MULTI_DOMAIN]["gebiedscode"]: p[MULTI_DOMAIN]["per_1000_huishoudens"] for p in published}
    order = sorted((c for c in rates if rates[c]), key=lambda c: -float(rates[c]))
    names = {p[HOUSEHOLDS]["gebiedscode"]: p[HOUSEHOLDS]["gebiedsnaam"] for p in published}
    assert [r[1] for r in rows[: len(order)]] == [names[c] for c in order]
    for row in rows:
        code = next(c for c, n in names.items() if n == row[1])
        assert row[2] == klasse[code].naam
        group = [float(rates[c]) for c in rates if rates[c] and klasse[c].code == klasse[code].code]
        median = statistics.median(group) if group else None
        assert row[5] == ("." if median is None else f"{median:.1f}".replace(".", ","))
    assert "gemiddelde huishoudensgrootte" in document and "82949NED" in document


def _variant(out: Path, target: Path, change) -> Path:
    shutil.copytree(out, target)
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    change(manifest)
    (target / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return target


def test_an_output_from_before_the_cost_rules_is_comparable(outputs: list[Path], tmp_path: Path) -> None:
    """manifest.json written before §12 lacks the kosten_* rules: they count as the defaults."""
    from disclosure.rules import COST_RULE_KEYS, default_rules

    rules = default_rules().as_dict()
    now = _variant(outputs[0], tmp_path / "nu", lambda m: m["beveiliging"].update(regels=dict(rules)))
    older = _variant(outputs[1], tmp_path / "ouder", lambda m: m["beveiliging"].update(
        regels={k: v for k, v in rules.items() if k not in COST_RULE_KEYS}))
    check_comparable([load_output(now), load_output(older)])
    other = _variant(outputs[2], tmp_path / "anders", lambda m: m["beveiliging"].update(
        regels={**rules, "kosten_p_procent": 25}))
    with pytest.raises(ComparisonError, match="geheimhoudingsregels"):
        check_comparable([load_output(now), load_output(other)])


def test_other_rules_or_period_kinds_are_refused_with_exit_2(outputs: list[Path], tmp_path: Path) -> None:
    stricter = _variant(outputs[1], tmp_path / "strenger",
                        lambda m: m["beveiliging"]["regels"].update(min_publiceerbaar=15))
    half_year = _variant(outputs[2], tmp_path / "halfjaar", lambda m: m["periode"].update(label="2025H1"))
    runner = CliRunner()
    for odd, words in ((stricter, "geheimhoudingsregels"), (half_year, "soort")):
        result = runner.invoke(main, ["vergelijk", str(outputs[0]), str(odd), "--out", str(tmp_path / "x"),
                                      "--zonder-pdf"])
        assert result.exit_code == 2, result.output
        assert words in result.output and str(odd) in result.output and "Traceback" not in result.output
        assert not (tmp_path / "x" / "vergelijking.csv").exists()
    with pytest.raises(ComparisonError, match="kwartaal"):
        compare_outputs([outputs[0], _variant(outputs[0], tmp_path / "q", lambda m: m["periode"].update(
            label="2025Q2"))], tmp_path / "y", pdf=False)
    assert [period_kind(p) for p in ("2025", "2025H2", "2025Q4", "2025-06-30")] == [
        "jaar", "halfjaar", "kwartaal", "peildatum"]


def test_cli_writes_csv_html_and_pdf(outputs: list[Path], tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium ontbreekt (make system)")
    result = CliRunner().invoke(main, ["vergelijk", *map(str, outputs), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "vergelijking.pdf").read_bytes()[:5] == b"%PDF-"
    assert (tmp_path / "vergelijking.csv").is_file() and (tmp_path / "vergelijking.html").is_file()


def test_text_cells_are_neutralised(outputs: list[Path], tmp_path: Path) -> None:
    evil = _variant(outputs[0], tmp_path / "formule", lambda m: m.update(gemeente={"code": "GM0001",
                                                                                   "naam": "=HYPERLINK(1)"}))
    compare_outputs([evil, outputs[1]], tmp_path / "vgl", pdf=False)
    text = (tmp_path / "vgl" / "vergelijking.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK(1)" in text and ",=HYPERLINK" not in text


def test_fanout_comparison_goes_beside_the_outputs(tmp_path: Path) -> None:
    results = [{"uitvoer": str(tmp_path / "a" / "uit")}, {"uitvoer": str(tmp_path / "b" / "uit")}]
    assert comparison_folder(results, None) == tmp_path.resolve() / "vergelijking"
    assert comparison_folder(results, str(tmp_path / "elders")) == tmp_path / "elders"
