"""The Prefect flows under prefect_test_harness: task names, artifacts, privacy of logs and parameters,
byte-identical reruns, retries on file errors only, and a failed run that leaves the previous output.

One small generated municipality (data/sample/generate.py) is pseudonymised into an inbox once per module.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterParentFlowRunId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.logging.handlers import APILogWorker
from prefect.testing.utilities import prefect_test_harness

from linkage.linking import LinkageError
from pipelines import stapeling_steps
from pipelines.inbox import InboxIncomplete, fill_demo_inbox
from pipelines.inbox_flow import INBOX_ARTIFACT, inbox_stapelingsmonitor
from pipelines.stapeling_flow import stapelingsmonitor
from pipelines.stapeling_steps import KEY_FIGURES_ARTIFACT, QUALITY_ARTIFACT

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PERIOD = "2026H1"
TASK_NAMES = {"valideren", "koppelen", "aggregeren", "beveiligen", "rapporteren"}
HEX64 = re.compile(r"[0-9a-f]{64}")
VOLATILE_MANIFEST_KEYS = ("gemaakt", "duur_seconden")


@pytest.fixture(scope="module")
def harness():
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> Path:
    """inbox/2026H1/ with a small pseudonymised municipality, as the custodian and partners leave it."""
    work = tmp_path_factory.mktemp("flow")
    generator = ROOT / "data" / "sample" / "generate.py"
    subprocess.run([sys.executable, str(generator), "--out", str(work / "sample"), "--seed", "4711",
                    "--adressen", "3000", "--wijken", "5", "--buurten", "15"],
                   check=True, capture_output=True)
    fill_demo_inbox(work / "sample", work / "inbox", PERIOD)
    return work / "inbox"


@pytest.fixture(scope="module")
def pseudonyms(inbox: Path) -> set[str]:
    folder = inbox / PERIOD
    values: set[str] = set()
    for path in [folder / "register.parquet", *sorted((folder / "leveringen").glob("*.parquet"))]:
        table = pq.read_table(path, columns=["adres_pseudoniem", "pand_pseudoniem"])
        for column in table.columns:
            values.update(column.to_pylist())
    return values


def _run_direct(inbox: Path, out: Path, **extra):
    folder = inbox / PERIOD
    return stapelingsmonitor(
        deliveries=str(folder / "leveringen"), register=str(folder / "register.parquet"),
        areas=str(folder / "gebieden.csv"), period=PERIOD, out=str(out),
        geojson=str(folder / "wijken.geojson"), pdf=False,
        indeling_kaarten={"wijkteam": str(folder / "wijkteam.geojson")}, **extra,
    )


@pytest.fixture(scope="module")
def first_run(harness, inbox: Path, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "uit"
    state = _run_direct(inbox, out, return_state=True)
    assert state.is_completed(), state.message
    APILogWorker.drain_all(timeout=10)
    return out, state.state_details.flow_run_id


def _client():
    return get_client(sync_client=True)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


_REPORT_TIMESTAMP = re.compile(rb'<time class="gemaakt">[^<]*</time>')


def _stable_output(folder: Path, name: str) -> bytes:
    """An output file's bytes apart from the report's creation time (two runs may straddle a minute)."""
    content = (folder / name).read_bytes()
    if not name.endswith(".html"):
        return content
    return _REPORT_TIMESTAMP.sub(b'<time class="gemaakt"></time>', content)


def _stable_manifest(folder: Path) -> dict:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return {k: v for k, v in manifest.items() if k not in VOLATILE_MANIFEST_KEYS}


def test_flow_runs_the_analyst_tasks_and_writes_every_output(first_run):
    out, flow_run_id = first_run
    with _client() as client:
        task_runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    assert {t.name.rsplit("-", 1)[0] for t in task_runs} == TASK_NAMES
    assert all(t.state.is_completed() for t in task_runs)
    assert {"samenloop.csv", "kwaliteit.csv", "huishoudens.parquet", "manifest.json", "rapport.html",
            "samenloop.csv-metadata.json"} <= set(p.name for p in out.iterdir())
    csvw = json.loads((out / "samenloop.csv-metadata.json").read_text(encoding="utf-8"))
    header = (out / "samenloop.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert csvw["url"] == "samenloop.csv" and [c["name"] for c in csvw["tableSchema"]["columns"]] == header
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["duur_seconden"]) == {"valideren", "koppelen", "aggregeren", "beveiligen"}
    assert all(d["sha256"] and d["key_id"] for d in manifest["leveringen"])
    assert set(manifest["invoer"]["kaart_indeling"]) == {"wijkteam"}  # the own division's map, drawn:
    assert 'id="grafiek-kaart-indeling-wijkteam"' in (out / "rapport.html").read_text(encoding="utf-8")


def test_quality_artifact_is_kwaliteit_csv_without_key_or_pseudonym(first_run):
    out, flow_run_id = first_run
    with _client() as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    by_key = {a.key: a for a in artifacts}
    assert by_key[QUALITY_ARTIFACT].type == "table"
    rows = json.loads(by_key[QUALITY_ARTIFACT].data)
    quality = pd.read_csv(out / "kwaliteit.csv")
    assert [r["partner"] for r in rows] == list(quality["partner"])
    assert [r["niet_gekoppeld"] for r in rows] == list(quality["niet_gekoppeld"])
    assert all("key_id" not in r for r in rows)
    assert all(isinstance(v, int | float) for r in rows for k, v in r.items() if k != "partner")


def test_key_figures_artifact_shows_only_protected_figures(first_run):
    out, flow_run_id = first_run
    with _client() as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    markdown = next(a.data for a in artifacts if a.key == KEY_FIGURES_ARTIFACT)
    samenloop = pd.read_csv(out / "samenloop.csv", dtype={"aantal": "Int64"})
    gemeente = samenloop[samenloop["niveau"] == "gemeente"].set_index("indicator")
    published = gemeente.loc["met_voorziening", "aantal"]
    assert f"| {published:,}".replace(",", ".") in markdown
    figures = [int(n.replace(".", "")) for n in re.findall(r"\| ([0-9.]+) \|", markdown)]
    assert figures and all(n % 5 == 0 for n in figures), "every count in the artifact is a rounded one"


def test_no_pseudonym_reaches_logs_artifacts_or_parameters(first_run, pseudonyms):
    _, flow_run_id = first_run
    with _client() as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
        flow_run = client.read_flow_run(flow_run_id)
    assert logs, "the run logs to the API"
    text = "\n".join([*(log.message for log in logs), *(str(a.data) for a in artifacts),
                      json.dumps(flow_run.parameters)])
    assert not set(HEX64.findall(text)) & pseudonyms

    def plain(value) -> bool:  # a path or setting: a string, flag or None, or a list or map of strings
        if isinstance(value, list):
            return all(isinstance(v, str) for v in value)
        if isinstance(value, dict):
            return all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        return isinstance(value, str | bool) or value is None

    assert all(plain(v) for v in flow_run.parameters.values()), flow_run.parameters
    folder = Path(flow_run.parameters["areas"]).parent
    assert flow_run.parameters["indeling_kaarten"] == {"wijkteam": str(folder / "wijkteam.geojson")}


def test_rerun_of_the_same_inputs_is_byte_identical(first_run, inbox: Path, tmp_path, monkeypatch):
    out, _ = first_run
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1782864000")  # 2026-07-01T00:00:00Z
    again = tmp_path / "opnieuw"
    _run_direct(inbox, again)
    first, second = _files(out), _files(again)
    assert set(first) == set(second)
    for name in ("samenloop.csv", "kwaliteit.csv", "huishoudens.parquet", "rapport.html"):
        assert _stable_output(out, name) == _stable_output(again, name), (
            f"{name} differs between two runs on the same inputs"
        )
    assert _stable_manifest(out) == _stable_manifest(again)

    # Under SOURCE_DATE_EPOCH every output file is the same, byte for byte: manifest.json and the report too.
    third = tmp_path / "nogmaals"
    _run_direct(inbox, third)
    assert _files(again) == _files(third)
    manifest = json.loads((third / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["gemaakt"] == "2026-07-01T00:00:00+00:00" and manifest["duur_seconden"] == {}
    assert b'<time class="gemaakt">' in (third / "rapport.html").read_bytes()


def test_household_order_follows_the_inputs_not_the_run(first_run, inbox: Path, tmp_path):
    """Same content in another order: the seed comes from the inputs, so other inputs shuffle differently."""
    out, _ = first_run
    moved = tmp_path / "inbox"
    shutil.copytree(inbox, moved)
    (moved / PERIOD / "gebieden.csv").write_bytes((inbox / PERIOD / "gebieden.csv").read_bytes() + b"\n")
    _run_direct(moved, tmp_path / "uit")
    before = pq.read_table(out / "huishoudens.parquet").to_pandas()
    after = pq.read_table(tmp_path / "uit" / "huishoudens.parquet").to_pandas()
    columns = list(before.columns)
    assert before.sort_values(columns).reset_index(drop=True).equals(
        after.sort_values(columns).reset_index(drop=True))
    assert not before.equals(after)


def test_failure_in_rapporteren_leaves_the_previous_output_untouched(first_run, inbox: Path, tmp_path,
                                                                      monkeypatch):
    out, _ = first_run
    previous = tmp_path / "uit"
    shutil.copytree(out, previous)
    before = _files(previous)
    calls = []

    def broken_report(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("rapport kapot")

    monkeypatch.setattr("reports.build.build_report", broken_report)
    state = _run_direct(inbox, previous, return_state=True)
    assert state.is_failed()
    assert calls == [1], "a failure that is not file I/O is not retried"
    assert _files(previous) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["uit"], "no temporary folder is left behind"


def test_file_errors_are_retried_and_other_errors_are_not(harness, inbox: Path, tmp_path, monkeypatch):
    calls: list[str] = []

    def unreadable(path):
        calls.append(path.name)
        raise OSError("share niet bereikbaar")

    monkeypatch.setattr(stapeling_steps, "describe_delivery", unreadable)
    assert _run_direct(inbox, tmp_path / "a", return_state=True).is_failed()
    assert len(calls) == 3, "valideren: one try and two retries on a file error"

    calls.clear()

    def wrong(path):
        calls.append(path.name)
        raise LinkageError("verkeerde levering")

    monkeypatch.setattr(stapeling_steps, "describe_delivery", wrong)
    assert _run_direct(inbox, tmp_path / "b", return_state=True).is_failed()
    assert len(calls) == 1
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_inbox_flow_runs_the_same_flow_as_factlab_run(first_run, inbox: Path, tmp_path):
    out, _ = first_run
    state = inbox_stapelingsmonitor(inbox=str(inbox), periode=PERIOD, out=str(tmp_path), pdf=False,
                                    return_state=True)
    assert state.is_completed()
    result = tmp_path / PERIOD
    assert state.result() == str(result)
    for name in ("samenloop.csv", "kwaliteit.csv", "huishoudens.parquet", "rapport.html"):
        assert _stable_output(result, name) == _stable_output(out, name)
    assert _stable_manifest(result) == _stable_manifest(out)
    with _client() as client:
        children = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[state.state_details.flow_run_id])))
        flows = {client.read_flow(run.flow_id).name for run in children}
    assert flows == {"stapelingsmonitor"}


def test_inbox_flow_stops_naming_the_missing_partner(harness, inbox: Path, tmp_path):
    partial = tmp_path / "inbox"
    shutil.copytree(inbox, partial)
    (partial / PERIOD / "leveringen" / "schuldhulp_plus.parquet").unlink()
    state = inbox_stapelingsmonitor(inbox=str(partial), periode=PERIOD, out=str(tmp_path / "uit"), pdf=False,
                                    return_state=True)
    assert state.is_failed()
    with pytest.raises(InboxIncomplete, match="ontbreekt: schuldhulp_plus"):
        state.result()
    assert not (tmp_path / "uit").exists()
    with _client() as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])))
    status = next(a.data for a in artifacts if a.key == INBOX_ARTIFACT)
    assert "| schuldhulp_plus | **ontbreekt** |" in status

    # On demand, with whoever delivered; the previous period's output is found for the comparison.
    earlier = tmp_path / "uit" / "2025H2"
    inbox_stapelingsmonitor(inbox=str(inbox), periode=PERIOD, out=str(tmp_path / "eerder"), pdf=False)
    shutil.copytree(tmp_path / "eerder" / PERIOD, earlier)
    inbox_stapelingsmonitor(inbox=str(partial), periode=PERIOD, out=str(tmp_path / "uit"), pdf=False,
                            alleen_als_compleet=False)
    manifest = json.loads((tmp_path / "uit" / PERIOD / "manifest.json").read_text(encoding="utf-8"))
    assert "schuldhulp_plus" not in {d["partner"] for d in manifest["leveringen"]}
    assert manifest["parameters"]["vorige"] is True


def test_cli_inbox_run_reports_missing_partners_and_the_report(harness, inbox: Path, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from pipelines.cli.main import main

    monkeypatch.setattr("pipelines.cli.inbox.configure_prefect", lambda: None)  # keep this process's settings
    partial = tmp_path / "inbox"
    shutil.copytree(inbox, partial)
    (partial / PERIOD / "leveringen" / "jeugd_ggz.parquet").unlink()
    command = ["inbox", "run", "--inbox", str(partial), "--periode", PERIOD, "--out", str(tmp_path / "uit"),
               "--geen-pdf"]
    incomplete = CliRunner().invoke(main, command)
    assert incomplete.exit_code == 1
    assert "ontbreekt: jeugd_ggz" in incomplete.output
    assert not (tmp_path / "uit").exists()
    anyway = CliRunner().invoke(main, [*command, "--ook-onvolledig"])
    assert anyway.exit_code == 0, anyway.output
    assert f"rapport: {tmp_path / 'uit' / PERIOD / 'rapport.html'}" in anyway.output


def test_the_flow_shows_its_steps_on_the_progress_of_the_command_that_started_it(first_run, inbox: Path,
                                                                                   tmp_path, pseudonyms):
    """`factlab run` with a Prefect server (issue 19.6): the flow runs in the command's process, and its
    tasks report to the command's progress like the local run does; counts and step names only."""
    import io

    from pipelines.progress import Progress, activated

    stream = io.StringIO()
    bar = Progress(True, delay=0, stream=stream, unit="stappen")
    bar.start()
    with activated(bar):
        state = _run_direct(inbox, tmp_path / "uit", return_state=True)
    bar.close()
    assert state.is_completed(), state.message
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", stream.getvalue())
    for name in TASK_NAMES:
        assert f"stapelingsmonitor: {name}" in text, name
    assert "5/5" in text, "the last step ends complete"
    assert not any(p in text for p in pseudonyms)
    # Without a progress (deployments, the inbox flow) the flow runs its plain tasks.
    from pipelines.stapeling_flow import TASKS, shown_tasks

    assert shown_tasks() is TASKS


