"""Helpers shared by the portal tests (no tests here): a portal on temporary folders, extracts, parsing."""

from __future__ import annotations

import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from argon2 import PasswordHasher

from linkage.keys import Key
from portal.app import PortalSettings, create_app
from portal.security import LoginThrottle, SessionStore
from portal.store import PortalStore
from schemas.codelist import load_code_list

PERIODE = "2026H1"
PASSWORD = "een-lang-wachtwoord-42"
# Cheap argon2 parameters keep the tests fast; the portal itself uses the library defaults.
TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
HEADER = "postcode;huisnummer;huisletter;toevoeging;voorziening;begindatum;einddatum;naam\r\n"


@dataclass
class Portal:
    app: object
    settings: PortalSettings
    store: PortalStore
    sessions: SessionStore
    throttle: LoginThrottle
    clock: list[float]

    @property
    def inbox_folder(self) -> Path:
        return self.settings.inbox / PERIODE / "leveringen"


def make_portal(
    tmp_path: Path,
    key: Key,
    partners: list[str] = ("zorg-a", "zorg-b"),
    max_upload_bytes: int = 2 * 1024 * 1024,
    analists: list[str] = ("analist",),
    **settings: object,
) -> Portal:
    clock = [1000.0]
    store = PortalStore(tmp_path / "portal-data", hasher=TEST_HASHER)
    for name in partners:
        store.add_user(name, "partner", PASSWORD, f"Organisatie {name}")
    for name in analists:
        store.add_user(name, "analist", PASSWORD)
    settings = PortalSettings(
        key=key,
        inbox=tmp_path / "inbox",
        periode=PERIODE,
        data_dir=tmp_path / "portal-data",
        codes=load_code_list(),
        gemeente="Voorbeeldstad",
        max_upload_bytes=max_upload_bytes,
        **settings,
    )
    sessions = SessionStore(clock=lambda: clock[0])
    throttle = LoginThrottle(clock=lambda: clock[0])
    app = create_app(settings, store=store, sessions=sessions, throttle=throttle)
    return Portal(app, settings, store, sessions, throttle, clock)


def extract(rows: list[tuple[str, ...]], encoding: str = "utf-8") -> bytes:
    """A partner CSV; a row: postcode, huisnummer, huisletter, toevoeging, voorziening, begin, eind, naam."""
    return (HEADER + "".join(";".join(r) + "\r\n" for r in rows)).encode(encoding)


def partner_rows(seed: int, count: int) -> list[tuple[str, ...]]:
    """Distinct valid rows for one partner: addresses no other seed uses."""
    return [
        (f"{1000 + seed}AB", str(n + 1), "", "", "01", "01-02-2026", "", f"Cliënt {seed}-{n}")
        for n in range(count)
    ]


def login_csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def form_token(html: str) -> str:
    return re.search(r'name="token" value="([^"]+)"', html).group(1)


class LiveServer:
    """The portal under uvicorn on a loopback port, in a background thread."""

    def __init__(self, app) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self._thread.start()
        for _ in range(500):
            if self._server.started:
                return self
            time.sleep(0.01)
        raise RuntimeError("portal did not start")

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()
