"""The partner's pages: upload and check, the rejected rows, confirm or cancel, the stored delivery."""

from __future__ import annotations

import hashlib
import io
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from pipelines.inbox import DELIVERIES_DIR
from portal.intake import IntakeResult, check_upload, delivery_parquet
from portal.routes.deps import (
    INTERNAL_ERROR,
    CheckedForm,
    PartnerSession,
    Portal,
    PortalDep,
    PortalError,
    SameOrigin,
    check_csrf,
)
from portal.security import Session, new_token
from portal.store import Receipt
from portal.uploads import UploadRejected, read_multipart
from schemas.atomic import atomic_path
from schemas.readers.csv_reader import FileFault
from schemas.rejects import RejectsWriter

LOG = logging.getLogger("factlab.portal")
PENDING_SECONDS = 30 * 60
REPORT_ROWS = 200

router = APIRouter()


@dataclass
class PendingDelivery:
    token: str
    result: IntakeResult = field(repr=False)
    periode: str
    created: datetime


@router.get("/aanleveren")
async def partner_home(state: PortalDep, session: PartnerSession) -> Response:
    own = state.store.receipts(partner=session.user.naam)
    return state.render(
        "aanleveren.html",
        session=session,
        bewijzen=own,
        max_mb=state.settings.max_upload_bytes // (1024 * 1024),
    )


@router.post("/aanleveren/controleren", dependencies=[SameOrigin])
async def check(request: Request, state: PortalDep, session: PartnerSession) -> Response:
    async with state.upload_slots:
        uploads = await _uploaded_files(request, state, session)
        try:
            async with state.check_gate.slot():
                result = await run_in_threadpool(
                    check_upload, uploads, state.settings.key, state.settings.codes
                )
        except FileFault as exc:
            return state.render("controle.html", status=422, session=session, bestandsfout=str(exc))
        except Exception as exc:  # noqa: BLE001 - its message may quote row values: log only its type
            LOG.error("controle van een upload mislukt (%s)", type(exc).__name__)
            raise PortalError(500, "Fout in de portal", INTERNAL_ERROR) from None
        finally:
            uploads.clear()
    session.pending.clear()
    pending = PendingDelivery(new_token(), result, state.settings.periode, datetime.now(UTC))
    session.pending[pending.token] = pending
    examples = sorted(result.listed, key=lambda e: (e.bestand, e.regel))[:REPORT_ROWS]
    return state.render(
        "controle.html",
        session=session,
        resultaat=result,
        token=pending.token,
        voorbeelden=examples,
        per_regel=sorted(result.errors_by_rule.items(), key=lambda i: -i[1]),
    )


async def _uploaded_files(request: Request, state: Portal, session: Session) -> list[tuple[str, bytes]]:
    """The files of the upload form, parsed as they arrive within the size limit, after its CSRF check."""
    try:
        form = await read_multipart(
            request.stream(),
            request.headers.get("content-length"),
            request.headers.get("content-type"),
            state.settings.max_upload_bytes + 64 * 1024,
        )
    except UploadRejected as exc:
        raise PortalError(exc.status, "Upload geweigerd", exc.message) from None
    check_csrf(session, form.fields.get("csrf"))
    uploads = [(f.filename, f.data) for f in form.files if f.field_name == "bestand" and f.data]
    form.files.clear()
    if not uploads:
        raise PortalError(400, "Geen bestand", "Kies eerst een bestand om aan te leveren.")
    return uploads


@router.get("/aanleveren/afgekeurd/{token}")
async def rejects(token: str, session: PartnerSession) -> Response:
    """The rejected rows of a checked upload, for the partner who uploaded it (never stored)."""
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


@router.post("/aanleveren/bevestigen", dependencies=[SameOrigin])
async def confirm(state: PortalDep, session: PartnerSession, form: CheckedForm) -> Response:
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
        receipt = await run_in_threadpool(store_delivery, state, session, pending)
    except Exception as exc:  # noqa: BLE001 - as above: no message text in the log
        LOG.error("opslaan van een levering mislukt (%s)", type(exc).__name__)
        raise PortalError(500, "Fout in de portal", INTERNAL_ERROR) from None
    session.pending.clear()
    return RedirectResponse(f"/ontvangstbewijs/{receipt.id}", status_code=303)


@router.post("/aanleveren/annuleren", dependencies=[SameOrigin])
async def cancel(session: PartnerSession, form: CheckedForm) -> Response:
    session.pending.clear()
    return RedirectResponse("/aanleveren", status_code=303)


def store_delivery(state: Portal, session: Session, pending: PendingDelivery) -> Receipt:
    """Write the confirmed delivery to the inbox (atomically) and keep its receipt."""
    partner = session.user.naam
    settings = state.settings
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
    with state.partner_lock(partner):
        with atomic_path(target) as tmp:
            tmp.write_bytes(parquet)
        state.store.add_receipt(receipt)
    return receipt
