"""The lists of « Factures émises »: « Synthèse » (with « Traiter le rejet ») and « Rechercher ».

Under the slow-list fault the page first shows a progress bar; the page's script then
fetches the table fragment (same URL, ``fragment=1``), which the server delays.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.model import STATUS_LABELS, Status
from sandbox.store import NOT_ACKNOWLEDGED, NotFound, PageResult
from sandbox.web_common import (
    PAGE_SIZES,
    checked_form,
    logged_in,
    page_params,
    portal_of,
    query_with,
    redirect,
    render,
    site_of,
)
from sandbox.web_home import NOTHING_SELECTED, current_user

SYNTHESE = "/factures-emises/synthese"
SEARCH = "/factures-emises/rechercher"


def _list_context(request: Request, result: PageResult, base_path: str) -> dict[str, Any]:
    keep = [
        (k, v) for k, v in request.query_params.items() if k not in ("page", "taille", "fragment")
    ]
    return {
        "result": result,
        "base_path": site_of(request).app_root + base_path,
        "keep": keep,
        "page_sizes": PAGE_SIZES,
        "page_link": lambda page: query_with(request, page=page, taille=result.size),
    }


async def _render_list(
    request: Request, template: str, fragment: str, context: dict[str, Any]
) -> Response:
    """The full page, its progress-bar version (slow list), or the delayed fragment."""
    portal = portal_of(request)
    slow_ms = portal.faults.knobs.slow_list_ms
    if request.query_params.get("fragment") == "1":
        if slow_ms:
            await asyncio.sleep(slow_ms / 1000)  # the portal's slow list, not a test wait
        return render(request, fragment, context)
    params = dict(request.query_params)
    params["fragment"] = "1"
    context.update(slow=bool(slow_ms), fragment_url=request.url.path + "?" + urlencode(params))
    return render(request, template, context)


async def synthese(request: Request) -> Response:
    session = logged_in(request)
    assert session.supplier_id is not None
    page, size = page_params(request)
    result = portal_of(request).store.list_synthese(session.supplier_id, page=page, size=size)
    context = _list_context(request, result, SYNTHESE)
    context.update(current="synthese", return_query=request.url.query)
    return await _render_list(request, "synthese.html", "_synthese_table.html", context)


async def process_rejection(request: Request) -> Response:
    session, form = await checked_form(request)
    logged_in(request)
    portal = portal_of(request)
    assert session.supplier_id is not None
    back = SYNTHESE
    retour = str(form.get("retour", ""))
    if retour and "fragment" not in retour:
        back += "?" + retour
    ids = [int(v) for v in form.getlist("ids") if isinstance(v, str) and v.isdigit()]
    if not ids:
        session.flash("alert", NOTHING_SELECTED)
        return redirect(request, back)
    user = current_user(portal, session.email)
    try:
        result = portal.store.process_rejection(session.supplier_id, ids, user)
    except NotFound as exc:
        session.flash("alert", str(exc))
        return redirect(request, back)
    for invoice in result.processed:
        session.flash("status", f"Le rejet de la facture {invoice.numero} a été traité.")
    for invoice, reason in result.refused:
        if reason == NOT_ACKNOWLEDGED:
            message = f"La facture {invoice.numero} doit être acquittée avant de traiter le rejet."
        else:
            message = f"La facture {invoice.numero} n'est pas rejetée."
        session.flash("alert", message)
    return redirect(request, back)


def _date_param(request: Request, name: str, label: str, errors: list[str]) -> date | None:
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(f"La date « {label} » n'est pas valide (format JJ/MM/AAAA).")
        return None


async def search(request: Request) -> Response:
    session = logged_in(request)
    assert session.supplier_id is not None
    q = {
        k: request.query_params.get(k, "") for k in ("numero", "statut", "destinataire", "du", "au")
    }
    errors: list[str] = []
    statut = Status(q["statut"]) if q["statut"] in Status.__members__ else None
    date_from = _date_param(request, "du", "Déposée du", errors)
    date_to = _date_param(request, "au", "au", errors)
    page, size = page_params(request)
    result = portal_of(request).store.search(
        session.supplier_id,
        numero=q["numero"],
        statut=statut,
        destinataire=q["destinataire"],
        date_from=date_from,
        date_to=date_to,
        page=page,
        size=size,
    )
    context = _list_context(request, result, SEARCH)
    context.update(
        current="rechercher",
        q=q,
        statuses=[(s.value, label) for s, label in STATUS_LABELS.items()],
        search_errors=errors,
    )
    return await _render_list(request, "rechercher.html", "_search_table.html", context)


def routes() -> list[BaseRoute]:
    return [
        Route(SYNTHESE, synthese, methods=["GET"]),
        Route(SYNTHESE + "/traiter", process_rejection, methods=["POST"]),
        Route(SEARCH, search, methods=["GET"]),
    ]
