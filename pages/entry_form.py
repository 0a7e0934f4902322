"""« Saisir une facture »: the form as blocks, « Valider et envoyer » and its confirmation."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page

from pages._base import PageObject
from pages._guard import messages, navigation, portal_timeouts
from pages._options import Option
from pages._parse import clean
from pages._witness import witness
from pages.errors import FormRejected
from pages.form_blocks import (
    READ_SHOWN,
    CadreBlock,
    CommentaireBlock,
    DestinataireBlock,
    FormBlock,
    FournisseurBlock,
    PiecesJointesBlock,
    ReferencesBlock,
)
from pages.form_lines import LignesBlock, RecapBlock


class Labels:
    SEND = "Valider et envoyer"
    SAVE_DRAFT = "Enregistrer"
    DIALOG = "Confirmation d'envoi"
    CONFIRM = "Confirmer et envoyer"
    CANCEL = "Annuler"
    ERRORS_HEADING = "Le formulaire contient des erreurs"
    SENT = re.compile(r"La facture .+ a été validée et est en cours d'acheminement")
    DRAFT_SAVED = re.compile(r"Le brouillon de la facture .+ a été enregistré")


class ConfirmationDialog(PageObject):
    """The dialog « Confirmation d'envoi »."""

    @property
    def dialog(self) -> Locator:
        return self.page.get_by_role("dialog", name=Labels.DIALOG, exact=True)

    @property
    def confirm_button(self) -> Locator:
        return self.dialog.get_by_role("button", name=Labels.CONFIRM, exact=True)

    @property
    def cancel_button(self) -> Locator:
        return self.dialog.get_by_role("button", name=Labels.CANCEL, exact=True)

    def expected_elements(self) -> dict[str, Locator]:
        return {
            "Confirmation d'envoi": self.dialog,
            "Confirmer et envoyer": self.confirm_button,
            "Annuler": self.cancel_button,
        }

    def text(self) -> str:
        """« Confirmez-vous l'envoi de la facture N ? »"""
        return " ".join(self.dialog.inner_text().split())

    def cancel(self) -> None:
        self.cancel_button.click()
        self.dialog.wait_for(state="hidden")


class EntryForm(PageObject):
    """The entry form, composed of one object per block."""

    def __init__(self, page: Page) -> None:
        super().__init__(page)
        self.cadre = CadreBlock(page)
        self.destinataire = DestinataireBlock(page)
        self.fournisseur = FournisseurBlock(page)
        self.references = ReferencesBlock(page)
        self.lignes = LignesBlock(page)
        self.recap = RecapBlock(page)
        self.pieces_jointes = PiecesJointesBlock(page)
        self.commentaire = CommentaireBlock(page)
        self.confirmation = ConfirmationDialog(page)

    @property
    def send_button(self) -> Locator:
        return self.page.get_by_role("button", name=Labels.SEND, exact=True)

    @property
    def draft_button(self) -> Locator:
        return self.page.get_by_role("button", name=Labels.SAVE_DRAFT, exact=True)

    @property
    def error_summary(self) -> Locator:
        return self.page.get_by_role("alert").filter(has_text=Labels.ERRORS_HEADING)

    def expected_elements(self) -> dict[str, Locator]:
        found: dict[str, Locator] = {}
        for block in self._blocks():
            found.update(block.expected_elements())
        found[Labels.SEND] = self.send_button
        found[Labels.SAVE_DRAFT] = self.draft_button
        return found

    def read_shown(self) -> None:
        """Read what every block shows, in one round trip, so that filling the form leaves
        alone what it already shows (:class:`~pages.form_blocks.FormBlock`)."""
        with portal_timeouts("Saisir une facture"):
            found = self.page.get_by_role("group").evaluate_all(READ_SHOWN)
        shown = {
            clean(legend): {
                clean(label): (
                    str(value),
                    [Option(str(v), clean(str(t))) for v, t in options]
                    if options is not None
                    else None,
                    bool(widget),
                )
                for label, (value, options, widget) in fields.items()
            }
            for legend, fields in found
        }
        for block in self._blocks():
            block.shown = shown.get(block.LEGEND)

    def _blocks(self) -> tuple[FormBlock, ...]:
        return (
            self.cadre, self.destinataire, self.fournisseur, self.references,
            self.lignes, self.recap, self.pieces_jointes, self.commentaire,
        )  # fmt: skip

    def submit(self) -> str:
        """« Valider et envoyer » then « Confirmer et envoyer ».

        Returns the portal's confirmation; raises FormRejected with the portal's messages.
        """
        with portal_timeouts("Envoi de la facture"):
            self.send_button.click()
            self.confirmation.dialog.wait_for(state="visible")
        sent = self.page.get_by_role("status").filter(has_text=Labels.SENT)
        witness(self.page, "Confirmer et envoyer", "avant")
        with navigation(self.page, sent.or_(self.error_summary), "Envoi de la facture"):
            self.confirmation.confirm_button.click()
        witness(self.page, "Confirmer et envoyer", "après")
        return self._outcome(sent)

    def save_draft(self) -> str:
        """« Enregistrer » (a draft, not sent); returns the portal's confirmation."""
        saved = self.page.get_by_role("status").filter(has_text=Labels.DRAFT_SAVED)
        with navigation(self.page, saved.or_(self.error_summary), "Enregistrement du brouillon"):
            self.draft_button.click()
        return self._outcome(saved)

    def errors(self) -> tuple[str, ...]:
        """The messages of the error summary (empty when the form has none)."""
        if not self.error_summary.count():
            return ()
        summary = self.error_summary.first
        texts = summary.get_by_role("listitem").all_inner_texts()
        items = [" ".join(text.split()) for text in texts if text.strip()]
        if items:
            return tuple(items)
        lines = [" ".join(line.split()) for line in summary.inner_text().splitlines()]
        return tuple(line for line in lines if line and line != Labels.ERRORS_HEADING)

    def _outcome(self, success: Locator) -> str:
        if success.count():
            return " ".join(success.first.inner_text().split())
        problems = self.errors() or tuple(messages(self.page, "alert"))
        raise FormRejected(problems)
