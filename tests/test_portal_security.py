"""Security of the portal: authentication, isolation between partners, uploads, CSRF, brute force."""

from __future__ import annotations

import html
import os
import tempfile
import warnings

import pyarrow.parquet as pq
import pytest
from test_portal_intake import RECORDER
from test_portal_support import PASSWORD, extract, form_token, login_csrf, make_portal, partner_rows

from schemas.formats import read_metadata

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture()
def portal(tmp_path, test_key):
    return make_portal(tmp_path, test_key, max_upload_bytes=2 * 1024 * 1024)


def client(portal, address: str = "10.0.0.1") -> TestClient:
    return TestClient(portal.app, client=(address, 50000), follow_redirects=False)


def log_in(c: TestClient, naam: str = "zorg-a", wachtwoord: str = PASSWORD):
    token = login_csrf(c.get("/inloggen").text)
    return c.post("/inloggen", data={"naam": naam, "wachtwoord": wachtwoord, "csrf": token})


def session_csrf(c: TestClient) -> str:
    return login_csrf(c.get("/aanleveren").text)


def upload(c: TestClient, data: bytes, name: str = "levering.csv", csrf: str | None = None, **extra):
    fields = {"csrf": session_csrf(c) if csrf is None else csrf}
    return c.post(
        "/aanleveren/controleren", data=fields, files={"bestand": (name, data, "text/csv")}, **extra
    )


def deliver(c: TestClient, data: bytes, name: str = "levering.csv"):
    page = upload(c, data, name)
    assert page.status_code == 200, page.text
    confirm = c.post("/aanleveren/bevestigen", data={"csrf": session_csrf(c), "token": form_token(page.text)})
    assert confirm.status_code == 303
    return confirm.headers["location"]


def test_every_page_needs_a_login(portal):
    c = client(portal)
    for path in (
        "/aanleveren",
        "/overzicht",
        "/offline",
        "/offline/download",
        "/ontvangstbewijs/abc",
        "/ontvangstbewijs/abc.json",
        "/aanleveren/afgekeurd/abc",
        "/",
    ):
        response = c.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/inloggen", path
    for path in ("/aanleveren/controleren", "/aanleveren/bevestigen", "/aanleveren/annuleren", "/uitloggen"):
        assert c.post(path, data={"csrf": "x"}).status_code == 401, path
    assert not portal.inbox_folder.exists()


def test_unauthenticated_upload_is_refused_before_its_body_is_read(portal):
    c = client(portal)
    response = c.post("/aanleveren/controleren", files={"bestand": ("x.csv", extract(partner_rows(1, 3)))})
    assert response.status_code == 401
    assert not portal.inbox_folder.exists()


def test_passwords_are_argon2_hashes_and_wrong_passwords_fail(portal):
    import sqlite3

    with sqlite3.connect(portal.store.path) as con:
        hashes = [row[0] for row in con.execute("SELECT wachtwoord_hash FROM gebruikers")]
    assert hashes and all(h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)
    c = client(portal)
    assert log_in(c, wachtwoord="fout-wachtwoord-123").status_code == 401
    assert log_in(c, naam="bestaat-niet").status_code == 401
    response = log_in(c)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_partner_sees_only_its_own_deliveries(portal):
    a, b = client(portal), client(portal, "10.0.0.2")
    log_in(a, "zorg-a")
    log_in(b, "zorg-b")
    receipt_a = deliver(a, extract(partner_rows(1, 4)))
    receipt_b = deliver(b, extract(partner_rows(2, 6)))
    assert a.get(receipt_a).status_code == 200
    for path in (receipt_b, receipt_b + ".json"):
        response = a.get(path)
        assert response.status_code == 404 and "zorg-b" not in response.text
    assert receipt_b.rsplit("/", 1)[1] not in a.get("/aanleveren").text
    assert a.get("/overzicht").status_code == 403
    analyst = client(portal, "10.0.0.3")
    log_in(analyst, "analist")
    overview = analyst.get("/overzicht").text
    assert "zorg-a" in overview and "zorg-b" in overview
    assert analyst.get(receipt_b + ".json").json()["records_opgeslagen"] == 6
    assert analyst.get("/aanleveren").status_code == 403  # analysts do not deliver
    assert read_metadata(portal.inbox_folder / "zorg-a.parquet")["partner"] == "zorg-a"
    assert pq.read_table(portal.inbox_folder / "zorg-b.parquet").num_rows == 6


