"""Read-only preflight: do the page objects still match the portal? (« check-portal »)

Visits every screen the robot uses, the way the robot reaches it (clicking links from home),
and checks every element its page objects rely on: their ``expected_elements()``, plus the
column headers and field labels they read values by. Nothing is changed on the portal: the
rejection window may be closed (« Fermer », it comes back at the next login), the search runs
with no criterion, the entry form is opened and left without typing anything. The
confirmation dialog of the entry form is not checked: opening it means clicking « Valider et
envoyer ».

    rows = check_portal(page, base_url, screenshot_dir=folder)   # page: logged in
    problems = mismatches(rows)                                   # [] when all match
    assert_portal_matches(page, base_url)                         # PortalError otherwise
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from playwright.sync_api import Page
from rich.table import Table
from rich.text import Text

from pages import LoginRequired
from robot._preflight_screens import CheckRow, Preflight, reason
from robot.browser import new_context
from robot.session import WorkSession
from scenarios import PortalChanged, PortalError, ScenarioError, SessionLost

__all__ = [
    "CheckRow",
    "assert_portal_matches",
    "check_login_screen",
    "check_portal",
    "check_session",
    "mismatches",
    "render_table",
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


def check_session(session: WorkSession, *, screenshot_dir: Path | None = None) -> list[CheckRow]:
    """The login form (in a context of its own, never logged in), then, once ``session`` has
    logged in, every screen; logs out at the end. A refused login is a row, not an error."""
    context = new_context(session.browser, session.settings)
    try:
        rows = check_login_screen(
            context.new_page(), session.portal.url, screenshot_dir=screenshot_dir
        )
    finally:
        context.close()
    try:
        page = session.page  # logs in
    except ScenarioError as exc:
        rows.append(
            CheckRow(
                "Connexion",
                "Connexion au portail",
                False,
                detail=f"connexion refusée ou impossible ({reason(exc)})",
            )
        )
        return rows
    try:
        rows += check_portal(page, session.portal.url, screenshot_dir=screenshot_dir)
    finally:
        session.logout()
    return rows


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


def render_table(rows: list[CheckRow]) -> Table:
    """The rows as a French table: page, element, found, screenshot (its file name)."""
    missing = sum(1 for row in rows if not row.found)
    table = Table(
        title=f"Vérification du portail : {len(rows)} élément(s), {missing} écart(s)",
        title_justify="left",
    )
    for column in ("Page", "Élément", "Trouvé", "Capture d'écran"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            Text(row.page),
            Text(f"{row.element} ({row.detail})" if row.detail else row.element),
            Text("oui", style="green") if row.found else Text("NON", style="bold red"),
            Text(row.screenshot.name if row.screenshot else ""),
        )
    return table


def _quoted(name: str) -> str:
    return name if "«" in name else f"« {name} »"
