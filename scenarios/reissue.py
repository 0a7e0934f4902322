"""Step 3 — issue the corrected invoice under its new number (« Saisir une facture »).

Reconcile first: an invoice with the new number that is ours (same recipient, deposited after
the rejection) means the step is already done — never a second invoice. A draft with that
number needs a person. Otherwise the form is filled from the rejected invoice and the
correction, sent, and the new invoice's consultation page is read to verify.

Dry run: the form is filled (proving every value can be chosen on the portal) but neither
sent nor saved; the result says, in French, what would be sent.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

from pages import EntryForm, InvoicePage, InvoiceRecord, Navigator, SearchPage, SearchRow
from scenarios._portal import DRAFT, read_rejected, search_number, translated
from scenarios.model import (
    BusinessError,
    Correction,
    Outcome,
    PortalError,
    Rejection,
    Step,
    StepResult,
)
from scenarios.reissue_content import ReissueContent, build_content

#: Statuses that show the new invoice was sent (docs/portal.md, « Statuses »).
SENT_STATUSES = ("Déposée", "En cours d'acheminement", "Mise à disposition du destinataire")


def reissue(
    page: Page, rejection: Rejection, correction: Correction, *, dry_run: bool = False
) -> StepResult:
    """Issue the corrected invoice ``correction.nouveau_numero`` unless it already exists."""
    numero = correction.nouveau_numero
    with translated(f"Nouvelle facture {numero}"):
        original = rejection.invoice or read_rejected(page, rejection.numero, rejection.link)
        content = build_content(original, correction)
        existing = _existing(page, rejection, content, original)
        if existing is not None:
            return StepResult(
                Step.REISSUE,
                Outcome.ALREADY_DONE,
                f"La facture {numero} existe déjà ({existing.statut}).",
                before=_state(existing),
                after=_state(existing),
            )
        form = Navigator(page).entry_form()
        fill(form, content)
        if dry_run:
            return StepResult(
                Step.REISSUE, Outcome.WOULD_DO, content.summary(), before=content.as_dict()
            )
        said = form.submit()
        record = InvoicePage(page).wait().read()
    if record.numero.casefold() != numero.casefold() or record.statut not in SENT_STATUSES:
        raise PortalError(
            f"Nouvelle facture {numero} : le portail affiche la facture {record.numero} "
            f"au statut « {record.statut} »."
        )
    return StepResult(
        Step.REISSUE,
        Outcome.DONE,
        f"Facture {numero} émise.",
        before=content.as_dict(),
        after=_state(record),
        portal_messages=(said,),
    )


def check_reissue(record: InvoiceRecord, correction: Correction) -> ReissueContent:
    """The new invoice's content, built before the transaction's first click.

    A correction that cannot apply to the rejected invoice as the portal shows it (say
    ``montant_ht`` on an invoice of several lines) is a BusinessError whose message says in
    what state the portal is left — untouched by this transaction — and what to do next.
    """
    try:
        return build_content(record, correction)
    except BusinessError as exc:
        if not record.acquittee:
            state = "toujours rejetée, non acquittée"
        elif not record.rejet_traite:
            state = "rejetée et acquittée, rejet non traité"
        else:
            state = "rejetée, rejet traité, sans nouvelle facture"
        where = (
            f"la ligne {correction.source_line} du plan" if correction.source_line else "le plan"
        )
        raise BusinessError(
            f"{exc}. Rien n'a été fait par le robot sur le portail : la facture "
            f"{record.numero} y est {state}. Corrigez {where}, puis relancez-le.",
            exc.messages,
        ) from exc


def fill(form: EntryForm, content: ReissueContent) -> None:
    """Type ``content`` into the entry form, block by block, in the portal's order."""
    if content.cadre:
        form.cadre.set(content.cadre)
    form.destinataire.set_siret(content.siret_destinataire)
    if content.code_service:  # a missing required one is left to the portal's own message
        form.destinataire.set_code_service(content.code_service)
    form.fournisseur.set_account(content.coordonnees_bancaires)
    refs = form.references
    if content.type_facture:
        refs.set_type(content.type_facture)
    refs.set_numero(content.numero)
    if content.date_facture:
        refs.set_date(content.date_facture)
    if content.devise:
        refs.set_devise(content.devise)
    if content.type_tva:
        refs.set_type_tva(content.type_tva)
    if content.mode_paiement:
        refs.set_mode_paiement(content.mode_paiement)
    refs.set_engagement(content.numero_engagement)
    refs.set_marche(content.numero_marche)
    refs.set_origine(content.numero_facture_origine)
    form.lignes.set_lines(content.lignes)
    if content.pieces_jointes:
        form.pieces_jointes.attach(list(content.pieces_jointes))
    form.commentaire.set(content.commentaire)


def _existing(
    page: Page, rejection: Rejection, content: ReissueContent, original: InvoiceRecord
) -> InvoiceRecord | None:
    """Our invoice with the new number if the portal has it; BusinessError for a draft.

    An invoice is ours when it is not the rejected one, went to the same recipient, and was
    deposited after the rejection. Another invoice with that number is left to the portal,
    which refuses duplicates with its own message.
    """
    rows = [
        row
        for row in search_number(page, content.numero)
        if row.numero.casefold() != rejection.numero.casefold()
    ]
    drafts = [row for row in rows if row.statut == DRAFT]
    since = original.date_rejet or original.date_depot
    for row in rows:
        if row.statut == DRAFT:
            continue
        record = _open(page, row).read()
        same_recipient = record.siret_destinataire == content.siret_destinataire
        after_rejection = since is None or (
            record.date_depot is not None and record.date_depot >= since
        )
        if same_recipient and after_rejection:
            return record
    if drafts:
        raise BusinessError(
            f"Un brouillon porte déjà le numéro {content.numero} : "
            "supprimez-le ou choisissez un autre numéro."
        )
    return None


def _open(page: Page, row: SearchRow) -> InvoicePage:
    return SearchPage(page).open_row(row)


def _state(record: InvoiceRecord) -> dict[str, Any]:
    return {
        "numero": record.numero,
        "statut": record.statut,
        "siret_destinataire": record.siret_destinataire,
        "code_service": record.code_service,
        "montant_ht": str(record.montant_ht) if record.montant_ht is not None else None,
        "montant_ttc": str(record.montant_ttc) if record.montant_ttc is not None else None,
        "url": record.url,
    }
