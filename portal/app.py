"""The portal web application: log in, upload, check, confirm, receipt; the analyst's overview.

Security in brief: server-side sessions behind a random HttpOnly SameSite=Strict cookie; a CSRF
token in every form (and a double-submit token on the login form); login throttling per account
and address; argon2id password hashes; uploads read into memory with a hard size limit and never
spooled to disk; the uploaded file name is only ever shown, never used as a path; strict security
headers with a Content-Security-Policy that allows no script on the portal's own pages.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from linkage.keys import Key
from pipelines.inbox import DELIVERIES_DIR
from portal.intake import KIND_LABELS, IntakeResult, check_upload, delivery_parquet
from portal.offline_page import OfflinePage
from portal.security import LoginThrottle, Session, SessionStore, new_token, tokens_equal
from portal.store import PortalStore, Receipt, User
from portal.uploads import UploadRejected, parse_multipart, read_body
from schemas.atomic import atomic_path
from schemas.codelist import CodeList
from schemas.messages import fix
from schemas.readers.csv_reader import FileFault
from schemas.rejects import RejectsWriter

LOG = logging.getLogger("factlab.portal")
INTERNAL_ERROR = (
    "Er ging iets mis in de portal; er is niets opgeslagen. Probeer het later opnieuw of neem "
    "contact op met de gemeente."
)
SESSION_COOKIE = "factlab_sessie"
LOGIN_COOKIE = "factlab_inlog"
DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_LOGIN_FORM_BYTES = 4096
PENDING_SECONDS = 30 * 60
REPORT_ROWS = 200

PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
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
    parallel_checks: int = 4


@dataclass
class PendingDelivery:
    token: str
    result: IntakeResult = field(repr=False)
    periode: str
    created: datetime


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


def create_app(
    settings: PortalSettings,
    store: PortalStore | None = None,
    sessions: SessionStore | None = None,
    throttle: LoginThrottle | None = None,
) -> FastAPI:
    """The portal as an ASGI application; the key stays in this process's memory only."""
    store = store or PortalStore(settings.data_dir)
    sessions = sessions or SessionStore()
    throttle = throttle or LoginThrottle()
    templates = _templates()
    offline = OfflinePage(settings.codes, settings.key.key_id)
    check_slots = asyncio.Semaphore(settings.parallel_checks)
    login_slots = asyncio.Semaphore(2)  # argon2 takes 64 MiB per verification: bound the memory
    write_locks: dict[str, threading.Lock] = {}
    write_locks_guard = threading.Lock()

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.store = store
    app.state.sessions = sessions
    app.state.throttle = throttle

    static_dir = Path(__file__).parent / "static"

    # helpers

    def render(
        request: Request, name: str, status: int = 200, session: Session | None = None, **context
    ) -> HTMLResponse:
        html = templates.get_template(name).render(
            gemeente=settings.gemeente,
            periode=settings.periode,
            session=session,
            user=session.user if session else None,
            csrf=session.csrf if session else "",
            **context,
        )
        return HTMLResponse(html, status_code=status)

    def current_session(request: Request) -> Session | None:
        return sessions.get(request.cookies.get(SESSION_COOKIE))

    def require(request: Request, role: str | None = None) -> Session:
        session = current_session(request)
        if session is not None and store.get_user(session.user.naam) is None:  # account removed meanwhile
            sessions.end(session.id)
            session = None
        if session is None:
            raise PortalError(401, "Niet ingelogd", "U bent niet (meer) ingelogd. Log opnieuw in.")
        if role is not None and session.user.rol != role:
            raise PortalError(403, "Geen toegang", "Deze pagina is niet voor uw account bedoeld.")
        return session

    def check_origin(request: Request) -> None:
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

    def check_csrf(session: Session, given: str | None) -> None:
        if not tokens_equal(given, session.csrf):
            raise PortalError(
                403,
                "Geweigerd",
                "Het formulier is verlopen of niet van de portal afkomstig. "
                "Ga terug, vernieuw de pagina en probeer het opnieuw.",
            )

    async def small_form(request: Request) -> dict[str, str]:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            raise PortalError(415, "Verkeerd verzoek", "Gebruik het formulier van de portal.")
        try:
            body = await read_body(
                request.stream(), request.headers.get("content-length"), MAX_LOGIN_FORM_BYTES
            )
        except UploadRejected as exc:
            raise PortalError(exc.status, "Verkeerd verzoek", exc.message) from None
        try:
            parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=10)
        except ValueError:
            raise PortalError(400, "Verkeerd verzoek", "Gebruik het formulier van de portal.") from None
        return {name: values[0] for name, values in parsed.items()}

    def set_cookie(response: Response, name: str, value: str) -> None:
        response.set_cookie(
            name, value, httponly=True, samesite="strict", secure=settings.secure_cookies, path="/"
        )

    def partner_lock(partner: str) -> threading.Lock:
        with write_locks_guard:
            return write_locks.setdefault(partner, threading.Lock())

    def store_delivery(session: Session, pending: PendingDelivery) -> Receipt:
        partner = session.user.naam
        parquet = delivery_parquet(pending.result, partner, settings.key)
        folder = (settings.inbox / pending.periode / DELIVERIES_DIR).resolve()
        target = folder / f"{partner}.parquet"
        if target.parent != folder:  # account names are checked on creation; refuse anything else anyway
            raise PortalError(500, "Fout", "De levering kon niet worden opgeslagen.")
        result = pending.result
        receipt = Receipt(
            id=secrets.token_hex(8),
            partner=partner,
            periode=pending.periode,
            ontvangen=datetime.now(UTC).replace(microsecond=0).isoformat(),
            soort=result.kind,
            bestand_sha256=result.upload_sha256,
            bestand_bytes=result.upload_bytes,
            levering_sha256=hashlib.sha256(parquet).hexdigest(),
            key_id=settings.key.key_id,
            regels_gelezen=result.rows_read,
            regels_afgekeurd=result.rows_rejected,
            regels_dubbel=result.rows_duplicate,
            records_opgeslagen=result.rows_written,
            afgekeurd_per_regel=dict(sorted(result.errors_by_rule.items())),
            bestanden=result.files,
        )
        with partner_lock(partner):
            with atomic_path(target) as tmp:
                tmp.write_bytes(parquet)
            store.add_receipt(receipt)
        return receipt

    # error pages and headers

    @app.exception_handler(PortalError)
    async def portal_error(request: Request, exc: PortalError) -> Response:
        if exc.status == 401 and request.method == "GET":
            return RedirectResponse("/inloggen", status_code=303)
        return render(
            request,
            "fout.html",
            status=exc.status,
            session=current_session(request),
            titel=exc.title,
            melding=exc.message,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Niet gevonden", 405: "Niet toegestaan"}
        return render(
            request,
            "fout.html",
            status=exc.status_code,
            session=current_session(request),
            titel=titles.get(exc.status_code, "Fout"),
            melding="Deze pagina bestaat niet. Ga terug naar de startpagina.",
        )

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        # Not no-referrer: with it Chromium sends `Origin: null` on the portal's own form posts.
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    # pages

    @app.get("/static/portal.css")
    async def stylesheet() -> Response:
        return Response((static_dir / "portal.css").read_bytes(), media_type="text/css")

    @app.get("/")
    async def home(request: Request) -> Response:
        session = current_session(request)
        if session is None:
            return RedirectResponse("/inloggen", status_code=303)
        return RedirectResponse(
            "/overzicht" if session.user.rol == "analist" else "/aanleveren", status_code=303
        )

    @app.get("/inloggen")
    async def login_page(request: Request) -> Response:
        token = new_token()
        response = render(request, "inloggen.html", login_csrf=token)
        set_cookie(response, LOGIN_COOKIE, token)
        return response

    @app.post("/inloggen")
    async def login(request: Request) -> Response:
        check_origin(request)
        form = await small_form(request)
        if not tokens_equal(form.get("csrf"), request.cookies.get(LOGIN_COOKIE)):
            raise PortalError(
                403, "Geweigerd", "Het inlogformulier is verlopen. Open de inlogpagina opnieuw."
            )
        naam = form.get("naam", "").strip().lower()[:64]
        address = request.client.host if request.client else "onbekend"
        wait = throttle.seconds_locked(naam, address)
        if wait > 0:
            minutes = int(wait // 60) + 1
            raise PortalError(
                429,
                "Even wachten",
                f"Te veel mislukte pogingen om in te loggen. Probeer het over "
                f"{minutes} minuten opnieuw, of vraag de gemeente om hulp.",
            )
        async with login_slots:
            user = await run_in_threadpool(store.authenticate, naam, form.get("wachtwoord", ""))
        if user is None:
            throttle.failed(naam, address)
            token = new_token()
            response = render(
                request,
                "inloggen.html",
                status=401,
                login_csrf=token,
                naam=naam,
                melding="Naam of wachtwoord klopt niet.",
            )
            set_cookie(response, LOGIN_COOKIE, token)
            return response
        throttle.succeeded(naam, address)
        sessions.end(request.cookies.get(SESSION_COOKIE))
        session = sessions.create(user)
        response = RedirectResponse("/", status_code=303)
        set_cookie(response, SESSION_COOKIE, session.id)
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response

    @app.post("/uitloggen")
    async def logout(request: Request) -> Response:
        check_origin(request)
        session = require(request)
        check_csrf(session, (await small_form(request)).get("csrf"))
        sessions.end(session.id)
        response = RedirectResponse("/inloggen", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/aanleveren")
    async def partner_home(request: Request) -> Response:
        session = require(request, "partner")
        own = store.receipts(partner=session.user.naam)
        return render(
            request,
            "aanleveren.html",
            session=session,
            bewijzen=own,
            max_mb=settings.max_upload_bytes // (1024 * 1024),
        )

    @app.post("/aanleveren/controleren")
    async def check(request: Request) -> Response:
        check_origin(request)
        session = require(request, "partner")
        async with check_slots:
            try:
                body = await read_body(
                    request.stream(),
                    request.headers.get("content-length"),
                    settings.max_upload_bytes + 64 * 1024,
                )
                form = parse_multipart(body, request.headers.get("content-type"))
                del body
            except UploadRejected as exc:
                raise PortalError(exc.status, "Upload geweigerd", exc.message) from None
            check_csrf(session, form.fields.get("csrf"))
            uploads = [(f.filename, f.data) for f in form.files if f.field_name == "bestand" and f.data]
            form.files.clear()
            if not uploads:
                raise PortalError(400, "Geen bestand", "Kies eerst een bestand om aan te leveren.")
            try:
                result = await run_in_threadpool(check_upload, uploads, settings.key, settings.codes)
            except FileFault as exc:
                return render(request, "controle.html", status=422, session=session, bestandsfout=str(exc))
            except Exception as exc:  # noqa: BLE001 - its message may quote row values: log only its type
                LOG.error("controle van een upload mislukt (%s)", type(exc).__name__)
                raise PortalError(500, "Fout in de portal", INTERNAL_ERROR) from None
            finally:
                uploads.clear()
        session.pending.clear()
        pending = PendingDelivery(new_token(), result, settings.periode, datetime.now(UTC))
        session.pending[pending.token] = pending
        examples = sorted(result.listed, key=lambda e: (e.bestand, e.regel))[:REPORT_ROWS]
        return render(
            request,
            "controle.html",
            session=session,
            resultaat=result,
            token=pending.token,
            voorbeelden=examples,
            per_regel=sorted(result.errors_by_rule.items(), key=lambda i: -i[1]),
        )

    @app.get("/aanleveren/afgekeurd/{token}")
    async def rejects(request: Request, token: str) -> Response:
        """The rejected rows of a checked upload, for the partner who uploaded it (never stored)."""
        session = require(request, "partner")
        pending = session.pending.get(token)
        if pending is None:
            raise PortalError(
                404, "Niet gevonden", "Deze controle bestaat niet meer; upload het bestand opnieuw."
            )
        out = io.StringIO()
        writer = RejectsWriter(out, pending.result.display_name)
        writer.write(sorted(pending.result.listed, key=lambda e: (e.bestand, e.regel)))
        return Response(
            out.getvalue().encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="afgekeurde-regels.csv"'},
        )

    @app.post("/aanleveren/bevestigen")
    async def confirm(request: Request) -> Response:
        check_origin(request)
        session = require(request, "partner")
        form = await small_form(request)
        check_csrf(session, form.get("csrf"))
        pending = session.pending.pop(form.get("token", ""), None)
        if pending is None or (datetime.now(UTC) - pending.created).total_seconds() > PENDING_SECONDS:
            raise PortalError(
                409,
                "Verlopen",
                "Deze controle is verlopen of al bevestigd. Upload het bestand "
                "opnieuw; uw eerdere leveringen ziet u op de startpagina.",
            )
        if pending.result.rows_written == 0:
            raise PortalError(422, "Niets aan te leveren", "Er is geen enkele goede regel om aan te leveren.")
        try:
            receipt = await run_in_threadpool(store_delivery, session, pending)
        except Exception as exc:  # noqa: BLE001 - as above: no message text in the log
            LOG.error("opslaan van een levering mislukt (%s)", type(exc).__name__)
            raise PortalError(500, "Fout in de portal", INTERNAL_ERROR) from None
        session.pending.clear()
        return RedirectResponse(f"/ontvangstbewijs/{receipt.id}", status_code=303)

    @app.post("/aanleveren/annuleren")
    async def cancel(request: Request) -> Response:
        check_origin(request)
        session = require(request, "partner")
        check_csrf(session, (await small_form(request)).get("csrf"))
        session.pending.clear()
        return RedirectResponse("/aanleveren", status_code=303)

    def visible_receipt(session: Session, receipt_id: str) -> Receipt:
        receipt = store.receipt(receipt_id) if receipt_id.isalnum() else None
        # Another partner's receipt is "not found", so ids cannot be probed.
        if receipt is None or (session.user.rol == "partner" and receipt.partner != session.user.naam):
            raise PortalError(404, "Niet gevonden", "Dit ontvangstbewijs bestaat niet of is niet van u.")
        return receipt

    @app.get("/ontvangstbewijs/{receipt_id}.json")
    async def receipt_json(request: Request, receipt_id: str) -> Response:
        session = require(request)
        receipt = visible_receipt(session, receipt_id)
        return JSONResponse(
            receipt.as_dict(),
            headers={"Content-Disposition": f'attachment; filename="ontvangstbewijs-{receipt.id}.json"'},
        )

    @app.get("/ontvangstbewijs/{receipt_id}")
    async def receipt_page(request: Request, receipt_id: str) -> Response:
        session = require(request)
        receipt = visible_receipt(session, receipt_id)
        return render(request, "ontvangstbewijs.html", session=session, bewijs=receipt)

    @app.get("/overzicht")
    async def analyst_overview(request: Request, periode: str | None = None) -> Response:
        session = require(request, "analist")
        periods = sorted(set(store.periods()) | {settings.periode}, reverse=True)
        chosen = periode if periode in periods else settings.periode
        receipts = store.receipts(periode=chosen)
        partners = [u for u in store.users() if u.rol == "partner"]
        rows = _overview_rows(partners, receipts, settings.inbox / chosen / DELIVERIES_DIR)
        return render(
            request,
            "overzicht.html",
            session=session,
            periodes=periods,
            gekozen=chosen,
            rijen=rows,
            geleverd=sum(1 for r in rows if r["laatste"]),
        )

    @app.get("/offline")
    async def offline_page(request: Request) -> Response:
        session = require(request, "partner")
        page = offline.render(csrf=session.csrf)
        return HTMLResponse(page.html, headers={"Content-Security-Policy": page.csp})

    @app.get("/offline/download")
    async def offline_download(request: Request) -> Response:
        require(request, "partner")
        page = offline.render(csrf=None)
        return HTMLResponse(
            page.html,
            headers={
                "Content-Security-Policy": page.csp,
                "Content-Disposition": 'attachment; filename="factlab-pseudonimiseren.html"',
            },
        )

    return app


def _overview_rows(partners: list[User], receipts: list[Receipt], folder: Path) -> list[dict]:
    """Per partner account: the latest receipt of the period and whether the inbox file still matches it."""
    latest: dict[str, Receipt] = {}
    counts: dict[str, int] = {}
    for receipt in receipts:  # newest first
        latest.setdefault(receipt.partner, receipt)
        counts[receipt.partner] = counts.get(receipt.partner, 0) + 1
    names = sorted({p.naam for p in partners} | set(latest))
    display = {p.naam: p.weergavenaam for p in partners}
    rows = []
    for naam in names:
        receipt = latest.get(naam)
        state = ""
        if receipt is not None:
            path = folder / f"{naam}.parquet"
            if not path.is_file():
                state = "ontbreekt in inbox"
            elif hashlib.sha256(path.read_bytes()).hexdigest() != receipt.levering_sha256:
                state = "gewijzigd na ontvangst"
            else:
                state = "in inbox"
        rows.append(
            {
                "naam": naam,
                "weergavenaam": display.get(naam, naam),
                "laatste": receipt,
                "aantal": counts.get(naam, 0),
                "inbox": state,
            }
        )
    return rows
