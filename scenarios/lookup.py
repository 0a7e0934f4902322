"""Find one invoice of the plan by its number, whatever its progress (for plan rows the
collect step did not list: a rejection already processed, an invoice already completed or
recycled, or one the plan got wrong)."""

from __future__ import annotations

from playwright.sync_api import Page

from pages import SearchPage
from scenarios._portal import REJECTED, search_number, translated
from scenarios.complete import SUSPENDED_STATUSES
from scenarios.model import Kind, Rejection
from scenarios.recycle import RECYCLE_STATUSES

#: The statuses an invoice of each kind may show while a transaction works on it (the first
#: is the one that asks for the work; the others, the work done).
STATUSES: dict[Kind, tuple[str, ...]] = {
    Kind.REJECTED: (REJECTED,),
    Kind.SUSPENDED: SUSPENDED_STATUSES,
    Kind.TO_RECYCLE: RECYCLE_STATUSES,
}


def fits(item: Rejection, kind: Kind) -> bool:
    """Whether ``item``'s status on the portal is one a transaction of ``kind`` works on."""
    return item.statut in STATUSES[kind]


def find_rejection(page: Page, numero: str) -> Rejection | None:
    """The invoice ``numero`` with the status « Rejetée », read in full; None when there is none.

    Read-only. A plan row for an invoice that is not rejected is reported, never guessed.
    """
    return find_work_item(page, numero, Kind.REJECTED)


def find_work_item(page: Page, numero: str, kind: Kind) -> Rejection | None:
    """The invoice ``numero``, read in full: in a status ``kind`` works on when there is one;
    for a suspended or to-recycle row, else in whatever status the portal shows it (the caller
    says the row does not fit); None when the portal has no such invoice (or, for a rejected
    row, no rejected one: the other invoices with that number are not ours to guess)."""
    with translated(f"Recherche de la facture {numero}"):
        rows = search_number(page, numero)
        wanted = STATUSES[kind]
        matching = sorted(
            (row for row in rows if row.statut in wanted), key=lambda r: wanted.index(r.statut)
        )
        if not matching and kind is not Kind.REJECTED:
            matching = rows
        if not matching:
            return None
        record = SearchPage(page).open_row(matching[0]).read()
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
