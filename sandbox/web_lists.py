"""The lists of « Factures émises »: « Synthèse » (with « Traiter le rejet ») and « Rechercher »,
and their CSV exports (« Exporter »).

Under the slow-list fault the page first shows a progress bar; the page's script then
fetches the table fragment (same URL, ``fragment=1``), which the server delays.

« Rechercher »'s criteria have the real portal's field names (``listeResultats.critere.*``,
:data:`CRITERIA`); they sit in a collapsible panel, open on a visit without criteria and
closed once a search was submitted (**[assumed]**, SCREENS.md).
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterable
from datetime import date
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox import fmt
from sandbox.model import STATUS_LABELS, Invoice, Status
from sandbox.store import NOT_ACKNOWLEDGED, NotFound, PageResult
from sandbox.web_common import (
    PAGE_SIZES,
    checked_form,
    logged_in,
    page_params,
    portal_of,
    redirect,
    render,
    site_of,
)
from sandbox.web_home import NOTHING_SELECTED, current_user

SYNTHESE = "/factures-emises/synthese"
SEARCH = "/factures-emises/rechercher"
EXPORT = "/export"  # after a list's address

#: The search criteria: the key the templates use → the field's name in the form (the real
#: portal's, seen in its public scripts: ``listeResultats.critere.numero``).
CRITERIA: dict[str, str] = {
    "numero": "listeResultats.critere.numero",
    "statut": "listeResultats.critere.statut",
    "destinataire": "listeResultats.critere.destinataire",
    "du": "listeResultats.critere.dateDepotDu",
    "au": "listeResultats.critere.dateDepotAu",
}
#: Not a filter: what the lists' own forms add to their address.
_NOT_FILTERS = ("page", "taille", "fragment")
#: The exports hold every matching invoice, whatever the page: one page this long.
_EVERY_ROW = 1_000_000_000

SEARCH_COLUMNS = ("Numéro de facture", "Date de dépôt", "Destinataire", "Montant TTC", "Statut")
SYNTHESE_COLUMNS = (*SEARCH_COLUMNS, "Acquittée")


def _list_context(request: Request, result: PageResult, base_path: str) -> dict[str, Any]:
    keep = [(k, v) for k, v in request.query_params.items() if k not in _NOT_FILTERS]
    return {
        "result": result,
        "base_path": site_of(request).app_root + base_path,
        "keep": keep,
        "page_sizes": PAGE_SIZES,
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


def _date_param(request: Request, key: str, label: str, errors: list[str]) -> date | None:
    raw = request.query_params.get(CRITERIA[key], "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(f"La date « {label} » n'est pas valide (format JJ/MM/AAAA).")
        return None


def _criteria(request: Request) -> tuple[dict[str, str], dict[str, Any], list[str]]:
    """The criteria as typed (by key), the store's search arguments, the alert's messages."""
    q = {key: request.query_params.get(name, "") for key, name in CRITERIA.items()}
    errors: list[str] = []
    filters: dict[str, Any] = {
        "numero": q["numero"],
        "statut": Status(q["statut"]) if q["statut"] in Status.__members__ else None,
        "destinataire": q["destinataire"],
        "date_from": _date_param(request, "du", "Déposée du", errors),
        "date_to": _date_param(request, "au", "au", errors),
    }
    return q, filters, errors


async def search(request: Request) -> Response:
    session = logged_in(request)
    assert session.supplier_id is not None
    q, filters, errors = _criteria(request)
    page, size = page_params(request)
    result = portal_of(request).store.search(session.supplier_id, page=page, size=size, **filters)
    context = _list_context(request, result, SEARCH)
    submitted = any(name in request.query_params for name in CRITERIA.values())
    context.update(
        current="rechercher",
        q=q,
        statuses=[(s.value, label) for s, label in STATUS_LABELS.items()],
        search_errors=errors,
        # [assumed] closed on the results of a submitted search; open to correct an error.
        criteria_open=not submitted or bool(errors),
        export_keep=[(CRITERIA[key], value) for key, value in q.items()],
    )
    return await _render_list(request, "rechercher.html", "_search_table.html", context)


# --- « Exporter » -----------------------------------------------------------------------------


def _search_row(inv: Invoice) -> list[str]:
    """One invoice as the results table shows it."""
    return [
        inv.numero,
        fmt.date_fr(inv.date_depot),
        inv.nom_destinataire or fmt.EMPTY,
        fmt.money(inv.montant_ttc),
        inv.statut_label,
    ]


def _synthese_row(inv: Invoice) -> list[str]:
    """One invoice as the table « Synthèse » shows it (without its checkbox)."""
    acknowledged = inv.statut in (Status.REJETEE, Status.SUSPENDUE)
    return [*_search_row(inv), fmt.yes_no(inv.acquittee) if acknowledged else fmt.EMPTY]


def csv_export(
    request: Request, stem: str, header: Iterable[str], rows: Iterable[list[str]]
) -> Response:
    """A CSV file to download: UTF-8 with a BOM (a spreadsheet reads the accents), « ; »
    between the values, CRLF at the end of each line, named ``<stem>_<AAAAMMJJ>.csv``
    (**[assumed]**: the real portal's export format is not public)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(list(header))
    writer.writerows(rows)
    today = fmt.paris_today(portal_of(request).store.clock())
    filename = f"{stem}_{today:%Y%m%d}.csv"
    return Response(
        ("\ufeff" + out.getvalue()).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{filename}"',
            "cache-control": "no-store",
        },
    )


async def search_export(request: Request) -> Response:
    """« Exporter » on « Rechercher »: every invoice matching the criteria, in the table's
    order; criteria in error: back to the search, which shows the alert."""
    session = logged_in(request)
    assert session.supplier_id is not None
    q, filters, errors = _criteria(request)
    if errors:
        typed = {CRITERIA[key]: value for key, value in q.items()}
        return redirect(request, SEARCH + "?" + urlencode(typed))
    result = portal_of(request).store.search(
        session.supplier_id, page=1, size=_EVERY_ROW, **filters
    )
    rows = [_search_row(inv) for inv in result.items]
    return csv_export(request, "export_factures", SEARCH_COLUMNS, rows)


async def synthese_export(request: Request) -> Response:
    """« Exporter » on « Synthèse »: the whole work list, its columns but « Sélection »."""
    session = logged_in(request)
    assert session.supplier_id is not None
    store = portal_of(request).store
    result = store.list_synthese(session.supplier_id, page=1, size=_EVERY_ROW)
    rows = [_synthese_row(inv) for inv in result.items]
    return csv_export(request, "export_synthese", SYNTHESE_COLUMNS, rows)


def routes() -> list[BaseRoute]:
    return [
        Route(SYNTHESE, synthese, methods=["GET"]),
        Route(SYNTHESE + "/traiter", process_rejection, methods=["POST"]),
        Route(SYNTHESE + EXPORT, synthese_export, methods=["GET"]),
        Route(SEARCH, search, methods=["GET"]),
        Route(SEARCH + EXPORT, search_export, methods=["GET"]),
    ]
