"""What every page object does after a navigation or a submit: recognise the portal's error
pages, the login form shown instead of the expected screen, and the « Information » pop-up.

- « Service indisponible », « Maintenance en cours », « Requête refusée », a 5xx answer or a
  Playwright timeout → :class:`PortalUnavailable`;
- the login form, « Votre session a expiré », or the invoicing application's refusal of an
  address reached without its session (« Des contraintes de sécurité empêchent d'accéder à
  la page demandée », the application living on its own origin behind the portal) where
  another screen was expected → :class:`LoginRequired`;
- the « Information » dialog is dismissed (« J'ai compris ») by a Playwright locator handler,
  installed once per page, which runs before every action and auto-waiting check.

Every page load the page objects trigger goes through :func:`navigation` or :func:`goto`
(and the reloads of :func:`_settle`), which pace it first (:mod:`pages._pace`).
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, Response
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from pages._pace import pace
from pages.errors import ElementMissing, LoginRequired, PortalUnavailable


class Labels:
    """Texts of the portal's error pages and pop-up (SCREENS.md, « Error and maintenance »)."""

    UNAVAILABLE_HEADINGS = ("Service indisponible", "Maintenance en cours")
    REFUSED_HEADING = "Requête refusée"
    SESSION_EXPIRED = "Votre session a expiré"
    #: The invoicing application's answer to an address opened without its session.
    SECURITY_REFUSAL = "Des contraintes de sécurité empêchent d'accéder à la page demandée"
    #: The public page's link: shown instead of a screen, the portal's session is gone.
    CONNECT_LINK = "Se connecter"
    LOGIN_PASSWORD = "Mot de passe"
    LOGIN_BUTTON = "Connexion"
    POPUP = "Information"
    POPUP_CLOSE = "J'ai compris"
    LOADING = "Chargement en cours"


_HANDLED_PAGES: weakref.WeakSet[Page] = weakref.WeakSet()


def install_popup_handler(page: Page) -> None:
    """Have Playwright close the « Information » pop-up whenever it covers the page."""
    if page in _HANDLED_PAGES:
        return
    popup = page.get_by_role("dialog", name=Labels.POPUP, exact=True)

    def _dismiss(dialog: Locator) -> None:
        dialog.get_by_role("button", name=Labels.POPUP_CLOSE).click()

    page.add_locator_handler(popup, _dismiss)
    _HANDLED_PAGES.add(page)


def shows(locator: Locator) -> bool:
    """Whether the page shows ``locator`` now (its first match, visible), without waiting."""
    return bool(locator.count()) and locator.first.is_visible()


def popup(page: Page) -> Locator:
    """The « Information » pop-up."""
    return page.get_by_role("dialog", name=Labels.POPUP, exact=True)


def error_heading(page: Page) -> Locator:
    """The heading of any of the portal's error pages."""
    names = (*Labels.UNAVAILABLE_HEADINGS, Labels.REFUSED_HEADING)
    pattern = re.compile("^(" + "|".join(re.escape(name) for name in names) + ")$")
    return page.get_by_role("heading", name=pattern)


def login_form(page: Page) -> Locator:
    """The password box of the login form (its presence means: log in again)."""
    return page.get_by_label(Labels.LOGIN_PASSWORD, exact=True)


def security_refusal(page: Page) -> Locator:
    """The invoicing application's « contraintes de sécurité » refusal (no session there)."""
    return page.get_by_text(Labels.SECURITY_REFUSAL)


def public_page(page: Page) -> Locator:
    """The public page's « Se connecter » (the portal's shell without its session)."""
    return page.get_by_role("link", name=Labels.CONNECT_LINK, exact=True)


def login_needed(page: Page) -> Locator:
    """What means « log in again »: the login form, the public page, or the application's
    refusal."""
    return login_form(page).or_(security_refusal(page)).or_(public_page(page))


def raise_for_error_page(page: Page, *, login_allowed: bool = False) -> None:
    """Raise if the page is one of the portal's error pages, its login form, or the
    application's refusal of an address reached without its session."""
    headings = error_heading(page)
    suspects = headings if login_allowed else headings.or_(login_needed(page))
    if not suspects.count():  # the usual case, in one query
        return
    if headings.count():
        title = " ".join(headings.first.inner_text().split())
        raise PortalUnavailable(f"Le portail affiche « {title} » ({_where(page)}).")
    if login_allowed:
        return
    if security_refusal(page).count():
        raise LoginRequired(
            "Le portail demande de se reconnecter (page refusée par l'application de "
            "facturation : session absente)."
        )
    if shows(login_form(page)):
        expired = page.get_by_text(Labels.SESSION_EXPIRED)
        reason = "session expirée" if expired.count() else "formulaire de connexion affiché"
        raise LoginRequired(f"Le portail demande de se reconnecter ({reason}).")
    if shows(public_page(page)):
        raise LoginRequired("Le portail demande de se reconnecter (page publique affichée).")


