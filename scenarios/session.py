"""Log in to the portal (password, then the one-time code when the portal asks for it)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from pages import FormRejected, LoginPage, Navigator, OtpPage, PageError, ParseError
from scenarios.model import BusinessError, PortalError

#: Alerts of the login form meaning "the data is wrong": retrying would not help (and would
#: lock the account).
CREDENTIAL_ALERTS = (
    "Identifiant ou mot de passe incorrect",
    "Votre compte est temporairement verrouillé",
    # A refused code is not tried again: each refusal counts toward the lockout (5 lock the
    # account for an hour), and a wrong authenticator secret would give wrong codes forever.
    # (A code already used — another machine took the same period — is retried: the next
    # period's code is another.)
    "Code de vérification incorrect",
)
#: The login form's alert when the account already holds as many sessions as the portal
#: allows (the sessions of a machine that died stay open until the portal ends them).
SESSION_LIMIT_ALERT = "Nombre maximal de sessions simultanées"


class SessionLimit(PortalError):
    """The portal refused a login: the account holds all the sessions it may have at once.

    Not a failure of the work: wait for a session to end and try again (the retries' budget
    is not spent on it, see ``CHORUS_SESSION_WAIT_S``).
    """


def login(
    page: Page,
    *,
    base_url: str,
    identifiant: str,
    password: str,
    otp: Callable[[datetime], str] | None,
) -> None:
    """Open ``base_url``, « Se connecter », type the credentials, and the one-time code.

    ``otp(since)`` must return the code the portal sent after ``since`` (the instant just
    before the password was submitted). When the invoicing application lives on another
    origin (the real portal), it is entered once, so that its session cookie is born here,
    in the login context (and registered as a secret). Leaves the page on « Accueil », with
    the rejection window as the portal shows it. Raises BusinessError for wrong credentials
    or a locked account (the portal's message), PortalError otherwise. Never puts a secret in
    a message.
    """
    try:
        form = LoginPage(page)
        form.open(base_url)
        since = datetime.now(UTC)
        needs_code = form.login(identifiant, password)
        if needs_code:
            if otp is None:
                # Not retried: the configuration, not the portal, must change.
                raise BusinessError(
                    "Le portail demande un code de vérification, mais aucune source de codes "
                    "n'est configurée : indiquez CHORUS_OTP_SOURCE (prompt, maildir:/chemin, "
                    "command:<commande>, imaps://identifiant@serveur/INBOX, ou totp avec "
                    "CHORUS_OTP_TOTP_SECRET)."
                )
            OtpPage(page).submit(otp(since))
        navigator = Navigator(page, base_url)
        navigator.remember_home()
        navigator.enter_application()
    except FormRejected as exc:
        said = exc.messages
        if any(alert in message for message in said for alert in CREDENTIAL_ALERTS):
            raise BusinessError(f"Connexion refusée : {' '.join(said)}", said) from None
        if any(SESSION_LIMIT_ALERT in message for message in said):
            raise SessionLimit(f"Connexion impossible pour l'instant : {' '.join(said)}") from None
        raise PortalError(f"Connexion impossible : {' '.join(said)}") from None
    except (PageError, ParseError) as exc:
        raise PortalError(f"Connexion impossible : {exc}") from None
    except PlaywrightError:
        # the browser's own message could quote what was typed: keep it out
        raise PortalError("Connexion impossible : erreur du navigateur.") from None
