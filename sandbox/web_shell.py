"""Three origins: the shell (the real portal's ServiceNow portal, ``portail.chorus-pro.gouv.fr``).

- ``/``: the public page (« Chorus Pro », « Se connecter »); with a live shell session, 303 to
  the home page.
- ``/login`` (« Se connecter »): a fresh OpenID Connect ``state`` kept in the shell's
  pre-session, and 302 to the identity provider (client ``chorus-portail``).
- ``/navpage.do?code=…&state=…``: the provider's return. The ``state`` must be the one kept,
  the code is redeemed (single use, for this client and this address): a shell session
  (cookie ``glide_session_store``), 303 to ``/aife_csm?id=aife_accueil``; else « Requête
  refusée » (400), nobody logged in.
- ``/aife_csm?id=aife_accueil``: « Accueil » as on one origin (the rejection window
  included), its links into invoicing on the invoicing application's origin; the window's
  form posts to ``/aife_csm/fenetre``. Another ``id``: 404. No session: 303 to ``/``.
- « Se déconnecter » (``POST /logout``, in the banner) and ``GET /logout.do``: the shell
  session ends, then the provider's logout, which ends the provider's session and every
  session born from it, back to ``/``.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox import web_home
from sandbox.oidc import (
    CLIENT_SHELL,
    SHELL_HOME,
    SHELL_LOGOUT,
    SHELL_RETURN,
    origins_of,
    refused,
    same_state,
)
from sandbox.security import Session
from sandbox.store import NotFound
from sandbox.web_common import (
    checked_form,
    current_session,
    ensure_session,
    portal_of,
    render,
    set_session,
    site_of,
)

SHELL_COOKIE = "glide_session_store"
HOME_ID = "aife_accueil"
WINDOW_PATH = "/aife_csm/fenetre"
LOGOUT_PATH = "/logout"


def _logged_in(request: Request) -> Session | None:
    session = current_session(request)
    return session if session is not None and session.logged_in else None


async def public_page(request: Request) -> Response:
    if _logged_in(request) is not None:
        return RedirectResponse(SHELL_HOME, status_code=303)
    return render(request, "public.html")


async def login(request: Request) -> Response:
    """« Se connecter »: to the identity provider, a fresh ``state`` kept."""
    if _logged_in(request) is not None:
        return RedirectResponse(SHELL_HOME, status_code=303)
    session = ensure_session(request)
    state = secrets.token_urlsafe(24)
    session.pending = state
    return RedirectResponse(origins_of(request).authorize_url(CLIENT_SHELL, state), 302)


async def navpage(request: Request) -> Response:
    """The identity provider's return: ``state`` checked, code redeemed, shell session."""
    session = current_session(request)
    expected = session.pending if session is not None else None
    given = request.query_params.get("state", "")
    if session is None or not isinstance(expected, str) or not same_state(expected, given):
        return refused(request)
    portal, origins = portal_of(request), origins_of(request)
    grant = portal.codes.redeem(
        request.query_params.get("code", ""), CLIENT_SHELL, origins.shell_return
    )
    if grant is None:
        session.pending = None
        return refused(request)
    fresh = portal.shell_sessions.admit(session, grant.email, grant.supplier_id)
    assert fresh is not None  # no cap on the shell's sessions
    fresh.idp_sid = grant.idp_sid
    set_session(request, fresh)
    return RedirectResponse(SHELL_HOME, status_code=303)


async def aife_csm(request: Request) -> Response:
    """ServiceNow's pages by ``id``: only the home page here."""
    if request.query_params.get("id") != HOME_ID:
        raise NotFound("La page demandée n'existe pas.")
    return await web_home.home(request)


def _end_and_leave(request: Request) -> Response:
    """End the shell session, then the identity provider's logout (back to ``/``)."""
    session = current_session(request)
    if session is not None:
        portal_of(request).shell_sessions.drop(session)
        set_session(request, None)
    return RedirectResponse(origins_of(request).logout_url(), status_code=303)


async def logout(request: Request) -> Response:
    """« Se déconnecter » (the banner's button)."""
    await checked_form(request)
    return _end_and_leave(request)


async def logout_do(request: Request) -> Response:
    """``/logout.do``, ServiceNow's logout address (the invoicing application's logout ends
    here)."""
    return _end_and_leave(request)


async def login_needed(request: Request, exc: Exception) -> Response:
    """A shell page without a shell session: the public page."""
    return RedirectResponse(site_of(request).public_url, status_code=303)


def routes() -> list[BaseRoute]:
    return [
        Route("/", public_page, methods=["GET"]),
        Route("/login", login, methods=["GET"]),
        Route(SHELL_RETURN, navpage, methods=["GET"]),
        Route("/aife_csm", aife_csm, methods=["GET"]),
        Route(WINDOW_PATH, web_home.window_action, methods=["POST"]),
        Route(LOGOUT_PATH, logout, methods=["POST"]),
        Route(SHELL_LOGOUT, logout_do, methods=["GET"]),
    ]
