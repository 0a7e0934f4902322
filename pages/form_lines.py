"""The « Lignes » and « Récapitulatif TVA et montants » blocks of « Saisir une facture »."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from playwright.sync_api import Locator

from pages._options import labelled
from pages._parse import parse_money
from pages.form_blocks import FormBlock
from pages.records import InvoiceLine


class Labels:
    LIGNES = "Lignes"
    LINE_FIELD = "{field} ligne {n}"
    LINE_REFERENCE = "Référence"
    LINE_DESIGNATION = "Désignation"
    LINE_QUANTITE = "Quantité"
    LINE_UNITE = "Unité"
    LINE_PRIX = "Prix unitaire HT"
    LINE_REMISE = "Remise"
    LINE_TAUX = "Taux de TVA"
    LINE_REMOVE = "Supprimer la ligne {n}"
    LINE_ADD = "Ajouter une ligne"
    RECAP = "Récapitulatif TVA et montants"
    TOTALS = ("Total HT", "Total TVA", "Total TTC", "Montant à payer")


class LignesBlock(FormBlock):
    LEGEND = Labels.LIGNES

    def input(self, n: int, name: str) -> Locator:
        return labelled(self.group, Labels.LINE_FIELD.format(field=name, n=n))

    @property
    def add_button(self) -> Locator:
        return self.group.get_by_role("button", name=Labels.LINE_ADD, exact=True)

    def _designations(self) -> Locator:
        pattern = re.compile("^" + re.escape(Labels.LINE_DESIGNATION) + r" ligne \d+$")
        return labelled(self.group, pattern)

    def expected_elements(self) -> dict[str, Locator]:
        return {
            **super().expected_elements(),
            Labels.LINE_ADD: self.add_button,
            "Désignation ligne 1": self.input(1, Labels.LINE_DESIGNATION),
            "Taux de TVA ligne 1": self.input(1, Labels.LINE_TAUX),
        }

    def count(self) -> int:
        return self._designations().count()

    def add(self) -> int:
        """« Ajouter une ligne »; returns the number of the new line."""
        new = self.count() + 1
        self.add_button.click()
        self.input(new, Labels.LINE_DESIGNATION).wait_for(state="visible")
        return new

    def remove(self, n: int) -> None:
        """« Supprimer la ligne n » (the lines after it are renumbered by the page)."""
        before = self.count()
        self.group.get_by_role("button", name=Labels.LINE_REMOVE.format(n=n), exact=True).click()
        self._designations().nth(before - 1).wait_for(state="detached")

    def fill(self, n: int, line: InvoiceLine) -> None:
        """Fill line ``n`` with ``line`` (what it already shows is left as is)."""

        def label(name: str) -> str:
            return Labels.LINE_FIELD.format(field=name, n=n)

        def typed(name: str, value: str) -> None:
            self.fill_field(label(name), value, self.input(n, name))

        typed(Labels.LINE_REFERENCE, line.reference)
        typed(Labels.LINE_DESIGNATION, line.designation)
        typed(Labels.LINE_QUANTITE, _number(line.quantite))
        unite = self.input(n, Labels.LINE_UNITE)
        if self.is_list(label(Labels.LINE_UNITE), unite):
            self.choose_field(label(Labels.LINE_UNITE), line.unite, unite)
        else:
            typed(Labels.LINE_UNITE, line.unite)
        typed(Labels.LINE_PRIX, _number(line.prix_unitaire_ht))
        typed(Labels.LINE_REMISE, _number(line.remise))
        self.choose_field(
            label(Labels.LINE_TAUX), _number(line.taux_tva), self.input(n, Labels.LINE_TAUX)
        )

    def set_lines(self, lines: Sequence[InvoiceLine]) -> None:
        """Make the table hold exactly ``lines`` (adding/removing rows), in order."""
        while self.count() > max(len(lines), 1):
            self.remove(self.count())
        while self.count() < len(lines):
            self.add()
        for n, line in enumerate(lines, start=1):
            self.fill(n, line)


def _number(value: Decimal) -> str:
    """A Decimal typed the way a person would: « 12.5 », « 3 », never « 1E+1 »."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


class RecapBlock(FormBlock):
    LEGEND = Labels.RECAP

    def expected_elements(self) -> dict[str, Locator]:
        totals = {name: self.group.get_by_label(name, exact=True) for name in Labels.TOTALS}
        return {**super().expected_elements(), **totals}

    def totals(self) -> dict[str, Decimal | None]:
        """« Total HT », « Total TVA », « Total TTC », « Montant à payer » as computed live."""
        return {
            name: parse_money(self.group.get_by_label(name, exact=True).inner_text())
            for name in Labels.TOTALS
        }
