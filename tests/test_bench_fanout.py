"""The fan-out flow for real: a local Prefect server, a process work pool with TWO workers, and three
tiny gemeenten run in parallel through the `stapelingsmonitor-adhoc` deployment.

Server and workers come from the helpers of tests/test_deployment.py (127.0.0.1, free port, temporary
PREFECT_HOME, whole process groups stopped whatever happens, a timeout on every step).
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_deployment import (
    POOL,
    PREFECT,
    ROOT,
    _background,
    _environment,
    _free_port,
    _prefect,
    _wait_for_server,
)

from bench.synthetic import Scale, generate
from linkage.keys import new_key
from pipelines.fanout_flow import FanoutError, check_assignments
from pipelines.intake.delivery import pseudonymise_delivery
from pipelines.intake.register import pseudonymise_register
from schemas.codelist import load_code_list

pytestmark = pytest.mark.slow

TINY = Scale("mini", 1_500, 300, 2, 1, 2, 2)
FANOUT_TIMEOUT = 900


def _gemeente(folder: Path, number: int) -> dict[str, str]:
    """A pseudonymised gemeente, GM000<number>, ready for the analyst's run."""
    data = generate(TINY, folder / "data", seed=number, first_gemeente=number)
    key, codes = new_key(), load_code_list()
    pseudonymise_register(data.register, key, folder / "register.parquet")
    (folder / "leveringen").mkdir()
    for extract in data.extracts:
        pseudonymise_delivery(
            extract, key, extract.stem, folder / "leveringen" / f"{extract.stem}.parquet", codes
        )
    return {
        "gemeente": f"GM{number:04d}",
        "deliveries": str(folder / "leveringen"),
        "register": str(folder / "register.parquet"),
        "areas": str(data.areas),
        "period": data.period,
        "out": str(folder / "uitvoer"),
        "pdf": False,
    }


def test_assignments_need_their_own_inputs_and_outputs():
    good = {
        "gemeente": "GM0001",
        "deliveries": "a",
        "register": "b",
        "areas": "c",
        "period": "2025",
        "out": "d",
    }
    assert check_assignments([good]) == [good]
    with_map = {**good, "indeling_kaarten": {"wijkteam": "wijkteams.geojson"}}  # an own division's map
    assert check_assignments([with_map]) == [with_map]
    with pytest.raises(FanoutError, match="ontbreekt: register"):
        check_assignments([{**good, "register": ""}])
    with pytest.raises(FanoutError, match="dezelfde uitvoermap"):
        check_assignments([good, {**good, "gemeente": "GM0002"}])
    with pytest.raises(FanoutError, match="onbekend: sleutel"):
        check_assignments([{**good, "sleutel": "x"}])
    with pytest.raises(FanoutError, match="geen gemeenten"):
        check_assignments([])


def test_three_gemeenten_over_two_workers(tmp_path: Path):
    assignments = [_gemeente(tmp_path / f"gm{n}", n) for n in (1, 2, 3)]
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = _environment(tmp_path / "prefect-home", api_url)
    server_log = tmp_path / "server.log"
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    with _background(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env, server_log
    ) as server:
        _wait_for_server(api_url, server, server_log)
        _prefect(["work-pool", "create", POOL, "--type", "process"], env)
        _prefect(["--no-prompt", "deploy", "--name", "stapelingsmonitor-adhoc"], env)
        # One run at a time per worker, so three gemeenten need both workers.
        workers = [
            [PREFECT, "worker", "start", "--pool", POOL, "--type", "process", "--limit", "1", "--name", name]
            for name in ("werker-a", "werker-b")
        ]
        with _background(workers[0], env, logs[0]), _background(workers[1], env, logs[1]):
            script = (
                "import json, sys\nfrom pipelines.fanout_flow import stapelingsmonitor_fanout\n"
                "results = stapelingsmonitor_fanout(gemeenten=json.loads(sys.argv[1]), timeout_seconds=600)\n"
                "print(json.dumps(results))\n"
            )
            done = subprocess.run(
                [sys.executable, "-c", script, json.dumps(assignments)],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=FANOUT_TIMEOUT,
                stdin=subprocess.DEVNULL,
            )
        assert done.returncode == 0, f"fan-out mislukt:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert sorted(r["gemeente"] for r in results) == ["GM0001", "GM0002", "GM0003"]
    assert all(r["geslaagd"] for r in results)
    for assignment in assignments:
        with (Path(assignment["out"]) / "samenloop.csv").open(encoding="utf-8") as handle:
            codes = {row["gebiedscode"] for row in csv.DictReader(handle)}
        assert assignment["gemeente"] in codes
        assert all(code[2:6] == assignment["gemeente"][2:] for code in codes), "figures of another gemeente"
        assert (Path(assignment["out"]) / "manifest.json").exists()
    # The last step compares the gemeenten, beside their output folders (§13).
    with (tmp_path / "vergelijking" / "vergelijking.csv").open(encoding="utf-8") as handle:
        compared = {row["gebiedscode"] for row in csv.DictReader(handle)}
    assert compared == {"GM0001", "GM0002", "GM0003"}
    assert (tmp_path / "vergelijking" / "vergelijking.html").is_file()
    worker_text = [log.read_text(errors="replace") for log in logs]
    for result in results:
        assert sum(_ran_on(text, result["flow_run_id"]) for text in worker_text) == 1, (
            "each run on exactly one worker"
        )
    worked = [any(_ran_on(text, r["flow_run_id"]) for r in results) for text in worker_text]
    assert all(worked), "both workers worked"


def _ran_on(worker_log: str, flow_run_id: str) -> bool:
    """A worker ran a flow run when it submitted it and the server did not abort that submission.

    Both workers may try to claim the same run; the loser logs the id too, as an aborted submission.
    """
    submitted = f"submitting flow run '{flow_run_id}'" in worker_log
    aborted = f"Aborted submission of flow run '{flow_run_id}'" in worker_log
    return submitted and not aborted
