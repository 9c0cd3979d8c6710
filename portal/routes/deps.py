"""What the routers share: the portal's state, Dutch error pages, and the request dependencies.

Each page declares what it needs with `Depends`: the portal (settings, store, sessions, templates),
a logged-in session of the right role, a same-origin check, and a small form whose CSRF token is
checked. Dependencies run in the order declared, so a page refuses a stranger before reading a body.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from linkage.keys import Key
from portal.intake import KIND_LABELS
from portal.offline_page import OfflinePage
from portal.security import LoginThrottle, Session, SessionStore, client_address, tokens_equal
from portal.store import PortalStore
from portal.uploads import UploadRejected, read_body
from schemas.codelist import CodeList
from schemas.messages import fix

SESSION_COOKIE = "factlab_sessie"
LOGIN_COOKIE = "factlab_inlog"
DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_LOGIN_FORM_BYTES = 4096
INTERNAL_ERROR = (
    "Er ging iets mis in de portal; er is niets opgeslagen. Probeer het later opnieuw of neem "
    "contact op met de gemeente."
)


@dataclass
class PortalSettings:
    key: Key = field(repr=False)
    inbox: Path
    periode: str
    data_dir: Path
    codes: CodeList = field(repr=False)
    gemeente: str = ""
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    secure_cookies: bool = False
    parallel_uploads: int = 4
    """Uploads received and held in memory at once; more wait before their body is read."""
    parallel_checks: int = 1
    """Checks (reading, judging, pseudonymising, deduplicating) at once: each takes the most memory."""
    trusted_proxies: frozenset[str] = frozenset()
    """Addresses of reverse proxies whose X-Forwarded-For names the client (`--vertrouwde-proxy`)."""


class PortalError(Exception):
    """A request the portal refuses; rendered as a Dutch page with the given status."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


def _templates() -> Environment:
    env = Environment(loader=PackageLoader("portal", "templates"), autoescape=select_autoescape(["html"]))
    env.filters["getal"] = lambda n: f"{n:,}".replace(",", ".")
    env.globals["soort_label"] = lambda kind: KIND_LABELS.get(kind, kind)
    env.globals["oplossing"] = fix
    return env


class CheckGate:
    """At most `limit` checks at once, in order of arrival; counts who runs and who waits."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.running = 0
        self.waiting = 0
        self._semaphore = asyncio.Semaphore(limit)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        self.waiting += 1
        try:
            await self._semaphore.acquire()
        finally:
            self.waiting -= 1
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
            self._semaphore.release()


class Portal:
    """The state of one running portal: settings, accounts, sessions, throttle, templates, limits."""

    def __init__(
        self, settings: PortalSettings, store: PortalStore, sessions: SessionStore, throttle: LoginThrottle
    ) -> None:
        self.settings = settings
        self.store = store
        self.sessions = sessions
        self.throttle = throttle
        self.templates = _templates()
        self.offline = OfflinePage(settings.codes, settings.key.key_id)
        self.upload_slots = asyncio.Semaphore(settings.parallel_uploads)
        self.check_gate = CheckGate(settings.parallel_checks)
        self.login_slots = asyncio.Semaphore(2)  # argon2 takes 64 MiB per verification: bound the memory
        self._write_locks: dict[str, threading.Lock] = {}
        self._write_locks_guard = threading.Lock()

    def render(self, name: str, status: int = 200, session: Session | None = None, **context) -> HTMLResponse:
        html = self.templates.get_template(name).render(
            gemeente=self.settings.gemeente,
            periode=self.settings.periode,
            session=session,
            user=session.user if session else None,
            csrf=session.csrf if session else "",
            **context,
        )
        return HTMLResponse(html, status_code=status)

    def set_cookie(self, response: Response, name: str, value: str) -> None:
        response.set_cookie(
            name, value, httponly=True, samesite="strict", secure=self.settings.secure_cookies, path="/"
        )

    def session_of(self, request: Request) -> Session | None:
        return self.sessions.get(request.cookies.get(SESSION_COOKIE))

    def partner_lock(self, partner: str) -> threading.Lock:
        """One writer at a time per partner's inbox file."""
        with self._write_locks_guard:
            return self._write_locks.setdefault(partner, threading.Lock())


async def portal(request: Request) -> Portal:
    return request.app.state.portal


PortalDep = Annotated[Portal, Depends(portal)]


async def optional_session(request: Request, state: PortalDep) -> Session | None:
    return state.session_of(request)


async def logged_in(request: Request, state: PortalDep) -> Session:
    session = state.session_of(request)
    if session is not None and state.store.get_user(session.user.naam) is None:  # account removed meanwhile
        state.sessions.end(session.id)
        session = None
    if session is None:
        raise PortalError(401, "Niet ingelogd", "U bent niet (meer) ingelogd. Log opnieuw in.")
    return session


def _role(role: str):
    async def of_role(session: Annotated[Session, Depends(logged_in)]) -> Session:
        if session.user.rol != role:
            raise PortalError(403, "Geen toegang", "Deze pagina is niet voor uw account bedoeld.")
        return session

    return of_role


AnySession = Annotated[Session, Depends(logged_in)]
PartnerSession = Annotated[Session, Depends(_role("partner"))]
AnalystSession = Annotated[Session, Depends(_role("analist"))]


async def same_origin(request: Request) -> None:
    """Refuse cross-site form posts, on top of the CSRF token and the SameSite cookie."""
    origin = request.headers.get("origin")
    site = request.headers.get("sec-fetch-site")
    host = request.headers.get("host")
    foreign_origin = origin is not None and (origin == "null" or urlsplit(origin).netloc != host)
    if foreign_origin or site not in (None, "same-origin", "none"):
        raise PortalError(
            403,
            "Geweigerd",
            "Dit formulier kwam niet van de portal zelf; open de portal opnieuw en probeer het nog eens.",
        )


SameOrigin = Depends(same_origin)


async def client(request: Request, state: PortalDep) -> str:
    """The client's address for login throttling: the peer, or what a trusted proxy says it is."""
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers.get("x-forwarded-for"), state.settings.trusted_proxies)


ClientAddress = Annotated[str, Depends(client)]


def check_csrf(session: Session, given: str | None) -> None:
    if not tokens_equal(given, session.csrf):
        raise PortalError(
            403,
            "Geweigerd",
            "Het formulier is verlopen of niet van de portal afkomstig. "
            "Ga terug, vernieuw de pagina en probeer het opnieuw.",
        )


async def small_form(request: Request) -> dict[str, str]:
    """A url-encoded form of at most MAX_LOGIN_FORM_BYTES and 10 fields."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise PortalError(415, "Verkeerd verzoek", "Gebruik het formulier van de portal.")
    try:
        body = await read_body(request.stream(), request.headers.get("content-length"), MAX_LOGIN_FORM_BYTES)
    except UploadRejected as exc:
        raise PortalError(exc.status, "Verkeerd verzoek", exc.message) from None
    try:
        parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=10)
    except ValueError:
        raise PortalError(400, "Verkeerd verzoek", "Gebruik het formulier van de portal.") from None
    return {name: values[0] for name, values in parsed.items()}


SmallForm = Annotated[dict[str, str], Depends(small_form)]


async def csrf_form(session: AnySession, form: SmallForm) -> dict[str, str]:
    """The small form of a logged-in user, after its CSRF token is checked."""
    check_csrf(session, form.get("csrf"))
    return form


CheckedForm = Annotated[dict[str, str], Depends(csrf_form)]
