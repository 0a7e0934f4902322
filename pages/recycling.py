"""« Recycler la facture N »: send an invoice « À recycler » to the right recipient.

Opened by « Recycler » on the consultation page (:meth:`pages.invoice.InvoicePage.
open_recycling`). Only the recipient's « SIRET du destinataire », « Code service » and
« Numéro d'engagement » change, plus an optional « Commentaire »; the invoice keeps its
number. The « Destinataire » block is the entry form's (:class:`pages.form_blocks.
DestinataireBlock`: the « Code service » list loads once the SIRET is typed); here it also
holds « Numéro d'engagement ».
"""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page

from pages._followup import FollowUpForm
from pages._options import Option, choose_value, selected_value
from pages.form_blocks import CommentaireBlock, DestinataireBlock


class Labels:
    OPEN = "Recycler"  # [assumed] the button of the consultation page opening this form
    HEADING = re.compile(r"^Recycler la facture\s+\S+$")  # [assumed]
    RECYCLED = re.compile(r"La facture .+ a été recyclée\.")  # [assumed]
    ENGAGEMENT = "Numéro d'engagement"


class RecyclingForm(FollowUpForm):
    """The recycling form: SIRET, « Code service », engagement, comment, « Valider »."""

    HEADING = Labels.HEADING
    DONE = Labels.RECYCLED
    ACTION = Labels.OPEN
    SCREEN = "Recycler la facture"

    def __init__(self, page: Page) -> None:
        super().__init__(page)
        self.destinataire = DestinataireBlock(page)
        self.commentaire = CommentaireBlock(page)

    @property
    def engagement(self) -> Locator:
        return self.destinataire.field(Labels.ENGAGEMENT)

    def expected_elements(self) -> dict[str, Locator]:
        return {
            **super().expected_elements(),
            **self.destinataire.expected_elements(),
            Labels.ENGAGEMENT: self.engagement,
            **self.commentaire.expected_elements(),
        }

    def set_siret(self, siret: str) -> list[Option]:
        """Type the recipient's SIRET and wait for its « Code service » list; returns the
        services offered ([] for an unknown SIRET). See
        :meth:`pages.form_blocks.DestinataireBlock.set_siret` (a lost session raises
        LoginRequired at once)."""
        return self.destinataire.set_siret(siret)

    def set_code_service(self, code: str) -> Option | None:
        """Choose the service by code (or « CODE - Nom »); "" chooses none (the list's
        placeholder). OptionUnavailable when the structure has no such service."""
        if not code.strip():
            choose_value(self.destinataire.code_service, "")
            return None
        return self.destinataire.set_code_service(code)

    def set_engagement(self, value: str) -> None:
        self.engagement.fill(value)

    def set_commentaire(self, text: str) -> None:
        self.commentaire.set(text)

    def requirement(self) -> str:
        """What the recipient structure requires (« Code service obligatoire »…), or ""."""
        return self.destinataire.requirement()

    def values(self) -> dict[str, str]:
        """What the form holds now: ``siret_destinataire``, ``code_service`` (the code
        chosen, "" for none) and ``numero_engagement``."""
        return {
            "siret_destinataire": self.destinataire.siret.input_value(),
            "code_service": selected_value(self.destinataire.code_service),
            "numero_engagement": self.engagement.input_value(),
        }

    def submit(self) -> tuple[str, ...]:
        """« Valider ». Returns the portal's confirmation (« La facture N a été recyclée. »),
        the browser then on the invoice's consultation page; raises FormRejected with the
        portal's messages when it refuses (the form's errors, or the alert of the
        consultation page when the invoice is not « À recycler »)."""
        return self._submit()
