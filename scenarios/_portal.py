"""What every step shares: page errors translated to scenario errors, finding an invoice."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urljoin

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from pages import (
    ElementMissing,
    FormRejected,
    InvoicePage,
    InvoiceRecord,
    LoginRequired,
    Navigator,
    ParseError,
    PortalUnavailable,
    SearchPage,
    SearchRow,
)
from pages.errors import first_line
from scenarios.model import BusinessError, PortalError, SessionLost

#: Display label of a rejected invoice (docs/portal.md, « Statuses »).
REJECTED = "Rejetée"
DRAFT = "Brouillon"


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Turn page and Playwright errors into the scenario's two families.

    ``LoginRequired`` → SessionLost; ``FormRejected`` → BusinessError (the portal's messages);
    ``PortalUnavailable``, ``ElementMissing``, unreadable values and any Playwright error →
    PortalError. The original error is chained for the logs; its message never holds a value
    typed by the robot (page objects word their own messages).
    """
    try:
        yield
    except LoginRequired as exc:
        raise SessionLost(f"{what} : {exc}") from exc
    except FormRejected as exc:
        raise BusinessError(f"{what} : {exc}", exc.messages) from exc
    except (PortalUnavailable, ElementMissing, ParseError) as exc:
        raise PortalError(f"{what} : {exc}") from exc
    except PlaywrightError as exc:
        raise PortalError(f"{what} : {first_line(exc)}") from exc


def search_number(page: Page, numero: str) -> list[SearchRow]:
    """Every invoice numbered ``numero`` (« Rechercher », case-insensitive exact match)."""
    rows = Navigator(page).search().search(numero=numero)
    wanted = numero.casefold()
    return [row for row in rows if row.numero.casefold() == wanted]


def open_rejected(
    page: Page, numero: str, url: str = "", *, shown: InvoiceRecord | None = None
) -> tuple[InvoicePage, InvoiceRecord]:
    """The consultation page of the rejected invoice ``numero``, and what it shows.

    ``shown`` is what the page shows now, read by the previous step of the same transaction:
    taken as is when the page is still on that invoice's document (no second read). Otherwise
    goes straight to ``url`` when known (a link read on the portal earlier) and it shows that
    invoice; otherwise « Rechercher » by number and the result with the status « Rejetée ».
    """
    return open_invoice(page, numero, url, (REJECTED,), shown=shown)


def open_invoice(
    page: Page,
    numero: str,
    url: str,
    statuses: tuple[str, ...],
    *,
    shown: InvoiceRecord | None = None,
) -> tuple[InvoicePage, InvoiceRecord]:
    """The consultation page of the invoice ``numero`` in one of ``statuses`` (display labels,
    the first preferred), and what it shows; see :func:`open_rejected`. BusinessError naming
    the statuses found when the portal has no such invoice in one of them."""
    invoice = InvoicePage(page)
    if (
        shown is not None
        and shown.url
        and _same_document(page.url, shown.url)
        and shown.numero.casefold() == numero.casefold()
        and shown.statut in statuses
    ):
        return invoice, shown
    if url:
        # Already showing it (the previous step ended there): read it, no reload.
        here = _same_document(page.url, url) and invoice.info_region.count() > 0
        record = (invoice if here else invoice.goto(url)).read()
        if record.numero.casefold() == numero.casefold() and record.statut in statuses:
            return invoice, record
    rows = search_number(page, numero)
    matching = sorted(
        (row for row in rows if row.statut in statuses), key=lambda r: statuses.index(r.statut)
    )
    if not matching:
        found = ", ".join(sorted({row.statut for row in rows})) or "aucune facture"
        wanted = " ou ".join(f"« {s} »" for s in statuses)
        raise BusinessError(
            f"La facture {numero} n'est pas {wanted} sur le portail ({found})."
            if len(statuses) > 1
            else f"La facture {numero} n'est pas {_adjective(statuses[0])} sur le portail "
            f"({found})."
        )
    invoice = SearchPage(page).open_row(matching[0])
    return invoice, invoice.read()


def _adjective(statut: str) -> str:
    return statut.lower() if statut != "À recycler" else "à recycler"


def _same_document(current: str, wanted: str) -> bool:
    def strip(address: str) -> str:
        return urljoin(current, address).split("#", 1)[0].split("?", 1)[0]

    return strip(current) == strip(wanted)


def read_rejected(page: Page, numero: str, url: str = "") -> InvoiceRecord:
    """Open and read the rejected invoice ``numero``."""
    return open_rejected(page, numero, url)[1]
