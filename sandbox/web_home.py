"""Home (with the rejection window), the « Facturation » domain and the inert spaces."""

from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox import fmt
from sandbox.model import Invoice, User
from sandbox.store import NotFound
from sandbox.web_common import (
    Portal,
    checked_form,
    logged_in,
    portal_of,
    redirect,
    render,
    site_of,
)

#: [assumed] after this long, acknowledging the listed rejections is compulsory.
COMPULSORY_AFTER = timedelta(days=7)
NOTHING_SELECTED = "Sélectionnez au moins une facture."

_SPACES = {
    "engagements": "Engagements",
    "sollicitations": "Sollicitations",
    "factures-recues": "Factures reçues",
    "sollicitations-emises": "Sollicitations émises",
}


def current_user(portal: Portal, email: str | None) -> User:
    user = portal.store.get_user(email or "")
    if user is None:  # the account vanished (reset): treat as a lost session
        from sandbox.web_common import LoginNeeded

        raise LoginNeeded(expired=True)
    return user


def is_compulsory(window: list[Invoice]) -> bool:
    limit = fmt.now_utc() - COMPULSORY_AFTER
    return any(inv.date_motif is not None and inv.date_motif < limit for inv in window)


async def home(request: Request) -> Response:
    session = logged_in(request)
    portal = portal_of(request)
    window: list[Invoice] = []
    if not session.window_closed and session.supplier_id is not None:
        window = portal.store.pending_window(session.supplier_id)
    return render(
        request,
        "home.html",
        {"window": window, "window_compulsory": is_compulsory(window)},
    )


async def window_action(request: Request) -> Response:
    session, form = await checked_form(request)
    logged_in(request)
    portal = portal_of(request)
    assert session.supplier_id is not None
    user = current_user(portal, session.email)
    action = str(form.get("action", ""))
    pending = portal.store.pending_window(session.supplier_id)
    if action == "fermer":
        if not is_compulsory(pending):
            session.window_closed = True
        return _home(request)
    if action == "tout":
        ids = [inv.id for inv in pending]
    else:
        ids = [int(v) for v in form.getlist("ids") if isinstance(v, str) and v.isdigit()]
        if not ids:
            session.flash("alert", NOTHING_SELECTED)
            return _home(request)
    try:
        done = portal.store.acknowledge(session.supplier_id, ids, user)
    except NotFound as exc:
        session.flash("alert", str(exc))
        return _home(request)
    session.flash("status", f"{len(done)} facture(s) acquittée(s).")
    if action == "tout":
        session.window_closed = True
    return _home(request)


def _home(request: Request) -> Response:
    return RedirectResponse(site_of(request).home_url, status_code=303)


async def facturation(request: Request) -> Response:
    logged_in(request)
    return render(request, "facturation.html")


async def unavailable_space(request: Request) -> Response:
    logged_in(request)
    name = _SPACES.get(request.query_params.get("espace", ""), "Espace indisponible")
    return render(
        request,
        "unavailable_space.html",
        {
            "title": name,
            "back_href": site_of(request).home_url,
            "back_label": "Retour à l'accueil",
        },
    )


async def space_root(request: Request) -> Response:
    logged_in(request)
    return redirect(request, "/factures-emises/synthese")


async def deposit_page(request: Request) -> Response:
    logged_in(request)
    return render(request, "deposer.html", {"current": "deposer"})


def routes() -> list[BaseRoute]:
    return [
        Route("/accueil", home, methods=["GET"]),
        Route("/accueil/fenetre", window_action, methods=["POST"]),
        *domain_routes(),
    ]


def domain_routes() -> list[BaseRoute]:
    """The « Facturation » domain's pages (the invoicing application's, with three origins)."""
    return [
        Route("/facturation", facturation, methods=["GET"]),
        Route("/indisponible", unavailable_space, methods=["GET"]),
        Route("/factures-emises", space_root, methods=["GET"]),
        Route("/factures-emises/deposer", deposit_page, methods=["GET"]),
    ]
