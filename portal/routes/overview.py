"""Receipts (the partner's own, or any for the analyst) and the analyst's overview per period."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from pipelines.inbox import DELIVERIES_DIR
from portal.routes.deps import AnalystSession, AnySession, Portal, PortalDep, PortalError
from portal.security import Session
from portal.store import Receipt, User

router = APIRouter()


def visible_receipt(state: Portal, session: Session, receipt_id: str) -> Receipt:
    receipt = state.store.receipt(receipt_id) if receipt_id.isalnum() else None
    # Another partner's receipt is "not found", so ids cannot be probed.
    if receipt is None or (session.user.rol == "partner" and receipt.partner != session.user.naam):
        raise PortalError(404, "Niet gevonden", "Dit ontvangstbewijs bestaat niet of is niet van u.")
    return receipt


@router.get("/ontvangstbewijs/{receipt_id}.json")
async def receipt_json(receipt_id: str, state: PortalDep, session: AnySession) -> Response:
    receipt = visible_receipt(state, session, receipt_id)
    return JSONResponse(
        receipt.as_dict(),
        headers={"Content-Disposition": f'attachment; filename="ontvangstbewijs-{receipt.id}.json"'},
    )


@router.get("/ontvangstbewijs/{receipt_id}")
async def receipt_page(receipt_id: str, state: PortalDep, session: AnySession) -> Response:
    receipt = visible_receipt(state, session, receipt_id)
    return state.render("ontvangstbewijs.html", session=session, bewijs=receipt)


@router.get("/overzicht")
async def analyst_overview(state: PortalDep, session: AnalystSession, periode: str | None = None) -> Response:
    settings = state.settings
    periods = sorted(set(state.store.periods()) | {settings.periode}, reverse=True)
    chosen = periode if periode in periods else settings.periode
    receipts = state.store.receipts(periode=chosen)
    partners = [u for u in state.store.users() if u.rol == "partner"]
    rows = overview_rows(partners, receipts, settings.inbox / chosen / DELIVERIES_DIR)
    return state.render(
        "overzicht.html",
        session=session,
        periodes=periods,
        gekozen=chosen,
        rijen=rows,
        geleverd=sum(1 for r in rows if r["laatste"]),
    )


def overview_rows(partners: list[User], receipts: list[Receipt], folder: Path) -> list[dict]:
    """Per partner account: the latest receipt of the period and whether the inbox file still matches it."""
    latest: dict[str, Receipt] = {}
    counts: dict[str, int] = {}
    for receipt in receipts:  # newest first
        latest.setdefault(receipt.partner, receipt)
        counts[receipt.partner] = counts.get(receipt.partner, 0) + 1
    names = sorted({p.naam for p in partners} | set(latest))
    display = {p.naam: p.weergavenaam for p in partners}
    return [
        {
            "naam": naam,
            "weergavenaam": display.get(naam, naam),
            "laatste": latest.get(naam),
            "aantal": counts.get(naam, 0),
            "inbox": _inbox_state(latest.get(naam), folder / f"{naam}.parquet"),
        }
        for naam in names
    ]


def _inbox_state(receipt: Receipt | None, path: Path) -> str:
    if receipt is None:
        return ""
    if not path.is_file():
        return "ontbreekt in inbox"
    if hashlib.sha256(path.read_bytes()).hexdigest() != receipt.levering_sha256:
        return "gewijzigd na ontvangst"
    return "in inbox"
