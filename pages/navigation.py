"""Header and navigation: reach a screen by clicking links, the way a person does.

Home → « Facturation » → « Accéder au domaine » → « Factures émises » → « Synthèse »,
« Rechercher » or « Saisir une facture ». The URL of a screen reached by clicking is
remembered (per portal, for this process) and used directly next time; should that URL stop
leading to the screen, the navigator forgets it and clicks its way again. Nothing about the
portal's URLs is hard-coded, so the same code drives the real portal.

A portal may span several origins (the real one: its shell, its identity provider, and the
invoicing application on another host): an origin reached by clicking from a portal's page
belongs to that portal, so its screens' URLs are found from any of the portal's pages.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Locator, Page

from pages._base import PageObject
from pages._guard import goto, messages, navigation, portal_timeouts, public_page, shows
from pages.entry_form import EntryForm
from pages.errors import ElementMissing, FormRejected
from pages.rejection_window import RejectionWindow
from pages.search import SearchPage
from pages.synthese import DEFAULT_ROWS_PER_PAGE, SynthesePage


class Labels:
    BANNER_HOME_LINKS = ("Accueil", "Chorus Pro")
    HOME_HEADING = "Accueil"
    FACTURATION_REGION = "Facturation"
    ACCESS_DOMAIN = "Accéder au domaine"
    EMISES_LINK = "Factures émises"
    EMISES_NAV = "Factures émises"
    SYNTHESE = "Synthèse"
    RECHERCHER = "Rechercher"
    SAISIR = "Saisir une facture"
    LOGOUT = "Se déconnecter"


# portal (the origin first met) → screen name → URL reached by clicking
_KNOWN_URLS: dict[str, dict[str, str]] = {}
# origin → the portal it belongs to
_PORTAL_OF: dict[str, str] = {}
_LAST_ORIGIN: list[str] = []


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` ("" for ``about:``, ``data:``… and relative ones)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme.startswith("http") else ""


def forget_urls() -> None:
    """Forget every remembered URL (tests; or after the portal changed)."""
    _KNOWN_URLS.clear()
    _PORTAL_OF.clear()
    _LAST_ORIGIN.clear()


def _join(portal: str, url: str) -> None:
    """``url``'s origin, reached by clicking from a page of ``portal``, belongs to it."""
    origin = origin_of(url)
    if portal and origin and origin != portal:
        _PORTAL_OF.setdefault(origin, _PORTAL_OF.get(portal, portal))


