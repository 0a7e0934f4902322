"""Step 2 — process the rejection: tick the invoice in « Synthèse », « Traiter le rejet ».

Verified on the page the click leads to — the portal's message for that invoice and the
invoice gone from the list — or, when that page does not prove it, on the invoice's
consultation page (« Rejet traité : Oui » and the action in its history).

:func:`process_together` does it for several acknowledged rejections at once, as a person
does: all ticked in « Synthèse », one « Traiter le rejet » per page holding some.
"""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page

from pages import InvoicePage, InvoiceRecord, Navigator
from scenarios._portal import open_rejected, translated
from scenarios.model import BusinessError, Outcome, PortalError, Rejection, Step, StepResult

#: History label of the action (SCREENS.md, consultation page).
PROCESSED_ACTION = "Traitement du rejet"


def _state(record: InvoiceRecord) -> dict[str, object]:
    return {
        "statut": record.statut,
        "acquittee": record.acquittee,
        "rejet_traite": record.rejet_traite,
    }


def process(
    page: Page,
    rejection: Rejection,
    *,
    dry_run: bool = False,
    shown: InvoiceRecord | None = None,
    check: Callable[[InvoiceRecord], object] | None = None,
) -> StepResult:
    """Process the rejection unless the consultation page shows « Rejet traité : Oui ».

    Not acknowledged → BusinessError (the portal would refuse). In a dry run the step only
    says it would act — also when the rejection is not acknowledged yet, since a real run would
    have acknowledged it at the step before. ``shown``: the consultation page as the step
    before just read it (``StepResult.record``), used instead of reading it again while the
    page still shows it. ``check``: as for :func:`~scenarios.acknowledge.acknowledge`,
    called before the click.
    """
    numero = rejection.numero
    url = rejection.link
    with translated(f"Traitement du rejet de la facture {numero}"):
        _, record = open_rejected(page, numero, url, shown=shown)
        before = _state(record)
        if record.rejet_traite:
            return StepResult(
                Step.PROCESS,
                Outcome.ALREADY_DONE,
                "Rejet déjà traité.",
                before=before,
                after=before,
            )
        if check is not None:
            check(record)
        if dry_run:
            return StepResult(
                Step.PROCESS,
                Outcome.WOULD_DO,
                f"Le rejet de la facture {numero} serait traité depuis « Synthèse ».",
                before=before,
            )
        if not record.acquittee:
            raise BusinessError(
                f"La facture {numero} doit être acquittée avant de traiter le rejet."
            )
        synthese = Navigator(page).synthese()
        said = synthese.process_rejection([numero])
        if synthese.confirms_processed(numero, said):
            # The portal says so and the invoice left « Synthèse »: no need to reopen it.
            after: dict[str, object] = {
                **before,
                "rejet_traite": True,
                "synthese": "sortie de la liste",
            }
            done = True
        else:
            after_record = InvoicePage(page).goto(record.url).read()
            after = _state(after_record)
            done = bool(after_record.rejet_traite) and any(
                entry.action == PROCESSED_ACTION for entry in after_record.historique
            )
    if not done:
        alerts = tuple(message for message in said if numero in message)
        if alerts:
            raise BusinessError(f"Traitement du rejet de la facture {numero} refusé.", alerts)
        raise PortalError(
            f"Traitement du rejet de la facture {numero} : le portail n'affiche pas "
            "« Rejet traité : Oui »."
        )
    return StepResult(
        Step.PROCESS,
        Outcome.DONE,
        "Rejet traité.",
        before=before,
        after=after,
        portal_messages=tuple(said),
    )


def process_together(page: Page, numbers: list[str]) -> tuple[list[str], set[str]]:
    """« Traiter le rejet » for the acknowledged rejections ``numbers`` at once: ticked
    together in « Synthèse » (one submit per page holding some of them; only these are ever
    ticked). Returns the portal's messages and the numbers the page shown after proves
    processed (the portal's message for the invoice, the invoice gone from the list); the
    others are left to :func:`process`, which reconciles on their consultation pages."""
    with translated("Traitement groupé des rejets"):
        synthese = Navigator(page).synthese()
        said = synthese.process_rejection(numbers)
        proven = {numero for numero in numbers if synthese.confirms_processed(numero, said)}
    return said, proven
