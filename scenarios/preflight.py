"""Read-only preflight: do the page objects still match the portal? (« check-portal »)

Visits every screen the robot uses, the way the robot reaches it (clicking links from home),
and checks every element its page objects rely on: their ``expected_elements()``, plus the
column headers and field labels they declare reading values by (``SynthesePage.COLUMNS``,
``InvoicePage.INFO_FIELDS``…: one list, read by the page object, checked here). Nothing is
changed on the portal: the rejection window may be closed (« Fermer », it comes back at the
next login), the search runs with no criterion, the entry form is opened and left without
typing anything. The confirmation dialog of the entry form is not checked: opening it means
clicking « Valider et envoyer ».

    rows = check_portal(page, base_url, screenshot_dir=folder)   # page: logged in
    problems = mismatches(rows)                                   # [] when all match
    assert_portal_matches(page, base_url)                         # PortalError otherwise
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from playwright.sync_api import Page

from pages import LoginRequired
from scenarios._preflight_screens import CheckRow, Preflight, reason
from scenarios.model import PortalChanged, PortalError, SessionLost

__all__ = [
    "CheckRow",
    "assert_portal_matches",
    "check_login_screen",
    "check_portal",
    "mismatches",
]


def check_portal(
    page: Page, base_url: str, *, screenshot_dir: Path | None = None
) -> list[CheckRow]:
    """Visit every screen the robot uses (``page`` is logged in) and check its elements.

    A screenshot of each screen where something is missing goes to ``screenshot_dir``.
    """
    return Preflight(page, base_url, screenshot_dir).run()


def check_login_screen(
    page: Page, base_url: str, *, screenshot_dir: Path | None = None
) -> list[CheckRow]:
    """Check the public page and the login form (``page`` must not be logged in)."""
    checker = Preflight(page, base_url, screenshot_dir, prefix="00")
    checker.check("Connexion", checker.login_screen)
    return checker.rows


def mismatches(rows: Iterable[CheckRow]) -> list[str]:
    """What changed, in French: one line per element not found, or screen not reached."""
    return [
        f"{row.page} : {row.detail}"
        if row.detail
        else f"{row.page} : {_quoted(row.element)} introuvable"
        for row in rows
        if not row.found
    ]


def assert_portal_matches(page: Page, base_url: str) -> None:
    """Run the preflight on a logged-in ``page``; PortalChanged naming every mismatch.

    Meant for right after login, before the robot's first click. A screen out of reach because
    the portal answered an error page or the session ended raises PortalError / SessionLost
    instead, which the run retries: only a portal that answers and differs stops the run.
    """
    preflight = Preflight(page, base_url, None)
    problems = mismatches(preflight.run())
    if problems and preflight.transient:
        # The portal was down or the session ended on the way: not a change; retried.
        first = preflight.transient[0]
        what = f"Vérification du portail : {reason(first)}"
        if isinstance(first, (LoginRequired, SessionLost)):
            raise SessionLost(what) from first
        raise PortalError(what) from first
    if problems:
        raise PortalChanged(
            "Le portail ne correspond plus aux écrans que le robot connaît ("
            + " ; ".join(problems)
            + ") : le robot n'y agit pas. Détail : « chorus-robot check-portal »."
        )


def _quoted(name: str) -> str:
    return name if "«" in name else f"« {name} »"
