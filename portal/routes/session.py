"""Logging in and out, and the start page that sends each role to its own page."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from portal.routes.deps import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    AnySession,
    CheckedForm,
    ClientAddress,
    PortalDep,
    PortalError,
    SameOrigin,
    SmallForm,
)
from portal.security import new_token, tokens_equal

router = APIRouter()
STATIC_DIR = Path(__file__).parent.parent / "static"


@router.get("/static/portal.css")
async def stylesheet() -> Response:
    return Response((STATIC_DIR / "portal.css").read_bytes(), media_type="text/css")


@router.get("/")
async def home(request: Request, state: PortalDep) -> Response:
    session = state.session_of(request)
    if session is None:
        return RedirectResponse("/inloggen", status_code=303)
    return RedirectResponse("/overzicht" if session.user.rol == "analist" else "/aanleveren", status_code=303)


@router.get("/inloggen")
async def login_page(state: PortalDep) -> Response:
    token = new_token()
    response = state.render("inloggen.html", login_csrf=token)
    state.set_cookie(response, LOGIN_COOKIE, token)
    return response


@router.post("/inloggen", dependencies=[SameOrigin])
async def login(request: Request, state: PortalDep, form: SmallForm, address: ClientAddress) -> Response:
    if not tokens_equal(form.get("csrf"), request.cookies.get(LOGIN_COOKIE)):
        raise PortalError(403, "Geweigerd", "Het inlogformulier is verlopen. Open de inlogpagina opnieuw.")
    naam = form.get("naam", "").strip().lower()[:64]
    wait = state.throttle.seconds_locked(naam, address)
    if wait > 0:
        minutes = int(wait // 60) + 1
        raise PortalError(
            429,
            "Even wachten",
            f"Te veel mislukte pogingen om in te loggen. Probeer het over "
            f"{minutes} minuten opnieuw, of vraag de gemeente om hulp.",
        )
    async with state.login_slots:
        user = await run_in_threadpool(state.store.authenticate, naam, form.get("wachtwoord", ""))
    if user is None:
        state.throttle.failed(naam, address)
        token = new_token()
        response = state.render(
            "inloggen.html", status=401, login_csrf=token, naam=naam, melding="Naam of wachtwoord klopt niet."
        )
        state.set_cookie(response, LOGIN_COOKIE, token)
        return response
    state.throttle.succeeded(naam, address)
    state.sessions.end(request.cookies.get(SESSION_COOKIE))
    session = state.sessions.create(user)
    response = RedirectResponse("/", status_code=303)
    state.set_cookie(response, SESSION_COOKIE, session.id)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.post("/uitloggen", dependencies=[SameOrigin])
async def logout(state: PortalDep, session: AnySession, form: CheckedForm) -> Response:
    state.sessions.end(session.id)
    response = RedirectResponse("/inloggen", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
