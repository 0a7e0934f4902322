"""Follow the invoices a run sent: where each stands on the portal now. Read-only.

For each number: « Rechercher » it and read its status; when the recipient sent it back
again (« Rejetée », « Suspendue », « À recycler »), open its consultation page and read the
motive and comment. Nothing is clicked that changes the portal. Several invoices are read
from one « Exporter » of every invoice of the account (:func:`listed_invoices`: one file,
where a search each would load a page or more each); only those sent back are searched and
opened.

What a status means for the supplier (:func:`verdict`, docs/portal.md « Statuses »):

- « Mise à disposition du destinataire », every later status of the life cycle (« Service
  fait », « Mandatée », « Mise à disposition du comptable », « Comptabilisée », « Mise en
  paiement ») and « Complétée »: received, nothing to do (:attr:`Verdict.RECEIVED`);
- « Déposée », « En cours d'acheminement »: on its way, not a failure; to follow again later
  (:attr:`Verdict.ON_ITS_WAY`);
- « Rejetée », « Suspendue », « À recycler »: sent back again, a person must act
  (:attr:`Verdict.SENT_BACK`);
- no such invoice, a draft, or a status the robot does not know: a person must look
  (:attr:`Verdict.TO_CHECK`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from playwright.sync_api import Page

from pages import Navigator, SearchPage, SearchRow
from scenarios._portal import search_number, translated
from scenarios.complete import COMPLETED
from scenarios.model import Kind

#: « Mise à disposition du destinataire »: the recipient has the invoice.
DELIVERED = "Mise à disposition du destinataire"
#: The statuses after it in the portal's life cycle, in order.
LATER_STATUSES = (
    "Service fait",
    "Mandatée",
    "Mise à disposition du comptable",
    "Comptabilisée",
    "Mise en paiement",
)
#: The invoice reached its recipient (or, suspended, was completed): nothing to do.
RECEIVED_STATUSES = (DELIVERED, *LATER_STATUSES, COMPLETED)
#: Sent, still on its way to the recipient: not a failure, to follow again later.
ON_ITS_WAY_STATUSES = ("Déposée", "En cours d'acheminement")
#: The recipient sent it back again: a person must act.
SENT_BACK_STATUSES = (Kind.REJECTED.label, Kind.SUSPENDED.label, Kind.TO_RECYCLE.label)


class Verdict(StrEnum):
    """What an invoice's current status means for the supplier."""

    RECEIVED = "recue"
    ON_ITS_WAY = "en_cours"
    SENT_BACK = "renvoyee"
    TO_CHECK = "a_verifier"

    @property
    def label(self) -> str:
        """In French, as the command's table shows it."""
        return _VERDICT_LABELS[self]

    @property
    def needs_a_person(self) -> bool:
        return self in (Verdict.SENT_BACK, Verdict.TO_CHECK)


_VERDICT_LABELS = {
    Verdict.RECEIVED: "Reçue",
    Verdict.ON_ITS_WAY: "En cours (à suivre de nouveau)",
    Verdict.SENT_BACK: "Renvoyée : à traiter",
    Verdict.TO_CHECK: "À vérifier",
}


def _is(statut: str, labels: Iterable[str]) -> bool:
    wanted = statut.strip().casefold()
    return any(label.casefold() == wanted for label in labels)


def verdict(statut: str) -> Verdict:
    """What the status ``statut`` (display label; "" when the invoice was not found) means."""
    if _is(statut, RECEIVED_STATUSES):
        return Verdict.RECEIVED
    if _is(statut, ON_ITS_WAY_STATUSES):
        return Verdict.ON_ITS_WAY
    if _is(statut, SENT_BACK_STATUSES):
        return Verdict.SENT_BACK
    return Verdict.TO_CHECK


@dataclass(frozen=True)
class FollowUp:
    """Where one invoice stands on the portal: its status (display label, "" when the portal
    has no invoice with that number) and, when it was sent back again, the motive and comment
    of its consultation page."""

    numero: str
    statut: str
    motif: str = ""
    commentaire: str = ""

    @property
    def found(self) -> bool:
        return bool(self.statut)

    @property
    def verdict(self) -> Verdict:
        return verdict(self.statut)


#: Every invoice of the account as « Exporter » gave them, by number (case aside).
Listed = Mapping[str, Sequence[SearchRow]]

#: From this many invoices to follow, they are read from one « Exporter ».
EXPORT_FROM = 2


def listed_invoices(page: Page) -> Listed | None:
    """Every invoice of the account, from one « Exporter » of a search without criteria;
    None when the portal offers no export (the invoices are then searched one by one).

    Read-only. PortalError (or SessionLost) when the portal fails.
    """
    with translated("Export des factures"):
        rows = Navigator(page).search().export()
    if rows is None:
        return None
    listed: dict[str, list[SearchRow]] = {}
    for row in rows:
        listed.setdefault(row.numero.casefold(), []).append(row)
    return listed


def follow_invoice(page: Page, numero: str, listed: Listed | None = None) -> FollowUp:
    """Where the invoice ``numero`` stands now (the newest deposit with that number).

    ``listed``: every invoice of the account (:func:`listed_invoices`), read earlier; the
    portal is then only visited for an invoice sent back (its motive). Read-only.
    PortalError (or SessionLost) when the portal fails.
    """
    with translated(f"Suivi de la facture {numero}"):
        if listed is not None:
            rows = list(listed.get(numero.casefold(), ()))
        else:
            rows = search_number(page, numero)
        if not rows:
            return FollowUp(numero=numero, statut="")
        row = max(rows, key=_deposit_order)  # the first of the newest, as the portal lists
        if not _is(row.statut, SENT_BACK_STATUSES):
            return FollowUp(numero=row.numero, statut=row.statut)
        if not row.href:  # read from the export: found again, to open it
            row = max(search_number(page, numero), key=_deposit_order)
        record = SearchPage(page).open_row(row).read()
    return FollowUp(
        numero=record.numero,
        statut=record.statut,
        motif=record.motif_rejet,
        commentaire=record.commentaire_rejet,
    )


def _deposit_order(row: SearchRow) -> float:
    deposited = row.deposited_at
    return deposited.timestamp() if deposited is not None else float("-inf")


def follow_invoices(page: Page, numeros: Iterable[str]) -> list[FollowUp]:
    """:func:`follow_invoice` for each number, in order (from one export when several)."""
    numeros = list(numeros)
    listed = listed_invoices(page) if len(numeros) >= EXPORT_FROM else None
    return [follow_invoice(page, numero, listed) for numero in numeros]
