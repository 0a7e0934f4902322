"""Three origins: the entry into the invoicing application (the real portal's ``/cpp/``).

Its screens are the single origin's under ``/cpp`` (session cookie ``JSESSIONID``, path
``/cpp``). What differs is how a browser gets a session there:

- a page asked without a session, coming from the shell (its ``Referer`` has the shell's
  origin: a person clicking in the portal) goes through the identity provider (client
  ``chorus-cpp``; single sign-on when the provider's session is live), a fresh ``state`` and
  the page asked kept in the pre-session; back on ``/cpp/oidc/retour`` the ``state`` is
  checked, the code redeemed and the session admitted under the session cap
  (``max_sessions_per_account``, atomically), then 303 to the page asked;
- asked directly (a bookmark, an address typed), the page is refused: 403, « Accès refusé »
  **[assumed heading]**, « Des contraintes de sécurité empêchent d'accéder à la page
  demandée. » (the real portal's words) and « Retour au portail »;
- a list's fragment or the services of a SIRET (XHR) without a session: 401 with ``x-login``
  (the shell's address).

« Se déconnecter » (``POST /cpp/deconnexion``) ends the session, then ``/logout.do`` on the
shell (which logs out of the provider, and so of everything).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.oidc import (
    APP_ROOT,
    CLIENT_CPP,
    SHELL_LOGOUT,
    from_origin,
    notice,
    origins_of,
    refused,
    same_state,
)
from sandbox.web_auth import TOO_MANY_SESSIONS, admit_work_session
from sandbox.web_common import (
    LoginNeeded,
    checked_form,
    current_session,
    ensure_session,
    portal_of,
    set_session,
)

CPP_COOKIE = "JSESSIONID"
RETURN_PATH = "/oidc/retour"  # under /cpp
LOGOUT_PATH = "/deconnexion"  # under /cpp
#: [assumed] the heading of the page refusing a direct visit.
ACCESS_DENIED_TITLE = "Accès refusé"
ACCESS_DENIED = "Des contraintes de sécurité empêchent d'accéder à la page demandée."
#: [assumed] the heading of the page refusing a session over the cap.
CAP_TITLE = "Connexion impossible"


@dataclass(frozen=True)
class Entry:
    """An entry under way: the ``state`` sent to the provider and the page asked."""

    state: str
    target: str


def access_denied(request: Request) -> Response:
    """403 « Accès refusé », its text as an alert (a person, or the robot, sees at once why
    the page did not open)."""
    return notice(request, 403, ACCESS_DENIED_TITLE, ACCESS_DENIED, alert=True)


async def login_needed(request: Request, exc: Exception) -> Response:
    """A page of the application without a session (see the module docstring)."""
    assert isinstance(exc, LoginNeeded)
    origins = origins_of(request)
    if exc.fragment:
        return Response(status_code=401, headers={"x-login": origins.shell + "/"})
    if request.method != "GET" or not from_origin(request.headers.get("referer"), origins.shell):
        return access_denied(request)
    session = ensure_session(request)
    state = secrets.token_urlsafe(24)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    session.pending = Entry(state, target)
    return RedirectResponse(origins.authorize_url(CLIENT_CPP, state), status_code=302)


async def oidc_return(request: Request) -> Response:
    """The provider's return: ``state`` checked, code redeemed, session admitted."""
    session = current_session(request)
    entry = session.pending if session is not None else None
    given = request.query_params.get("state", "")
    if session is None or not isinstance(entry, Entry) or not same_state(entry.state, given):
        return refused(request)
    session.pending = None
    portal, origins = portal_of(request), origins_of(request)
    code = request.query_params.get("code", "")
    grant = portal.codes.redeem(code, CLIENT_CPP, origins.cpp_return)
    if grant is None:
        return refused(request)
    fresh = admit_work_session(portal, session, grant.email, grant.supplier_id)
    if fresh is None:
        return notice(request, 403, CAP_TITLE, TOO_MANY_SESSIONS, alert=True)
    fresh.idp_sid = grant.idp_sid
    set_session(request, fresh)
    target = entry.target if entry.target.startswith(APP_ROOT + "/") else APP_ROOT + "/facturation"
    return RedirectResponse(target, status_code=303)


async def logout(request: Request) -> Response:
    """« Se déconnecter »: this session ends, then the shell's logout."""
    session, _form = await checked_form(request)
    portal_of(request).sessions.drop(session)
    set_session(request, None)
    return RedirectResponse(origins_of(request).shell + SHELL_LOGOUT, status_code=303)


def routes() -> list[BaseRoute]:
    """Under ``/cpp``."""
    return [
        Route(RETURN_PATH, oidc_return, methods=["GET"]),
        Route(LOGOUT_PATH, logout, methods=["POST"]),
    ]
