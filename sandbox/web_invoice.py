"""The consultation page of one invoice, and its « Acquitter » button (« Compléter » and
« Recycler » lead to the forms of :mod:`sandbox.web_followup`); the documents of an invoice
(« Télécharger » in « Rechercher »): the pop-up's fragment, the PDF, the attachments."""

from __future__ import annotations

import mimetypes
import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox import fmt
from sandbox.model import (
    CADRES,
    MODES_PAIEMENT,
    TYPES_FACTURE,
    TYPES_TVA,
    Action,
    Invoice,
    Status,
)
from sandbox.pdf import simple_pdf
from sandbox.store import NotFound, completion_refusal, recycling_refusal
from sandbox.web_common import Portal, checked_form, logged_in, portal_of, redirect, render
from sandbox.web_home import current_user


def invoice_path(invoice_id: int) -> str:
    return f"/factures-emises/factures/{invoice_id}"


def _infos(portal: Portal, inv: Invoice) -> list[tuple[str, str]]:
    """The « Informations de la facture » pairs, in the contract's order."""
    supplier = portal.store.get_supplier(inv.supplier_id)
    compte = supplier.compte(inv.compte_id) if supplier is not None else None
    return [
        ("Numéro", inv.numero),
        ("Statut", inv.statut_label),
        ("Type de facture", TYPES_FACTURE.get(inv.type_facture, fmt.text(inv.type_facture))),
        ("Cadre de facturation", CADRES.get(inv.cadre, fmt.text(inv.cadre))),
        ("Date de facture", fmt.date_fr(inv.date_facture)),
        ("Date de dépôt", fmt.datetime_fr(inv.date_depot)),
        ("SIRET du destinataire", fmt.text(inv.siret_destinataire)),
        ("Destinataire", fmt.text(inv.nom_destinataire)),
        ("Code service", fmt.text(inv.code_service)),
        ("Numéro d'engagement", fmt.text(inv.numero_engagement)),
        ("Numéro de marché", fmt.text(inv.numero_marche)),
        ("Numéro de la facture d'origine", fmt.text(inv.numero_facture_origine)),
        ("Devise", fmt.text(inv.devise)),
        ("Type de TVA", TYPES_TVA.get(inv.type_tva, fmt.text(inv.type_tva))),
        ("Mode de paiement", MODES_PAIEMENT.get(inv.mode_paiement, fmt.text(inv.mode_paiement))),
        ("Fournisseur", fmt.text(supplier.nom if supplier else "")),
        ("Coordonnées bancaires", f"{compte.libelle} - {compte.iban}" if compte else fmt.EMPTY),
        ("Montant HT", fmt.money(inv.montant_ht)),
        ("Montant TVA", fmt.money(inv.montant_tva)),
        ("Montant TTC", fmt.money(inv.montant_ttc)),
        ("Montant à payer", fmt.money(inv.montant_a_payer)),
        ("Commentaire", fmt.text(inv.commentaire)),
    ]


def owned_invoice(request: Request) -> tuple[Portal, Invoice]:
    """The invoice of the path's ``invoice_id``, when it is the logged-in supplier's (else
    the login form, or « introuvable »)."""
    session = logged_in(request)
    portal = portal_of(request)
    raw = request.path_params["invoice_id"]
    invoice = portal.store.get_invoice(raw)
    if invoice is None or invoice.supplier_id != session.supplier_id:
        raise NotFound(f"Facture {raw} introuvable.")
    return portal, invoice


#: The block of the public client's motive, by status: its title and its ``<dt>`` labels.
#: « Recyclage » and « Date de la demande » are [assumed] (docs/portal.md, « Assumed »).
_BLOCKS: dict[Status, tuple[str, tuple[str, ...]]] = {
    Status.REJETEE: (
        "Rejet",
        ("Motif", "Commentaire", "Date du rejet", "Acquittée", "Rejet traité"),
    ),
    Status.SUSPENDUE: (
        "Suspension",
        ("Motif", "Commentaire", "Date du rejet", "Acquittée", "Rejet traité"),
    ),
    Status.A_RECYCLER: ("Recyclage", ("Motif", "Commentaire", "Date de la demande")),
}


def _block(inv: Invoice) -> tuple[str | None, list[tuple[str, str]]]:
    """The motive block's title (None: no block) and its (label, value) pairs."""
    found = _BLOCKS.get(inv.statut)
    if found is None:
        return None, []
    title, labels = found
    values = {
        "Motif": fmt.text(inv.motif),
        "Commentaire": fmt.text(inv.commentaire_motif),
        "Date du rejet": fmt.date_fr(inv.date_motif),
        "Date de la demande": fmt.date_fr(inv.date_motif),
        "Acquittée": fmt.yes_no(inv.acquittee),
        "Rejet traité": fmt.yes_no(inv.rejet_traite),
    }
    return title, [(label, values[label]) for label in labels]


