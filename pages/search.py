"""« Rechercher »: the search form of « Factures émises » and its paginated results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import ClassVar

from playwright.sync_api import Locator

from pages._base import PageObject
from pages._guard import navigation, portal_timeouts, wait_for_screen
from pages._options import choose
from pages._parse import format_date_iso, parse_datetime, parse_money
from pages._table import Columns, each_page, read_table_if_shown
from pages.errors import ElementMissing
from pages.invoice import InvoicePage


class Labels:
    NUMERO = "Numéro de facture"
    STATUT = "Statut"
    STATUT_ALL = "Tous"
    DESTINATAIRE = "Destinataire"
    DEPOSEE_DU = "Déposée du"
    DEPOSEE_AU = "au"
    SUBMIT = "Rechercher"
    RESULTS = "Résultats de la recherche"
    NO_RESULT = "Aucune facture ne correspond à votre recherche."


@dataclass(frozen=True)
class SearchRow:
    """One result of a search."""

    numero: str
    date_depot: str  # as displayed
    destinataire: str
    montant_ttc: Decimal | None
    statut: str
    href: str = ""

    @property
    def deposited_at(self) -> datetime | None:
        return parse_datetime(self.date_depot)


class SearchPage(PageObject):
    """Search invoices; open one of the results."""

    #: The columns of « Résultats de la recherche » read into a :class:`SearchRow`
    #: (header → field).
    COLUMNS: ClassVar[Columns] = MappingProxyType(
        {
            "Numéro de facture": "numero",
            "Date de dépôt": "date_depot",
            "Destinataire": "destinataire",
            "Montant TTC": "montant_ttc",
            "Statut": "statut",
        }
    )

    @property
    def form(self) -> Locator:
        return self.page.get_by_role("search")

    @property
    def numero(self) -> Locator:
        return self.form.get_by_label(Labels.NUMERO, exact=True)

    @property
    def statut(self) -> Locator:
        return self.form.get_by_label(Labels.STATUT, exact=True)

    @property
    def destinataire(self) -> Locator:
        return self.form.get_by_label(Labels.DESTINATAIRE, exact=True)

    @property
    def deposee_du(self) -> Locator:
        return self.form.get_by_label(Labels.DEPOSEE_DU, exact=True)

    @property
    def deposee_au(self) -> Locator:
        return self.form.get_by_label(Labels.DEPOSEE_AU, exact=True)

    @property
    def submit_button(self) -> Locator:
        return self.form.get_by_role("button", name=Labels.SUBMIT, exact=True)

    @property
    def results(self) -> Locator:
        return self.page.get_by_role("table", name=Labels.RESULTS, exact=True)

    @property
    def no_result(self) -> Locator:
        return self.page.get_by_text(Labels.NO_RESULT, exact=True)

    def expected_elements(self) -> dict[str, Locator]:
        return {
            "Formulaire de recherche": self.form,
            "Numéro de facture": self.numero,
            "Statut": self.statut,
            "Destinataire": self.destinataire,
            "Déposée du": self.deposee_du,
            "au": self.deposee_au,
            "Rechercher": self.submit_button,
        }

    def result_elements(self) -> dict[str, Locator]:
        """What a search shows (call after :meth:`submit`): the results table, or the text
        saying nothing matched."""
        if not self.results.count() and self.no_result.count():
            return {Labels.NO_RESULT: self.no_result}
        return {f"Tableau « {Labels.RESULTS} »": self.results}

    def wait(self) -> SearchPage:
        wait_for_screen(self.page, self.submit_button, "Rechercher")
        return self

    def search(
        self,
        numero: str | None = None,
        statut: str | None = None,
        destinataire: str | None = None,
        deposee_du: date | None = None,
        deposee_au: date | None = None,
    ) -> list[SearchRow]:
        """Fill the form (empty criteria are cleared), search, read every page of results."""
        self.wait()
        with portal_timeouts("Rechercher"):
            _type(self.numero, numero or "")
            choose(self.statut, statut or Labels.STATUT_ALL, Labels.STATUT, placeholder_ok=True)
            _type(self.destinataire, destinataire or "")
            _type(self.deposee_du, format_date_iso(deposee_du) if deposee_du else "")
            _type(self.deposee_au, format_date_iso(deposee_au) if deposee_au else "")
        self.submit()
        found: list[SearchRow] = []
        for _ in each_page(self.page, self._ready, "Rechercher"):
            found.extend(self._page_rows())
        return found

    def submit(self) -> None:
        """« Rechercher » with the criteria as they are; waits for the first page of results
        (or the text saying nothing matched)."""
        with navigation(self.page, self._ready, "Rechercher"):
            self.submit_button.click()

    @property
    def _ready(self) -> Locator:
        return self.results.or_(self.no_result)

    def open(self, numero: str, statut: str | None = None) -> InvoicePage:
        """Search ``numero`` and open it (the result with ``statut`` when several match)."""
        rows = [
            row
            for row in self.search(numero=numero)
            if row.numero.casefold() == numero.casefold()
            and (statut is None or row.statut == statut)
        ]
        if not rows:
            wanted = f" au statut « {statut} »" if statut else ""
            raise ElementMissing(f"Facture {numero}{wanted} introuvable dans « Rechercher ».")
        return self.open_row(rows[0])

    def open_row(self, row: SearchRow) -> InvoicePage:
        """Open a result by the link of its number (on the page where it was read)."""
        invoice = InvoicePage(self.page)
        if row.href:
            return invoice.goto(row.href)
        link = self.results.get_by_role("link", name=row.numero, exact=True)
        return invoice.open_link(link.first)

    def _page_rows(self) -> list[SearchRow]:
        with portal_timeouts("Rechercher"):
            table_rows = read_table_if_shown(self.results) or []
        found = []
        for row in table_rows:
            cells = row.fields(self.COLUMNS)
            found.append(
                SearchRow(
                    numero=cells["numero"],
                    date_depot=cells["date_depot"],
                    destinataire=cells["destinataire"],
                    montant_ttc=parse_money(cells["montant_ttc"]),
                    statut=cells["statut"],
                    href=row.href,
                )
            )
        return found


def _type(field: Locator, value: str) -> None:
    """Type ``value``; an empty criterion only clears a field that holds something."""
    if value or field.input_value():
        field.fill(value)
