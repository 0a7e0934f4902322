"""Collect the work list: the rejection window and « Synthèse », merged — rejected invoices
whose rejection is not processed yet, suspended invoices and invoices to recycle.

Read-only: nothing is acknowledged, processed, completed or recycled here.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from playwright.sync_api import Page

from pages import (
    InvoicePage,
    Navigator,
    RejectionWindow,
    SyntheseRow,
    WindowRow,
    parse_datetime,
)
from scenarios._portal import translated
from scenarios.model import Kind, Rejection

_NEVER = datetime(9999, 12, 31, tzinfo=UTC)  # unknown deposit date: last


def collect_rejections(page: Page, *, details: bool = True) -> list[Rejection]:
    """The rejected invoices whose rejection is not processed yet, oldest deposit first."""
    return collect_work(page, details=details, kinds=(Kind.REJECTED,))


def collect_work(
    page: Page, *, details: bool = True, kinds: tuple[Kind, ...] = tuple(Kind)
) -> list[Rejection]:
    """The invoices of the work list of the given ``kinds``, oldest deposit first.

    Reads the rejection window when the page shows it (motive, comment), then « Synthèse »
    over all its pages (acknowledged or not, amounts). With ``details``, opens each invoice's
    consultation page through the link of its number and attaches the ``InvoiceRecord``.
    Nothing is acknowledged; to reach « Synthèse » the window is closed (« Fermer », it comes
    back at the next login), or, when acknowledgment is compulsory, its links are followed.
    """
    statuses = {kind.label for kind in kinds}
    with translated("Lecture des factures à traiter"):
        window = {row.numero.casefold(): row for row in _window_rows(page, statuses)}
        synthese = Navigator(page).synthese().rows()
        rejections = [
            _merge(row, window.get(row.numero.casefold()))
            for row in synthese
            if row.statut in statuses
        ]
        if details:
            rejections = [_with_details(page, rejection, synthese) for rejection in rejections]
    return sorted(rejections, key=_deposit_order)


def _window_rows(page: Page, statuses: set[str]) -> list[WindowRow]:
    window = RejectionWindow(page)
    if not window.is_open():
        return []
    return [row for row in window.rows() if row.statut in statuses]


def _merge(row: SyntheseRow, seen: WindowRow | None) -> Rejection:
    return Rejection(
        numero=row.numero,
        destinataire=row.destinataire or (seen.destinataire if seen else ""),
        date_depot=row.date_depot or (seen.date_depot if seen else ""),
        motif=seen.motif if seen else "",
        commentaire=seen.commentaire if seen else "",
        statut=row.statut,
        acquittee=bool(row.acquittee),
        montant_ttc=row.montant_ttc,
        url=row.href or "",
    )


def _with_details(page: Page, rejection: Rejection, rows: list[SyntheseRow]) -> Rejection:
    href = next((row.href for row in rows if row.numero == rejection.numero and row.href), "")
    invoice = InvoicePage(page)
    if href:
        invoice.goto(href)
    else:  # no link read: click it in « Synthèse »
        synthese = Navigator(page).synthese()
        synthese.find_row(rejection.numero)
        invoice.open_link(synthese.table.get_by_role("link", name=rejection.numero, exact=True))
    record = invoice.read()
    return replace(
        rejection,
        invoice=record,
        motif=rejection.motif or record.motif_rejet,
        commentaire=rejection.commentaire or record.commentaire_rejet,
        destinataire=rejection.destinataire or record.destinataire,
        acquittee=bool(record.acquittee) if record.acquittee is not None else rejection.acquittee,
        montant_ttc=record.montant_ttc if record.montant_ttc is not None else rejection.montant_ttc,
    )


def _deposit_order(rejection: Rejection) -> tuple[datetime, str]:
    moment = None
    if rejection.invoice is not None and rejection.invoice.date_depot is not None:
        moment = rejection.invoice.date_depot
    if moment is None:
        moment = parse_datetime(rejection.date_depot)
    return (moment or _NEVER, rejection.numero)
