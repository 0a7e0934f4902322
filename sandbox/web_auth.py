"""Public page, login (with the optional one-time code by e-mail) and logout.

With the ``max_sessions_per_account`` knob set, a login of an account that already holds that
many live sessions (:mod:`sandbox.security`) is refused with :data:`TOO_MANY_SESSIONS`
**[assumed]** on the login form: checked after the password (no code is sent then) and again,
atomically with the login itself, after the one-time code. A logout frees the slot.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.security import OtpCheck, Session, account_key, new_otp, otp_message
from sandbox.web_common import (
    Portal,
    checked_form,
    current_session,
    ensure_session,
    portal_of,
    render,
)

WRONG_CREDENTIALS = "Identifiant ou mot de passe incorrect."
LOCKED = (
    "Votre compte est temporairement verrouillé suite à plusieurs tentatives infructueuses. "
    "Réessayez dans une heure."
)
WRONG_CODE = "Code de vérification incorrect."
EXPIRED_CODE = "Code de vérification expiré. Reconnectez-vous."
#: [assumed] no session limit is documented for the real portal (SCREENS.md, « Login »).
TOO_MANY_SESSIONS = "Nombre maximal de sessions simultanées atteint pour ce compte."


async def public_page(request: Request) -> Response:
    session = current_session(request)
    if session is not None and session.logged_in:
        return RedirectResponse("/accueil", status_code=303)
    return render(request, "public.html")


async def login_form(request: Request) -> Response:
    session = current_session(request)
    if session is not None and session.logged_in:
        return RedirectResponse("/accueil", status_code=303)
    ensure_session(request)
    return render(request, "login.html", {"error": None, "identifiant": ""})


async def login_submit(request: Request) -> Response:
    session, form = await checked_form(request)
    portal = portal_of(request)
    email = str(form.get("identifiant", "")).strip()
    password = str(form.get("mot_de_passe", ""))

    def refuse(message: str) -> Response:
        context = {"error": message, "identifiant": email}
        return render(request, "login.html", context, status_code=200)

    if not email or portal.guard.is_locked(email):
        return refuse(LOCKED if email else WRONG_CREDENTIALS)
    user = portal.store.get_user(email)
    ok = user is not None and await run_in_threadpool(portal.store.check_password, user, password)
    if not ok or user is None:
        locked = portal.guard.failure(email)
        return refuse(LOCKED if locked else WRONG_CREDENTIALS)
    portal.guard.success(email)
    if user.otp:
        if _at_cap(portal, user.email, session):
            return refuse(TOO_MANY_SESSIONS)
        fresh = portal.sessions.rotate(session)
        request.scope["state"]["session"] = fresh
        challenge = new_otp(user.email, portal.sessions.now())
        portal.maildir.deliver(otp_message(user.email, challenge.code))
        fresh.otp = challenge
        return RedirectResponse("/connexion/code", status_code=303)
    if not _log_in(request, portal, session, user.email, user.supplier_id):
        return refuse(TOO_MANY_SESSIONS)
    return RedirectResponse("/accueil", status_code=303)


def _at_cap(portal: Portal, email: str, session: Session) -> bool:
    """Whether the account already holds as many live sessions as the knob allows (a
    pre-check: :func:`_log_in` decides, under the session store's lock)."""
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
    knobs = portal.faults.knobs
    fresh = portal.sessions.admit(
        session,
        email,
        supplier_id,
        limit=knobs.max_sessions_per_account,
        idle_s=knobs.session_idle_s,
        max_requests=knobs.session_max_requests,
    )
    if fresh is None:
        return False
    request.scope["state"]["session"] = fresh
    return True


async def otp_form(request: Request) -> Response:
    session = current_session(request)
    if session is None or session.otp is None:
        return RedirectResponse("/connexion", status_code=303)
    return render(request, "otp.html", {"error": None})


async def otp_submit(request: Request) -> Response:
    session, form = await checked_form(request)
    portal = portal_of(request)
    challenge = session.otp
    if challenge is None:
        return RedirectResponse("/connexion", status_code=303)
    result = challenge.check(str(form.get("code", "")), portal.sessions.now())
    if result is OtpCheck.EXPIRED:
        session.otp = None
        session.flash("alert", EXPIRED_CODE)
        return RedirectResponse("/connexion", status_code=303)
    if result is OtpCheck.WRONG:
        return render(request, "otp.html", {"error": WRONG_CODE})
    user = portal.store.get_user(challenge.email)
    if user is None:
        return RedirectResponse("/connexion", status_code=303)
    if not _log_in(request, portal, session, user.email, user.supplier_id):
        session.otp = None
        session.flash("alert", TOO_MANY_SESSIONS)
        return RedirectResponse("/connexion", status_code=303)
    return RedirectResponse("/accueil", status_code=303)


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
