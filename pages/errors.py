"""Errors the page objects raise when the portal does not show what they expect.

PageError
├── PortalUnavailable   « Service indisponible », « Maintenance en cours », 5xx, timeout
├── LoginRequired       the portal shows its login form (session expired)
├── FormRejected        the portal refused a form; ``messages`` are its own words
│   └── OptionUnavailable   a value to choose is not among the form's options
└── ElementMissing      a labelled element of a page object is not on the page (drift)
"""

from __future__ import annotations


class PageError(Exception):
    """Base of the page objects' errors."""


class PortalUnavailable(PageError):
    """The portal answered with an error or maintenance page, or did not answer in time."""


class LoginRequired(PageError):
    """The portal asks to log in again."""


class FormRejected(PageError):
    """The portal refused what was submitted; ``messages`` quote it."""

    def __init__(self, messages: tuple[str, ...]) -> None:
        super().__init__(" ; ".join(messages) or "Formulaire refusé par le portail")
        self.messages = messages


class ElementMissing(PageError):
    """A labelled element the page object relies on is not on the page."""


class OptionUnavailable(FormRejected):
    """A value to choose in a list of the form is not among the portal's options."""


def first_line(exc: BaseException, limit: int = 300) -> str:
    """An error's first line, short: what a person reads (the whole of it goes to the log).

    The one copy every layer uses (pages, scenarios, robot); never holds a typed value, since
    page objects word their own messages.
    """
    lines = str(exc).strip().splitlines()
    return lines[0][:limit] if lines else exc.__class__.__name__
