"""Step 1 — acknowledge the rejection (« Acquitter »).

Done on the invoice's consultation page rather than in the rejection window: the page exists
whatever happened to the window (closed, already shown in this session), it acts on exactly
one invoice, and it shows « Acquittée : Oui » right after, to verify.
"""

from __future__ import annotations

from playwright.sync_api import Page

from scenarios._portal import open_rejected, translated
from scenarios.model import BusinessError, Outcome, PortalError, Rejection, Step, StepResult


def acknowledge(page: Page, rejection: Rejection, *, dry_run: bool = False) -> StepResult:
    """Acknowledge ``rejection`` unless the portal already shows it acknowledged."""
    numero = rejection.numero
    url = rejection.link
    with translated(f"Acquittement de la facture {numero}"):
        invoice, record = open_rejected(page, numero, url)
        before = {
            "statut": record.statut,
            "acquittee": record.acquittee,
            "motif": record.motif_rejet,
            "commentaire": record.commentaire_rejet,
        }
        if record.acquittee:
            return StepResult(
                Step.ACKNOWLEDGE,
                Outcome.ALREADY_DONE,
                "Rejet déjà acquitté.",
                before=before,
                after=before,
                record=record,
            )
        if dry_run:
            return StepResult(
                Step.ACKNOWLEDGE,
                Outcome.WOULD_DO,
                f"Le rejet de la facture {numero} serait acquitté.",
                before=before,
                record=record,
            )
        said = invoice.acknowledge()
        after_record = invoice.read()
    after = {"statut": after_record.statut, "acquittee": after_record.acquittee}
    if not after_record.acquittee:
        if said:
            raise BusinessError(f"Acquittement de la facture {numero} refusé.", tuple(said))
        raise PortalError(
            f"Acquittement de la facture {numero} : le portail n'affiche pas « Acquittée : Oui »."
        )
    return StepResult(
        Step.ACKNOWLEDGE,
        Outcome.DONE,
        "Rejet acquitté.",
        before=before,
        after=after,
        portal_messages=tuple(said),
        record=after_record,
    )
