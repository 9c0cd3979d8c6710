"""The portal web application: log in, upload, check, confirm, receipt; the analyst's overview.

Security in brief: server-side sessions behind a random HttpOnly SameSite=Strict cookie; a CSRF
token in every form (and a double-submit token on the login form); login throttling per account
and address; argon2id password hashes; uploads read into memory with a hard size limit and never
spooled to disk; the uploaded file name is only ever shown, never used as a path; strict security
headers with a Content-Security-Policy that allows no script on the portal's own pages.

The pages live in `portal.routes` (one router per area); `create_app` only wires them together with
the portal's state, the Dutch error pages and the security headers.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from portal.routes import offline, overview, partner, session
from portal.routes.deps import Portal, PortalError, PortalSettings
from portal.security import LoginThrottle, SessionStore
from portal.store import PortalStore

__all__ = ["PortalSettings", "create_app"]

PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
ERROR_TITLES = {404: "Niet gevonden", 405: "Niet toegestaan"}


def create_app(
    settings: PortalSettings,
    store: PortalStore | None = None,
    sessions: SessionStore | None = None,
    throttle: LoginThrottle | None = None,
) -> FastAPI:
    """The portal as an ASGI application; the key stays in this process's memory only."""
    state = Portal(
        settings,
        store or PortalStore(settings.data_dir),
        sessions or SessionStore(),
        throttle or LoginThrottle(),
    )
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.portal = state
    app.state.settings, app.state.store = state.settings, state.store
    app.state.sessions, app.state.throttle = state.sessions, state.throttle
    for area in (session, partner, offline, overview):
        app.include_router(area.router)
    app.add_exception_handler(PortalError, portal_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.middleware("http")(security_headers)
    return app


async def portal_error(request: Request, exc: PortalError) -> Response:
    if exc.status == 401 and request.method == "GET":
        return RedirectResponse("/inloggen", status_code=303)
    state: Portal = request.app.state.portal
    return state.render(
        "fout.html",
        status=exc.status,
        session=state.session_of(request),
        titel=exc.title,
        melding=exc.message,
    )


async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
    state: Portal = request.app.state.portal
    return state.render(
        "fout.html",
        status=exc.status_code,
        session=state.session_of(request),
        titel=ERROR_TITLES.get(exc.status_code, "Fout"),
        melding="Deze pagina bestaat niet. Ga terug naar de startpagina.",
    )


async def security_headers(request: Request, call_next) -> Response:
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
