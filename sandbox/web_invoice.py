"""The consultation page of one invoice, and its « Acquitter » button (« Compléter » and
« Recycler » lead to the forms of :mod:`sandbox.web_followup`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox import fmt
from sandbox.model import CADRES, MODES_PAIEMENT, TYPES_FACTURE, TYPES_TVA, Invoice, Status
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


def routes() -> list[BaseRoute]:
    return [
        Route("/factures-emises/factures/{invoice_id:int}", consultation, methods=["GET"]),
        Route(
            "/factures-emises/factures/{invoice_id:int}/acquitter", acknowledge, methods=["POST"]
        ),
    ]