def test_local_run_writes_the_same_output_as_the_flow_without_importing_prefect(first_run, inbox: Path,
                                                                                 tmp_path):
    """`factlab run` without a configured Prefect server runs the same steps in-process, no server started."""
    out, _ = first_run
    folder = inbox / PERIOD
    script = (
        "import sys\n"
        "from pipelines.cli.main import main\n"
        "try:\n"
        "    main(sys.argv[1:], standalone_mode=False)\n"
        "finally:\n"
        "    loaded = any(m == 'prefect' or m.startswith('prefect.') for m in sys.modules)\n"
        "    print('PREFECT_IMPORTED=' + str(loaded))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(FACTLAB_PREFECT="auto", PREFECT_HOME=str(tmp_path / "prefect-home"))
    local = tmp_path / "lokaal"
    done = subprocess.run(
        [sys.executable, "-c", script, "run", "--deliveries", str(folder / "leveringen"),
         "--register", str(folder / "register.parquet"), "--areas", str(folder / "gebieden.csv"),
         "--period", PERIOD, "--out", str(local), "--kaart", str(folder / "wijken.geojson"), "--geen-pdf",
         "--kaart-indeling", f"wijkteam={folder / 'wijkteam.geojson'}"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "PREFECT_IMPORTED=False" in done.stdout
    assert done.stdout.strip().splitlines()[-2] == f"rapport: {local / 'rapport.html'}"
    assert "huishoudens met een voorziening" in done.stderr, "the run shows its progress (counts only)"
    for name in ("samenloop.csv", "kwaliteit.csv", "huishoudens.parquet", "rapport.html"):
        assert _stable_output(local, name) == _stable_output(out, name), name
    assert _stable_manifest(local) == _stable_manifest(out)


def test_inbox_flow_runs_with_the_series_it_finds_in_the_output_root(first_run, inbox: Path, tmp_path):
    """docs/contract.md §10: each new period is reported with every earlier output in out/<periode>/."""
    folder = inbox / PERIOD
    earlier = stapeling_steps.run_locally(
        deliveries=str(folder / "leveringen"), register=str(folder / "register.parquet"),
        areas=str(folder / "gebieden.csv"), period="2025H2", out=str(tmp_path / "2025H2"), pdf=False,
    )
    (tmp_path / "2025H1").mkdir()  # named as a period, but no output: not part of the series
    state = inbox_stapelingsmonitor(inbox=str(inbox), periode=PERIOD, out=str(tmp_path), pdf=False,
                                    return_state=True)
    assert state.is_completed(), state.message
    manifest = json.loads((tmp_path / PERIOD / "manifest.json").read_text(encoding="utf-8"))
    assert [m["map"] for m in manifest["invoer"]["reeks"]] == [Path(earlier).name]
    report = (tmp_path / PERIOD / "rapport.html").read_text(encoding="utf-8")
    assert 'id="ontwikkeling"' in report and ">2025H2</th>" in report


def test_a_revision_is_published_only_when_both_publications_together_are_safe(first_run, inbox: Path,
                                                                                tmp_path):
    from disclosure.protect import DisclosureError

    out, _ = first_run
    folder = inbox / PERIOD
    run = dict(deliveries=str(folder / "leveringen"), register=str(folder / "register.parquet"),
               areas=str(folder / "gebieden.csv"), period=PERIOD, pdf=False, status="definitief")
    same = tmp_path / "herzien"
    stapeling_steps.run_locally(**run, out=str(same), herziening=str(out))
    manifest = json.loads((same / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "definitief" and manifest["invoer"]["herziening"]["map"] == out.name
    assert "definitieve cijfers" in (same / "rapport.html").read_text(encoding="utf-8").split("</header>")[0]

    earlier = tmp_path / "eerder"
    earlier.mkdir()
    (earlier / "manifest.json").write_bytes((out / "manifest.json").read_bytes())
    rows = (out / "samenloop.csv").read_text(encoding="utf-8").splitlines()
    header = rows[0].split(",")
    position = next(i for i, line in enumerate(rows[1:], start=1)
                    if line.split(",")[header.index("geheim")] == "false"
                    and line.split(",")[header.index("indicator")] == "domeinen:2+")
    cells = rows[position].split(",")
    cells[header.index("aantal")] = cells[header.index("per_1000_huishoudens")] = ""
    cells[header.index("geheim")] = "true"
    rows[position] = ",".join(cells)
    (earlier / "samenloop.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    refused = tmp_path / "geweigerd"
    with pytest.raises(DisclosureError, match=f"{cells[0]} domeinen:2\\+") as caught:
        stapeling_steps.run_locally(**run, out=str(refused), herziening=str(earlier))
    assert "niets gepubliceerd" in str(caught.value)
    assert not refused.exists()
