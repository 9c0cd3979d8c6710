"""Memory bounds of the portal: how many checks run at once, and four 50 MB uploads in one process."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from test_portal_support import PASSWORD, LiveServer, extract, login_csrf, make_portal, partner_rows

import portal.routes.partner as partner_routes

UPLOADS = 4
DEADLOCK_GUARD_SECONDS = 120.0  # only ends a hung test; nothing is asserted about time


def _upload(url: str, naam: str, data: bytes, timeout: float = DEADLOCK_GUARD_SECONDS) -> int:
    with httpx.Client(base_url=url, timeout=timeout, follow_redirects=True) as c:
        token = login_csrf(c.get("/inloggen").text)
        csrf = login_csrf(
            c.post("/inloggen", data={"naam": naam, "wachtwoord": PASSWORD, "csrf": token}).text
        )
        files = {"bestand": (f"{naam}.csv", data, "text/csv")}
        return c.post("/aanleveren/controleren", data={"csrf": csrf}, files=files).status_code


@pytest.mark.parametrize("allowed", [1, 2])
def test_no_more_checks_run_at_once_than_allowed(tmp_path, test_key, monkeypatch, allowed):
    """Each check waits inside until every upload is running or queued: a missing limit lets them all in."""
    names = [f"zorg-{i}" for i in range(UPLOADS)]
    portal = make_portal(tmp_path, test_key, partners=names, parallel_checks=allowed)
    gate = portal.app.state.portal.check_gate
    real_check = partner_routes.check_upload
    lock = threading.Lock()
    seen = {"inside": 0, "most": 0, "done": 0}

    def observed_check(*args, **kwargs):
        with lock:
            seen["inside"] += 1
            seen["most"] = max(seen["most"], seen["inside"])
        deadline = time.monotonic() + DEADLOCK_GUARD_SECONDS
        while gate.running + gate.waiting + seen["done"] < UPLOADS:  # the others are still on their way
            if time.monotonic() > deadline:
                raise RuntimeError("not every upload reached the check")
            time.sleep(0.01)
        try:
            return real_check(*args, **kwargs)
        finally:
            with lock:
                seen["inside"] -= 1
                seen["done"] += 1

    monkeypatch.setattr(partner_routes, "check_upload", observed_check)
    data = extract(partner_rows(1, 3))
    with LiveServer(portal.app) as server, ThreadPoolExecutor(max_workers=UPLOADS) as pool:
        statuses = list(pool.map(lambda naam: _upload(server.url, naam, data), names))
    assert statuses == [200] * UPLOADS
    assert seen["most"] == allowed and seen["done"] == UPLOADS


SERVER = """
import socket, sys, uvicorn
sys.path.insert(0, {tests!r})
from pathlib import Path
from test_portal_support import make_portal
from linkage.keys import new_key
from portal.intake import warm_up
portal = make_portal(Path({tmp!r}), new_key(), partners={names!r}, max_upload_bytes=50 * 1024 * 1024)
warm_up(portal.settings.codes)
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)
uvicorn.run(portal.app, fd=sock.fileno(), log_level="warning", access_log=False, lifespan="off")
"""
MEMORY_LIMIT_BYTES = 1.5 * 1024**3


def _extract_of_50_mb(seed: int) -> bytes:
    """A dense extract just under 50 MB (about 1.2 million rows): the worst case for memory per byte."""
    lines = [extract([])]
    size, n = len(lines[0]), 0
    while size < 50 * 1024 * 1024 - 100:
        line = (
            f"{1000 + n % 8999}{'ABCDEFGH'[n % 8]}{'KLMN'[seed]};{n % 997 + 1};;;01;01-02-2026;;Naam {n}\r\n"
        )
        line = line.encode()
        lines.append(line)
        size, n = size + len(line), n + 1
    return b"".join(lines)


def _peak_rss(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


@pytest.mark.slow
def test_four_uploads_of_50_mb_stay_under_1_5_gb(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    tests = str(Path(__file__).parent)
    names = [f"zorg-{i}" for i in range(UPLOADS)]
    code = SERVER.format(tests=tests, tmp=str(tmp_path), names=names)
    server = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{int(server.stdout.readline())}"
        files = {naam: _extract_of_50_mb(i) for i, naam in enumerate(names)}
        with ThreadPoolExecutor(max_workers=UPLOADS) as pool:
            statuses = list(pool.map(lambda naam: _upload(url, naam, files[naam], 30 * 60), names))
        peak = _peak_rss(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"piekgeheugen van de portal: {peak / 1024**2:.0f} MB")
    assert statuses == [200] * UPLOADS
    assert peak < MEMORY_LIMIT_BYTES, f"{peak / 1024**2:.0f} MB"
