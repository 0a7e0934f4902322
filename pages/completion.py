"""« Compléter la facture N »: add attachments and/or a comment to a suspended invoice.

Opened by « Compléter » on the consultation page of a suspended invoice once acknowledged
(:meth:`pages.invoice.InvoicePage.open_completion`). Its « Pièces jointes » and
« Commentaire » blocks are those of the entry form (:mod:`pages.form_blocks`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from playwright.sync_api import Locator, Page

from pages._followup import FollowUpForm
from pages.form_blocks import CommentaireBlock, PiecesJointesBlock


class Labels:
    OPEN = "Compléter"  # [assumed] the button of the consultation page opening this form
    HEADING = re.compile(r"^Compléter la facture\s+\S+$")  # [assumed]
    COMPLETED = re.compile(r"La facture .+ a été complétée\.")  # [assumed]


class CompletionForm(FollowUpForm):
    """The completion form: attachments, comment, « Valider »."""

    HEADING = Labels.HEADING
    DONE = Labels.COMPLETED
    ACTION = Labels.OPEN
    SCREEN = "Compléter la facture"

    def __init__(self, page: Page) -> None:
        super().__init__(page)
        self.pieces_jointes = PiecesJointesBlock(page)
        self.commentaire = CommentaireBlock(page)

    def expected_elements(self) -> dict[str, Locator]:
        return {
            **super().expected_elements(),
            **self.pieces_jointes.expected_elements(),
            **self.commentaire.expected_elements(),
        }

    def attach(self, paths: Sequence[Path]) -> None:
        """Choose the files to add (replacing any chosen before)."""
        self.pieces_jointes.attach(paths)

    def set_commentaire(self, text: str) -> None:
        self.commentaire.set(text)

    def submit(self) -> tuple[str, ...]:
        """« Valider ». Returns the portal's confirmation (« La facture N a été complétée. »),
        the browser then on the invoice's consultation page; raises FormRejected with the
        portal's messages when it refuses (the form's errors, or the alert of the
        consultation page when the invoice cannot be completed)."""
        return self._submit()