#: Resource types of the requests a page's own scripts make (not page loads).
SCRIPT_REQUESTS = frozenset({"xhr", "fetch"})


def session_gone(response: Response) -> bool:
    """Whether the answer to a request of the page's own scripts says the session is gone.

    **[assumed]** As the sandbox answers: status 401, with an ``x-login`` header naming the
    login page (the page's script then reloads the page, which shows the login form).
    """
    if response.request.resource_type not in SCRIPT_REQUESTS:
        return False
    return response.status == 401 or "x-login" in response.headers


def wait_for_screen(
    page: Page, expected: Locator, what: str, *, login_allowed: bool = False
) -> None:
    """Wait until ``expected``, an error page or the login form shows; raise for the last two.

    ``what`` names the screen in messages (French). A screen that never shows → ElementMissing
    when the page is idle (drift), PortalUnavailable when it is still loading.
    """
    install_popup_handler(page)
    target = expected.or_(error_heading(page))
    if not login_allowed:
        target = target.or_(login_needed(page))
    try:
        target.first.wait_for(state="visible")
    except PlaywrightTimeoutError:
        raise_for_error_page(page, login_allowed=login_allowed)
        if page.get_by_role("progressbar").count():
            raise PortalUnavailable(f"{what} : toujours en chargement.") from None
        raise ElementMissing(f"{what} : élément attendu absent de la page.") from None
    raise_for_error_page(page, login_allowed=login_allowed)


@contextmanager
def portal_timeouts(what: str) -> Iterator[None]:
    """Turn Playwright's timeouts into PortalUnavailable (the portal did not answer in time)."""
    try:
        yield
    except PlaywrightTimeoutError:
        raise PortalUnavailable(f"{what} : le portail n'a pas répondu à temps.") from None


#: Immediate reloads of a page load (GET) the portal answered with an error page. A GET is
#: idempotent, so reloading is what a person does first (F5); a longer outage is left to the
#: runner's retries with backoff. Form submissions (POST) are never repeated here.
RELOADS = 3


def _settle(
    page: Page,
    response: Response | None,
    expected: Locator,
    what: str,
    login_allowed: bool,
) -> Response | None:
    """Wait for the screen; reload a failed GET up to :data:`RELOADS` times."""
    for attempt in range(RELOADS + 1):
        try:
            wait_for_screen(page, expected, what, login_allowed=login_allowed)
            if response is not None and response.status >= 500:
                raise PortalUnavailable(f"{what} : le portail a répondu {response.status}.")
            return response
        except PortalUnavailable:
            is_get = response is None or response.request.method == "GET"
            if attempt == RELOADS or not is_get or not error_heading(page).count():
                raise
            pace(page)
            response = page.goto(page.url, wait_until="domcontentloaded")
    return response


@contextmanager
def navigation(
    page: Page, expected: Locator, what: str, *, login_allowed: bool = False
) -> Iterator[None]:
    """Around an action that loads a new document: wait for it, then for ``expected``.

    The load is paced first (:func:`pages._pace.pace`). Usage::

        with navigation(page, heading, "Synthèse"):
            link.click()
    """
    pace(page)
    with portal_timeouts(what):
        with page.expect_navigation(wait_until="domcontentloaded") as info:
            yield
        try:
            response = info.value
        except PlaywrightError:
            response = None
        _settle(page, response, expected, what, login_allowed)


def goto(
    page: Page,
    url: str,
    expected: Locator,
    what: str,
    *,
    login_allowed: bool = False,
    referer: str | None = None,
) -> None:
    """Load ``url`` (a URL met earlier by clicking), then wait for ``expected`` (paced).

    ``referer``: the page the link was on, sent as a click would (a link opened in a new tab).
    """
    pace(page)
    with portal_timeouts(what):
        try:
            response = page.goto(url, wait_until="domcontentloaded", referer=referer)
        except PlaywrightError as exc:
            if isinstance(exc, PlaywrightTimeoutError):
                raise
            raise PortalUnavailable(f"{what} : le portail est injoignable.") from None
        _settle(page, response, expected, what, login_allowed)


def messages(page: Page, role: Literal["status", "alert"]) -> list[str]:
    """Texts of the visible flash messages with ``role`` (« status » or « alert »)."""
    found = page.get_by_role(role)
    texts = []
    for text in found.all_inner_texts():
        cleaned = " ".join(text.split())
        if cleaned:
            texts.append(cleaned)
    return texts


def _where(page: Page) -> str:
    """The current URL without its query (which might carry data)."""
    return page.url.split("?", 1)[0]
