"""The screens the preflight visits, and what it checks on each (see :mod:`scenarios.preflight`).

Each visit reaches a screen the way the robot does and returns the elements to count
(name → locator); the counting, the rows and the screenshots are :meth:`Preflight.check`'s.
Every label checked comes from the page objects themselves: their ``expected_elements()``
and the column headers and ``<dt>`` labels they declare reading values by
(``SynthesePage.COLUMNS``, ``SearchPage.COLUMNS``, ``RejectionWindow.COLUMNS``,
``InvoicePage.INFO_FIELDS`` / ``REJECTION_FIELDS`` / ``LINE_COLUMNS`` / ``HISTORY_COLUMNS``),
so that a label is written once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page

from pages import (
    EntryForm,
    InvoicePage,
    LoginPage,
    LoginRequired,
    Navigator,
    PageError,
    PortalUnavailable,
    RejectionWindow,
    SearchPage,
    SynthesePage,
)
from pages.errors import first_line
from pages.navigation import forget_urls
from scenarios.model import Kind, PortalError, ScenarioError, SessionLost

Elements = dict[str, Locator]

#: Status of the invoices whose consultation page shows the « Rejet » block.
REJECTED = "Rejetée"
SUSPENDED = Kind.SUSPENDED.label
TO_RECYCLE = Kind.TO_RECYCLE.label

_UNCHECKED = "non vérifié, l'écran « Facturation » étant inaccessible"


@dataclass(frozen=True)
class CheckRow:
    """One element of one screen: found or not (with a screenshot of the screen if not)."""

    page: str
    element: str
    found: bool
    screenshot: Path | None = None
    detail: str = ""  # why a screen could not be checked at all


#: Name of the row of a screen that could not be reached (its ``detail`` says why).
ACCESS = "Accès à l'écran"


def _columns(table: Locator, names: Iterable[str]) -> Elements:
    """The column headers ``names`` of ``table`` (a page object's ``COLUMNS``: its keys)."""
    return {
        f"Colonne « {name} »": table.get_by_role("columnheader", name=name, exact=True)
        for name in names
    }


def _term(root: Locator, name: str) -> Locator:
    """The ``<dt>`` whose whole text is ``name`` (a label the page object reads values by)."""
    return root.locator("dt").filter(has_text=re.compile("^" + re.escape(name) + "$"))


def _terms(root: Locator, fields: Mapping[str, str], what: str) -> Elements:
    """One element per field a page object reads from a ``<dl>`` (``fields``: label → field):
    its ``<dt>``, under any of the labels read into that field, named by the first one."""
    labels: dict[str, list[str]] = {}
    for label, field in fields.items():
        labels.setdefault(field, []).append(label)
    elements: Elements = {}
    for first, *others in labels.values():
        term = _term(root, first)
        for other in others:
            term = term.or_(_term(root, other))
        elements[f"{what} › {first}"] = term
    return elements


def reason(exc: BaseException) -> str:
    """The first line of an error's message, short."""
    return first_line(exc, 200)


def is_transient(exc: BaseException) -> bool:
    """An error that says the portal is down or the session lost, not that it changed."""
    if isinstance(exc, (PortalUnavailable, LoginRequired, SessionLost)):
        return True
    if isinstance(exc, PlaywrightError):  # a crashed page or browser
        return True
    cause = exc.__cause__
    return isinstance(exc, PortalError) and cause is not None and is_transient(cause)


class Preflight:
    """One pass over the portal's screens, collecting rows."""

    def __init__(
        self, page: Page, base_url: str, screenshot_dir: Path | None, prefix: str = ""
    ) -> None:
        self.page = page
        self.base_url = base_url
        self.screenshot_dir = screenshot_dir
        self.prefix = prefix
        self.rows: list[CheckRow] = []
        self.nav = Navigator(page, base_url)
        self.invoice_url = ""
        self.invoice_rejected = False
        #: A suspended invoice and one to recycle listed in « Synthèse » (their forms are
        #: opened, never submitted); "" when the work list has none.
        self.suspended_url = ""
        self.to_recycle_url = ""
        #: Why screens could not be reached when the portal was down or the session lost
        #: (not a changed portal: the run retries those).
        self.transient: list[BaseException] = []

    def run(self) -> list[CheckRow]:
        forget_urls()  # reach every screen by its links, as the robot does the first time
        self.check("Accueil", self.home)
        self.check("Fenêtre « Factures rejetées ou suspendues »", self.window, optional=True)
        if not self.check("Facturation", self.domain):
            # Every other screen is reached from this one: waiting for each would only repeat
            # the same timeout.
            for screen in ("Synthèse", "Rechercher", "Saisir une facture"):
                self.rows.append(CheckRow(screen, ACCESS, False, detail=_UNCHECKED))
            return self.rows
        if self.check("Synthèse", self.synthese):
            self.check("Factures émises", self.space_tabs)
        if self.check("Rechercher", self.search_form):
            self.check("Rechercher › résultats", self.search_results)
        self.check("Consultation de la facture", self.invoice, optional=True)
        self.check("Compléter une facture", self.completion_form, optional=True)
        self.check("Recycler une facture", self.recycling_form, optional=True)
        self.check("Saisir une facture", self.entry_form)
        return self.rows

    def check(
        self, screen: str, visit: Callable[[], Elements | None], *, optional: bool = False
    ) -> bool:
        """Visit one screen, then count each element (no waiting: the screen is loaded).

        False when the screen could not be reached (one row says why).
        """
        try:
            elements = visit()
            if elements is None and optional:
                return True
            found = {name: bool(loc.count()) for name, loc in (elements or {}).items()}
        except (PageError, ScenarioError, PlaywrightError) as exc:
            if is_transient(exc):
                self.transient.append(exc)
            shot = self._screenshot(screen)
            self.rows.append(
                CheckRow(screen, ACCESS, False, shot, f"écran inaccessible ({reason(exc)})")
            )
            return False
        shot = None if all(found.values()) else self._screenshot(screen)
        for name, ok in found.items():
            self.rows.append(CheckRow(screen, name, ok, None if ok else shot))
        return True

    def _screenshot(self, screen: str) -> Path | None:
        if self.screenshot_dir is None:
            return None
        index = len({row.page for row in self.rows}) + 1
        plain = unicodedata.normalize("NFKD", screen.lower()).encode("ascii", "ignore").decode()
        slug = re.sub(r"[^a-z0-9]+", "-", plain)
        path = self.screenshot_dir / f"{self.prefix or f'{index:02d}'}-{slug.strip('-')}.png"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(path), full_page=True)
        except (OSError, PlaywrightError):
            return None
        return path

    # -- the screens ------------------------------------------------------------------------
    def login_screen(self) -> Elements:
        form = LoginPage(self.page)
        form.open(self.base_url)
        return form.expected_elements()

    def home(self) -> Elements:
        self.nav.home()
        return self.nav.expected_elements()

    def window(self) -> Elements | None:
        window = RejectionWindow(self.page)
        if not window.is_open():
            other = self.page.get_by_role("dialog").filter(
                has_not=self.page.get_by_role("heading", name="Information", exact=True)
            )
            # A dialog that is not the window by its name: the window was renamed.
            return (
                {"Fenêtre « Factures rejetées ou suspendues »": window.dialog}
                if (other.count() and other.first.is_visible())
                else None
            )
        elements = window.expected_elements()
        elements.update(_columns(window.table, RejectionWindow.COLUMNS))
        return elements

    def domain(self) -> Elements:
        self.nav.domain()
        return self.nav.domain_elements()

    def synthese(self) -> Elements:
        synthese: SynthesePage = self.nav.synthese()
        elements = synthese.expected_elements()
        if synthese.table.count():
            elements.update(_columns(synthese.table, SynthesePage.COLUMNS))
            self._remember_invoice(synthese.table)
            self.suspended_url = _first_link(synthese.table, SUSPENDED)
            self.to_recycle_url = _first_link(synthese.table, TO_RECYCLE)
        return elements

    def space_tabs(self) -> Elements:
        return self.nav.space_elements()

    def search_form(self) -> Elements:
        search = self.nav.search()
        search.open_criteria()  # folded, the panel hides what is checked
        return search.expected_elements()

    def search_results(self) -> Elements:
        search = SearchPage(self.page)
        search.submit()  # no criterion typed: an empty search
        elements = search.result_elements()
        if search.results.count():
            elements.update(_columns(search.results, SearchPage.COLUMNS))
            self._remember_invoice(search.results)
        return elements

    def invoice(self) -> Elements | None:
        if not self.invoice_url:
            return None  # no invoice listed anywhere: nothing to open
        invoice = InvoicePage(self.page).goto(self.invoice_url)
        elements = invoice.expected_elements()
        elements.update(_terms(invoice.info_region, InvoicePage.INFO_FIELDS, "Informations"))
        if self.invoice_rejected:
            region = invoice.rejection_region
            elements["Bloc « Rejet »"] = region
            elements.update(_terms(region, InvoicePage.REJECTION_FIELDS, "Rejet"))
        for name, locator in _columns(invoice.lines_table, InvoicePage.LINE_COLUMNS).items():
            elements[f"Lignes › {name}"] = locator
        history = invoice.history_region.get_by_role("table")
        for name, locator in _columns(history, InvoicePage.HISTORY_COLUMNS).items():
            elements[f"Historique › {name}"] = locator
        return elements

    def completion_form(self) -> Elements | None:
        """« Compléter » on a suspended invoice, and its form (opened, never submitted).
        Not checkable when « Synthèse » lists none, or none acknowledged (the button comes
        after « Acquitter », which the preflight never clicks)."""
        if not self.suspended_url:
            return None
        invoice = InvoicePage(self.page).goto(self.suspended_url)
        if not invoice.complete_button.count():
            return None
        return invoice.open_completion().expected_elements()

    def recycling_form(self) -> Elements | None:
        """« Recycler » on an invoice to recycle, and its form (opened, never submitted)."""
        if not self.to_recycle_url:
            return None
        invoice = InvoicePage(self.page).goto(self.to_recycle_url)
        if not invoice.recycle_button.count():
            return {"« Recycler »": invoice.recycle_button}  # counted here: missing
        return invoice.open_recycling().expected_elements()

    def entry_form(self) -> Elements:
        form: EntryForm = self.nav.entry_form()
        return form.expected_elements()

    def _remember_invoice(self, table: Locator) -> None:
        """The first invoice link of a list (a rejected one when there is one), once."""
        if self.invoice_url and self.invoice_rejected:
            return
        rejected = table.get_by_role("row").filter(has_text=REJECTED).get_by_role("link")
        for links, is_rejected in ((rejected, True), (table.get_by_role("link"), False)):
            if links.count() and not (self.invoice_url and not is_rejected):
                self.invoice_url = str(links.first.evaluate("a => a.href"))
                self.invoice_rejected = is_rejected
                return


def _first_link(table: Locator, statut: str) -> str:
    """The link of the first invoice of ``table`` shown with the status ``statut`` ("")."""
    links = table.get_by_role("row").filter(has_text=statut).get_by_role("link")
    return str(links.first.evaluate("a => a.href")) if links.count() else ""
