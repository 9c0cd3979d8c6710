"""The portal and the in-browser pseudonymiser in real Chromium (Playwright driving Debian's chromium).

Screenshots go to $PORTAL_SCREENSHOTS when set (to look at them), else to the test's temp folder.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_portal_support import PASSWORD, PERIODE, LiveServer, extract, make_portal
from testdata_paths import VECTORS

from portal.intake import check_upload
from schemas.formats import read_metadata

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--lang=nl-NL",
]


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed"),
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("PORTAL_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _log_in(page, url: str, naam: str = "zorg-a") -> None:
    page.goto(url + "/")
    page.fill("#naam", naam)
    page.fill("#wachtwoord", PASSWORD)
    page.click("button:has-text('Inloggen')")
    page.wait_for_url(url + "/aanleveren")


def _table(page, selector: str) -> list[list[str]]:
    return page.eval_on_selector_all(
        f"{selector} tr", "rows => rows.map(r => Array.from(r.cells, c => c.innerText.trim()))"
    )[1:]


def test_partner_uploads_reads_errors_fixes_and_gets_receipt(browser, tmp_path, test_key, shots):
    portal = make_portal(tmp_path, test_key)
    faulty = tmp_path / "levering-jeugd.csv"
    faulty.write_bytes(
        extract(
            [
                ("1234 ab", "12a", "", "", "45", "31-01-2026", "", "Jansen"),
                ("2500SA", "1", "", "", "45", "01-02-2026", "", "De Vries"),
                ("1234AB", "abc", "", "", "45", "01-02-2026", "", "Bakker"),
                ("1234AB", "14", "", "", "99", "01-02-2026", "", "Visser"),
                ("1234AB", "16", "", "", "01", "31-02-2026", "", "Smit"),
            ],
            encoding="cp1252",
        )
    )
    with LiveServer(portal.app) as server:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(server.url + "/")
        page.screenshot(path=shots / "1-inloggen.png", full_page=True)
        _log_in(page, server.url)
        page.screenshot(path=shots / "2-aanleveren.png", full_page=True)

        page.set_input_files("#bestand", str(faulty))
        page.click("button:has-text('Controleer mijn bestand')")
        page.wait_for_url(server.url + "/aanleveren/controleren")
        page.screenshot(path=shots / "3-controle-met-fouten.png", full_page=True)
        assert page.inner_text("#gelezen") == "5"
        assert page.inner_text("#afgekeurd") == "4"
        errors = {(row[0], row[1]): row[3] for row in _table(page, "#fouten")}
        assert set(errors) == {
            ("3", "postcode"),
            ("4", "huisnummer"),
            ("5", "voorziening"),
            ("6", "begindatum"),
        }
        assert "SA, SD en SS" in errors[("3", "postcode")]
        assert "'99' staat niet in de codelijst" in errors[("5", "voorziening")]
        assert "'31-02-2026' is geen geldige datum" in errors[("6", "begindatum")]
        assert "naam" in page.inner_text("body")  # the ignored column is named, its values are not kept

        page.click("button:has-text('Annuleren')")
        page.wait_for_url(server.url + "/aanleveren")
        fixed = tmp_path / "levering-jeugd-verbeterd.csv"
        fixed.write_bytes(
            extract(
                [
                    ("1234 ab", "12a", "", "", "45", "31-01-2026", "", "Jansen"),
                    ("2500SB", "1", "", "", "45", "01-02-2026", "", "De Vries"),
                    ("1234AB", "13", "", "", "45", "01-02-2026", "", "Bakker"),
                    ("1234AB", "14", "", "", "PW01", "01-02-2026", "", "Visser"),
                    ("1234AB", "16", "", "", "01", "28-02-2026", "", "Smit"),
                ],
                encoding="cp1252",
            )
        )
        page.set_input_files("#bestand", str(fixed))
        page.click("button:has-text('Controleer mijn bestand')")
        page.wait_for_selector("#alles-goed")
        page.screenshot(path=shots / "4-controle-goed.png", full_page=True)
        page.click("#bevestigen")
        page.wait_for_selector("#ontvangen")
        page.screenshot(path=shots / "5-ontvangstbewijs.png", full_page=True)
        assert page.inner_text("#bewijs-sha256") == hashlib.sha256(fixed.read_bytes()).hexdigest()
        assert page.inner_text("#bewijs-gelezen") == "5"
        assert page.inner_text("#bewijs-opgeslagen") == "5"
        page.close()

        analyst = browser.new_page(viewport={"width": 1200, "height": 700})
        _log_in_analyst(analyst, server.url)
        analyst.screenshot(path=shots / "6-overzicht-analist.png", full_page=True)
        rows = {row[0].split(" (")[0]: row for row in _table(analyst, "#leveringen")}
        assert rows["Organisatie zorg-a"][3] == "5" and rows["Organisatie zorg-a"][7] == "in inbox"
        assert rows["Organisatie zorg-b"][1] == "nog niet aangeleverd"
        analyst.close()

    stored = portal.inbox_folder / "zorg-a.parquet"
    assert read_metadata(stored)["partner"] == "zorg-a"
    assert pq.read_table(stored).num_rows == 5


def _log_in_analyst(page, url: str) -> None:
    page.goto(url + "/inloggen")
    page.fill("#naam", "analist")
    page.fill("#wachtwoord", PASSWORD)
    page.click("button:has-text('Inloggen')")
    page.wait_for_url(url + "/overzicht")


def _vector_rows() -> list[dict[str, str]]:
    with (VECTORS / "pseudoniemen-v1.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def test_page_reproduces_every_test_vector_in_chromium(browser, tmp_path, test_key):
    portal = make_portal(tmp_path, test_key)
    vectors = _vector_rows()
    key_document = (VECTORS / "testsleutel.json").read_text(encoding="utf-8")
    with LiveServer(portal.app) as server:
        page = browser.new_page()
        _log_in(page, server.url)
        page.goto(server.url + "/offline")
        result = page.evaluate(
            """async ([rows, keyDocument]) => {
                const key = await window.factlab.loadKey(keyDocument);
                const out = [];
                for (const r of rows) {
                    const a = window.factlab.canonicalise(r.postcode, r.huisnummer, r.huisletter,
                                                          r.huisnummertoevoeging);
                    const p = a.canoniek
                        ? await window.factlab.pseudonyms(key.cryptoKey, a.canoniek, a.pand) : null;
                    out.push({canoniek: a.canoniek, adres: p && p[0], pand: p && p[1]});
                }
                return {keyId: key.keyId, isSecure: window.isSecureContext, out};
            }""",
            [vectors, key_document],
        )
        page.close()
    assert result["isSecure"] is True
    assert result["keyId"] == test_key.key_id
    assert len(result["out"]) == len(vectors)
    for vector, got in zip(vectors, result["out"], strict=True):
        if vector["canoniek"] == "ONGELDIG":
            assert got["canoniek"] is None, vector
        else:
            assert got == {
                "canoniek": vector["canoniek"],
                "adres": vector["adres_pseudoniem"],
                "pand": vector["pand_pseudoniem"],
            }, vector


def _vector_extract(path: Path) -> None:
    """The vectors as a partner CSV (with a name column that must never travel)."""
    rows = [
        (
            v["postcode"],
            v["huisnummer"],
            v["huisletter"],
            v["huisnummertoevoeging"],
            "01",
            f"{(i % 27) + 1}-1-2026",
            "",
            f"Cliënt {i}",
        )
        for i, v in enumerate(_vector_rows())
    ]
    path.write_bytes(extract(rows, encoding="cp1252"))


def test_downloaded_page_works_offline_and_its_upload_equals_server_pseudonymisation(
    browser, tmp_path, test_key, shots
):
    portal = make_portal(tmp_path, test_key)
    raw = tmp_path / "partner" / "wmo-extract.csv"
    raw.parent.mkdir()
    _vector_extract(raw)
    key_file = tmp_path / "partner" / "sleutel.json"
    shutil.copyfile(VECTORS / "testsleutel.json", key_file)
    vectors = _vector_rows()
    with LiveServer(portal.app) as server:
        page = browser.new_page(accept_downloads=True)
        _log_in(page, server.url)
        page.goto(server.url + "/offline")
        with page.expect_download() as download:
            page.click("a[href='/offline/download']")
        offline_copy = tmp_path / "partner" / "factlab-pseudonimiseren.html"
        download.value.save_as(offline_copy)

        # Offline: every request from the page is recorded and refused.
        offline = browser.new_page(accept_downloads=True, viewport={"width": 1200, "height": 900})
        requests: list[str] = []
        offline.on("request", lambda request: requests.append(request.url))
        offline.route("http*://**/*", lambda route: route.abort())
        offline.goto(offline_copy.as_uri())
        offline.set_input_files("#sleutel", str(key_file))
        offline.wait_for_selector("#sleutel-status.goed")
        offline.set_input_files("#bestand", str(raw))
        offline.wait_for_selector("#klaar[data-klaar='ja']", state="attached")
        offline.screenshot(path=shots / "7-offline-pagina.png", full_page=True)
        invalid = sum(1 for v in vectors if v["canoniek"] == "ONGELDIG")
        assert offline.inner_text("#aantal-gelezen") == str(len(vectors))
        assert offline.inner_text("#aantal-afgekeurd") == str(invalid)
        assert offline.is_hidden("#aanleveren")  # the offline copy cannot upload by itself
        with offline.expect_download() as saved:
            offline.click("#bewaren")
        pseudonymised = tmp_path / "partner" / "wmo-gepseudonimiseerd.json"
        saved.value.save_as(pseudonymised)
        offline.close()
        assert [u for u in requests if not u.startswith(("file:", "blob:", "data:"))] == []

        upload = json.loads(pseudonymised.read_text(encoding="utf-8"))
        text = pseudonymised.read_text(encoding="utf-8")
        assert "Cliënt" not in text and "1234AB" not in text and "1234 ab" not in text
        expected = {i + 2: v for i, v in enumerate(vectors) if v["canoniek"] != "ONGELDIG"}
        assert {row[0]: (row[1], row[2]) for row in upload["rijen"]} == {
            line: (v["adres_pseudoniem"], v["pand_pseudoniem"]) for line, v in expected.items()
        }
        assert upload["key_id"] == test_key.key_id

        page.goto(server.url + "/aanleveren")
        page.set_input_files("#bestand", str(pseudonymised))
        page.click("button:has-text('Controleer mijn bestand')")
        page.wait_for_selector("#bevestigen")
        page.screenshot(path=shots / "8-controle-browserbestand.png", full_page=True)
        page.click("#bevestigen")
        page.wait_for_selector("#ontvangen")
        page.close()

    stored = pq.read_table(portal.inbox_folder / "zorg-a.parquet")
    on_server = check_upload([(raw.name, raw.read_bytes())], test_key, portal.settings.codes)
    # The in-browser page makes no alternative reading (docs/contract.md §3 step 8) yet: its column is empty;
    # everything else equals pseudonymisation on the server.
    assert stored.column("adres_pseudoniem_alt").null_count == stored.num_rows
    same = [c for c in stored.column_names if c != "adres_pseudoniem_alt"]
    assert stored.select(same).to_pylist() == on_server.table.select(same).to_pylist()
    assert read_metadata(portal.inbox_folder / "zorg-a.parquet")["rows_rejected"] == str(
        on_server.rows_rejected
    )


class RecordingApp:
    """Wraps the portal and keeps the body of every POST that reaches the server."""

    def __init__(self, app) -> None:
        self.app = app
        self.bodies: list[bytes] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def recording_receive():
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        await self.app(scope, recording_receive, send)
        self.bodies.append(b"".join(chunks))


def test_served_page_delivers_only_the_pseudonymised_file(browser, tmp_path, test_key):
    portal = make_portal(tmp_path, test_key)
    raw = tmp_path / "wmo-extract.csv"
    _vector_extract(raw)
    recorder = RecordingApp(portal.app)
    with LiveServer(recorder) as server:
        page = browser.new_page()
        _log_in(page, server.url)
        page.goto(server.url + "/offline")
        recorder.bodies.clear()
        page.set_input_files("#sleutel", str(VECTORS / "testsleutel.json"))
        page.wait_for_selector("#sleutel-status.goed")
        page.set_input_files("#bestand", str(raw))
        page.wait_for_selector("#klaar[data-klaar='ja']", state="attached")
        page.click("#aanleveren")
        page.wait_for_selector("#bevestigen")
        assert "in de browser gepseudonimiseerd" in page.inner_text("main")
        page.click("#bevestigen")
        page.wait_for_selector("#ontvangen")
        page.close()
    assert len(recorder.bodies) == 2  # the upload and the confirmation
    assert b"factlab-browserlevering" in recorder.bodies[0]
    for body in recorder.bodies:
        assert b"1234AB" not in body and b"1234 ab" not in body and "Cliënt".encode("cp1252") not in body
    assert read_metadata(portal.inbox_folder / "zorg-a.parquet")["aangeleverd_via"] == "portal:browser"
    assert PERIODE in str(portal.inbox_folder)


def test_page_refuses_a_key_of_another_custodian(browser, tmp_path, test_key):
    from linkage.keys import new_key, write_key

    portal = make_portal(tmp_path, test_key)
    other = tmp_path / "andere-sleutel.json"
    write_key(new_key(), other)
    with LiveServer(portal.app) as server:
        page = browser.new_page()
        _log_in(page, server.url)
        page.goto(server.url + "/offline")
        page.set_input_files("#sleutel", str(other))
        page.wait_for_selector("#sleutel-status.fout")
        assert "hoort niet bij deze aanlevering" in page.inner_text("#sleutel-status")
        page.close()


TRICKY_EXTRACTS = {
    "windows-1252.csv": (
        "postcode;huisnummer;huisletter;toevoeging;voorziening;begindatum;naam\r\n"
        "1234 ab;12;a;;1;31-01-2026;Renée\r\n1234AB;12A;;;01;2026-01-31;Renée\r\n"
        "1234AB;12-2;;;45;1-2-2026;Zoë\r\n"
    ).encode("cp1252"),
    "utf8-bom-komma.csv": (
        "\ufeffPostcode, Huisnummer ,Voorziening,Begindatum,Einddatum,Opmerking\n"
        '1011 PN,1,PW01,01-01-2026,,"woont, sinds kort\nbij zus"\n'
        "1011PN,99999,PW02,2026-03-01,2026-02-01,x\n"
        '2500SA,1,PW01,01-01-2026,,"""citaat"""\n'
    ).encode("utf-8"),
    "excel-sep-regel.csv": (
        b"sep=,\r\n\r\n,,\r\npostcode,huisnummer,voorziening,begindatum\r\n"
        b"9999XX,10 a-3,15,31-12-2025\r\n\r\n9999 xx,10A3,15,31-12-2025\r\n"
        b"9999XX,0,15,31-12-2025\r\n"
    ),
    "te-veel-velden.csv": (
        b"postcode;huisnummer;voorziening;begindatum\r\n1234AB;1;01;01-01-2026;extra\r\n"
        b"1234AB;2;01;01-01-2026;\r\n1234AB;3;01;01-01-2026\r\n"
    ),
    "oude-mac.csv": (
        b"postcode;huisnummer;huisnummertoevoeging;voorziening;begindatum\r"
        b"1234AB;12;bis;40;01-01-2026\r1234AB;12 bis;;40;01-01-2026\r1234AB;12;ABCDE;40;01-01-2026\r"
    ),
}


def test_page_reads_csv_files_exactly_as_the_python_reader(browser, tmp_path, test_key):
    """Same rows read, rejected and pseudonymised for quirky real-world CSV files, in JS and in Python."""
    portal = make_portal(tmp_path, test_key)
    key_document = (VECTORS / "testsleutel.json").read_text(encoding="utf-8")
    with LiveServer(portal.app) as server:
        page = browser.new_page()
        _log_in(page, server.url)
        page.goto(server.url + "/offline")
        outcomes = page.evaluate(
            """async ([files, keyDocument]) => {
                const key = await window.factlab.loadKey(keyDocument);
                const out = {};
                for (const [name, bytes] of Object.entries(files)) {
                    try {
                        const result = await window.factlab.processExtract(Uint8Array.from(bytes), name, key);
                        out[name] = result.upload;
                    } catch (e) {
                        out[name] = {fout: e.message};
                    }
                }
                return out;
            }""",
            [{name: list(data) for name, data in TRICKY_EXTRACTS.items()}, key_document],
        )
        page.close()
    codes = portal.settings.codes
    for name, raw in TRICKY_EXTRACTS.items():
        assert "fout" not in outcomes[name], (name, outcomes[name])
        in_browser = check_upload([(name + ".json", json.dumps(outcomes[name]).encode())], test_key, codes)
        on_server = check_upload([(name, raw)], test_key, codes)
        assert in_browser.table.to_pylist() == on_server.table.to_pylist(), name
        assert (in_browser.rows_read, in_browser.rows_rejected, in_browser.rows_duplicate) == (
            on_server.rows_read,
            on_server.rows_rejected,
            on_server.rows_duplicate,
        ), name
        # Lines the server rejects for their address or shape never leave the browser.
        address_lines = {
            e.regel
            for e in on_server.examples
            if e.kolom in ("postcode", "huisnummer", "huisletter", "huisnummertoevoeging", "(regel)")
            and e.code != "dubbele_regel"
        }
        assert not address_lines & {row[0] for row in outcomes[name]["rijen"]}, name
    assert sum(len(outcomes[n]["rijen"]) for n in TRICKY_EXTRACTS) > 10


ODD_ADDRESSES = [
    ("1234ab", "12ß", "", ""),
    ("1234AB", "12ﬁ", "", ""),
    ("1234AB", "12 ı", "", ""),
    ("1234AB", "12", "ſ", ""),
    ("1234\u00a0ab", "\u200312", "", ""),
    ("1234AB", "12\u2007A", "", ""),
    ("1234AB", "12\x1cA", "", ""),
    ("1234AB", "12\ufeffA", "", ""),
    ("\x1f1234AB\x85", "7", "", "\u3000b-1"),
    ("1234AB", "0012 a 3", "", ""),
    ("1234AB", "12AB", "", ""),
    ("1234AB", "12 AB", "", ""),
    ("1234AB", "12-A-BIS", "", ""),
    ("1234AB", "12", "", "é1"),
    ("1234AB", "١٢", "", ""),
    ("１２３４AB", "12", "", ""),
    ("1234AB", "12.3", "", ""),
    ("1234AB", "12/3b", "", ""),
]


def test_page_canonicalises_odd_characters_as_python(browser, tmp_path, test_key):
    from schemas.canonical import canonical_address

    portal = make_portal(tmp_path, test_key)
    with LiveServer(portal.app) as server:
        page = browser.new_page()
        _log_in(page, server.url)
        page.goto(server.url + "/offline")
        in_browser = page.evaluate(
            "rows => rows.map(r => window.factlab.canonicalise(r[0], r[1], r[2], r[3]).canoniek)",
            ODD_ADDRESSES,
        )
        page.close()
    for address, got in zip(ODD_ADDRESSES, in_browser, strict=True):
        expected = canonical_address(*address)
        assert got == (expected.canonical if expected else None), address
