"""Running one stage in its own process: wall time from outside, and peak memory two ways.

`piek_mb` is the largest sum of resident memory over the stage's whole process tree (sampled every
50 ms, so parallel workers count together); `maxrss_mb` is the kernel's exact peak of the largest
single process (from wait4).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SAMPLE_SECONDS = 0.05
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


@dataclass
class StageRun:
    naam: str
    seconden: float = 0.0
    piek_mb: float = 0.0
    maxrss_mb: float = 0.0
    resultaat: dict[str, Any] = field(default_factory=dict)
    fout: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.resultaat,
            "seconden": round(self.seconden, 3),
            "piek_mb": round(self.piek_mb, 1),
            "maxrss_mb": round(self.maxrss_mb, 1),
            **({"fout": self.fout} if self.fout else {}),
        }


def _tree_rss(root: int) -> int:
    """Resident bytes of `root` and all its descendants, read from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/statm", "rb") as handle:
                total += int(handle.read().split()[1]) * PAGE_BYTES
        except OSError:
            continue
    return total


def _error_line(stderr: bytes) -> str:
    """The exception line of a traceback (not the value dump that may follow it)."""
    lines = stderr.decode("utf-8", errors="replace").strip().splitlines()
    for line in reversed(lines):
        head = line.split(":", 1)[0]
        if head and " " not in head and head.rsplit(".", 1)[-1].endswith(("Error", "Exception", "Invalid")):
            return line[:300]
    return (lines[-1] if lines else "?")[:300]


def run_stage(
    name: str,
    args: dict[str, Any],
    env: dict[str, str] | None = None,
    timeout: float = 3600,
    command: list[str] | None = None,
) -> StageRun:
    """Run `python -m bench.stages NAME ARGS` (or `command`) and measure it."""
    run = StageRun(name)
    argv = command or [sys.executable, "-m", "bench.stages", name, json.dumps(args)]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            argv,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=env or os.environ.copy(),
            start_new_session=True,
        )
        peak = 0
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, _tree_rss(process.pid))
                stop.wait(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        status, usage = 0, None
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - started > timeout:
                os.killpg(process.pid, 9)
                _, status, usage = os.wait4(process.pid, 0)
                run.fout = f"na {timeout:.0f} s afgebroken"
                break
            time.sleep(0.01)
        run.seconden = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        stop.set()
        sampler.join()
        run.piek_mb = peak / 2**20
        run.maxrss_mb = (usage.ru_maxrss / 1024) if usage else 0.0
        out.seek(0)
        err.seek(0)
        lines = out.read().decode("utf-8", errors="replace").strip().splitlines()
        if process.returncode != 0 and run.fout is None:
            run.fout = f"exitcode {process.returncode}: {_error_line(err.read())}"
        elif lines and command is None:
            run.resultaat = json.loads(lines[-1])
        elif lines:
            try:
                run.resultaat = json.loads(lines[-1])
            except json.JSONDecodeError:
                run.resultaat = {}
    return run


def prefect_environment(home: Path, api_url: str | None = None) -> dict[str, str]:
    """A private Prefect home for the benchmark's flow runs (never the project's .prefect)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        {
            "PREFECT_HOME": str(home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
            "PREFECT_UI_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "WARNING",
        }
    )
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def prefect_server(home: Path, timeout: float = 240) -> Iterator[str | None]:
    """A Prefect server on 127.0.0.1 for the flow runs, as a real installation has one running.

    Yields its API URL, or None when it did not come up (the runs then start a temporary server
    themselves, which the results say). The server's whole process group is stopped afterwards.
    """
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    prefect = str(Path(sys.executable).with_name("prefect"))
    home.mkdir(parents=True, exist_ok=True)
    with (home / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=prefect_environment(home),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + timeout
            up = False
            while time.monotonic() < deadline and process.poll() is None and not up:
                try:
                    with urllib.request.urlopen(f"{api_url}/health", timeout=5) as response:
                        up = response.status == 200
                except OSError:
                    time.sleep(1)
            yield api_url if up else None
        finally:
            for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
                try:
                    os.killpg(process.pid, sig)
                    process.wait(timeout=wait)
                    break
                except ProcessLookupError:
                    break
                except subprocess.TimeoutExpired:
                    continue