def test_a_pending_check_belongs_to_its_session(portal):
    a, b = client(portal), client(portal, "10.0.0.2")
    log_in(a, "zorg-a")
    log_in(b, "zorg-b")
    page = upload(a, extract(partner_rows(1, 3)))
    token = form_token(page.text)
    assert b.get(f"/aanleveren/afgekeurd/{token}").status_code == 404
    stolen = b.post("/aanleveren/bevestigen", data={"csrf": session_csrf(b), "token": token})
    assert stolen.status_code == 409
    assert not portal.inbox_folder.exists()


def test_oversized_uploads_are_refused(portal):
    c = client(portal)
    log_in(c)
    big = extract(partner_rows(1, 1)) + b"x" * (3 * 1024 * 1024)
    response = upload(c, big)
    assert response.status_code == 413 and "te groot" in response.text

    def chunks():  # no Content-Length: the limit holds while streaming
        yield b'--grens\r\nContent-Disposition: form-data; name="bestand"; filename="a.csv"\r\n\r\n'
        for _ in range(40):
            yield b"x" * (100 * 1024)

    response = c.post(
        "/aanleveren/controleren",
        content=chunks(),
        headers={"content-type": "multipart/form-data; boundary=grens"},
    )
    assert response.status_code == 413
    assert not portal.inbox_folder.exists()


def test_wrong_content_types_are_refused(portal):
    c = client(portal)
    log_in(c)
    csrf = session_csrf(c)
    response = c.post("/aanleveren/controleren", data={"csrf": csrf, "bestand": "postcode;huisnummer"})
    assert response.status_code == 415
    response = c.post("/aanleveren/controleren", content=b"{}", headers={"content-type": "application/json"})
    assert response.status_code == 415
    response = c.post("/inloggen", content=b"<x/>", headers={"content-type": "text/xml"})
    assert response.status_code == 415
    for data, phrase in (
        (b"PK\x03\x04excel", "Excel"),
        (b"%PDF-1.5", "PDF"),
        (b"\x00\x01\x02", "geen tekstbestand"),
    ):
        response = upload(c, data, "levering.csv", csrf)
        assert response.status_code == 422 and phrase in response.text
    assert not portal.inbox_folder.exists()


@pytest.mark.parametrize(
    "hostile",
    [
        "../../../etc/cron.d/x.csv",
        "..\\..\\inbox\\zorg-b.parquet",
        "/tmp/absolute.csv",
        "zorg-b.parquet",
        "<script>alert(1)</script>.csv",
    ],
)
def test_hostile_file_names_never_become_paths(portal, tmp_path, hostile):
    c = client(portal)
    log_in(c)
    page = upload(c, extract(partner_rows(1, 2)), hostile)
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    c.post("/aanleveren/bevestigen", data={"csrf": session_csrf(c), "token": form_token(page.text)})
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert files == ["inbox/2026H1/leveringen/zorg-a.parquet", "portal-data/portal.sqlite"]


