"""Public page, login (with the optional one-time code by e-mail, or from an authenticator
application) and logout.

An account enrolled for authenticator codes (:func:`totp_secret_of`) gets the same second step,
« Code de vérification » on ``/connexion/code``, with another explanatory text and no e-mail.
Its wrong codes, replays included, count towards the login lockout like wrong passwords (and
a right password alone does not clear them: only a complete login does), so that the six
digits cannot be tried at leisure; the e-mailed code keeps its own rule (5 wrong codes void it).

With the ``max_sessions_per_account`` knob set, a login of an account that already holds that
many live sessions (:mod:`sandbox.security`) is refused with :data:`TOO_MANY_SESSIONS`
**[assumed]** on the login form: checked after the password (no code is sent then) and again,
atomically with the login itself, after the one-time code. A logout frees the slot.

The rules live in :class:`LoginFlow`'s functions (:func:`password_submit`, :func:`code_submit`),
shared by the single origin's ``/connexion`` and the identity provider of the three origins
(:mod:`sandbox.web_idp`), which only differ in their addresses and in what a complete login
does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.model import User
from sandbox.security import (
    OTP_TTL_S,
    OtpCheck,
    Session,
    TotpChallenge,
    account_key,
    new_otp,
    otp_message,
    totp_step,
)
from sandbox.web_common import (
    Portal,
    checked_form,
    current_session,
    ensure_session,
    portal_of,
    render,
    set_session,
    store_of,
)

WRONG_CREDENTIALS = "Identifiant ou mot de passe incorrect."
LOCKED = (
    "Votre compte est temporairement verrouillé suite à plusieurs tentatives infructueuses. "
    "Réessayez dans une heure."
)
WRONG_CODE = "Code de vérification incorrect."
EXPIRED_CODE = "Code de vérification expiré. Reconnectez-vous."
#: [assumed] the real portal's wording for a code already used is not documented.
REUSED_CODE = "Ce code a déjà été utilisé. Attendez le code suivant de votre application."
#: [assumed] no session limit is documented for the real portal (SCREENS.md, « Login »).
TOO_MANY_SESSIONS = "Nombre maximal de sessions simultanées atteint pour ce compte."


async def public_page(request: Request) -> Response:
    session = current_session(request)
    if session is not None and session.logged_in:
        return RedirectResponse("/accueil", status_code=303)
    return render(request, "public.html")


Finish = Callable[[Request, Portal, Session, User], Response | None]


@dataclass(frozen=True)
class LoginFlow:
    """One login form and its second step: where they live, and what a complete login does.

    The single origin's (:data:`SINGLE_ORIGIN_LOGIN`: ``/connexion``, a session of the
    portal) and the identity provider's (:mod:`sandbox.web_idp`) share every rule here
    (lockout, second factor, session cap); ``finish`` logs the account in and answers, or
    returns None when the account is at its session cap.
    """

    form_path: str  # GET: the form; POST: the password
    code_path: str  # GET: the second step's page; POST: the code
    finish: Finish


def login_page(
    request: Request, flow: LoginFlow, error: str | None = None, identifiant: str = ""
) -> Response:
    """The login form (``error``: its alert)."""
    context = {"error": error, "identifiant": identifiant, "form_action": flow.form_path}
    return render(request, "login.html", context, status_code=200)


def back_to_form(flow: LoginFlow, session: Session, message: str) -> Response:
    """The login form again, with ``message`` as an alert (the login under way forgotten)."""
    session.otp = None
    session.flash("alert", message)
    return RedirectResponse(flow.form_path, status_code=303)


async def password_submit(request: Request, flow: LoginFlow) -> Response:
    """The password step: lockout, credentials, then the second factor or the login."""
    session, form = await checked_form(request)
    portal = portal_of(request)
    email = str(form.get("identifiant", "")).strip()
    password = str(form.get("mot_de_passe", ""))

    def refuse(message: str) -> Response:
        return login_page(request, flow, message, email)

    if not email or portal.guard.is_locked(email):
        return refuse(LOCKED if email else WRONG_CREDENTIALS)
    user = portal.store.get_user(email)
    ok = user is not None and await run_in_threadpool(portal.store.check_password, user, password)
    if not ok or user is None:
        locked = portal.guard.failure(email)
        return refuse(LOCKED if locked else WRONG_CREDENTIALS)
    totp_secret = totp_secret_of(portal, user.email)
    if totp_secret is not None:
        # The failures are cleared by the code, not by the password alone (module docstring).
        if at_session_cap(portal, user.email, session):
            return refuse(TOO_MANY_SESSIONS)
        fresh = store_of(request).rotate(session)
        set_session(request, fresh)
        fresh.otp = TotpChallenge(user.email, portal.sessions.now() + OTP_TTL_S)
        return RedirectResponse(flow.code_path, status_code=303)
    portal.guard.success(email)
    if user.otp:
        if at_session_cap(portal, user.email, session):
            return refuse(TOO_MANY_SESSIONS)
        fresh = store_of(request).rotate(session)
        set_session(request, fresh)
        challenge = new_otp(user.email, portal.sessions.now())
        portal.maildir.deliver(otp_message(user.email, challenge.code))
        fresh.otp = challenge
        return RedirectResponse(flow.code_path, status_code=303)
    answer = flow.finish(request, portal, session, user)
    return refuse(TOO_MANY_SESSIONS) if answer is None else answer


def at_session_cap(portal: Portal, email: str, session: Session) -> bool:
    """Whether the account already holds as many live (work) sessions as the knob allows (a
    pre-check: :func:`_log_in`, or the invoicing application with three origins, decides
    under the session store's lock)."""
    knobs = portal.faults.knobs
    if knobs.max_sessions_per_account <= 0:
        return False
    live = portal.sessions.live_counts(
        idle_s=knobs.session_idle_s, max_requests=knobs.session_max_requests
    )
    mine = (
        1 if session.email is not None and account_key(session.email) == account_key(email) else 0
    )
    return live.get(account_key(email), 0) - mine >= knobs.max_sessions_per_account


def _log_in(
    request: Request, portal: Portal, session: Session, email: str, supplier_id: int
) -> bool:
    """Log in on a fresh session (rotated), unless the account is at its session cap."""
    fresh = admit_work_session(portal, session, email, supplier_id)
    if fresh is None:
        return False
    set_session(request, fresh)
    return True


def admit_work_session(
    portal: Portal, session: Session, email: str, supplier_id: int
) -> Session | None:
    """A work session for ``email`` replacing ``session`` (rotated), or None at the cap."""
    knobs = portal.faults.knobs
    return portal.sessions.admit(
        session,
        email,
        supplier_id,
        limit=knobs.max_sessions_per_account,
        idle_s=knobs.session_idle_s,
        max_requests=knobs.session_max_requests,
    )


def _single_origin_finish(
    request: Request, portal: Portal, session: Session, user: User
) -> Response | None:
    if not _log_in(request, portal, session, user.email, user.supplier_id):
        return None
    return RedirectResponse("/accueil", status_code=303)


SINGLE_ORIGIN_LOGIN = LoginFlow("/connexion", "/connexion/code", _single_origin_finish)


async def login_form(request: Request) -> Response:
    session = current_session(request)
    if session is not None and session.logged_in:
        return RedirectResponse("/accueil", status_code=303)
    ensure_session(request)
    return login_page(request, SINGLE_ORIGIN_LOGIN)


async def login_submit(request: Request) -> Response:
    return await password_submit(request, SINGLE_ORIGIN_LOGIN)


def code_page(request: Request, flow: LoginFlow) -> Response:
    """The second step's page, or the login form when no login is under way."""
    session = current_session(request)
    if session is None or session.otp is None:
        return RedirectResponse(flow.form_path, status_code=303)
    return _otp_page(request, flow, session, None)


def _otp_page(request: Request, flow: LoginFlow, session: Session, error: str | None) -> Response:
    totp = isinstance(session.otp, TotpChallenge)
    context = {"error": error, "totp": totp, "form_action": flow.code_path}
    return render(request, "otp.html", context)


async def otp_form(request: Request) -> Response:
    return code_page(request, SINGLE_ORIGIN_LOGIN)


def totp_secret_of(portal: Portal, email: str) -> str | None:
    """The authenticator secret ``email`` is enrolled with, or None: the admin interface's
    enrolment since the last reset, else the server's ``--totp-secret`` for its ``--user``."""
    enrolled, secret = portal.store.totp_enrolment(email)
    if enrolled:
        return secret
    if portal.options.totp_secret and account_key(email) == account_key(portal.options.user):
        return portal.options.totp_secret
    return None


async def code_submit(request: Request, flow: LoginFlow) -> Response:
    """The second step: the e-mailed code, or the authenticator's."""
    session, form = await checked_form(request)
    portal = portal_of(request)
    challenge = session.otp
    if challenge is None:
        return RedirectResponse(flow.form_path, status_code=303)
    if isinstance(challenge, TotpChallenge):
        return await _totp_submit(request, flow, session, challenge, str(form.get("code", "")))
    result = challenge.check(str(form.get("code", "")), portal.sessions.now())
    if result is OtpCheck.EXPIRED:
        return back_to_form(flow, session, EXPIRED_CODE)
    if result is OtpCheck.WRONG:
        return _otp_page(request, flow, session, WRONG_CODE)
    return _complete_login(request, flow, portal, session, challenge.email)


async def otp_submit(request: Request) -> Response:
    return await code_submit(request, SINGLE_ORIGIN_LOGIN)


async def _totp_submit(
    request: Request, flow: LoginFlow, session: Session, challenge: TotpChallenge, typed: str
) -> Response:
    """Check an authenticator code: right, current (± one period) and not used before."""
    portal = portal_of(request)
    email = challenge.email
    secret = totp_secret_of(portal, email)
    if portal.guard.is_locked(email):
        return back_to_form(flow, session, LOCKED)
    if secret is None or challenge.expired(portal.sessions.now()):
        return back_to_form(flow, session, EXPIRED_CODE)  # unenrolled meanwhile, or too late
    step = totp_step(secret, typed, time.time())
    if step is None or not portal.store.use_totp_step(email, step):
        if portal.guard.failure(email):
            return back_to_form(flow, session, LOCKED)
        return _otp_page(request, flow, session, WRONG_CODE if step is None else REUSED_CODE)
    portal.guard.success(email)
    return _complete_login(request, flow, portal, session, email)


def _complete_login(
    request: Request, flow: LoginFlow, portal: Portal, session: Session, email: str
) -> Response:
    """The second factor passed: log in, unless the account reached its session cap."""
    user = portal.store.get_user(email)
    if user is None:
        return RedirectResponse(flow.form_path, status_code=303)
    answer = flow.finish(request, portal, session, user)
    if answer is None:
        return back_to_form(flow, session, TOO_MANY_SESSIONS)
    return answer


async def logout(request: Request) -> Response:
    session, _form = await checked_form(request)
    portal_of(request).sessions.drop(session)
    request.scope["state"]["session"] = None
    return RedirectResponse("/", status_code=303)


def routes() -> list[BaseRoute]:
    return [
        Route("/", public_page),
        Route("/connexion", login_form, methods=["GET"]),
        Route("/connexion", login_submit, methods=["POST"]),
        Route("/connexion/code", otp_form, methods=["GET"]),
        Route("/connexion/code", otp_submit, methods=["POST"]),
        Route("/deconnexion", logout, methods=["POST"]),
    ]
