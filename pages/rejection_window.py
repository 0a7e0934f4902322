"""The window « Factures rejetées ou suspendues » shown on the home page right after login."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import ClassVar

from playwright.sync_api import Locator

from pages._base import PageObject
from pages._guard import messages, navigation, portal_timeouts
from pages._parse import clean, parse_datetime
from pages._table import Columns, read_table
from pages.errors import ElementMissing


class Labels:
    DIALOG = "Factures rejetées ou suspendues"
    SELECT = "Sélectionner la facture {numero}"
    ACK_SELECTED = "Acquitter les factures sélectionnées"
    ACK_ALL = "Tout acquitter et fermer"
    CLOSE = "Fermer"
    COMPULSORY = "L'acquittement est obligatoire pour les factures rejetées depuis plus de 7 jours."
    HOME_HEADING = "Accueil"


@dataclass(frozen=True)
class WindowRow:
    """One invoice listed in the window."""

    date_depot: str  # as displayed
    numero: str
    destinataire: str
    statut: str
    motif: str
    commentaire: str
    href: str = ""

    @property
    def deposited_at(self) -> datetime | None:
        return parse_datetime(self.date_depot)


class RejectionWindow(PageObject):
    """The dialog, its table and its three buttons."""

    #: The columns of the window's table read into a :class:`WindowRow` (header → field).
    #: The first column, « Sélection », holds the checkboxes (found by their own label).
    COLUMNS: ClassVar[Columns] = MappingProxyType(
        {
            "Date de dépôt": "date_depot",
            "Numéro de facture": "numero",
            "Destinataire": "destinataire",
            "Statut": "statut",
            "Motif": "motif",
            "Commentaire": "commentaire",
        }
    )

    @property
    def dialog(self) -> Locator:
        return self.page.get_by_role("dialog", name=Labels.DIALOG)

    @property
    def table(self) -> Locator:
        return self.dialog.get_by_role("table")

    @property
    def acknowledge_selected_button(self) -> Locator:
        return self.dialog.get_by_role("button", name=Labels.ACK_SELECTED, exact=True)

    @property
    def acknowledge_all_button(self) -> Locator:
        return self.dialog.get_by_role("button", name=Labels.ACK_ALL, exact=True)

    @property
    def close_button(self) -> Locator:
        return self.dialog.get_by_role("button", name=Labels.CLOSE, exact=True)

    def checkbox(self, numero: str) -> Locator:
        return self.dialog.get_by_role(
            "checkbox", name=Labels.SELECT.format(numero=numero), exact=True
        )

    def expected_elements(self) -> dict[str, Locator]:
        found = {
            "Fenêtre « Factures rejetées ou suspendues »": self.dialog,
            "Tableau de la fenêtre": self.table,
            "Acquitter les factures sélectionnées": self.acknowledge_selected_button,
            "Tout acquitter et fermer": self.acknowledge_all_button,
        }
        if self.is_open() and not self.is_compulsory():
            found[Labels.CLOSE] = self.close_button
        return found

    def is_open(self) -> bool:
        return bool(self.dialog.count()) and self.dialog.first.is_visible()

    def is_compulsory(self) -> bool:
        """True when acknowledgment is compulsory (no « Fermer » button, the notice shown)."""
        if not self.is_open():
            return False
        return bool(self.dialog.get_by_text(Labels.COMPULSORY).count())

    def rows(self) -> list[WindowRow]:
        """The invoices listed in the window ([] when it is not open)."""
        if not self.is_open():
            return []
        with portal_timeouts("Fenêtre des factures rejetées"):
            table_rows = read_table(self.table)
        return [WindowRow(**row.fields(self.COLUMNS), href=row.href) for row in table_rows]

    def acknowledge(self, numbers: Iterable[str]) -> list[str]:
        """Tick the given invoices and « Acquitter les factures sélectionnées ».

        Returns the portal's status and alert messages.
        """
        wanted = [clean(number) for number in numbers]
        absent = [number for number in wanted if not self.checkbox(number).count()]
        if absent:
            raise ElementMissing(
                f"Facture(s) absente(s) de la fenêtre des factures rejetées : {', '.join(absent)}."
            )
        with portal_timeouts("Fenêtre des factures rejetées"):
            for number in wanted:
                self.checkbox(number).check()
        self._submit(self.acknowledge_selected_button)
        return messages(self.page, "status") + messages(self.page, "alert")

    def acknowledge_all(self) -> list[str]:
        """« Tout acquitter et fermer »; returns the portal's messages."""
        self._submit(self.acknowledge_all_button)
        return messages(self.page, "status") + messages(self.page, "alert")

    def close(self) -> None:
        """« Fermer » (absent when acknowledgment is compulsory)."""
        self._submit(self.close_button)

    def _submit(self, button: Locator) -> None:
        home = self.page.get_by_role("heading", name=Labels.HOME_HEADING, exact=True)
        with navigation(self.page, home, "Acquittement"):
            button.click()
