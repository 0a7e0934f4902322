"""The public page, the login form and the one-time-code step."""

from __future__ import annotations

from playwright.sync_api import Locator, Page

from pages._base import PageObject
from pages._guard import goto, messages, navigation, shows
from pages.errors import FormRejected


class Labels:
    CONNECT_LINK = "Se connecter"
    IDENTIFIANT = "Identifiant"
    PASSWORD = "Mot de passe"
    SUBMIT = "Connexion"
    OTP_FIELD = "Code de vérification"
    OTP_SUBMIT = "Valider"
    HOME_HEADING = "Accueil"


def _home_heading(page: Page) -> Locator:
    return page.get_by_role("heading", name=Labels.HOME_HEADING, exact=True)


class LoginPage(PageObject):
    """Public page → « Se connecter » → the login form."""

    @property
    def identifiant(self) -> Locator:
        return self.page.get_by_label(Labels.IDENTIFIANT, exact=True)

    @property
    def password(self) -> Locator:
        return self.page.get_by_label(Labels.PASSWORD, exact=True)

    @property
    def submit_button(self) -> Locator:
        return self.page.get_by_role("button", name=Labels.SUBMIT, exact=True)

    @property
    def connect_link(self) -> Locator:
        return self.page.get_by_role("link", name=Labels.CONNECT_LINK, exact=True)

    def expected_elements(self) -> dict[str, Locator]:
        return {
            "Identifiant": self.identifiant,
            "Mot de passe": self.password,
            "Connexion": self.submit_button,
        }

    def open(self, base_url: str) -> None:
        """Open the portal's public page and click « Se connecter »."""
        home = _home_heading(self.page)
        landing = self.connect_link.or_(self.password).or_(home)
        goto(self.page, base_url, landing, "Page d'accueil publique", login_allowed=True)
        if shows(self.password) or shows(home):
            return  # already on the login form, or still logged in
        with navigation(self.page, self.password.or_(home), "Connexion", login_allowed=True):
            self.connect_link.click()

    def is_logged_in(self) -> bool:
        """True when the portal shows its home page rather than the login form."""
        return shows(_home_heading(self.page)) and not shows(self.password)

    def login(self, identifiant: str, password: str) -> bool:
        """Fill and send the form; True when the portal then asks for the one-time code.

        Raises FormRejected with the portal's alert (wrong credentials, lockout). Still logged
        in (the session survived): nothing is typed, False.
        """
        if self.is_logged_in():
            return False
        self.identifiant.fill(identifiant)
        self.password.fill(password)
        otp_box = self.page.get_by_label(Labels.OTP_FIELD, exact=True)
        expected = _home_heading(self.page).or_(otp_box).or_(self.page.get_by_role("alert"))
        with navigation(self.page, expected, "Connexion", login_allowed=True):
            self.submit_button.click()
        if shows(otp_box):
            return True
        if _home_heading(self.page).count():
            return False
        raise FormRejected(tuple(messages(self.page, "alert")))


class OtpPage(PageObject):
    """The one-time-code step (« Code de vérification »)."""

    @property
    def code(self) -> Locator:
        return self.page.get_by_label(Labels.OTP_FIELD, exact=True)

    @property
    def submit_button(self) -> Locator:
        return self.page.get_by_role("button", name=Labels.OTP_SUBMIT, exact=True)

    def expected_elements(self) -> dict[str, Locator]:
        return {"Code de vérification": self.code, "Valider": self.submit_button}

    def submit(self, code: str) -> None:
        """Type the code and validate; raises FormRejected with the portal's alert."""
        self.code.fill(code)
        home = _home_heading(self.page)
        expected = home.or_(self.page.get_by_role("alert"))
        with navigation(self.page, expected, "Code de vérification", login_allowed=True):
            self.submit_button.click()
        if home.count():
            return
        raise FormRejected(tuple(messages(self.page, "alert")))
