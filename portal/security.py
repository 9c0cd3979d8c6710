"""Sessions, CSRF tokens and login throttling of the portal, all held in server memory.

A session cookie carries only a random id; the server keeps the user, the CSRF token and the
checked-but-unconfirmed delivery. Restarting the portal logs everybody out, which is fine for a
service that partners use twice a year.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from portal.store import User

SESSION_IDLE_SECONDS = 30 * 60
SESSION_MAX_SECONDS = 8 * 60 * 60


def new_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_equal(given: str | None, expected: str | None) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


@dataclass
class Session:
    id: str
    user: User
    csrf: str
    created: float
    last_seen: float
    pending: dict[str, Any] = field(default_factory=dict)
    """Checked uploads awaiting confirmation, by token: pseudonymised data only."""


class SessionStore:
    """Server-side sessions with idle and absolute expiry."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        idle: float = SESSION_IDLE_SECONDS,
        maximum: float = SESSION_MAX_SECONDS,
    ) -> None:
        self._clock = clock
        self._idle = idle
        self._max = maximum
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, user: User) -> Session:
        now = self._clock()
        session = Session(new_token(), user, new_token(), now, now)
        with self._lock:
            self._expire(now)
            self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        now = self._clock()
        with self._lock:
            self._expire(now)  # also drops the checked uploads that expired sessions still held
            session = self._sessions.get(session_id)
            if session is None:
                return None
            session.last_seen = now
            return session

    def end(self, session_id: str | None) -> None:
        with self._lock:
            self._sessions.pop(session_id or "", None)

    def end_user(self, naam: str) -> None:
        with self._lock:
            for sid in [sid for sid, s in self._sessions.items() if s.user.naam == naam]:
                del self._sessions[sid]

    def _expire(self, now: float) -> None:
        stale = [
            sid
            for sid, s in self._sessions.items()
            if now - s.last_seen > self._idle or now - s.created > self._max
        ]
        for sid in stale:
            del self._sessions[sid]


@dataclass(frozen=True)
class ThrottleRule:
    failures: int
    window: float
    lockout: float


class LoginThrottle:
    """Counts failed logins per account+address and per address; locks out after too many.

    Per account+address: 5 failures in 15 minutes lock that pair for 15 minutes. Per address:
    30 failures in 15 minutes (password spraying over many accounts) lock the address.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        per_account: ThrottleRule = ThrottleRule(5, 15 * 60, 15 * 60),
        per_address: ThrottleRule = ThrottleRule(30, 15 * 60, 15 * 60),
    ) -> None:
        self._clock = clock
        self._rules = {"account": per_account, "address": per_address}
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._locked_until: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _keys(account: str, address: str) -> list[tuple[str, str]]:
        return [("account", f"{account.lower()}@{address}"), ("address", address)]

    def seconds_locked(self, account: str, address: str) -> float:
        """Seconds until this account+address may try again; 0 when allowed now."""
        now = self._clock()
        with self._lock:
            remaining = [self._locked_until.get(k, 0.0) - now for k in self._keys(account, address)]
        return max(0.0, *remaining)

    def failed(self, account: str, address: str) -> None:
        now = self._clock()
        with self._lock:
            for key in self._keys(account, address):
                rule = self._rules[key[0]]
                times = self._failures.setdefault(key, deque())
                times.append(now)
                while times and now - times[0] > rule.window:
                    times.popleft()
                if len(times) >= rule.failures:
                    self._locked_until[key] = now + rule.lockout
                    times.clear()

    def succeeded(self, account: str, address: str) -> None:
        with self._lock:
            key = self._keys(account, address)[0]
            self._failures.pop(key, None)
