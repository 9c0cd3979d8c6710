"""Accounts and delivery receipts of the portal, in one SQLite file in the portal's data folder.

Passwords are stored only as argon2id hashes. Receipts hold counts and SHA-256 digests, never a
row value, so the analyst may see them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from schemas.names import InvalidNameError
from schemas.names import check_name as check_account_name

ROLES = ("partner", "analist")
MIN_PASSWORD_LENGTH = 12
DATABASE_NAME = "portal.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS gebruikers (
    naam TEXT PRIMARY KEY,
    rol TEXT NOT NULL,
    weergavenaam TEXT NOT NULL,
    wachtwoord_hash TEXT NOT NULL,
    aangemaakt TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE TABLE IF NOT EXISTS ontvangstbewijzen (
    id TEXT PRIMARY KEY,
    partner TEXT NOT NULL,
    periode TEXT NOT NULL,
    ontvangen TEXT NOT NULL,
    inhoud TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ontvangstbewijzen_partner ON ontvangstbewijzen (partner, periode);
"""


class StoreError(Exception):
    """A portal account or store problem (Dutch message, no secrets)."""


@dataclass(frozen=True)
class User:
    naam: str
    rol: str
    weergavenaam: str


@dataclass(frozen=True)
class Receipt:
    """What a partner gets back for a delivery: digests and counts, no row values."""

    id: str
    partner: str
    periode: str
    ontvangen: str
    soort: str
    bestand_sha256: str
    bestand_bytes: int
    levering_sha256: str
    key_id: str
    regels_gelezen: int
    regels_afgekeurd: int
    regels_dubbel: int
    records_opgeslagen: int
    afgekeurd_per_regel: dict[str, int]
    bestanden: int = 1

    def as_dict(self) -> dict:
        return asdict(self)


def check_name(naam: str) -> str:
    """The one name rule (schemas/names.py), as a StoreError."""
    try:
        return check_account_name(naam, "accountnaam")
    except InvalidNameError as exc:
        raise StoreError(str(exc)) from None


def default_hasher() -> PasswordHasher:
    """argon2id with the library's defaults (RFC 9106 low-memory profile)."""
    return PasswordHasher()


class PortalStore:
    """Thread-safe access to the portal database; one short connection per call."""

    def __init__(self, data_dir: Path, hasher: PasswordHasher | None = None) -> None:
        self.data_dir = data_dir
        self.path = data_dir / DATABASE_NAME
        self.hasher = hasher or default_hasher()
        self._lock = threading.Lock()
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        with closing(self._connect()) as con:
            con.executescript(SCHEMA)
        self.path.chmod(0o600)
        # A hash to verify against when the account does not exist, so timing does not tell.
        self._dummy_hash = self.hasher.hash("factlab-geen-account")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)

    # accounts

    def add_user(self, naam: str, rol: str, wachtwoord: str, weergavenaam: str = "") -> User:
        check_name(naam)
        if rol not in ROLES:
            raise StoreError(f"rol '{rol}' onbekend; kies partner of analist")
        if len(wachtwoord) < MIN_PASSWORD_LENGTH:
            raise StoreError(f"het wachtwoord moet minstens {MIN_PASSWORD_LENGTH} tekens lang zijn")
        user = User(naam, rol, weergavenaam.strip() or naam)
        digest = self.hasher.hash(wachtwoord)
        with self._lock, closing(self._connect()) as con:
            try:
                con.execute(
                    "INSERT INTO gebruikers (naam, rol, weergavenaam, wachtwoord_hash) VALUES (?, ?, ?, ?)",
                    (user.naam, user.rol, user.weergavenaam, digest),
                )
            except sqlite3.IntegrityError:
                raise StoreError(f"account '{naam}' bestaat al") from None
        return user

    def set_password(self, naam: str, wachtwoord: str) -> None:
        if len(wachtwoord) < MIN_PASSWORD_LENGTH:
            raise StoreError(f"het wachtwoord moet minstens {MIN_PASSWORD_LENGTH} tekens lang zijn")
        digest = self.hasher.hash(wachtwoord)
        with self._lock, closing(self._connect()) as con:
            changed = con.execute(
                "UPDATE gebruikers SET wachtwoord_hash = ? WHERE naam = ?", (digest, naam)
            ).rowcount
        if not changed:
            raise StoreError(f"account '{naam}' bestaat niet")

    def remove_user(self, naam: str) -> None:
        with self._lock, closing(self._connect()) as con:
            removed = con.execute("DELETE FROM gebruikers WHERE naam = ?", (naam,)).rowcount
        if not removed:
            raise StoreError(f"account '{naam}' bestaat niet")

    def users(self) -> list[User]:
        with closing(self._connect()) as con:
            rows = con.execute("SELECT naam, rol, weergavenaam FROM gebruikers ORDER BY rol, naam").fetchall()
        return [User(*row) for row in rows]

    def get_user(self, naam: str) -> User | None:
        with closing(self._connect()) as con:
            row = con.execute(
                "SELECT naam, rol, weergavenaam FROM gebruikers WHERE naam = ?", (naam,)
            ).fetchone()
        return User(*row) if row else None

    def authenticate(self, naam: str, wachtwoord: str) -> User | None:
        """The user when the password is right; None otherwise (also for unknown accounts)."""
        with closing(self._connect()) as con:
            row = con.execute(
                "SELECT naam, rol, weergavenaam, wachtwoord_hash FROM gebruikers WHERE naam = ?", (naam,)
            ).fetchone()
        digest = row[3] if row else self._dummy_hash
        try:
            self.hasher.verify(digest, wachtwoord)
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if self.hasher.check_needs_rehash(digest):
            self.set_password(naam, wachtwoord)
        return User(row[0], row[1], row[2])

    # receipts

    def add_receipt(self, receipt: Receipt) -> None:
        with self._lock, closing(self._connect()) as con:
            con.execute(
                "INSERT INTO ontvangstbewijzen (id, partner, periode, ontvangen, inhoud) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    receipt.id,
                    receipt.partner,
                    receipt.periode,
                    receipt.ontvangen,
                    json.dumps(receipt.as_dict()),
                ),
            )

    def receipt(self, receipt_id: str) -> Receipt | None:
        with closing(self._connect()) as con:
            row = con.execute("SELECT inhoud FROM ontvangstbewijzen WHERE id = ?", (receipt_id,)).fetchone()
        return Receipt(**json.loads(row[0])) if row else None

    def receipts(self, partner: str | None = None, periode: str | None = None) -> list[Receipt]:
        """Receipts, newest first, optionally of one partner and/or one period."""
        query = (
            "SELECT inhoud FROM ontvangstbewijzen WHERE (? IS NULL OR partner = ?) "
            "AND (? IS NULL OR periode = ?) ORDER BY ontvangen DESC, id DESC"
        )
        with closing(self._connect()) as con:
            rows = con.execute(query, (partner, partner, periode, periode))
            return [Receipt(**json.loads(row[0])) for row in rows.fetchall()]

    def periods(self) -> list[str]:
        with closing(self._connect()) as con:
            rows = con.execute(
                "SELECT DISTINCT periode FROM ontvangstbewijzen ORDER BY periode DESC"
            ).fetchall()
        return [row[0] for row in rows]
