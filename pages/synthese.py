"""« Synthèse »: the work list of « Factures émises », over all its pages; « Traiter le rejet »."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import ClassVar

from playwright.sync_api import Locator, Page

from pages._base import PageObject
from pages._guard import messages, navigation, portal_timeouts, wait_for_screen
from pages._parse import clean, parse_datetime, parse_money, parse_yes_no
from pages._table import (
    Columns,
    each_page,
    page_position,
    pagination_elements,
    read_table_if_shown,
    rewind,
    set_rows_per_page,
)
from pages._witness import witness

#: Between two sentences of a message.
_SENTENCE_END = re.compile(r"(?<=[.!])\s+")


class Labels:
    TABLE = "Synthèse"
    SELECT = "Sélectionner la facture {numero}"
    PROCESS = "Traiter le rejet"
    PROCESSED = "Le rejet de la facture {numero} a été traité."
    EMPTY = "Aucune facture à traiter."


#: Rows per page asked for before reading the whole list (fewer pages to walk).
DEFAULT_ROWS_PER_PAGE = 50


@dataclass(frozen=True)
class SyntheseRow:
    """One line of the work list."""

    numero: str
    date_depot: str  # as displayed
    destinataire: str
    montant_ttc: Decimal | None
    statut: str
    acquittee: bool | None
    href: str = ""

    @property
    def deposited_at(self) -> datetime | None:
        return parse_datetime(self.date_depot)


#: :attr:`SynthesePage._prepared` when the first page was not shown by this object.
_NOT_PREPARED = -1


class SynthesePage(PageObject):
    """The « Synthèse » table, its pagination and « Traiter le rejet »."""

    #: The columns read into a :class:`SyntheseRow` (header → field). The last column,
    #: « Sélection », holds the checkboxes (found by their own label): it is not read.
    COLUMNS: ClassVar[Columns] = MappingProxyType(
        {
            "Numéro de facture": "numero",
            "Date de dépôt": "date_depot",
            "Destinataire": "destinataire",
            "Montant TTC": "montant_ttc",
            "Statut": "statut",
            "Acquittée": "acquittee",
        }
    )

    def __init__(self, page: Page) -> None:
        super().__init__(page)
        # Rows per page of the first page just shown by :meth:`open_first_page`, for the next
        # walk through the list to start there without checking again (used once).
        self._prepared: int | None = _NOT_PREPARED

    @property
    def table(self) -> Locator:
        return self.page.get_by_role("table", name=Labels.TABLE, exact=True)

    @property
    def empty_notice(self) -> Locator:
        return self.page.get_by_text(Labels.EMPTY, exact=True)

    @property
    def process_button(self) -> Locator:
        return self.page.get_by_role("button", name=Labels.PROCESS, exact=True)

    @property
    def _ready(self) -> Locator:
        return self.table.or_(self.empty_notice)

    def checkbox(self, numero: str) -> Locator:
        return self.table.get_by_role(
            "checkbox", name=Labels.SELECT.format(numero=numero), exact=True
        )

    def expected_elements(self) -> dict[str, Locator]:
        if not self.table.count() and self.empty_notice.count():
            # Nothing to act on: no table, no pagination; the button stays.
            return {Labels.PROCESS: self.process_button, Labels.EMPTY: self.empty_notice}
        return {
            "Tableau « Synthèse »": self.table,
            "Traiter le rejet": self.process_button,
            **pagination_elements(self.page),
        }

    def wait(self) -> SynthesePage:
        """Wait for the table (behind the « Chargement en cours… » spinner) or the empty list."""
        wait_for_screen(self.page, self._ready, "Synthèse")
        return self

    def rows(self, rows_per_page: int | None = DEFAULT_ROWS_PER_PAGE) -> list[SyntheseRow]:
        """Every row of the list, following « Page suivante » from the first page."""
        self._first_page(rows_per_page)
        found: list[SyntheseRow] = []
        for _ in each_page(self.page, self._ready, "Synthèse"):
            found.extend(self._page_rows())
        return found

    def find_row(self, numero: str) -> SyntheseRow | None:
        """The row of invoice ``numero`` (searching every page), or None."""
        self._first_page(DEFAULT_ROWS_PER_PAGE)
        wanted = numero.casefold()
        for _ in each_page(self.page, self._ready, "Synthèse"):
            for row in self._page_rows():
                if row.numero.casefold() == wanted:
                    return row
        return None

    def process_rejection(self, numbers: Iterable[str]) -> list[str]:
        """Tick the given invoices, wherever they are in the list, and « Traiter le rejet ».

        One submit per page holding some of them. Returns the portal's status and alert
        messages, in order; invoices not in the list are left out (the caller verifies).
        """
        pending = {clean(number).casefold(): clean(number) for number in numbers}
        said: list[str] = []
        self._first_page(DEFAULT_ROWS_PER_PAGE)
        for _ in range(len(pending) + 1):
            if not pending:
                break
            here = self._tick_on_some_page(pending)
            if not here:
                break
            witness(self.page, Labels.PROCESS, "avant")
            with navigation(self.page, self._ready, "Traitement du rejet"):
                self.process_button.click()
            witness(self.page, Labels.PROCESS, "après")
            said.extend(messages(self.page, "status") + messages(self.page, "alert"))
            for key in here:
                pending.pop(key, None)
            if pending:
                self._first_page(None)
        return said

    def confirms_processed(self, numero: str, said: Iterable[str]) -> bool:
        """Whether the page shown after « Traiter le rejet » proves ``numero`` was processed.

        Both must hold: the portal's status message for that invoice among ``said``, and the
        invoice gone from the list on this page. False leaves the proof to the consultation
        page (« Rejet traité : Oui »).
        """
        wanted = clean(Labels.PROCESSED.format(numero=numero)).casefold()
        # One message per invoice, or one message holding a sentence per invoice ticked.
        sentences = {
            sentence.casefold()
            for message in said
            for sentence in _SENTENCE_END.split(clean(message))
        }
        if wanted not in sentences:
            return False
        with portal_timeouts("Synthèse"):
            return not self.checkbox(numero).count()

    def _tick_on_some_page(self, pending: dict[str, str]) -> list[str]:
        """From the current page on, find a page with pending invoices; tick them there."""
        for _ in each_page(self.page, self._ready, "Synthèse"):
            numbers_here = {row.numero.casefold() for row in self._page_rows()}
            here = [key for key in pending if key in numbers_here]
            if here:
                with portal_timeouts("Synthèse"):
                    for key in here:
                        self.checkbox(pending[key]).check()
                return here
        return []

    def show_rows(self, rows_per_page: int) -> bool:
        """Show ``rows_per_page`` rows per page (the list is shown: call after :meth:`wait`).

        True when that reloaded the list on its first page.
        """
        if not self.table.count():
            return False
        if not set_rows_per_page(self.page, rows_per_page, self._ready, "Synthèse"):
            return False
        current, _ = page_position(self.page)
        return current <= 1

    def open_first_page(self, rows_per_page: int | None = DEFAULT_ROWS_PER_PAGE) -> bool:
        """Show the list's first page, ``rows_per_page`` rows a page when the list offers it
        (the list is shown: call after :meth:`wait` or a navigation that waited for it).

        True when choosing the rows reloaded the list (its address then keeps the choice).
        """
        reloaded = rows_per_page is not None and self.show_rows(rows_per_page)
        if not reloaded:  # show_rows reloads on the first page
            current, _ = page_position(self.page)
            if current > 1:
                rewind(self.page, self._ready, "Synthèse")
        self._prepared = rows_per_page
        return reloaded

    def _first_page(self, rows_per_page: int | None) -> None:
        prepared, self._prepared = self._prepared, _NOT_PREPARED
        if prepared != _NOT_PREPARED and rows_per_page in (None, prepared):
            return  # just shown by open_first_page, nothing clicked since
        self.wait()
        self.open_first_page(rows_per_page)
        self._prepared = _NOT_PREPARED

    def _page_rows(self) -> list[SyntheseRow]:
        with portal_timeouts("Synthèse"):
            table_rows = read_table_if_shown(self.table) or []
        found = []
        for row in table_rows:
            cells = row.fields(self.COLUMNS)
            found.append(
                SyntheseRow(
                    numero=cells["numero"],
                    date_depot=cells["date_depot"],
                    destinataire=cells["destinataire"],
                    montant_ttc=parse_money(cells["montant_ttc"]),
                    statut=cells["statut"],
                    acquittee=parse_yes_no(cells["acquittee"]),
                    href=row.href,
                )
            )
        return found
