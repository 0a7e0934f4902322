"""« Rechercher »: the search form of « Factures émises » and its paginated results."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import ClassVar

from playwright.sync_api import Download, Locator, Page, Response

from pages._base import PageObject
from pages._guard import messages, navigation, portal_timeouts, wait_for_screen
from pages._options import choose, labelled
from pages._pace import pace
from pages._parse import clean, format_date_iso, parse_datetime, parse_money
from pages._table import Columns, each_page, pagination_elements, read_table_if_shown
from pages.errors import ElementMissing, PortalUnavailable
from pages.invoice import InvoicePage


class Labels:
    CRITERIA = "Critères de recherche"  # the collapsible panel holding the criteria
    NUMERO = "Numéro de facture"
    STATUT = "Statut"
    STATUT_ALL = "Tous"
    DESTINATAIRE = "Destinataire"
    DEPOSEE_DU = "Déposée du"
    DEPOSEE_AU = "au"
    SUBMIT = "Rechercher"
    EXPORT = "Exporter"  # the results as a CSV file, every page of them
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
    def criteria_toggle(self) -> Locator:
        """The button folding and unfolding the panel « Critères de recherche »."""
        return self.form.get_by_role("button", name=Labels.CRITERIA, exact=True)

    @property
    def numero(self) -> Locator:
        return labelled(self.form, Labels.NUMERO)

    @property
    def statut(self) -> Locator:
        return labelled(self.form, Labels.STATUT)

    @property
    def destinataire(self) -> Locator:
        return labelled(self.form, Labels.DESTINATAIRE)

    @property
    def deposee_du(self) -> Locator:
        return labelled(self.form, Labels.DEPOSEE_DU)

    @property
    def deposee_au(self) -> Locator:
        return labelled(self.form, Labels.DEPOSEE_AU)

    @property
    def submit_button(self) -> Locator:
        return self.form.get_by_role("button", name=Labels.SUBMIT, exact=True)

    @property
    def export_button(self) -> Locator:
        return self.page.get_by_role("button", name=Labels.EXPORT, exact=True)

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
        return {f"Tableau « {Labels.RESULTS} »": self.results, **pagination_elements(self.page)}

    @property
    def screen(self) -> Locator:
        """What shows once the screen is there: « Rechercher », or the folded panel's button."""
        return self.submit_button.or_(self.criteria_toggle)

    def wait(self) -> SearchPage:
        wait_for_screen(self.page, self.screen, "Rechercher")
        return self

    def open_criteria(self) -> None:
        """Unfold « Critères de recherche » when the portal shows it folded (it does after a
        search), as a person does before changing the criteria."""
        folded = self.form.get_by_role("button", name=Labels.CRITERIA, exact=True, expanded=False)
        if folded.count():
            folded.first.click()
            self.submit_button.wait_for(state="visible")

    def search(
        self,
        numero: str | None = None,
        statut: str | None = None,
        destinataire: str | None = None,
        deposee_du: date | None = None,
        deposee_au: date | None = None,
    ) -> list[SearchRow]:
        """Fill the form (empty criteria are cleared), search, read every page of results."""
        self._fill(numero, statut, destinataire, deposee_du, deposee_au)
        self.submit()
        found: list[SearchRow] = []
        for _ in each_page(self.page, self._ready, "Rechercher"):
            found.extend(self._page_rows())
        return found

    def export(
        self,
        numero: str | None = None,
        statut: str | None = None,
        destinataire: str | None = None,
        deposee_du: date | None = None,
        deposee_au: date | None = None,
    ) -> list[SearchRow] | None:
        """Search as :meth:`search` does, then « Exporter »: every result, whatever the
        number of pages, from the portal's CSV file (one download). The rows have no link.

        None when the portal offers no « Exporter » (nothing found, or no such button): the
        caller searches instead. A page shown instead of the file raises as any screen does
        (the login form: LoginRequired), or PortalUnavailable with the portal's words.
        """
        self._fill(numero, statut, destinataire, deposee_du, deposee_au)
        self.submit()
        with portal_timeouts("Exporter"):
            if not self.export_button.count():
                return None
            download = self.download(self.export_button)
            text = Path(download.path()).read_text(encoding="utf-8-sig")
        return rows_from_export(text)

    def download(self, button: Locator) -> Download:
        """Click ``button`` and return the file it downloads; a page answered instead raises."""
        page = self.page
        downloads: list[Download] = []

        def note(download: Download) -> None:
            downloads.append(download)

        page.on("download", note)
        try:
            pace(page)
            with page.expect_response(_document_answer(page)) as answer:
                button.click()
            if "attachment" in (answer.value.headers.get("content-disposition") or "").lower():
                if not downloads:
                    page.wait_for_event("download")
                return downloads[0]
        finally:
            page.remove_listener("download", note)
        # A page came instead of the file: wait for it as for any screen (the login form and
        # the error pages raise), then report what it says.
        page.wait_for_event("domcontentloaded")
        wait_for_screen(page, self._ready.or_(self.form), Labels.EXPORT)
        said = messages(page, "alert")
        raise PortalUnavailable(
            f"{Labels.EXPORT} : le portail n'a pas fourni de fichier"
            + (f" ({' '.join(said)})." if said else ".")
        )

    def _fill(
        self,
        numero: str | None,
        statut: str | None,
        destinataire: str | None,
        deposee_du: date | None,
        deposee_au: date | None,
    ) -> None:
        """Type the criteria (empty ones are cleared), the panel unfolded."""
        self.wait()
        with portal_timeouts("Rechercher"):
            self.open_criteria()
            _type(self.numero, numero or "")
            choose(self.statut, statut or Labels.STATUT_ALL, Labels.STATUT, placeholder_ok=True)
            _type(self.destinataire, destinataire or "")
            _type(self.deposee_du, format_date_iso(deposee_du) if deposee_du else "")
            _type(self.deposee_au, format_date_iso(deposee_au) if deposee_au else "")

    def submit(self) -> None:
        """« Rechercher » with the criteria as they are; waits for the first page of results
        (or the text saying nothing matched)."""
        self.open_criteria()
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
        return [_search_row(row.fields(self.COLUMNS), row.href) for row in table_rows]


