"""Test-only administration interface (JSON) under ``/_admin/``: plays the public client.

Off (404) unless the server has an admin token; every call needs
``Authorization: Bearer <token>`` (401 otherwise). Never reachable through the fault knobs.

    GET  /_admin/invoices[?status=CODE][&compte=ID]  every invoice (JSON records), or one
                                                  account's
    GET  /_admin/invoices/{numero}[?compte=ID]   one invoice
    POST /_admin/invoices/{numero}/reject        {"motif", "commentaire", "date"?}
    POST /_admin/invoices/{numero}/suspend       {"motif", "commentaire", "date"?}
    POST /_admin/invoices/{numero}/recycle       {"motif", "commentaire", "date"?}
                                                  (each also takes ?compte=ID)
    POST /_admin/reset                           {"seed"?, "seed_suspended"?, "seed_recycle"?,
                                                  "random_seed"?, "otp"?, "accounts"?}
    GET|POST /_admin/faults                      read / change knobs ({name: value})
    GET  /_admin/mail/last                       the last e-mail of the Maildir
    GET  /_admin/sessions                        every session id issued since the reset
    POST /_admin/sessions/expire                 end every session now (three origins:
                                                  the invoicing application's and the
                                                  shell's)
    POST /_admin/idp/expire                      three origins: end every session of the
                                                  identity provider (alias …/idp/expirer)
    GET  /_admin/stats                           per account: live sessions now, and their
                                                  peak since the last reset; the documents
                                                  and XHR served since then (``requetes``);
                                                  three origins: ``sessions_par_origine``
    GET  /_admin/totp                            per account: enrolled for authenticator
                                                  codes or not, the periods it logged in with
    POST /_admin/totp                            {"compte", "secret"?}: enrol an account (a
                                                  secret drawn when none is given; the answer
                                                  gives it, and its otpauth:// address)
    DELETE /_admin/totp?compte=ID                unenrol it (the e-mailed code again, if the
                                                  account has one)

Enrolments last until the next reset, after which only the server's ``--totp-secret`` (its
``--user`` account) is enrolled again.

Every invoice record carries ``compte``, the identifiant of its account. With several
accounts (``--accounts``) a number may exist in more than one: ``?compte=`` chooses; without
it, a number held by several accounts is refused (409). Within one account the newest deposit
with that number is taken, as ever. In ``?compte=``, a ``+`` left unencoded (read as a
space) is taken back as the ``+`` it was (``fournisseur+2@exemple.fr``).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.faults import FaultError
from sandbox.fmt import PARIS
from sandbox.model import Invoice, Status
from sandbox.security import account_key, new_totp_secret, totp_secret_problem, totp_uri
from sandbox.store import NotFound, RuleViolation
from sandbox.web_auth import totp_secret_of
from sandbox.web_common import Portal, portal_of

Handler = Callable[[Request], Awaitable[Response]]


def invoice_json(inv: Invoice, compte: str | None = None) -> dict[str, Any]:
    """An invoice as the admin interface shows it (money as strings, instants ISO);
    ``compte``: the identifiant of its account."""
    return {
        "id": inv.id,
        "supplier_id": inv.supplier_id,
        "compte": compte,
        "numero": inv.numero,
        "statut": inv.statut.value,
        "statut_label": inv.statut_label,
        "acquittee": inv.acquittee,
        "rejet_traite": inv.rejet_traite,
        "type_facture": inv.type_facture,
        "cadre": inv.cadre,
        "siret_destinataire": inv.siret_destinataire,
        "nom_destinataire": inv.nom_destinataire,
        "code_service": inv.code_service,
        "numero_engagement": inv.numero_engagement,
        "numero_marche": inv.numero_marche,
        "numero_facture_origine": inv.numero_facture_origine,
        "montant_ht": str(inv.montant_ht),
        "montant_tva": str(inv.montant_tva),
        "montant_ttc": str(inv.montant_ttc),
        "date_facture": inv.date_facture.isoformat() if inv.date_facture else None,
        "date_depot": inv.date_depot.isoformat() if inv.date_depot else None,
        "motif": inv.motif,
        "commentaire_motif": inv.commentaire_motif,
        "date_motif": inv.date_motif.isoformat() if inv.date_motif else None,
        "commentaire": inv.commentaire,
        "lignes": [
            {
                "reference": line.reference,
                "designation": line.designation,
                "quantite": str(line.quantite),
                "unite": line.unite,
                "prix_unitaire_ht": str(line.prix_unitaire_ht),
                "remise": str(line.remise),
                "taux_tva": str(line.taux_tva),
                "montant_ht": str(line.montant_ht),
            }
            for line in inv.lignes
        ],
        "pieces_jointes": [{"nom": a.nom, "taille": a.taille} for a in inv.pieces_jointes],
        "historique": [
            {"action": h.action.value, "date": h.date.isoformat(), "utilisateur": h.utilisateur}
            for h in inv.historique
        ],
    }


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"erreur": message}, status_code=status)


def guarded(handler: Handler) -> Handler:
    """404 when the admin interface is off, 401 without the right bearer token."""

    async def wrapper(request: Request) -> Response:
        token = portal_of(request).options.admin_token
        if not token:
            return Response(status_code=404)
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return _error(401, "Jeton d'administration absent ou invalide.")
        try:
            return await handler(request)
        except NotFound as exc:
            return _error(404, str(exc))
        except RuleViolation as exc:
            return _error(409, exc.message)

    return wrapper


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("JSON object expected")
    return data


async def list_invoices(request: Request) -> Response:
    portal = portal_of(request)
    code = request.query_params.get("status") or None
    if code is not None and code not in Status.__members__:
        return _error(422, f"Statut inconnu : {code}.")
    statut = Status(code) if code else None
    names = portal.store.account_names()
    compte = _compte_param(request)
    supplier_id = None if compte is None else _supplier_of(names, compte)
    invoices = portal.store.list_all(statut, supplier_id=supplier_id)
    return JSONResponse([invoice_json(i, names.get(i.supplier_id)) for i in invoices])


def _compte_param(request: Request) -> str | None:
    """The ``compte`` query parameter (a ``+`` decoded as a space restored), or None."""
    raw = request.query_params.get("compte", "").strip()
    return raw.replace(" ", "+") or None


def _supplier_of(names: dict[int, str], compte: str) -> int:
    """The supplier structure of the account ``compte`` (case-insensitive), or NotFound."""
    for supplier_id, name in names.items():
        if name.casefold() == compte.casefold():
            return supplier_id
    raise NotFound(f"Compte inconnu : {compte}.")


def _by_number(portal: Portal, numero: str, compte: str | None = None) -> Invoice:
    """The invoice with this number: the account's when ``compte`` is given; without it,
    RuleViolation (409) when several accounts hold the number."""
    names = portal.store.account_names()
    supplier_id = None if compte is None else _supplier_of(names, compte)
    found = [
        i
        for i in portal.store.list_all(supplier_id=supplier_id)
        if i.numero.casefold() == numero.casefold()
    ]
    if not found:
        owner = f" pour le compte {compte}" if compte is not None else ""
        raise NotFound(f"Facture {numero} introuvable{owner}.")
    owners = list(dict.fromkeys(i.supplier_id for i in found))
    if len(owners) > 1:
        held = ", ".join(names.get(o, f"fournisseur {o}") for o in owners)
        raise RuleViolation(
            f"Le numéro {numero} existe dans plusieurs comptes ({held}) : "
            "précisez le compte avec ?compte=."
        )
    return found[0]


async def get_invoice(request: Request) -> Response:
    portal = portal_of(request)
    invoice = _by_number(portal, request.path_params["numero"], _compte_param(request))
    return JSONResponse(
        invoice_json(invoice, portal.store.account_names().get(invoice.supplier_id))
    )


async def reject(request: Request) -> Response:
    return await _client_action(request, "reject")


async def suspend(request: Request) -> Response:
    return await _client_action(request, "suspend")


async def recycle(request: Request) -> Response:
    """The public client sends the invoice back « À recycler » (no history action)."""
    return await _client_action(request, "recycle")


async def _client_action(request: Request, kind: str) -> Response:
    portal = portal_of(request)
    try:
        body = await _body(request)
    except ValueError:
        return _error(422, "Corps JSON invalide.")
    invoice = _by_number(portal, request.path_params["numero"], _compte_param(request))
    motif = str(body.get("motif") or "AUTRE")
    commentaire = str(body.get("commentaire") or "")
    when = None
    if body.get("date"):  # back-dating, e.g. a rejection older than 7 days
        try:
            when = datetime.fromisoformat(str(body["date"]))
        except ValueError:
            return _error(422, "Date invalide (ISO 8601 attendu).")
        if when.tzinfo is None:
            when = when.replace(tzinfo=PARIS)
    action = {
        "reject": portal.store.reject,
        "suspend": portal.store.suspend,
        "recycle": portal.store.ask_recycling,
    }[kind]
    updated = action(invoice.id, motif, commentaire, now=when)
    return JSONResponse(
        invoice_json(updated, portal.store.account_names().get(updated.supplier_id))
    )


async def reset(request: Request) -> Response:
    portal = portal_of(request)
    try:
        body = await _body(request)
    except ValueError:
        return _error(422, "Corps JSON invalide.")
    known = {"seed", "seed_suspended", "seed_recycle", "random_seed", "otp", "accounts"}
    unknown = set(body) - known
    if unknown:
        return _error(422, f"Paramètre inconnu : {', '.join(sorted(unknown))}.")
    try:
        summary = portal.reseed(
            rejected=int(body.get("seed", portal.options.seed)),
            suspended=int(body.get("seed_suspended", portal.options.seed_suspended)),
            recycle=int(body.get("seed_recycle", portal.options.seed_recycle)),
            random_seed=int(body.get("random_seed", portal.options.random_seed)),
            otp=bool(body.get("otp", portal.options.otp)),
            accounts=int(body.get("accounts", portal.options.accounts)),
        )
    except (TypeError, ValueError):
        return _error(422, "Paramètres de réinitialisation invalides.")
    return JSONResponse(summary)


async def faults(request: Request) -> Response:
    portal = portal_of(request)
    if request.method == "GET":
        return JSONResponse(portal.faults.as_dict())
    try:
        body = await _body(request)
        return JSONResponse(portal.faults.update(body))
    except FaultError as exc:
        return _error(422, str(exc))
    except ValueError:
        return _error(422, "Corps JSON invalide.")


async def last_mail(request: Request) -> Response:
    message = portal_of(request).maildir.last()
    if message is None:
        return _error(404, "Aucun message.")
    body = message.get_body(preferencelist=("plain",))
    return JSONResponse(
        {
            "from": str(message["From"]),
            "to": str(message["To"]),
            "subject": str(message["Subject"]),
            "date": str(message["Date"]),
            "body": body.get_content() if body is not None else "",
        }
    )


async def sessions_issued(request: Request) -> Response:
    """Every session id issued since the last reset (secret-leak tests look for them; with
    three origins, every origin's)."""
    portal = portal_of(request)
    return JSONResponse({"issued": [sid for store in portal.stores for sid in store.issued]})


async def expire_sessions(request: Request) -> Response:
    """End every session now: the next request of each browser must log in again (with three
    origins: the invoicing application's and the shell's; the identity provider's stay)."""
    portal = portal_of(request)
    expired = portal.sessions.expire_all() + portal.shell_sessions.expire_all()
    return JSONResponse({"expired": expired})


async def expire_idp_sessions(request: Request) -> Response:
    """Three origins: end every session of the identity provider (the next entry needs the
    login form again); the shell's and the invoicing application's live on."""
    return JSONResponse({"expired": portal_of(request).idp_sessions.expire_all()})


async def stats(request: Request) -> Response:
    """Per account (every account of the store, by identifiant): its live sessions now and
    the most it held at once since the last reset (``sandbox.security``); and ``requetes``,
    the documents and XHR/fetch the portal answered since the last reset, static files and
    the admin interface left out (``sandbox.faults.request_kind``)."""
    portal = portal_of(request)
    knobs = portal.faults.knobs
    live = portal.sessions.live_counts(
        idle_s=knobs.session_idle_s, max_requests=knobs.session_max_requests
    )
    peaks = portal.sessions.peaks()
    names = [user.email for user in portal.store.list_users()]
    known = {account_key(name) for name in names}
    names += sorted(k for k in {*live, *peaks} if k not in known)  # accounts gone since
    comptes = {
        name: {
            "sessions": live.get(account_key(name), 0),
            "pic_sessions": peaks.get(account_key(name), 0),
        }
        for name in names
    }
    body: dict[str, Any] = {
        "comptes": comptes,
        "max_sessions_per_account": knobs.max_sessions_per_account,
        "requetes": portal.requests.counts(),
    }
    if portal.options.origins == 3:
        body["sessions_par_origine"] = {
            "portail": sum(portal.shell_sessions.live_counts().values()),
            "idp": sum(portal.idp_sessions.live_counts().values()),
            "cpp": sum(live.values()),
        }
    return JSONResponse(body)


async def totp_accounts(request: Request) -> Response:
    """Every account: whether it is enrolled for authenticator codes, and the periods
    (``floor(unix time / 30)``) whose code it logged in with since the last reset."""
    portal = portal_of(request)
    comptes = {
        user.email: {
            "totp": totp_secret_of(portal, user.email) is not None,
            "pas_utilises": portal.store.totp_steps(user.email),
        }
        for user in portal.store.list_users()
    }
    return JSONResponse({"comptes": comptes})


async def enrol_totp(request: Request) -> Response:
    """Enrol ``compte`` with ``secret`` (base32), or with a secret drawn here."""
    portal = portal_of(request)
    try:
        body = await _body(request)
    except ValueError:
        return _error(422, "Corps JSON invalide.")
    unknown = set(body) - {"compte", "secret"}
    if unknown:
        return _error(422, f"Paramètre inconnu : {', '.join(sorted(unknown))}.")
    compte, secret = body.get("compte"), body.get("secret")
    if not isinstance(compte, str) or not compte.strip():
        return _error(422, "Le compte (identifiant) est obligatoire.")
    if secret is None:
        secret = new_totp_secret()
    if not isinstance(secret, str):
        return _error(422, "Le secret doit être du texte (base32).")
    problem = totp_secret_problem(secret)
    if problem is not None:
        return _error(422, problem)
    user = portal.store.get_user(compte)
    if user is None:
        raise NotFound(f"Compte inconnu : {compte.strip()}.")
    portal.store.set_totp(user.email, secret)
    return JSONResponse(
        {"compte": user.email, "secret": secret, "uri": totp_uri(secret, user.email)}
    )


async def unenrol_totp(request: Request) -> Response:
    """Unenrol ``?compte=``: its second step is the e-mailed code again, if it has one."""
    portal = portal_of(request)
    compte = _compte_param(request)
    user = portal.store.get_user(compte) if compte else None
    if user is None:
        raise NotFound(f"Compte inconnu : {compte or '(absent)'}.")
    portal.store.set_totp(user.email, None)
    return JSONResponse({"compte": user.email, "totp": False})


def routes() -> list[BaseRoute]:
    return [
        Route("/_admin/invoices", guarded(list_invoices), methods=["GET"]),
        Route("/_admin/invoices/{numero:path}/reject", guarded(reject), methods=["POST"]),
        Route("/_admin/invoices/{numero:path}/suspend", guarded(suspend), methods=["POST"]),
        Route("/_admin/invoices/{numero:path}/recycle", guarded(recycle), methods=["POST"]),
        Route("/_admin/invoices/{numero:path}", guarded(get_invoice), methods=["GET"]),
        Route("/_admin/reset", guarded(reset), methods=["POST"]),
        Route("/_admin/faults", guarded(faults), methods=["GET", "POST"]),
        Route("/_admin/mail/last", guarded(last_mail), methods=["GET"]),
        Route("/_admin/sessions", guarded(sessions_issued), methods=["GET"]),
        Route("/_admin/sessions/expire", guarded(expire_sessions), methods=["POST"]),
        Route("/_admin/idp/expire", guarded(expire_idp_sessions), methods=["POST"]),
        Route("/_admin/idp/expirer", guarded(expire_idp_sessions), methods=["POST"]),
        Route("/_admin/stats", guarded(stats), methods=["GET"]),
        Route("/_admin/totp", guarded(totp_accounts), methods=["GET"]),
        Route("/_admin/totp", guarded(enrol_totp), methods=["POST"]),
        Route("/_admin/totp", guarded(unenrol_totp), methods=["DELETE"]),
    ]
