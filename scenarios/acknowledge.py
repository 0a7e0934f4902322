"""Step 1 — acknowledge the rejection (« Acquitter »).

Done on the invoice's consultation page rather than in the rejection window: the page exists
whatever happened to the window (closed, already shown in this session), it acts on exactly
one invoice, and it shows « Acquittée : Oui » right after, to verify.
"""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page

from pages import InvoiceRecord
from scenarios._portal import REJECTED, open_invoice, translated
from scenarios.complete import SUSPENDED_STATUSES
from scenarios.model import BusinessError, Kind, Outcome, PortalError, Rejection, Step, StepResult


def acknowledge(
    page: Page,
    rejection: Rejection,
    *,
    dry_run: bool = False,
    check: Callable[[InvoiceRecord], object] | None = None,
    kind: Kind | None = None,
) -> StepResult:
    """Acknowledge ``rejection`` (a rejection, or a suspension) unless the portal already
    shows it acknowledged — a completed invoice's suspension was acknowledged before.

    ``check`` is called with the rejected invoice as read, before the click (and in a dry
    run): the BusinessError it raises stops the transaction before anything changes.
    ``kind``: the work the plan asks for (default: what the status read earlier says; a
    resumed transaction may find its invoice « Complétée » already).
    """
    numero = rejection.numero
    url = rejection.link
    suspended = (kind or rejection.kind) is Kind.SUSPENDED
    statuses = SUSPENDED_STATUSES if suspended else (REJECTED,)
    done, already, would = (
        (
            "Suspension acquittée.",
            "Suspension déjà acquittée.",
            f"La suspension de la facture {numero} serait acquittée.",
        )
        if suspended
        else (
            "Rejet acquitté.",
            "Rejet déjà acquitté.",
            f"Le rejet de la facture {numero} serait acquitté.",
        )
    )
    with translated(f"Acquittement de la facture {numero}"):
        invoice, record = open_invoice(page, numero, url, statuses)
        before = {
            "statut": record.statut,
            "acquittee": record.acquittee,
            "motif": record.motif_rejet,
            "commentaire": record.commentaire_rejet,
        }
        if record.acquittee or record.statut not in (REJECTED, Kind.SUSPENDED.label):
            # No click here (the next step checks before its own); a « Complétée » invoice
            # had its suspension acknowledged before it was completed.
            return StepResult(
                Step.ACKNOWLEDGE,
                Outcome.ALREADY_DONE,
                already,
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
                would,
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
        done,
        before=before,
        after=after,
        portal_messages=tuple(said),
        record=after_record,
    )