class Navigator(PageObject):
    """From anywhere on the portal to home, the domain, and the « Factures émises » screens."""

    HOME = "accueil"
    DOMAIN = "facturation"
    SYNTHESE = "synthese"
    SEARCH = "rechercher"
    ENTRY = "saisir"

    def __init__(self, page: Page, base_url: str | None = None) -> None:
        super().__init__(page)
        self.base_url = base_url

    # -- locators -------------------------------------------------------------------------
    @property
    def home_heading(self) -> Locator:
        return self.page.get_by_role("heading", name=Labels.HOME_HEADING, exact=True)

    @property
    def access_domain(self) -> Locator:
        region = self.page.get_by_role("region", name=Labels.FACTURATION_REGION, exact=True)
        return region.get_by_role("link", name=Labels.ACCESS_DOMAIN, exact=True)

    @property
    def emises_link(self) -> Locator:
        return self.page.get_by_role("main").get_by_role(
            "link", name=Labels.EMISES_LINK, exact=True
        )

    @property
    def emises_nav(self) -> Locator:
        return self.page.get_by_role("navigation", name=Labels.EMISES_NAV, exact=True)

    @property
    def logout_button(self) -> Locator:
        return self.page.get_by_role("banner").get_by_role("button", name=Labels.LOGOUT, exact=True)

    def tab(self, name: str) -> Locator:
        return self.emises_nav.get_by_role("link", name=name, exact=True)

    def expected_elements(self) -> dict[str, Locator]:
        return {
            "Se déconnecter": self.logout_button,
            "Accueil": self.home_heading,
            "Facturation › Accéder au domaine": self.access_domain,
        }

    def domain_elements(self) -> dict[str, Locator]:
        """What this navigator follows on the domain « Facturation » (for « check-portal »)."""
        return {f"Lien « {Labels.EMISES_LINK} »": self.emises_link}

    def space_elements(self) -> dict[str, Locator]:
        """The navigation of « Factures émises » and the tabs this navigator opens."""
        found = {f"Navigation « {Labels.EMISES_NAV} »": self.emises_nav}
        for tab in (Labels.SYNTHESE, Labels.RECHERCHER, Labels.SAISIR):
            found[f"Onglet « {tab} »"] = self.tab(tab)
        return found

    # -- screens --------------------------------------------------------------------------
    def remember_home(self) -> None:
        """Note the current URL as the home page (call it on the home page, after login)."""
        self._remember(self.HOME)

    def enter_application(self) -> None:
        """Open the invoicing application once when it lives on another origin than
        « Accueil » (the real portal's `/cpp/` application, with its own session), so that
        its session exists before any of its addresses is opened directly; then back to
        « Accueil », as the portal showed it (the rejection window is neither closed nor
        acknowledged: the link's address is opened with « Accueil » as its referrer, as a
        person opens a link in a new tab).
        On a single-origin portal, nothing is done."""
        link = self.access_domain
        href = link.first.get_attribute("href") if self._on(link) else None
        if not href:
            return
        target = self._absolute(href)
        if origin_of(target) == origin_of(self.page.url):
            return
        portal = self._portal()
        refusal = self.page.get_by_role("alert")
        goto(
            self.page,
            target,
            self.emises_link.or_(refusal),
            "Facturation",
            referer=self.page.url,
        )
        if not self._on(self.emises_link):  # e.g. the account's sessions are all taken
            raise FormRejected(tuple(messages(self.page, "alert")))
        _join(portal, self.page.url)
        self._remember(self.DOMAIN)
        self.home()

    def home(self) -> None:
        """Reach the home page « Accueil »."""
        if self._on(self.home_heading):
            self._remember(self.HOME)
            return
        if self._goto_known(self.HOME, self.home_heading):
            return
        for name in Labels.BANNER_HOME_LINKS:
            link = self.page.get_by_role("banner").get_by_role("link", name=name, exact=True)
            if link.count():
                self._follow(link.first, self.home_heading, "Accueil")
                self._remember(self.HOME)
                return
        self._home_from_root()

    def domain(self) -> None:
        """Reach the domain « Facturation » (the page with the link « Factures émises »)."""
        if self._on(self.emises_link) or self._goto_known(self.DOMAIN, self.emises_link):
            return
        self.home()
        self._follow(self.access_domain, self.emises_link, "Facturation")
        self._remember(self.DOMAIN)

    def synthese(self, rows_per_page: int | None = DEFAULT_ROWS_PER_PAGE) -> SynthesePage:
        """Open « Synthèse », showing ``rows_per_page`` rows per page when the list offers it.

        The address the list shows after « Afficher » is remembered in place of the tab's, so
        the next visit shows that many rows at once (one page load instead of two) — when the
        portal keeps the choice in the address; otherwise it is chosen again each time.
        """
        target = SynthesePage(self.page)
        key = self.SYNTHESE if rows_per_page is None else f"{self.SYNTHESE}-{rows_per_page}"
        self._emises_tab(key, Labels.SYNTHESE, target.table.or_(target.empty_notice))
        if target.open_first_page(rows_per_page):
            self._remember(key)
        return target

    def search(self) -> SearchPage:
        """Open « Rechercher »."""
        target = SearchPage(self.page)
        self._emises_tab(self.SEARCH, Labels.RECHERCHER, target.screen)
        return target

    def entry_form(self) -> EntryForm:
        """Open « Saisir une facture » (a blank form)."""
        target = EntryForm(self.page)
        self._emises_tab(self.ENTRY, Labels.SAISIR, target.send_button, reload=True)
        return target

    def logout(self) -> None:
        """« Se déconnecter »."""
        connect = public_page(self.page)
        with navigation(
            self.page,
            connect.or_(self.page.get_by_role("heading")),
            "Déconnexion",
            login_allowed=True,
        ):
            self.logout_button.click()

    # -- internals ------------------------------------------------------------------------
    def _emises_tab(self, key: str, label: str, ready: Locator, *, reload: bool = False) -> None:
        if not reload and self._on(ready) and self._on(self.emises_nav):
            return
        if self._goto_known(key, ready):
            return
        if not self._on(self.emises_nav):
            self.domain()
            self._follow(self.emises_link, self.emises_nav, "Factures émises")
            if self._on(ready) and not reload:
                self._remember_tab(key, label)
                return
        self._follow(self.tab(label), ready, label)
        self._remember(key)

    def _follow(self, link: Locator, expected: Locator, what: str) -> None:
        """Click ``link`` and wait for ``expected``.

        The rejection window covers the home page: it is closed first (« Fermer », which
        acknowledges nothing); when acknowledgment is compulsory it cannot be closed, and the
        link's address is followed instead of clicking under the window.
        """
        portal = self._portal()
        window = RejectionWindow(self.page)
        if window.is_open():
            if not window.is_compulsory():
                window.close()
            else:
                href = link.get_attribute("href")
                if href:
                    goto(self.page, self._absolute(href), expected, what, referer=self.page.url)
                    _join(portal, self.page.url)
                    return
        with navigation(self.page, expected, what):
            link.click()
        _join(portal, self.page.url)

    def _remember_tab(self, key: str, label: str) -> None:
        # landed on the tab as the space's default page: remember the tab's own link
        href = self.tab(label).get_attribute("href") if self.tab(label).count() else None
        if href:
            self._store(key, self._absolute(href))

    def _home_from_root(self) -> None:
        start = self.base_url or (_LAST_ORIGIN[-1] if _LAST_ORIGIN else "")
        if not start and origin_of(self.page.url):
            start = origin_of(self.page.url) + "/"
        if not start:
            raise ElementMissing("Accueil : aucune adresse du portail connue.")
        connect = public_page(self.page)
        goto(self.page, start, self.home_heading.or_(connect), "Accueil", login_allowed=True)
        if self._on(self.home_heading):
            self._remember(self.HOME)
            return
        with navigation(self.page, self.home_heading, "Accueil"):
            connect.first.click()
        self._remember(self.HOME)

    def _portal(self) -> str:
        """The portal of the current page (else of ``base_url``, else the last one met)."""
        origin = (
            origin_of(self.page.url)
            or origin_of(self.base_url or "")
            or (_LAST_ORIGIN[-1] if _LAST_ORIGIN else "")
        )
        return _PORTAL_OF.get(origin, origin)

    def _goto_known(self, key: str, ready: Locator) -> bool:
        """Go straight to a remembered URL; False (and forget it) if it no longer leads there."""
        known = _KNOWN_URLS.get(self._portal(), {})
        url = known.get(key)
        if not url:
            return False
        try:
            goto(self.page, url, ready, key)
        except ElementMissing:
            known.pop(key, None)
            return False
        return True

    def _on(self, locator: Locator) -> bool:
        with portal_timeouts("Navigation"):
            return shows(locator)

    def _remember(self, key: str) -> None:
        self._store(key, self.page.url)

    def _store(self, key: str, url: str) -> None:
        origin = origin_of(url)
        if not origin:
            return
        portal = _PORTAL_OF.setdefault(origin, origin)
        _KNOWN_URLS.setdefault(portal, {})[key] = url
        if not _LAST_ORIGIN or _LAST_ORIGIN[-1] != portal:
            _LAST_ORIGIN.append(portal)

    def _absolute(self, href: str) -> str:
        if origin_of(href):
            return href
        origin = origin_of(self.page.url)
        return origin + (href if href.startswith("/") else "/" + href)
