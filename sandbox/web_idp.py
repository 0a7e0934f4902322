"""Three origins: the identity provider (the real portal's Keycloak, realm ``chorus-pro``).

- ``…/protocol/openid-connect/auth?client_id&response_type=code&scope=openid&redirect_uri
  &state``: an unknown client, a return address not registered for it, no ``state`` or
  another ``response_type`` give an error page (400) that sends nowhere. With a live
  provider session (cookie ``KEYCLOAK_SESSION``) the browser goes straight back to
  ``redirect_uri?code=…&state=…`` (single sign-on); otherwise the login form, the request
  kept in the login's pre-session (cookie ``AUTH_SESSION_ID``).
- The form and its second step are the single origin's (:mod:`sandbox.web_auth`: same labels,
  messages, lockout, second factor, session-cap pre-check), posted to
  ``…/login-actions/authenticate`` and ``…/login-actions/code``. A complete login opens the
  provider's session and sends the code.
- ``…/protocol/openid-connect/logout?post_logout_redirect_uri=…``: ends the provider's session
  and every shell and invoicing session born from it (Keycloak's back-channel logout); back
  to ``post_logout_redirect_uri`` when it is registered, else a page saying so.

The session cap (``max_sessions_per_account``) counts the invoicing application's sessions:
checked here after the password (and after the code), decided when the invoicing application
admits a session (:mod:`sandbox.web_cpp`).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.model import User
from sandbox.oidc import AUTH_PATH, LOGOUT_PATH, REALM, notice, origins_of
from sandbox.security import Session
from sandbox.web_auth import (
    LoginFlow,
    at_session_cap,
    code_page,
    code_submit,
    login_page,
    password_submit,
)
from sandbox.web_common import Portal, current_session, ensure_session, portal_of

IDP_COOKIE = "KEYCLOAK_SESSION"
LOGIN_COOKIE = "AUTH_SESSION_ID"
COOKIE_PATH = REALM + "/"
LOGIN_PATH = REALM + "/login-actions/authenticate"
CODE_PATH = REALM + "/login-actions/code"

#: [assumed] the provider's error page (Keycloak's own wordings differ by case).
ERROR_TITLE = "Requête invalide"
UNKNOWN_CLIENT = "Client inconnu."
BAD_REDIRECT = "Adresse de retour non autorisée."
NO_STATE = "Paramètre « state » absent."
BAD_RESPONSE_TYPE = "Type de réponse non pris en charge."
LOGIN_GONE = "La demande de connexion a expiré. Recommencez depuis le portail."
LOGGED_OUT_TITLE = "Déconnexion"
LOGGED_OUT = "Vous êtes déconnecté."


@dataclass(frozen=True)
class AuthRequest:
    """A client's authorization request waiting for the login."""

    client_id: str
    redirect_uri: str
    state: str = ""


def _cookie(sid: str | None) -> str:
    attributes = f"Path={COOKIE_PATH}; HttpOnly; SameSite=Lax"
    return f"{IDP_COOKIE}={sid}; {attributes}" if sid else f"{IDP_COOKIE}=; {attributes}; Max-Age=0"


def provider_session(request: Request) -> Session | None:
    """The live provider session of this browser (cookie ``KEYCLOAK_SESSION``), or None."""
    session, _expired = portal_of(request).idp_sessions.get(request.cookies.get(IDP_COOKIE))
    return session if session is not None and session.logged_in else None


def _bad_request(request: Request, message: str) -> Response:
    return notice(request, 400, ERROR_TITLE, message, alert=True)


def _send_code(portal: Portal, pending: AuthRequest, session: Session) -> RedirectResponse:
    code = portal.codes.issue(pending.client_id, pending.redirect_uri, session)
    query = urlencode({"code": code, "state": pending.state})
    return RedirectResponse(f"{pending.redirect_uri}?{query}", status_code=302)


async def authorize(request: Request) -> Response:
    """The authorization endpoint: checked, then single sign-on or the login form."""
    params = request.query_params
    client_id = params.get("client_id", "")
    redirect_uri = params.get("redirect_uri", "")
    registered = origins_of(request).clients.get(client_id)
    if registered is None:
        return _bad_request(request, UNKNOWN_CLIENT)
    if redirect_uri != registered:
        return _bad_request(request, BAD_REDIRECT)
    if not params.get("state"):
        return _bad_request(request, NO_STATE)
    if params.get("response_type") != "code":
        return _bad_request(request, BAD_RESPONSE_TYPE)
    pending = AuthRequest(client_id, redirect_uri, params["state"])
    live = provider_session(request)
    if live is not None:
        return _send_code(portal_of(request), pending, live)
    session = ensure_session(request)
    session.pending = pending
    session.otp = None
    return login_page(request, IDP_LOGIN)


def _finish(request: Request, portal: Portal, session: Session, user: User) -> Response | None:
    """The login passed: the provider's session, and the code back to the client."""
    pending = session.pending
    if not isinstance(pending, AuthRequest):
        return _bad_request(request, LOGIN_GONE)
    if at_session_cap(portal, user.email, session):
        return None
    opened = portal.idp_sessions.admit(portal.idp_sessions.new(), user.email, user.supplier_id)
    assert opened is not None  # no cap on the provider's own sessions
    session.otp = None
    session.pending = None
    response = _send_code(portal, pending, opened)
    response.headers.append("set-cookie", _cookie(opened.sid))
    return response


IDP_LOGIN = LoginFlow(LOGIN_PATH, CODE_PATH, _finish)


async def login_form(request: Request) -> Response:
    """The form again (after an expired code, a refused one…), for the request under way."""
    session = current_session(request)
    if session is None or not isinstance(session.pending, AuthRequest):
        return _bad_request(request, LOGIN_GONE)
    return login_page(request, IDP_LOGIN)


async def login_submit(request: Request) -> Response:
    return await password_submit(request, IDP_LOGIN)


async def otp_form(request: Request) -> Response:
    return code_page(request, IDP_LOGIN)


async def otp_submit(request: Request) -> Response:
    return await code_submit(request, IDP_LOGIN)


def end_provider_session(portal: Portal, sid: str | None) -> None:
    """End the provider's session ``sid`` and every session born from it."""
    if not sid:
        return
    session, _expired = portal.idp_sessions.get(sid)
    if session is not None:
        portal.idp_sessions.drop(session)
    portal.shell_sessions.drop_born_of(sid)
    portal.sessions.drop_born_of(sid)


async def logout(request: Request) -> Response:
    """The provider's logout (with its back-channel logout of the clients' sessions)."""
    end_provider_session(portal_of(request), request.cookies.get(IDP_COOKIE))
    target = request.query_params.get("post_logout_redirect_uri", "")
    response: Response
    if target in origins_of(request).logout_returns:
        response = RedirectResponse(target, status_code=302)
    else:
        response = notice(request, 200, LOGGED_OUT_TITLE, LOGGED_OUT)
    response.headers.append("set-cookie", _cookie(None))
    return response


def routes() -> list[BaseRoute]:
    return [
        Route(AUTH_PATH, authorize, methods=["GET"]),
        Route(LOGIN_PATH, login_form, methods=["GET"]),
        Route(LOGIN_PATH, login_submit, methods=["POST"]),
        Route(CODE_PATH, otp_form, methods=["GET"]),
        Route(CODE_PATH, otp_submit, methods=["POST"]),
        Route(LOGOUT_PATH, logout, methods=["GET"]),
    ]