def test_forms_need_the_csrf_token_and_the_same_origin(portal):
    c = client(portal)
    login_page = c.get("/inloggen")
    assert (
        c.post("/inloggen", data={"naam": "zorg-a", "wachtwoord": PASSWORD, "csrf": "geraden"}).status_code
        == 403
    )
    c.cookies.clear()
    assert (
        c.post(
            "/inloggen", data={"naam": "zorg-a", "wachtwoord": PASSWORD, "csrf": login_csrf(login_page.text)}
        ).status_code
        == 403
    )  # no cookie
    log_in(c)
    data = extract(partner_rows(1, 2))
    assert upload(c, data, csrf="").status_code == 403
    assert upload(c, data, csrf="verkeerd").status_code == 403
    assert upload(c, data, headers={"origin": "https://kwaadwillend.example"}).status_code == 403
    assert upload(c, data, headers={"origin": "null"}).status_code == 403
    assert upload(c, data, headers={"sec-fetch-site": "cross-site"}).status_code == 403
    page = upload(c, data)
    token = form_token(page.text)
    assert c.post("/aanleveren/bevestigen", data={"token": token}).status_code == 403
    assert c.post("/uitloggen", data={"csrf": ""}).status_code == 403
    assert not portal.inbox_folder.exists()
    assert c.post("/aanleveren/bevestigen", data={"token": token, "csrf": session_csrf(c)}).status_code == 303


def test_brute_force_is_throttled_per_account_and_address(portal):
    attacker = client(portal, "10.6.6.6")
    for _ in range(5):
        assert log_in(attacker, wachtwoord="raden-raden-1").status_code == 401
    locked = log_in(attacker)  # even the right password is refused while locked
    assert locked.status_code == 429 and "Te veel mislukte pogingen" in locked.text
    assert (
        log_in(client(portal, "10.0.0.9")).status_code == 303
    )  # the partner itself, elsewhere, is not locked out
    portal.clock[0] += 16 * 60
    assert log_in(attacker).status_code == 303


def test_password_spraying_from_one_address_is_throttled(portal):
    for i in range(3):
        portal.store.add_user(f"extra-{i}", "partner", PASSWORD)
    sprayer = client(portal, "10.6.6.7")
    names = ["zorg-a", "zorg-b", "analist", "extra-0", "extra-1", "extra-2"] + [
        f"niemand-{i}" for i in range(30)
    ]
    statuses = [log_in(sprayer, naam, "zomer2026!zomer").status_code for naam in names[:30]]
    assert statuses.count(401) == 30
    assert log_in(sprayer, "extra-2").status_code == 429


def test_guessed_names_do_not_lock_out_a_partner_behind_the_same_address(portal):
    shared = client(portal, "10.6.6.8")  # one office address (NAT) for the guesser and the partner
    for i in range(35):
        assert log_in(shared, f"verzonnen-{i}", "zomer2026!zomer").status_code == 401, i
    assert log_in(shared, "verzonnen-3", "nog-een-gok-123").status_code == 429  # a guessed name waits
    assert log_in(shared, "zorg-a").status_code == 303  # the partner's own name did not fail here


def test_waits_grow_with_every_failure(portal):
    from portal.security import LoginThrottle

    clock = [0.0]
    throttle = LoginThrottle(clock=lambda: clock[0])
    waits = []
    for _ in range(9):
        clock[0] += throttle.seconds_locked("zorg-a", "10.6.6.9")
        throttle.failed("zorg-a", "10.6.6.9")
        waits.append(throttle.seconds_locked("zorg-a", "10.6.6.9"))
    assert waits == [0, 0, 0, 0, 60, 120, 240, 480, 900]
    assert throttle.seconds_locked("zorg-a", "10.0.0.9") == 0  # the account elsewhere: not yet
    for n in range(20):  # one guesser with many addresses
        throttle.failed("zorg-b", f"10.7.0.{n}")
    assert throttle.seconds_locked("zorg-b", "10.0.0.9") == 30


