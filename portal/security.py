"""Sessions, CSRF tokens and login throttling of the portal, all held in server memory.

A session cookie carries only a random id; the server keeps the user, the CSRF token and the
checked-but-unconfirmed delivery. Restarting the portal logs everybody out, which is fine for a
service that partners use twice a year.
"""

from __future__ import annotations

import hmac
import ipaddress
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
    """From the `free`-th failure within `window` seconds on, a wait that doubles with every failure."""

    free: int
    first_wait: float
    longest_wait: float
    window: float

    def wait(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return min(self.longest_wait, self.first_wait * 2 ** (failures - self.free))


PAIR_RULE = ThrottleRule(5, 60, 15 * 60, 60 * 60)
ACCOUNT_RULE = ThrottleRule(20, 30, 15 * 60, 60 * 60)
ADDRESS_RULE = ThrottleRule(30, 60, 15 * 60, 15 * 60)
SWEEP_ABOVE = 10_000


class LoginThrottle:
    """Slows password guessing with growing waits; a wrong guess during a wait is never even checked.

    Per account: from one address (`pair`), 5 failures ask a wait of 1 minute, doubling with every
    further failure up to 15 minutes; over all addresses together (`account`, a guesser with many
    addresses), from 20 failures on 30 seconds, doubling up to 15 minutes. Per address, the second
    line against trying many accounts: from 30 failures on, that address may only try names that
    have not failed from it (one try each), so a colleague behind the same address (NAT, proxy) still
    logs in while the names already guessed wait. The address is the socket peer, or what a trusted
    proxy reports (`client_address`).
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        per_pair: ThrottleRule = PAIR_RULE,
        per_account: ThrottleRule = ACCOUNT_RULE,
        per_address: ThrottleRule = ADDRESS_RULE,
    ) -> None:
        self._clock = clock
        self._rules = {"pair": per_pair, "account": per_account, "address": per_address}
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _keys(account: str, address: str) -> dict[str, tuple[str, str]]:
        account = account.lower()
        return {
            "pair": ("pair", f"{account}@{address}"),
            "account": ("account", account),
            "address": ("address", address),
        }

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and now - times[0] > self._rules[key[0]].window:
            times.popleft()
        if not times:
            self._failures.pop(key, None)
        return times

    def _remaining(self, key: tuple[str, str], now: float) -> float:
        times = self._recent(key, now)
        return times[-1] + self._rules[key[0]].wait(len(times)) - now if times else 0.0

    def seconds_locked(self, account: str, address: str) -> float:
        """Seconds until this account may be tried from this address; 0 when allowed now."""
        now = self._clock()
        keys = self._keys(account, address)
        with self._lock:
            waits = [self._remaining(keys["pair"], now), self._remaining(keys["account"], now)]
            if self._recent(keys["pair"], now):  # the address line holds names that failed from it
                waits.append(self._remaining(keys["address"], now))
        return max(0.0, *waits)

    def failed(self, account: str, address: str) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) > SWEEP_ABOVE:  # made-up names leave keys nobody asks for again
                for key in list(self._failures):
                    self._recent(key, now)
            for key in self._keys(account, address).values():
                self._recent(key, now)
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, account: str, address: str) -> None:
        with self._lock:
            self._failures.pop(self._keys(account, address)["pair"], None)


def client_address(peer: str | None, forwarded_for: str | None, trusted_proxies: frozenset[str]) -> str:
    """The client's address: the socket peer, unless that is a trusted proxy that names the client.

    Only a trusted proxy's `X-Forwarded-For` counts: read from the right (each proxy appends the
    address it saw), skipping further trusted proxies; anyone else's header is ignored.
    """
    address = peer or "onbekend"
    if address not in trusted_proxies or not forwarded_for:
        return address
    for hop in reversed([part.strip() for part in forwarded_for.split(",")]):
        try:
            hop = str(ipaddress.ip_address(hop))
        except ValueError:
            return address  # a garbled header: the proxy's own address, shared by all behind it
        if hop not in trusted_proxies:
            return hop
    return address
