"""Bounded loopback load test: 20 partners upload at the same moment; no delivery is lost or mixed up."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pyarrow.parquet as pq
import pytest
from test_portal_support import (
    PASSWORD,
    LiveServer,
    extract,
    form_token,
    login_csrf,
    make_portal,
    partner_rows,
)

from linkage.pseudonyms import address_pseudonyms
from schemas.canonical import canonical_address
from schemas.formats import read_metadata

pytestmark = pytest.mark.slow

PARTNERS = 20
REQUEST_TIMEOUT = 120.0


def _deliver(url: str, naam: str, data: bytes, start: threading.Barrier) -> dict:
    with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT, follow_redirects=True) as c:
        token = login_csrf(c.get("/inloggen").text)
        home = c.post("/inloggen", data={"naam": naam, "wachtwoord": PASSWORD, "csrf": token})
        csrf = login_csrf(home.text)
        start.wait(timeout=REQUEST_TIMEOUT)
        check = c.post(
            "/aanleveren/controleren",
            data={"csrf": csrf},
            files={"bestand": (f"{naam}.csv", data, "text/csv")},
        )
        check.raise_for_status()
        receipt_page = c.post("/aanleveren/bevestigen", data={"csrf": csrf, "token": form_token(check.text)})
        receipt_page.raise_for_status()
        return c.get(str(receipt_page.url) + ".json").json()


def test_twenty_concurrent_uploads_lose_or_mix_nothing(tmp_path, test_key):
    names = [f"partner-{i:02d}" for i in range(PARTNERS)]
    portal = make_portal(tmp_path, test_key, partners=names)
    rows = {name: partner_rows(i, 20 + i) for i, name in enumerate(names)}
    files = {name: extract(rows[name]) for name in names}
    start = threading.Barrier(PARTNERS)
    with LiveServer(portal.app) as server, ThreadPoolExecutor(max_workers=PARTNERS) as pool:
        futures = {name: pool.submit(_deliver, server.url, name, files[name], start) for name in names}
        receipts = {name: future.result(timeout=10 * REQUEST_TIMEOUT) for name, future in futures.items()}

    for i, name in enumerate(names):
        receipt = receipts[name]
        assert receipt["partner"] == name
        assert receipt["bestand_sha256"] == hashlib.sha256(files[name]).hexdigest()
        assert receipt["regels_gelezen"] == receipt["records_opgeslagen"] == 20 + i
        stored = portal.inbox_folder / f"{name}.parquet"
        assert receipt["levering_sha256"] == hashlib.sha256(stored.read_bytes()).hexdigest()
        assert read_metadata(stored)["partner"] == name
        canonical = [canonical_address(r[0], r[1]).canonical for r in rows[name]]
        expected = set(address_pseudonyms(test_key, canonical))
        assert set(pq.read_table(stored, columns=["adres_pseudoniem"]).column(0).to_pylist()) == expected
    assert sorted(p.name for p in portal.inbox_folder.iterdir()) == sorted(f"{n}.parquet" for n in names)
    assert sorted(r.partner for r in portal.store.receipts()) == sorted(names)