async def consultation(request: Request) -> Response:
    portal, inv = owned_invoice(request)
    block, block_fields = _block(inv)
    acknowledgeable = inv.statut in (Status.REJETEE, Status.SUSPENDUE)
    return render(
        request,
        "invoice.html",
        {
            "inv": inv,
            "current": "",
            "infos": _infos(portal, inv),
            "block_title": block,
            "block_fields": block_fields,
            "can_acknowledge": acknowledgeable and not inv.acquittee,
            "can_complete": completion_refusal(inv) is None,
            "can_recycle": recycling_refusal(inv) is None,
        },
    )


async def acknowledge(request: Request) -> Response:
    session, _form = await checked_form(request)
    portal, inv = owned_invoice(request)
    assert session.supplier_id is not None
    user = current_user(portal, session.email)
    done = portal.store.acknowledge(session.supplier_id, [inv.id], user)
    if done:
        session.flash("status", f"La facture {inv.numero} a été acquittée.")
    else:
        session.flash("alert", f"La facture {inv.numero} n'est pas à acquitter.")
    return redirect(request, invoice_path(inv.id))


# --- documents: « Télécharger » -------------------------------------------------------------


def _download_name(name: str) -> str:
    """A file name safe in ``Content-Disposition`` (the invoice number may hold « / »)."""
    return re.sub(r"[^A-Za-z0-9._+-]", "_", name) or "document"


def _attachment(portal: Portal, inv: Invoice, position: int) -> bytes | None:
    return portal.store.attachment_data(inv.id, position)


async def download_popup(request: Request) -> Response:
    """The content of the pop-up « Télécharger la facture N » (a fragment fetched by the page's
    script): the PDF and each attachment (a link when the sandbox kept its content)."""
    portal, inv = owned_invoice(request)
    documents = [
        (pj.nom, pj.taille, _attachment(portal, inv, position) is not None, position)
        for position, pj in enumerate(inv.pieces_jointes, start=1)
    ]
    return render(request, "_download.html", {"inv": inv, "documents": documents})


async def invoice_pdf(request: Request) -> Response:
    """« Facture au format PDF »: a small PDF naming the invoice and its amounts; logged as
    « Téléchargement de la facture » **[assumed]**."""
    portal, inv = owned_invoice(request)
    session = logged_in(request)
    user = current_user(portal, session.email)
    body = simple_pdf(
        f"Facture {inv.numero}",
        [
            f"Fournisseur : {_supplier_name(portal, inv)}",
            f"Destinataire : {fmt.text(inv.nom_destinataire)} ({fmt.text(inv.siret_destinataire)})",
            f"Date de facture : {fmt.date_fr(inv.date_facture)}",
            f"Montant HT : {fmt.money(inv.montant_ht)}",
            f"Montant TVA : {fmt.money(inv.montant_tva)}",
            f"Montant TTC : {fmt.money(inv.montant_ttc)}",
            "Document généré par le bac à sable Chorus Pro (données fictives).",
        ],
    )
    portal.store.add_history(inv.id, Action.TELECHARGEMENT_FACTURE, user.display_name)
    filename = f"facture_{_download_name(inv.numero)}.pdf"
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "content-disposition": f'attachment; filename="{filename}"',
            "cache-control": "no-store",
        },
    )


def _supplier_name(portal: Portal, inv: Invoice) -> str:
    supplier = portal.store.get_supplier(inv.supplier_id)
    return fmt.text(supplier.nom if supplier else "")


async def attachment(request: Request) -> Response:
    """One attachment of the invoice, when its content was kept (those sent through the
    forms); else « introuvable »."""
    portal, inv = owned_invoice(request)
    position = int(request.path_params["position"])
    data = _attachment(portal, inv, position) if 1 <= position <= len(inv.pieces_jointes) else None
    if data is None:
        raise NotFound(f"Pièce jointe {position} de la facture {inv.numero} introuvable.")
    name = inv.pieces_jointes[position - 1].nom
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Response(
        data,
        media_type=media_type,
        headers={
            "content-disposition": f'attachment; filename="{_download_name(name)}"',
            "cache-control": "no-store",
        },
    )


def routes() -> list[BaseRoute]:
    invoice = "/factures-emises/factures/{invoice_id:int}"
    return [
        Route(invoice + "/telecharger", download_popup, methods=["GET"]),
        Route(invoice + "/pdf", invoice_pdf, methods=["GET"]),
        Route(invoice + "/pieces-jointes/{position:int}", attachment, methods=["GET"]),
        Route("/factures-emises/factures/{invoice_id:int}", consultation, methods=["GET"]),
        Route(
            "/factures-emises/factures/{invoice_id:int}/acquitter", acknowledge, methods=["POST"]
        ),
    ]
