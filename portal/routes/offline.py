"""The pseudonymiser page (`/offline`) and its download, for partners."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from portal.routes.deps import PartnerSession, PortalDep

router = APIRouter()


@router.get("/offline")
async def offline_page(state: PortalDep, session: PartnerSession) -> Response:
    page = state.offline.render(csrf=session.csrf)
    return HTMLResponse(page.html, headers={"Content-Security-Policy": page.csp})


@router.get("/offline/download")
async def offline_download(state: PortalDep, session: PartnerSession) -> Response:
    page = state.offline.render(csrf=None)
    return HTMLResponse(
        page.html,
        headers={
            "Content-Security-Policy": page.csp,
            "Content-Disposition": 'attachment; filename="factlab-pseudonimiseren.html"',
        },
    )
