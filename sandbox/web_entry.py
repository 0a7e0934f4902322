"""« Saisir une facture »: the entry form, its server-side check, and the structure lookup.

The page recomputes the totals live; the server checks everything again with
:func:`sandbox.rules.validate_draft`. On error the form comes back with what was typed; on
success, POST-redirect-GET to the consultation page with a flash.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox import fmt
from sandbox.model import (
    CADRES,
    DEVISES,
    EXIGENCE_LABELS,
    MODES_PAIEMENT,
    TAUX_TVA,
    TYPES_FACTURE,
    TYPES_TVA,
    Draft,
    Structure,
    Supplier,
)
from sandbox.rules import validate_draft
from sandbox.store import RuleViolation
from sandbox.web_common import (
    Portal,
    checked_form,
    error_list,
    logged_in,
    portal_of,
    redirect,
    render,
    uploaded_files,
)
from sandbox.web_home import current_user
from sandbox.web_invoice import invoice_path

FORM_PATH = "/factures-emises/saisir"
_TEXT_FIELDS = (
    "cadre",
    "siret_destinataire",
    "code_service",
    "compte_id",
    "type_facture",
    "numero",
    "date_facture",
    "devise",
    "type_tva",
    "mode_paiement",
    "numero_engagement",
    "numero_marche",
    "numero_facture_origine",
    "commentaire",
    "total_ht",
    "total_tva",
    "total_ttc",
)
_LINE_KEY = re.compile(r"ligne-(\d+)-([a-z_]+)")
LINE_FIELDS = ("reference", "designation", "quantite", "unite", "prix_unitaire_ht", "remise")


def _rate_value(rate: Any) -> str:
    return format(rate.normalize(), "f") if rate == rate.to_integral_value() else str(rate)


def _choices(supplier: Supplier) -> dict[str, Any]:
    comptes = [("", "Sélectionnez des coordonnées bancaires")] + [
        (str(c.id), f"{c.libelle} - {c.iban}") for c in supplier.comptes
    ]
    return {
        "cadres": list(CADRES.items()),
        "types_facture": list(TYPES_FACTURE.items()),
        "types_tva": list(TYPES_TVA.items()),
        "modes": list(MODES_PAIEMENT.items()),
        "devises": [(d, d) for d in DEVISES],
        "taux": [(_rate_value(t), fmt.rate(t)) for t in TAUX_TVA],
        "comptes": comptes,
    }


def _blank_draft(supplier: Supplier) -> Draft:
    return Draft(
        cadre="A1",
        type_facture="FACTURE",
        devise="EUR",
        type_tva="TVA_SUR_DEBIT",
        mode_paiement="VIREMENT",
        compte_id=str(supplier.comptes[0].id) if supplier.comptes else "",
        date_facture=fmt.paris_today().isoformat(),
        lignes=[{"taux_tva": "20"}],
    )


def _render_form(
    request: Request,
    portal: Portal,
    supplier: Supplier,
    draft: Draft,
    errors: dict[str, list[str]],
) -> Response:
    siret = re.sub(r"[\s.]", "", draft.siret_destinataire)
    structure: Structure | None = portal.store.get_structure(siret) if len(siret) == 14 else None
    context: dict[str, Any] = {
        "current": "saisir",
        "form": draft,
        "lines": draft.lignes or [{"taux_tva": "20"}],
        "errors": errors,
        "error_list": error_list(errors),
        "structure": structure,
        "exigence_label": EXIGENCE_LABELS.get(structure.exigence, "") if structure else "",
        "supplier": supplier,
        **_choices(supplier),
    }
    return render(request, "saisir.html", context)


def _supplier(portal: Portal, supplier_id: int | None) -> Supplier:
    supplier = portal.store.get_supplier(supplier_id or 0)
    if supplier is None:
        from sandbox.web_common import LoginNeeded

        raise LoginNeeded(expired=True)
    return supplier


async def entry_form(request: Request) -> Response:
    session = logged_in(request)
    portal = portal_of(request)
    supplier = _supplier(portal, session.supplier_id)
    return _render_form(request, portal, supplier, _blank_draft(supplier), {})


async def _draft_from(form: FormData) -> Draft:
    values = {name: str(form.get(name, "") or "") for name in _TEXT_FIELDS}
    rows: dict[int, dict[str, str]] = {}
    for key, value in form.multi_items():
        match = _LINE_KEY.fullmatch(key)
        if match and isinstance(value, str):
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = value
    files = await uploaded_files(form, "pieces_jointes")
    return Draft(**values, lignes=[rows[n] for n in sorted(rows)], pieces_jointes=files)


async def entry_submit(request: Request) -> Response:
    session, form = await checked_form(request)
    logged_in(request)
    portal = portal_of(request)
    supplier = _supplier(portal, session.supplier_id)
    user = current_user(portal, session.email)
    actions = [str(a) for a in form.getlist("action")]
    sending = "envoyer" in actions
    draft = await _draft_from(form)
    now = fmt.now_utc()
    errors, clean = validate_draft(
        draft, store=portal.store, supplier=supplier, today=fmt.paris_today(now), sending=sending
    )
    if clean is None:
        return _render_form(request, portal, supplier, draft, errors)
    try:
        invoice = portal.store.create_invoice(supplier.id, clean, user, send=sending, now=now)
    except RuleViolation as exc:
        return _render_form(request, portal, supplier, draft, {"numero": [exc.message]})
    if sending:
        message = (
            f"La facture {invoice.numero} a été validée et est en cours d'acheminement "
            "vers le service concerné."
        )
    else:
        message = f"Le brouillon de la facture {invoice.numero} a été enregistré."
    session.flash("status", message)
    return redirect(request, invoice_path(invoice.id))


async def structure_lookup(request: Request) -> Response:
    """``GET /api/structures/{siret}``: the structure and its active services (JSON)."""
    session = logged_in(request)
    del session
    siret = re.sub(r"[\s.]", "", request.path_params["siret"])
    structure = portal_of(request).store.get_structure(siret) if len(siret) == 14 else None
    if structure is None:
        return JSONResponse(
            {"erreur": "Aucune structure publique ne correspond à ce SIRET."}, status_code=404
        )
    return JSONResponse(
        {
            "siret": structure.siret,
            "nom": structure.nom,
            "active": structure.active,
            "exigence": structure.exigence,
            "exigence_label": EXIGENCE_LABELS.get(structure.exigence, ""),
            "services": [{"code": s.code, "nom": s.nom} for s in structure.active_services],
        }
    )


def routes() -> list[BaseRoute]:
    return [
        Route(FORM_PATH, entry_form, methods=["GET"]),
        Route(FORM_PATH, entry_submit, methods=["POST"]),
        Route("/api/structures/{siret}", structure_lookup, methods=["GET"]),
    ]
