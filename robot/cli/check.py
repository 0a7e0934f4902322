"""``chorus-robot check-portal``: the read-only preflight (:mod:`scenarios.preflight`) on
a session of its own, and its French table."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import BrowserContext, Request
from rich.table import Table
from rich.text import Text

from pages.navigation import origin_of
from robot.browser.launch import new_context
from robot.browser.session import WorkSession
from robot.errors import first_line
from scenarios import ScenarioError
from scenarios.preflight import CheckRow, check_login_screen, check_portal


def note_origins(context: BrowserContext, origins: list[str]) -> None:
    """Add to ``origins`` (in order, once each) the origin of every page load of ``context``,
    redirects included: the portal's shell, its identity provider, its applications."""

    def note(request: Request) -> None:
        origin = origin_of(request.url)
        if origin and origin not in origins and request.is_navigation_request():
            origins.append(origin)

    context.on("request", note)


def check_session(
    session: WorkSession,
    *,
    screenshot_dir: Path | None = None,
    origins: list[str] | None = None,
) -> list[CheckRow]:
    """The login form (in a context of its own, never logged in), then, once ``session`` has
    logged in, every screen; logs out at the end. A refused login is a row, not an error.
    ``origins`` receives the origin of every page the check loaded (login included)."""
    seen: list[str] = [] if origins is None else origins
    context = new_context(session.browser, session.settings)
    note_origins(context, seen)
    try:
        rows = check_login_screen(
            context.new_page(), session.portal.url, screenshot_dir=screenshot_dir
        )
    finally:
        context.close()
    try:
        page = session.page  # logs in
        note_origins(page.context, seen)
    except ScenarioError as exc:
        rows.append(
            CheckRow(
                "Connexion",
                "Connexion au portail",
                False,
                detail=f"connexion refusée ou impossible ({first_line(exc, 200)})",
            )
        )
        return rows
    try:
        rows += check_portal(page, session.portal.url, screenshot_dir=screenshot_dir)
    finally:
        session.logout()
    return rows


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
