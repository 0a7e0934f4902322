"""Step 1 — acknowledge the rejection (« Acquitter »).

Done on the invoice's consultation page rather than in the rejection window: the page exists
whatever happened to the window (closed, already shown in this session), it acts on exactly
one invoice, and it shows « Acquittée : Oui » right after, to verify.
"""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page

from pages import InvoiceRecord
from scenarios._portal import open_rejected, translated
from scenarios.model import BusinessError, Outcome, PortalError, Rejection, Step, StepResult


def acknowledge(
    page: Page,
    rejection: Rejection,
    *,
    dry_run: bool = False,
    check: Callable[[InvoiceRecord], object] | None = None,
) -> StepResult:
    """Acknowledge ``rejection`` unless the portal already shows it acknowledged.

    ``check`` is called with the rejected invoice as read, before the click (and in a dry
    run): the BusinessError it raises stops the transaction before anything changes.
    """
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
        if record.acquittee:  # no click here: the next step checks before its own
            return StepResult(
                Step.ACKNOWLEDGE,
                Outcome.ALREADY_DONE,
                "Rejet déjà acquitté.",
                before=before,
                after=before,
                record=record,
            )
        if check is not None:
            check(record)
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
