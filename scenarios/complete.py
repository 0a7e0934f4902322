"""Complete a suspended invoice (« Compléter »): add the attachments and/or the comment the
recipient asked for. The invoice's data and number do not change; its status becomes
« Complétée ». The suspension must be acknowledged first (the acknowledge step).

Reconcile first: an invoice already « Complétée » is not completed again (completing is what
turns « Suspendue » into « Complétée »).
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

#: Display label of a completed invoice (docs/portal.md, « Statuses »).
COMPLETED = "Complétée"
#: The statuses a suspended invoice's consultation page may show in this transaction.
SUSPENDED_STATUSES = (Kind.SUSPENDED.label, COMPLETED)


def _state(record: InvoiceRecord) -> dict[str, object]:
    return {
        "statut": record.statut,
        "acquittee": record.acquittee,
        "pieces_jointes": list(record.pieces_jointes),
    }


def complete(
    page: Page, item: Rejection, correction: Correction, *, dry_run: bool = False
) -> StepResult:
    """Complete the suspended invoice ``item`` with ``correction``'s attachments and comment."""
    numero = item.numero
    names = [path.name for path in correction.pieces_jointes]
    with translated(f"Complément de la facture {numero}"):
        invoice, record = open_invoice(page, numero, item.link, SUSPENDED_STATUSES)
        before = _state(record)
        if record.statut == COMPLETED:
            return StepResult(
                Step.COMPLETE,
                Outcome.ALREADY_DONE,
                "Facture déjà complétée.",
                before=before,
                after=before,
            )
        if dry_run:
            what = [f"pièce(s) jointe(s) {', '.join(names)}"] if names else []
            what += ["un commentaire"] if correction.commentaire else []
            return StepResult(
                Step.COMPLETE,
                Outcome.WOULD_DO,
                f"La facture {numero} serait complétée ({' et '.join(what)}).",
                before=before,
            )
        if not record.acquittee:
            raise BusinessError(
                f"La suspension de la facture {numero} doit être acquittée avant de la compléter."
            )
        form = invoice.open_completion()
        if correction.pieces_jointes:
            form.attach(list(correction.pieces_jointes))
        if correction.commentaire:
            form.set_commentaire(correction.commentaire)
        said = form.submit()
        after_record = InvoicePage(page).wait().read()
    missing = [name for name in names if name not in after_record.pieces_jointes]
    if after_record.statut != COMPLETED or missing:
        raise PortalError(
            f"Complément de la facture {numero} : le portail affiche le statut "
            f"« {after_record.statut} »"
            + (f" sans les pièces jointes {', '.join(missing)}" if missing else "")
            + "."
        )
    return StepResult(
        Step.COMPLETE,
        Outcome.DONE,
        "Facture complétée.",
        before=before,
        after=_state(after_record),
        portal_messages=tuple(said),
    )
