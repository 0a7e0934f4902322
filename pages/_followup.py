"""What the forms acting on an invoice already sent share (« Compléter », « Recycler »).

Each is a screen of its own, opened from the invoice's consultation page; it ends with
« Valider » **[assumed]**. The portal then either shows the consultation page with its
confirmation (a status message), or refuses: the form again with « Le formulaire contient
des erreurs », or the consultation page with an alert (the invoice is not, or no longer, in
a status that allows it).
"""

from __future__ import annotations

import re
from typing import ClassVar, Self

from playwright.sync_api import Locator

from pages._base import PageObject
from pages._guard import messages, navigation, wait_for_screen
from pages._witness import witness
from pages.errors import FormRejected


class Labels:
    SUBMIT = "Valider"  # [assumed] the button that sends these forms
    ERRORS_HEADING = "Le formulaire contient des erreurs"


class FollowUpForm(PageObject):
    """A form acting on one invoice: its heading, « Valider », its error summary."""

    #: The heading of the screen (« Compléter la facture N »…).
    HEADING: ClassVar[re.Pattern[str]]
    #: The portal's confirmation, a status message on the consultation page.
    DONE: ClassVar[re.Pattern[str]]
    #: The action, as the consultation page's button names it (witnesses, messages).
    ACTION: ClassVar[str]
    #: The screen, named in French in messages.
    SCREEN: ClassVar[str]

    @property
    def heading(self) -> Locator:
        return self.page.get_by_role("heading", name=self.HEADING)

    @property
    def submit_button(self) -> Locator:
        return self.page.get_by_role("button", name=Labels.SUBMIT, exact=True)

    @property
    def error_summary(self) -> Locator:
        return self.page.get_by_role("alert").filter(has_text=Labels.ERRORS_HEADING)

    def expected_elements(self) -> dict[str, Locator]:
        return {f"Titre « {self.SCREEN} »": self.heading, Labels.SUBMIT: self.submit_button}

    def wait(self) -> Self:
        """Wait until the form shows (or an error page)."""
        wait_for_screen(self.page, self.heading, self.SCREEN)
        return self

    def errors(self) -> tuple[str, ...]:
        """The messages of the error summary (empty when the form shows none)."""
        if not self.error_summary.count():
            return ()
        summary = self.error_summary.first
        texts = summary.get_by_role("listitem").all_inner_texts()
        items = [" ".join(text.split()) for text in texts if text.strip()]
        if items:
            return tuple(items)
        lines = [" ".join(line.split()) for line in summary.inner_text().splitlines()]
        return tuple(line for line in lines if line and line != Labels.ERRORS_HEADING)

    def _submit(self) -> tuple[str, ...]:
        """« Valider »; the portal's status messages, or FormRejected with its own words."""
        done = self.page.get_by_role("status").filter(has_text=self.DONE)
        refused = self.page.get_by_role("alert")
        witness(self.page, self.ACTION, "avant")
        with navigation(self.page, done.or_(refused), self.SCREEN):
            self.submit_button.click()
        witness(self.page, self.ACTION, "après")
        if done.count():
            return tuple(messages(self.page, "status"))
        raise FormRejected(self.errors() or tuple(messages(self.page, "alert")))
