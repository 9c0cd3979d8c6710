"""`factlab run` checks every input before Prefect or DuckDB start: a mistake is exactly one `fout:` line.

The inputs are made with the real commands (register, pseudonymise) from small CSV files; each case
breaks one of them and runs the command line in a fresh interpreter, so the modules it imported can be
checked too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from linkage.keys import new_key, write_key
from pipelines.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
REGISTER = ("postcode;huisnummer;huisletter;huisnummertoevoeging;buurtcode;huishoudens\n"
            "1234AB;1;;;BU00010001;1\n1234AB;2;;;BU00010001;2\n1234AB;3;;;BU00010002;1\n")
DELIVERY = "postcode;huisnummer;voorziening;begindatum\n1234AB;1;01;2026-01-05\n1234AB;2;40;2026-02-01\n"
AREAS = "code;naam\nGM0001;Proefstad\nWK000100;Centrum\nBU00010001;Kern\nBU00010002;Rand\n"
HEAVY = ("prefect", "duckdb", "great_expectations")


def _cli(*args) -> None:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("preflight")
    for name, key in (("sleutel.json", new_key()), ("andere.json", new_key())):
        write_key(key, base / name)
    (base / "adressen.csv").write_text(REGISTER, encoding="utf-8")
    (base / "levering.csv").write_text(DELIVERY, encoding="utf-8")
    (base / "gebieden.csv").write_text(AREAS, encoding="utf-8")
    (base / "leveringen").mkdir()
    _cli("register", base / "adressen.csv", "--key", base / "sleutel.json",
         "--out", base / "register.parquet")
    _cli("pseudonymise", base / "levering.csv", "--key", base / "sleutel.json", "--partner", "wijkteam",
         "--out", base / "leveringen" / "wijkteam.parquet")
    _cli("pseudonymise", base / "levering.csv", "--key", base / "andere.json", "--partner", "schuldhulp",
         "--out", base / "anders.parquet")
    return base


def _run(work: Path, *extra: str, pdf: bool = False,
         env: dict | None = None) -> tuple[subprocess.CompletedProcess, list[str]]:
    """`factlab run` in a fresh interpreter; returns the process and the heavy modules it imported."""
    args = {"--deliveries": "leveringen", "--register": "register.parquet", "--areas": "gebieden.csv",
            "--period": "2026H1", "--out": "uit"}
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        args[flag] = value
    argv = ["run", *(x for item in args.items() for x in item), *([] if pdf else ["--geen-pdf"])]
    code = (
        "import json, sys\nfrom pipelines.cli.main import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit as exc:\n    code = exc.code\n"
        f"heavy = sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})\n"
        "print(json.dumps(heavy), file=sys.stdout)\nsys.exit(code)\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "PREFECT_HOME": str(work / ".prefect"),
                   **(env or {})}
    process = subprocess.run([sys.executable, "-c", code], cwd=work, capture_output=True, text=True,
                             env=environment, timeout=120)
    printed = process.stdout.strip().splitlines()
    return process, json.loads(printed[-1]) if printed else None


@pytest.fixture
def work(inputs: Path, tmp_path: Path) -> Path:
    for entry in inputs.iterdir():
        if entry.is_dir():
            shutil.copytree(entry, tmp_path / entry.name)
        else:
            shutil.copy2(entry, tmp_path / entry.name)
    return tmp_path


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _one_fout_line(process: subprocess.CompletedProcess, heavy: list[str], *named: str) -> str:
    assert process.returncode == 2, process.stderr
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fout: "), process.stderr
    assert heavy == [], f"{heavy} imported before the inputs were checked"
    for name in named:
        assert name in lines[0], (name, lines[0])
    return lines[0]


def _empty_deliveries(work: Path) -> None:
    shutil.rmtree(work / "leveringen")
    (work / "leveringen").mkdir()


def _corrupt_parquet(work: Path) -> None:
    (work / "leveringen" / "kapot.parquet").write_bytes(b"PAR1 dit is geen parquet")


def _csv_as_register(work: Path) -> None:
    shutil.copyfile(work / "adressen.csv", work / "register.parquet")


def _wrong_key(work: Path) -> None:
    shutil.copyfile(work / "anders.parquet", work / "leveringen" / "schuldhulp.parquet")


def _unreadable_areas(work: Path) -> None:
    (work / "gebieden.csv").write_text("", encoding="utf-8")


@pytest.mark.parametrize(
    ("breaks", "named"),
    [
        (_empty_deliveries, ("geen gepseudonimiseerde leveringen", "leveringen")),
        (_corrupt_parquet, ("kapot.parquet", "Parquet")),
        (_csv_as_register, ("register.parquet",)),
        (_wrong_key, ("schuldhulp", "sleutel")),
        (_unreadable_areas, ("gebieden.csv",)),
    ],
    ids=["lege-map", "kapotte-parquet", "csv-als-register", "verkeerde-sleutel", "lege-gebieden"],
)
def test_a_broken_input_is_one_fout_line_before_prefect_starts(work: Path, breaks, named):
    breaks(work)
    before = _snapshot(work)
    _one_fout_line(*_run(work), *named)
    assert _snapshot(work) == before
    assert not (work / "uit").exists() and not (work / ".prefect").exists()


def test_an_impossible_period_is_one_fout_line(work: Path):
    _one_fout_line(*_run(work, "--period", "2026H3"), "2026H3")


def test_a_missing_chromium_is_named_unless_geen_pdf(work: Path):
    line = _one_fout_line(*_run(work, pdf=True, env={"FACTLAB_CHROMIUM": str(work / "geen-chromium")}))
    assert "Chromium" in line and "--geen-pdf" in line


def test_a_broken_map_is_one_fout_line(work: Path):
    (work / "wijken.geojson").write_text("{ geen json", encoding="utf-8")
    _one_fout_line(*_run(work, "--kaart", "wijken.geojson"), "wijken.geojson")


def test_an_output_folder_with_foreign_files_is_refused_naming_them(work: Path):
    out = work / "uit"
    (out / "bijlagen").mkdir(parents=True)
    (out / "notities.txt").write_text("mijn aantekeningen", encoding="utf-8")
    (out / "manifest.json").write_text("{}", encoding="utf-8")
    before = _snapshot(work)
    line = _one_fout_line(*_run(work), "notities.txt", "bijlagen/")
    assert "manifest.json" not in line.split("(")[1]
    assert _snapshot(work) == before and (out / "bijlagen").is_dir()


@pytest.mark.slow
def test_a_parquet_damaged_past_its_footer_is_one_fout_line_without_traceback(work: Path):
    """The footer reads, so only DuckDB finds the damage, inside the flow: still a Dutch line, exit 2."""
    damaged = work / "leveringen" / "wijkteam.parquet"
    data = bytearray(damaged.read_bytes())
    footer = int.from_bytes(data[-8:-4], "little") + 8
    data[100:len(data) - footer] = b"A" * (len(data) - footer - 100)
    damaged.write_bytes(bytes(data))
    process, _ = _run(work)
    assert process.returncode == 2, process.stderr
    assert "Traceback" not in process.stderr
    fouts = [line for line in process.stderr.splitlines() if line.startswith("fout: ")]
    assert fouts == ["fout: wijkteam.parquet: het Parquet-bestand is beschadigd (de gegevens zijn niet te "
                     "lezen); vraag een nieuw bestand aan of zet het opnieuw over"]
    assert not (work / "uit").exists()


def _areas_with_wijkteams(work: Path) -> None:
    """The areas file with an own division `wijkteam` (docs/contract.md §9)."""
    (work / "gebieden.csv").write_text(
        "code;naam;gebied_wijkteam\nGM0001;Proefstad;\nWK000100;Centrum;\nBU00010001;Kern;WT01\n"
        "BU00010002;Rand;WT02\n", encoding="utf-8")


def _wijkteam_map(path: Path, code_property: str = "gebied_wijkteam") -> Path:
    features = [{"type": "Feature", "properties": {code_property: code},
                 "geometry": {"type": "Polygon", "coordinates": [[[x, 52.0], [x, 52.02], [x + 0.02, 52.02],
                                                                  [x + 0.02, 52.0], [x, 52.0]]]}}
                for code, x in (("WT01", 5.0), ("WT02", 5.02))]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ("wijkteam", ("--kaart-indeling", "NAAM=BESTAND")),
        ("=wijkteams.geojson", ("--kaart-indeling", "NAAM=BESTAND")),
        ("wijkteam=", ("--kaart-indeling", "NAAM=BESTAND")),
        ("stadsdeel=wijkteams.geojson", ("stadsdeel", "gebied_stadsdeel", "gebieden.csv", "wijkteam")),
    ],
    ids=["zonder-is", "zonder-naam", "zonder-bestand", "onbekende-indeling"],
)
def test_a_wrong_kaart_indeling_is_one_fout_line_and_nothing_is_written(work: Path, given, named):
    _areas_with_wijkteams(work)
    _wijkteam_map(work / "wijkteams.geojson")
    before = _snapshot(work)
    _one_fout_line(*_run(work, "--kaart-indeling", given), *named)
    assert _snapshot(work) == before
    assert not (work / "uit").exists() and not (work / ".prefect").exists()


def test_a_division_map_without_its_codes_is_one_fout_line(work: Path):
    _areas_with_wijkteams(work)
    _wijkteam_map(work / "wijkteams.geojson", code_property="naam")
    _one_fout_line(*_run(work, "--kaart-indeling", "wijkteam=wijkteams.geojson"), "wijkteams.geojson",
                   "gebied_wijkteam")


def test_a_missing_division_map_is_named(work: Path):
    _areas_with_wijkteams(work)
    _one_fout_line(*_run(work, "--kaart-indeling", "wijkteam=ontbreekt.geojson"), "ontbreekt.geojson",
                   "bestaat niet")


def test_the_output_may_not_be_a_division_map(work: Path):
    _areas_with_wijkteams(work)
    (work / "uit").mkdir()
    _wijkteam_map(work / "uit" / "wijkteams.geojson")
    before = _snapshot(work)
    _one_fout_line(*_run(work, "--kaart-indeling", "wijkteam=uit", "--out", "uit"),
                   "--kaart-indeling wijkteam", "--out")
    assert _snapshot(work) == before


def test_a_run_with_kaart_indeling_draws_the_division_map_and_records_it(work: Path):
    import hashlib
    import re

    _areas_with_wijkteams(work)
    division_map = _wijkteam_map(work / "wijkteams.geojson")
    process, _ = _run(work, "--out", "zonder")
    assert process.returncode == 0, process.stderr
    assert 'id="grafiek-kaart-indeling-wijkteam"' not in (work / "zonder" / "rapport.html").read_text("utf-8")
    process, _ = _run(work, "--kaart-indeling", "wijkteam=wijkteams.geojson")
    assert process.returncode == 0, process.stderr
    document = (work / "uit" / "rapport.html").read_text(encoding="utf-8")
    svg = re.search(r'<svg class="kaart" id="grafiek-kaart-indeling-wijkteam".*?</svg>', document, re.S)
    assert svg is not None
    assert sorted(re.findall(r"data-gebiedscode=\"(WT\d+)\"", svg[0])) == ["WT01", "WT02"]
    manifest = json.loads((work / "uit" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["invoer"]["kaart_indeling"] == {"wijkteam": {
        "bestand": "wijkteams.geojson", "sha256": hashlib.sha256(division_map.read_bytes()).hexdigest()}}
    assert manifest["parameters"]["kaart_indeling"] == ["wijkteam"]


def test_a_division_given_twice_is_refused_before_anything_runs(work: Path):
    _areas_with_wijkteams(work)
    _wijkteam_map(work / "wijkteams.geojson")
    before = _snapshot(work)
    result = CliRunner().invoke(main, [
        "run", "--deliveries", str(work / "leveringen"), "--register", str(work / "register.parquet"),
        "--areas", str(work / "gebieden.csv"), "--period", "2026H1", "--out", str(work / "uit"), "--geen-pdf",
        "--kaart-indeling", f"wijkteam={work / 'wijkteams.geojson'}",
        "--kaart-indeling", f" wijkteam = {work / 'wijkteams.geojson'}"])
    assert result.exit_code == 2, result.output
    assert "fout: --kaart-indeling: de indeling 'wijkteam' staat er twee keer" in result.output
    assert _snapshot(work) == before and not (work / "uit").exists()


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Debian chromium ontbreekt (make system)")
def test_chromium_starts_once_the_inputs_are_checked_and_not_for_a_mistake(work: Path, monkeypatch) -> None:
    """`factlab run` starts Chromium as soon as its inputs pass the checks, so that its start-up overlaps the
    imports and the linking (docs/benchmarks.md, "Vijfde ronde"); a run stopped by a check starts none."""
    import pipelines.stapeling_steps
    import reports.pdf

    started: list[str] = []
    ahead_class = reports.pdf._BrowserAhead

    def counted():
        started.append("chromium")
        return ahead_class()

    monkeypatch.setattr(reports.pdf, "_BrowserAhead", counted)
    link_records = pipelines.stapeling_steps.link_records

    def linking(*args, **kwargs):
        started.append("koppelen" if reports.pdf._ahead is not None else "koppelen zonder Chromium")
        return link_records(*args, **kwargs)

    monkeypatch.setattr(pipelines.stapeling_steps, "link_records", linking)
    monkeypatch.chdir(work)
    argv = ["run", "--deliveries", "leveringen", "--register", "register.parquet", "--areas", "gebieden.csv",
            "--period", "2026H1", "--out"]
    result = CliRunner().invoke(main, [*argv, "uit"])
    assert result.exit_code == 0, result.output
    assert started == ["chromium", "koppelen"]
    assert (work / "uit" / "rapport.pdf").is_file() and reports.pdf._ahead is None
    started.clear()
    _corrupt_parquet(work)
    result = CliRunner().invoke(main, [*argv, "uit2"])
    assert result.exit_code == 2 and started == []
