"""Find one rejected invoice by its number, whatever its progress (for plan rows that the
collect step did not list because their rejection is already processed)."""

from __future__ import annotations

from playwright.sync_api import Page

from pages import SearchPage
from scenarios._portal import REJECTED, search_number, translated
from scenarios.model import Rejection


def find_rejection(page: Page, numero: str) -> Rejection | None:
    """The invoice ``numero`` with the status « Rejetée », read in full; None when there is none.

    Read-only. A plan row for an invoice that is not rejected is reported, never guessed.
    """
    with translated(f"Recherche de la facture {numero}"):
        rows = [row for row in search_number(page, numero) if row.statut == REJECTED]
        if not rows:
            return None
        record = SearchPage(page).open_row(rows[0]).read()
    return Rejection(
        numero=record.numero,
        destinataire=record.destinataire,
        date_depot=record.date_depot.strftime("%d/%m/%Y") if record.date_depot else "",
        motif=record.motif_rejet,
        commentaire=record.commentaire_rejet,
        statut=record.statut,
        acquittee=bool(record.acquittee),
        montant_ttc=record.montant_ttc,
        invoice=record,
    )
