"""Recycle an invoice that reached the wrong recipient (« Recycler »): a new « SIRET du
destinataire », « Code service » and/or « Numéro d'engagement », same number, no new
invoice. The portal then routes it again (« Déposée », then « Mise à disposition du
destinataire »).

Reconcile first: an invoice no longer « À recycler » whose recipient already is the plan's
was recycled (by this robot before a crash, or by a person): nothing is done again.
"""

from __future__ import annotations

from playwright.sync_api import Page

from pages import InvoicePage, InvoiceRecord
from scenarios._portal import open_invoice, translated
from scenarios.model import (
    BusinessError,
    Correction,
    Kind,
    Outcome,
    PortalError,
    Rejection,
    Step,
    StepResult,
)

#: Statuses of an invoice routed again after recycling (docs/portal.md, « Statuses »).
ROUTED = ("Déposée", "En cours d'acheminement", "Mise à disposition du destinataire")
RECYCLE_STATUSES = (Kind.TO_RECYCLE.label, *ROUTED)


def wanted(correction: Correction) -> dict[str, str]:
    """The recipient fields the plan sets (field → value), the others left out."""
    fields = {
        "siret_destinataire": correction.siret_destinataire,
        "code_service": correction.code_service,
        "numero_engagement": correction.numero_engagement,
    }
    return {name: value for name, value in fields.items() if value is not None}


def _same(name: str, shown: str, value: str) -> bool:
    if name == "siret_destinataire":
        return shown.replace(" ", "") == value.replace(" ", "")
    if name == "code_service":  # the portal's codes are case-insensitive
        return shown.casefold() == value.casefold()
    return shown == value


def differences(record: InvoiceRecord, correction: Correction) -> dict[str, str]:
    """What the plan would change on the invoice as shown (field → new value)."""
    return {
        name: value
        for name, value in wanted(correction).items()
        if not _same(name, str(getattr(record, name) or ""), value)
    }


def _state(record: InvoiceRecord) -> dict[str, object]:
    return {
        "statut": record.statut,
        "siret_destinataire": record.siret_destinataire,
        "code_service": record.code_service,
        "numero_engagement": record.numero_engagement,
    }


def recycle(
    page: Page, item: Rejection, correction: Correction, *, dry_run: bool = False
) -> StepResult:
    """Recycle the invoice ``item`` to the recipient ``correction`` names."""
    numero = item.numero
    with translated(f"Recyclage de la facture {numero}"):
        invoice, record = open_invoice(page, numero, item.link, RECYCLE_STATUSES)
        before = _state(record)
        changes = differences(record, correction)
        if record.statut != Kind.TO_RECYCLE.label:
            if not changes:
                return StepResult(
                    Step.RECYCLE,
                    Outcome.ALREADY_DONE,
                    f"Facture déjà recyclée ({record.statut}).",
                    before=before,
                    after=before,
                )
            raise BusinessError(
                f"La facture {numero} n'est plus « À recycler » ({record.statut}) et son "
                "destinataire n'est pas celui du plan : rien n'a été fait."
            )
        if not changes:
            raise BusinessError(
                f"La facture {numero} a déjà le destinataire, le code service et l'engagement "
                "du plan : le recycler ne changerait rien. Indiquez dans le plan ce qui doit "
                "changer."
            )
        told = ", ".join(f"{name} {value}" for name, value in changes.items())
        if dry_run:
            return StepResult(
                Step.RECYCLE,
                Outcome.WOULD_DO,
                f"La facture {numero} serait recyclée ({told}).",
                before=before,
            )
        form = invoice.open_recycling()
        if "siret_destinataire" in changes or "code_service" in changes:
            form.set_siret(correction.siret_destinataire or record.siret_destinataire)
            if correction.code_service or record.code_service:
                form.set_code_service(correction.code_service or record.code_service)
        if correction.numero_engagement is not None:
            form.set_engagement(correction.numero_engagement)
        if correction.commentaire:
            form.set_commentaire(correction.commentaire)
        said = form.submit()
        after_record = InvoicePage(page).wait().read()
    if after_record.statut not in ROUTED or differences(after_record, correction):
        raise PortalError(
            f"Recyclage de la facture {numero} : le portail affiche le statut "
            f"« {after_record.statut} » et le destinataire {after_record.siret_destinataire}."
        )
    return StepResult(
        Step.RECYCLE,
        Outcome.DONE,
        f"Facture recyclée ({told}).",
        before=before,
        after=_state(after_record),
        portal_messages=tuple(said),
    )