def _search_row(cells: dict[str, str], href: str = "") -> SearchRow:
    """A result from its cells by field (:attr:`SearchPage.COLUMNS`)."""
    return SearchRow(
        numero=cells["numero"],
        date_depot=cells["date_depot"],
        destinataire=cells["destinataire"],
        montant_ttc=parse_money(cells["montant_ttc"]),
        statut=cells["statut"],
        href=href,
    )


def rows_from_export(text: str) -> list[SearchRow]:
    """The results in the file of « Exporter »: ``;``-separated, a header row naming the
    table's columns (:attr:`SearchPage.COLUMNS`), the values as the table shows them.
    A column the file lacks → ElementMissing, as a missing table column would."""
    reader = csv.reader(io.StringIO(text), delimiter=";")
    header = [clean(name) for name in next(reader, [])]
    missing = [name for name in SearchPage.COLUMNS if name not in header]
    if missing:
        raise ElementMissing(
            f"{Labels.EXPORT} : colonne(s) absente(s) du fichier : " + ", ".join(missing)
        )
    found = []
    for values in reader:
        if not any(value.strip() for value in values):
            continue
        by_header = dict(zip(header, values, strict=False))
        found.append(
            _search_row(
                {field: clean(by_header.get(name)) for name, field in SearchPage.COLUMNS.items()}
            )
        )
    return found


def _document_answer(page: Page) -> Callable[[Response], bool]:
    """The main frame's answer to a click that loads a document or a file (not a redirect)."""

    def matches(response: Response) -> bool:
        request = response.request
        return (
            request.is_navigation_request()
            and request.frame == page.main_frame
            and not 300 <= response.status < 400
        )

    return matches


def _type(field: Locator, value: str) -> None:
    """Type ``value``; an empty criterion only clears a field that holds something."""
    if value or field.input_value():
        field.fill(value)