def test_client_address_comes_from_a_trusted_proxy_only(tmp_path, test_key):
    from portal.security import client_address

    proxy = frozenset({"10.0.0.5"})
    assert client_address("10.0.0.5", "203.0.113.7", proxy) == "203.0.113.7"
    assert client_address("10.0.0.5", "198.51.100.1, 203.0.113.7", proxy) == "203.0.113.7"
    assert client_address("10.0.0.5", "203.0.113.7, 10.0.0.5", proxy) == "203.0.113.7"
    assert client_address("10.0.0.5", "geen-adres", proxy) == "10.0.0.5"
    assert client_address("10.6.6.6", "203.0.113.7", proxy) == "10.6.6.6"
    assert client_address("10.6.6.6", "203.0.113.7", frozenset()) == "10.6.6.6"

    behind = make_portal(tmp_path, test_key, trusted_proxies=proxy)
    via_proxy = client(behind, "10.0.0.5")

    def attempt(forwarded: str, wachtwoord: str) -> int:
        token = login_csrf(via_proxy.get("/inloggen").text)
        form = {"naam": "zorg-a", "wachtwoord": wachtwoord, "csrf": token}
        return via_proxy.post("/inloggen", data=form, headers={"x-forwarded-for": forwarded}).status_code

    for _ in range(5):
        assert attempt("203.0.113.7", "raden-raden-1") == 401
    assert attempt("203.0.113.7", PASSWORD) == 429  # that client waits
    assert attempt("198.51.100.1", PASSWORD) == 303  # another client behind the same proxy does not

    direct = client(make_portal(tmp_path / "zonder", test_key), "10.6.6.6")
    for n in range(5):  # without a trusted proxy a made-up header changes nothing
        token = login_csrf(direct.get("/inloggen").text)
        form = {"naam": "zorg-a", "wachtwoord": "raden-raden-1", "csrf": token}
        assert (
            direct.post("/inloggen", data=form, headers={"x-forwarded-for": f"192.0.2.{n}"}).status_code
            == 401
        )
    assert log_in(direct).status_code == 429


def test_sessions_end_at_logout_and_when_idle(portal):
    c = client(portal)
    log_in(c)
    assert c.get("/aanleveren").status_code == 200
    c.post("/uitloggen", data={"csrf": session_csrf(c)})
    assert c.get("/aanleveren").status_code == 303
    log_in(c)
    portal.clock[0] += 31 * 60
    assert c.get("/aanleveren").status_code == 303


def test_security_headers(portal):
    c = client(portal)
    headers = c.get("/inloggen").headers
    assert "script-src" not in headers["content-security-policy"]  # no script runs on the portal's pages
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"
    log_in(c)
    offline = c.get("/offline")
    assert "connect-src 'none'" in offline.headers["content-security-policy"]
    assert "connect-src 'none'" in html.unescape(
        offline.text
    )  # also in the page itself, for the downloaded copy


def test_raw_upload_never_touches_disk(portal):
    """A 1.5 MB extract (Starlette would spool it to a temporary file) is read and checked in memory."""
    c = client(portal)
    log_in(c)
    marker = "Zeldzame-Achternaam-Q7"
    rows = [
        (f"{1000 + n % 8000}AB", str(n % 400 + 1), "", "", "01", "01-02-2026", "", marker)
        for n in range(40_000)
    ]
    data = extract(rows)
    assert len(data) > 1024 * 1024
    upload(c, extract(partner_rows(9, 2)))  # build the row-rule suites outside the observed window
    before = set(os.listdir(tempfile.gettempdir()))
    csrf = session_csrf(c)
    RECORDER.opened.clear()
    RECORDER.active = True
    try:
        page = upload(c, data, csrf=csrf)
    finally:
        RECORDER.active = False
    assert page.status_code == 200
    assert RECORDER.opened == []
    RECORDER.active = True
    try:
        c.post("/aanleveren/bevestigen", data={"csrf": csrf, "token": form_token(page.text)})
    finally:
        RECORDER.active = False
    written = {os.path.basename(p) for p in RECORDER.opened}
    assert written and all(n.startswith(".zorg-a.parquet.") for n in written), written
    for name in set(os.listdir(tempfile.gettempdir())) - before:  # others may create temp files meanwhile
        path = os.path.join(tempfile.gettempdir(), name)
        if os.path.isfile(path) and os.access(path, os.R_OK):
            with open(path, "rb") as handle:
                assert marker.encode() not in handle.read()
    for path in portal.settings.data_dir.parent.rglob("*"):
        if path.is_file():
            assert marker.encode() not in path.read_bytes()
            assert b"1000AB" not in path.read_bytes()


