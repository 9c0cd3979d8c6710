"""notebooks/stapeling_analyse.ipynb runs on a fresh output and shows no microdata.

The output folder is made from a small generated municipality with the plain functions behind the flow
(link, protect, write), so the notebook is tested without a Prefect server.
"""

from __future__ import annotations

import csv
import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

from disclosure.protect import protect_table
from disclosure.rules import load_rules
from linkage.linking import describe_delivery, link_deliveries
from pipelines.inbox import fill_demo_inbox
from pipelines.outputs import write_households, write_samenloop
from schemas.areas import read_area_names
from schemas.indicators import EXCLUSIVE_DOMAIN_SETS, INDICATORS, SERVICE_COUNT_INDICATORS
from schemas.periods import parse_period

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "stapeling_analyse.ipynb"
PERIOD = "2026H1"
LEVELS = ("gemeente", "wijk")
HEX64 = re.compile(r"[0-9a-f]{64}")


@pytest.fixture(scope="module")
def output(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("notebook")
    generator = ROOT / "data" / "sample" / "generate.py"
    subprocess.run([sys.executable, str(generator), "--out", str(work / "sample"), "--seed", "2718",
                    "--adressen", "8000", "--wijken", "5", "--buurten", "15"],
                   check=True, capture_output=True, timeout=120)
    folder = fill_demo_inbox(work / "sample", work / "inbox", PERIOD).folder
    deliveries = [describe_delivery(p) for p in sorted((folder / "leveringen").glob("*.parquet"))]
    linkage = link_deliveries(deliveries, folder / "register.parquet", parse_period(PERIOD), LEVELS, seed=1)
    out = work / "uit"
    out.mkdir()
    write_samenloop(protect_table(linkage.counts, load_rules()), read_area_names(folder / "gebieden.csv"),
                    out / "samenloop.csv")
    write_households(linkage.households, out / "huishoudens.parquet")
    return out


def _execute(output: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACTLAB_UITVOER", str(output))
        NotebookClient(notebook, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    return notebook


@pytest.fixture(scope="module")
def executed(output: Path) -> nbformat.NotebookNode:
    return _execute(output)


def _tables(notebook: nbformat.NotebookNode) -> list[list[list[str]]]:
    """Every HTML table the notebook displayed, as rows of cell texts (header cells left out)."""
    tables = []
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            markup = out.get("data", {}).get("text/html", "")
            for table in re.findall(r"<table.*?</table>", markup, flags=re.S):
                body = re.search(r"<tbody>(.*?)</tbody>", table, flags=re.S)
                rows = re.findall(r"<tr>(.*?)</tr>", body.group(1) if body else "", flags=re.S)
                cells = [re.findall(r"<td>(.*?)</td>", row, flags=re.S) for row in rows]
                tables.append([[html.unescape(c).strip() for c in row] for row in cells])
    return tables


def test_notebook_is_saved_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code
    assert all(not c.outputs and c.execution_count is None for c in code)


def test_notebook_runs_and_shows_only_protected_figures(executed, output: Path):
    rules = load_rules()
    samenloop = pd.read_csv(output / "samenloop.csv")
    households = len(pd.read_parquet(output / "huishoudens.parquet"))
    max_rows = samenloop["gebiedscode"].nunique() * len(INDICATORS)
    tables = _tables(executed)
    assert len(tables) >= 6, "every analysis cell shows its table"
    shown = 0
    for table in tables:
        assert 0 < len(table) <= max_rows
        assert len(table) != households
        for row in table:
            for text in row:
                if re.fullmatch(r"[0-9]+", text):
                    value = int(text)
                    shown += 1
                    protected = value >= rules.min_publiceerbaar and value % rules.afronden_op == 0
                    assert value == 0 or protected, f"unprotected count {value} in the notebook's output"
    assert shown > 20, "the notebook shows figures, not only secret cells"
    everything = nbformat.writes(executed)
    assert not HEX64.search(everything)


def _stacking_cell(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return next(c for c in notebook.cells if c.cell_type == "code" and "STAPELING" in c.source)


def _printed(cell: nbformat.NotebookNode) -> str:
    return "".join(out.get("text", "") for out in cell.outputs if out.get("output_type") == "stream")


def test_without_stacking_cells_the_notebook_counts_the_table_itself(output: Path, tmp_path: Path):
    """An output of contract v1 has no stacking cells: the notebook then protects its own cross table."""
    copy = tmp_path / "v1"
    shutil.copytree(output, copy)
    samenloop = copy / "samenloop.csv"
    lines = samenloop.read_text(encoding="utf-8").splitlines(keepends=True)
    samenloop.write_text("".join(line for line in lines if "&voorzieningen:" not in line), encoding="utf-8")
    assert "eigen kruistabel uit huishoudens.parquet" in _printed(_stacking_cell(_execute(copy)))


def test_notebook_takes_the_stacking_table_from_samenloop_when_present(output: Path, tmp_path: Path):
    from test_report_compare import add_stacking_cells

    copy = tmp_path / "uit"
    shutil.copytree(output, copy)
    if "&voorzieningen:" not in (copy / "samenloop.csv").read_text(encoding="utf-8"):
        add_stacking_cells(copy)  # an output made before the run published them (contract v1)
    with (copy / "samenloop.csv").open(encoding="utf-8") as f:
        cells = {r["indicator"]: r for r in csv.DictReader(f) if r["niveau"] == "gemeente" and not r["groep"]}
    notebook = _execute(copy)
    stacking = _stacking_cell(notebook)
    assert "gepubliceerde stapelingstabel in samenloop.csv" in _printed(stacking)
    [table] = _tables(nbformat.v4.new_notebook(cells=[stacking]))
    expected = [
        [
            "·" if (c := cells.get(f"{combination}&{k}")) is None or c["geheim"] == "true" else c["aantal"]
            for k in SERVICE_COUNT_INDICATORS
        ]
        for combination in EXCLUSIVE_DOMAIN_SETS
    ]
    assert table == expected
    assert any(v not in ("·", "0") for row in table for v in row)
