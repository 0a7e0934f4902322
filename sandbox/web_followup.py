"""« Compléter » a suspended invoice, « Recycler » an invoice « À recycler »: their forms.

Each is a page of its own, opened by its button on the consultation page (**[assumed]**
labels, docs/portal.md « Assumed »); the invoice keeps its number, no new invoice is made.

- **Compléter** (``…/completer``): only for a suspended invoice already acknowledged (the
  public procedure: acknowledge, then complete). Attachments as on the entry form, a comment,
  at least one of them (:func:`sandbox.rules.validate_completion`). Done: « Complétée ».
- **Recycler** (``…/recycler``): only for an invoice « À recycler ». The recipient's SIRET
  (its « Code service » list loaded by the page's script, as on the entry form), code
  service, engagement number and a comment, with the entry form's rules for them and at
  least one of the three changed (:func:`sandbox.rules.validate_recycling`). Done:
  « Déposée », routed again to the new recipient.

Refused with errors: the form comes back with what was typed (files must be chosen again)
and « Le formulaire contient des erreurs ». An invoice in the wrong status: back to its
consultation page with an alert, whether the form is opened or submitted. On success,
POST-redirect-GET to the consultation page with a status message. A comment given becomes
the invoice's « Commentaire ».
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox import fmt
from sandbox.model import EXIGENCE_LABELS, Invoice, Structure, Supplier
from sandbox.rules import Errors, validate_completion, validate_recycling
from sandbox.security import Session
from sandbox.store import RuleViolation, completion_refusal, recycling_refusal
from sandbox.web_common import (
    LoginNeeded,
    Portal,
    checked_form,
    current_session,
    error_list,
    redirect,
    render,
    site_of,
    uploaded_files,
)
from sandbox.web_invoice import invoice_path, owned_invoice

#: [assumed] The portal's confirmations (SCREENS.md).
COMPLETED = "La facture {numero} a été complétée."
RECYCLED = "La facture {numero} a été recyclée."

_RECYCLING_FIELDS = ("siret_destinataire", "code_service", "numero_engagement", "commentaire")


def completion_path(invoice_id: int) -> str:
    return f"{invoice_path(invoice_id)}/completer"


def recycling_path(invoice_id: int) -> str:
    return f"{invoice_path(invoice_id)}/recycler"


def _back(request: Request, inv: Invoice, message: str) -> Response:
    """Back to the consultation page, with ``message`` as an alert."""
    session = current_session(request)
    if session is not None:
        session.flash("alert", message)
    return redirect(request, invoice_path(inv.id))


def _done(request: Request, session: Session, inv: Invoice, message: str) -> Response:
    session.flash("status", message)
    return redirect(request, invoice_path(inv.id))


# --- « Compléter » ------------------------------------------------------------------------


def _render_completion(
    request: Request, inv: Invoice, commentaire: str, errors: Errors
) -> Response:
    context: dict[str, Any] = {
        "inv": inv,
        "current": "",
        "action": site_of(request).app_root + completion_path(inv.id),
        "form": {"commentaire": commentaire},
        "errors": errors,
        "error_list": error_list(errors),
    }
    return render(request, "completer.html", context)


async def completion_form(request: Request) -> Response:
    _portal, inv = owned_invoice(request)
    refusal = completion_refusal(inv)
    if refusal is not None:
        return _back(request, inv, refusal)
    return _render_completion(request, inv, "", {})


async def completion_submit(request: Request) -> Response:
    session, form = await checked_form(request)
    portal, inv = owned_invoice(request)
    refusal = completion_refusal(inv)
    if refusal is not None:
        return _back(request, inv, refusal)
    files = await uploaded_files(form, "pieces_jointes")
    commentaire = str(form.get("commentaire", "") or "")
    held = sum(attachment.taille for attachment in inv.pieces_jointes)
    errors, completion = validate_completion(files, commentaire, already=held)
    if completion is None:
        return _render_completion(request, inv, commentaire, errors)
    assert session.supplier_id is not None
    try:
        done = portal.store.complete(
            session.supplier_id,
            inv.id,
            pieces_jointes=completion.pieces_jointes,
            commentaire=completion.commentaire,
        )
    except RuleViolation as exc:  # its status changed meanwhile
        return _back(request, inv, exc.message)
    return _done(request, session, done, COMPLETED.format(numero=done.numero))


# --- « Recycler » -------------------------------------------------------------------------


def _supplier(portal: Portal, session: Session) -> Supplier:
    supplier = portal.store.get_supplier(session.supplier_id or 0)
    if supplier is None:  # the data was reset under this session
        raise LoginNeeded(expired=True)
    return supplier


def _render_recycling(
    request: Request, portal: Portal, inv: Invoice, values: dict[str, str], errors: Errors
) -> Response:
    siret = re.sub(r"[\s.]", "", values["siret_destinataire"])
    structure: Structure | None = portal.store.get_structure(siret) if len(siret) == 14 else None
    context: dict[str, Any] = {
        "inv": inv,
        "current": "",
        "action": site_of(request).app_root + recycling_path(inv.id),
        "form": values,
        "errors": errors,
        "error_list": error_list(errors),
        "structure": structure,
        "exigence_label": EXIGENCE_LABELS.get(structure.exigence, "") if structure else "",
    }
    return render(request, "recycler.html", context)


async def recycling_form(request: Request) -> Response:
    portal, inv = owned_invoice(request)
    refusal = recycling_refusal(inv)
    if refusal is not None:
        return _back(request, inv, refusal)
    values = {
        "siret_destinataire": inv.siret_destinataire,
        "code_service": inv.code_service,
        "numero_engagement": inv.numero_engagement,
        "commentaire": "",
    }
    return _render_recycling(request, portal, inv, values, {})


async def recycling_submit(request: Request) -> Response:
    session, form = await checked_form(request)
    portal, inv = owned_invoice(request)
    refusal = recycling_refusal(inv)
    if refusal is not None:
        return _back(request, inv, refusal)
    values = {name: str(form.get(name, "") or "") for name in _RECYCLING_FIELDS}
    now = fmt.now_utc()
    errors, rerouting = validate_recycling(
        inv,
        **values,
        store=portal.store,
        supplier=_supplier(portal, session),
        today=fmt.paris_today(now),
    )
    if rerouting is None:
        return _render_recycling(request, portal, inv, values, errors)
    assert session.supplier_id is not None
    try:
        done = portal.store.recycle(
            session.supplier_id,
            inv.id,
            siret_destinataire=rerouting.siret_destinataire,
            code_service=rerouting.code_service,
            numero_engagement=rerouting.numero_engagement,
            commentaire=rerouting.commentaire,
            now=now,
        )
    except RuleViolation as exc:  # its status changed meanwhile
        return _back(request, inv, exc.message)
    return _done(request, session, done, RECYCLED.format(numero=done.numero))


def routes() -> list[BaseRoute]:
    base = "/factures-emises/factures/{invoice_id:int}"
    return [
        Route(base + "/completer", completion_form, methods=["GET"]),
        Route(base + "/completer", completion_submit, methods=["POST"]),
        Route(base + "/recycler", recycling_form, methods=["GET"]),
        Route(base + "/recycler", recycling_submit, methods=["POST"]),
    ]