def test_several_301_messages_are_delivered_in_one_upload(portal):
    from test_portal_intake import MESSAGES
    from testdata_paths import jw301_without_aanduiding

    c = client(portal)
    log_in(c)
    files = [
        ("bestand", ("WMO301.xml", (MESSAGES / "WMO301.xml").read_bytes(), "text/xml")),
        # The published JW301's address is qualified TO (rejected): without it, its rows go through.
        ("bestand", ("JW301.xml", jw301_without_aanduiding(), "text/xml")),
    ]
    page = c.post("/aanleveren/controleren", data={"csrf": session_csrf(c)}, files=files)
    assert page.status_code == 200 and "2 bestanden" in page.text
    assert (
        "<th>bericht</th>" in page.text and "WMO301.xml" in page.text
    )  # the WMO message has a foreign address
    c.post("/aanleveren/bevestigen", data={"csrf": session_csrf(c), "token": form_token(page.text)})
    receipt = portal.store.receipts(partner="zorg-a")[0]
    assert receipt.bestanden == 2 and receipt.soort == "301-xml"
    assert read_metadata(portal.inbox_folder / "zorg-a.parquet")["aangeleverd_via"] == "portal:301-xml"


def test_rejects_download_lists_every_error_in_line_order(portal):
    import csv
    import io

    c = client(portal)
    log_in(c)
    rows = [(f"{1000 + n}AB", "1", "", "", "99", "01-02-2026", "", "x") for n in range(700)]
    page = upload(c, extract(rows + partner_rows(1, 1)))
    assert page.status_code == 200
    download = c.get(f"/aanleveren/afgekeurd/{form_token(page.text)}")
    listed = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig")), delimiter=";"))
    assert [int(r["regel"]) for r in listed] == list(range(2, 702))
    assert {r["code"] for r in listed} == {"voorziening_onbekend"}


def test_unknown_pages_get_a_dutch_page(portal):
    response = client(portal).get("/../../etc/passwd")
    assert response.status_code == 404 and "Niet gevonden" in response.text
    assert client(portal).get("/static/../store.py").status_code == 404


def test_removing_an_account_ends_its_sessions(portal):
    c = client(portal)
    log_in(c)
    assert c.get("/aanleveren").status_code == 200
    portal.store.remove_user("zorg-a")
    assert c.get("/aanleveren").status_code == 303
    assert upload(c, extract(partner_rows(1, 2)), csrf="x").status_code == 401


def test_stuffed_forms_are_refused(portal):
    c = client(portal)
    token = login_csrf(c.get("/inloggen").text)
    body = "&".join(f"veld{i}=x" for i in range(50)) + f"&csrf={token}"
    response = c.post(
        "/inloggen", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 400
    response = c.post(
        "/inloggen",
        content="a=" + "x" * 10_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413


def test_an_internal_error_shows_no_row_value(portal, monkeypatch, caplog):
    import portal.routes.partner as app_module

    def broken(*args, **kwargs):
        raise ValueError("waarde 'Zeldzame-Achternaam-Q7' kon niet")

    monkeypatch.setattr(app_module, "check_upload", broken)
    c = client(portal)
    log_in(c)
    response = upload(c, extract(partner_rows(1, 2)))
    assert response.status_code == 500 and "niets opgeslagen" in response.text
    assert "Zeldzame" not in response.text and "Zeldzame" not in caplog.text
    assert "ValueError" in caplog.text
