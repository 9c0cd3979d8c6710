"""The deployments of prefect.yaml for real: a local Prefect server, the process work pool, a worker,
`prefect deploy --all`, and both deployments run on a small generated municipality.

Everything runs on 127.0.0.1 with a temporary PREFECT_HOME; server and worker are stopped (their
whole process groups) whatever happens. Every step has a timeout.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from pipelines.inbox import fill_demo_inbox

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PREFECT = str(Path(sys.executable).with_name("prefect"))
PERIOD = "2026H1"
POOL = "factlab-proces"
STARTUP_TIMEOUT = 240
STEP_TIMEOUT = 240
RUN_TIMEOUT = 420
SCHEDULER_TIMEOUT = 90
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _environment(home: Path, api_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "2",
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5",
        "PREFECT_CLI_PROMPT": "false",
        "FACTLAB_PROJECT": str(ROOT),
    })
    return env


@contextmanager
def _background(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """Start a long-running command in its own process group; stop the whole group on exit."""
    with log.open("wb") as handle:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            yield process
        finally:
            for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
                try:
                    os.killpg(process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    process.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue


def _wait_for_server(api_url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"Prefect server stopped: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{api_url}/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    pytest.fail(f"Prefect server not up within {STARTUP_TIMEOUT}s: {log.read_text(errors='replace')[-2000:]}")


def _prefect(args: list[str], env: dict[str, str], timeout: int = STEP_TIMEOUT) -> str:
    done = subprocess.run([PREFECT, *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"prefect {args[:3]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _run_deployment(name: str, parameters: dict[str, object], env: dict[str, str]) -> None:
    """`prefect deployment run NAME --param k=v ... --watch`: fails unless the run completes."""
    args = ["deployment", "run", name]
    for key, value in parameters.items():
        args += ["--param", f"{key}={json.dumps(value) if isinstance(value, bool) else value}"]
    _prefect([*args, "--watch", "--watch-timeout", str(RUN_TIMEOUT)], env, timeout=RUN_TIMEOUT + 60)


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    generator = ROOT / "data" / "sample" / "generate.py"
    subprocess.run([sys.executable, str(generator), "--out", str(tmp_path / "sample"), "--seed", "815",
                    "--adressen", "3000", "--wijken", "5", "--buurten", "15"],
                   check=True, capture_output=True, timeout=120)
    fill_demo_inbox(tmp_path / "sample", tmp_path / "inbox", PERIOD)
    return tmp_path / "inbox"


def _assert_half_yearly_runs_are_scheduled(api_url: str) -> None:
    """The server's scheduler turns the cron into runs at 06:00 Amsterdam time on 1 February and 1 August."""
    deployment = httpx.get(
        f"{api_url}/deployments/name/stapelingsmonitor-inbox/stapelingsmonitor-halfjaarlijks", timeout=30
    ).json()
    schedule = deployment["schedules"][0]["schedule"]
    assert (schedule["cron"], schedule["timezone"]) == ("0 6 1 2,8 *", "Europe/Amsterdam")
    query = {"flow_runs": {"deployment_id": {"any_": [deployment["id"]]}}}
    deadline = time.monotonic() + SCHEDULER_TIMEOUT
    while time.monotonic() < deadline:
        runs = httpx.post(f"{api_url}/flow_runs/filter", json=query, timeout=30).json()
        if runs:
            break
        time.sleep(2)
    assert runs, f"the scheduler made no run for the half-yearly deployment within {SCHEDULER_TIMEOUT}s"
    for run in runs:
        start = datetime.fromisoformat(run["expected_start_time"]).astimezone(AMSTERDAM)
        assert (start.day, start.hour, start.minute) == (1, 6, 0) and start.month in (2, 8)
        assert run["state_type"] == "SCHEDULED"


def _artifact_keys(api_url: str) -> set[str]:
    response = httpx.post(f"{api_url}/artifacts/filter", json={}, timeout=30)
    response.raise_for_status()
    return {a["key"] for a in response.json() if a.get("key")}


def test_server_worker_and_both_deployments_on_the_sample(inbox: Path, tmp_path: Path):
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = _environment(tmp_path / "prefect-home", api_url)
    server_log, worker_log = tmp_path / "server.log", tmp_path / "worker.log"
    server_command = [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    adhoc_out, scheduled_out = tmp_path / "uitvoer-adhoc", tmp_path / "uitvoer"
    with _background(server_command, env, server_log) as server:
        _wait_for_server(api_url, server, server_log)
        _prefect(["work-pool", "create", POOL, "--type", "process"], env)
        _prefect(["--no-prompt", "deploy", "--all"], env)
        _assert_half_yearly_runs_are_scheduled(api_url)

        worker_command = [PREFECT, "worker", "start", "--pool", POOL, "--type", "process"]
        with _background(worker_command, env, worker_log):
            folder = inbox / PERIOD
            _run_deployment("stapelingsmonitor/stapelingsmonitor-adhoc", {
                "deliveries": folder / "leveringen", "register": folder / "register.parquet",
                "areas": folder / "gebieden.csv", "period": PERIOD, "out": adhoc_out, "pdf": False,
            }, env)
            _run_deployment("stapelingsmonitor-inbox/stapelingsmonitor-halfjaarlijks", {
                "inbox": inbox, "periode": PERIOD, "out": scheduled_out, "pdf": False,
            }, env)

        assert {"stapelingsmonitor-kwaliteit", "stapelingsmonitor-kerncijfers",
                "stapelingsmonitor-inbox"} <= _artifact_keys(api_url)

    for out in (adhoc_out, scheduled_out / PERIOD):
        assert {"samenloop.csv", "kwaliteit.csv", "huishoudens.parquet", "manifest.json", "rapport.html"} <= {
            p.name for p in out.iterdir()}
    manifest = json.loads((adhoc_out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["periode"]["label"] == PERIOD
    assert manifest["telling"]["huishoudens_met_voorziening"] > 0
    same_inputs = (adhoc_out / "samenloop.csv", scheduled_out / PERIOD / "samenloop.csv")
    assert same_inputs[0].read_bytes() == same_inputs[1].read_bytes()
