"""The floor: what any client must spend on the portal to carry one rejected invoice through.

A plain HTTP client (httpx, no browser, no static files, no scripts) makes, for each invoice,
the requests a person's clicks cause — no more (SCREENS.md; ``sandbox/web_*.py``):

====  =========================================================  ==========================
 #    request                                                    why
====  =========================================================  ==========================
 1    GET  « Synthèse »                                           find the invoice, CSRF
 2    GET  consultation page                                      read the rejection
 3    POST « Acquitter » → 303 → GET consultation page            acknowledge, see « Oui »
 4    POST « Traiter le rejet » → 303 → GET « Synthèse »          process, see the status
 5    GET  « Rechercher » ?…numero=NEW                             the new number is free
 6    GET  « Saisir une facture »                                 the form (bank accounts)
 7    GET  /api/structures/{siret}                                the page's service list
 8    POST the form → 303 → GET consultation page of the new one  send, see the status
====  =========================================================  ==========================

That is 11 HTTP requests per invoice, each paying the sandbox's latency; the login (3
requests) is paid once per run and reported apart. The invoice's data (lines, recipient) is
read from the sandbox's admin interface *before* the clock starts: a real client would parse
the consultation page it does GET, which costs CPU, not portal time.
"""

from __future__ import annotations

import html
import re
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from sandbox.server import RunningSandbox, csrf_token

SYNTHESE = "/factures-emises/synthese"
SEARCH = "/factures-emises/rechercher"
#: The prefix of the search form's field names (the real portal's).
CRITERION = "listeResultats.critere."
FORM = "/factures-emises/saisir"
_SERVER_APP = re.compile(r"\bapp;dur=([0-9.]+)")
_ACCOUNT = re.compile(
    r'name="compte_id"[^>]*>\s*<option value="">[^<]*</option>\s*<option value="(\d+)"'
)


class FloorError(RuntimeError):
    """The portal did not answer the floor client as the screens contract says."""


@dataclass(frozen=True)
class FloorResult:
    """What the floor client spent: per invoice (seconds), and once for the login."""

    latency_ms: int
    login_s: float
    per_invoice_s: tuple[float, ...]
    server_s: tuple[float, ...]  # ``Server-Timing: app`` summed per invoice
    requests_per_invoice: float

    @property
    def mean_s(self) -> float:
        return sum(self.per_invoice_s) / len(self.per_invoice_s)

    @property
    def mean_server_s(self) -> float:
        return sum(self.server_s) / len(self.server_s)


class _Meter:
    """Counts requests and sums the portal's own time (``Server-Timing: app``)."""

    def __init__(self) -> None:
        self.requests = 0
        self.server_s = 0.0

    def __call__(self, response: httpx.Response) -> None:
        self.requests += 1
        match = _SERVER_APP.search(response.headers.get("server-timing", ""))
        if match:
            self.server_s += float(match.group(1)) / 1000


def _expect(response: httpx.Response, text: str, what: str) -> str:
    body = response.text
    if response.status_code != 200 or text not in html.unescape(body):
        raise FloorError(f"{what} : réponse inattendue ({response.status_code}, {response.url}).")
    return body


def _rate(value: str) -> str:
    return format(Decimal(value).normalize(), "f")


def entry_data(invoice: dict[str, Any], numero: str, compte_id: str, csrf: str) -> dict[str, str]:
    """The form « Saisir une facture » for a copy of ``invoice`` under ``numero``.

    Totals are left empty: the server computes them (it checks them only when sent).
    """
    data: dict[str, str] = {
        "csrf": csrf,
        "cadre": invoice["cadre"] or "A1",
        "siret_destinataire": invoice["siret_destinataire"],
        "code_service": invoice["code_service"] or "",
        "compte_id": compte_id,
        "type_facture": invoice["type_facture"] or "FACTURE",
        "numero": numero,
        "date_facture": invoice["date_facture"] or "",
        "devise": "EUR",
        "type_tva": "TVA_SUR_DEBIT",
        "mode_paiement": "VIREMENT",
        "numero_engagement": invoice["numero_engagement"] or "",
        "numero_marche": invoice["numero_marche"] or "",
        "numero_facture_origine": invoice["numero_facture_origine"] or "",
        "commentaire": invoice["commentaire"] or "",
        "total_ht": "",
        "total_tva": "",
        "total_ttc": "",
        "action": "envoyer",
    }
    for index, line in enumerate(invoice["lignes"], start=1):
        for name in ("reference", "designation", "quantite", "unite", "prix_unitaire_ht"):
            data[f"ligne-{index}-{name}"] = line[name] or ""
        data[f"ligne-{index}-remise"] = line["remise"] or ""
        data[f"ligne-{index}-taux_tva"] = _rate(line["taux_tva"])
    return data


def _login(client: httpx.Client, sandbox: RunningSandbox) -> None:
    page = client.get("/connexion")
    home = client.post(
        "/connexion",
        data={
            "csrf": csrf_token(page.text),
            "identifiant": sandbox.options.user,
            "mot_de_passe": sandbox.options.password,
        },
    )
    if home.url.path != "/accueil":
        raise FloorError("Connexion du client HTTP refusée par le bac à sable.")


def _one_invoice(
    client: httpx.Client, invoice: dict[str, Any], numero: str, app_root: str = ""
) -> None:
    own = f"/factures-emises/factures/{invoice['id']}"
    synthese = _expect(client.get(SYNTHESE), f'href="{app_root}{own}"', "Synthèse")
    csrf = csrf_token(synthese)
    _expect(client.get(own), invoice["numero"], "Consultation")
    acknowledged = client.post(own + "/acquitter", data={"csrf": csrf})
    _expect(acknowledged, "a été acquittée", "Acquitter")
    ticked = {"csrf": csrf, "retour": "", "ids": str(invoice["id"])}
    processed = client.post(SYNTHESE + "/traiter", data=ticked)
    _expect(processed, "a été traité", "Traiter le rejet")
    criteria = ("numero", "statut", "destinataire", "dateDepotDu", "dateDepotAu")
    query = {f"{CRITERION}{name}": "" for name in criteria} | {f"{CRITERION}numero": numero}
    _expect(client.get(SEARCH, params=query), "Aucune facture ne correspond", "Rechercher")
    form = _expect(client.get(FORM), 'name="compte_id"', "Saisir une facture")
    account = _ACCOUNT.search(form)
    if account is None:
        raise FloorError("Saisir une facture : aucunes coordonnées bancaires proposées.")
    structure = client.get(f"/api/structures/{invoice['siret_destinataire']}")
    if structure.status_code != 200:
        raise FloorError(f"Structure {invoice['siret_destinataire']} : {structure.status_code}.")
    sent = client.post(FORM, data=entry_data(invoice, numero, account.group(1), csrf))
    _expect(sent, "est en cours d'acheminement", f"Envoi de la facture {numero}")


def pending_rejections(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    """The rejections to handle, in the order « Synthèse » lists them (newest deposit first)."""
    pending = [i for i in sandbox.invoices(status="REJETEE") if not i["acquittee"]]
    return sorted(pending, key=lambda i: (i["date_depot"] or "", i["id"]), reverse=True)


def measure_floor(
    sandbox: RunningSandbox, count: int, new_number: dict[str, str], latency_ms: int
) -> FloorResult:
    """Carry ``count`` rejections of a freshly seeded sandbox through, timing each one.

    ``new_number`` maps each rejected number to its new number (the plan's).
    """
    invoices = pending_rejections(sandbox)[:count]
    if not invoices:
        raise FloorError("Aucune facture rejetée à traiter dans le bac à sable.")
    meter = _Meter()
    times: list[float] = []
    server: list[float] = []
    requests_before_invoices = 0
    three = sandbox.options.origins == 3
    started = time.perf_counter()
    if three:  # through the shell and the identity provider, based at the application's /cpp
        client = sandbox.http_client()
        client.timeout = httpx.Timeout(60.0)
        client.event_hooks["response"].append(meter)
    else:
        client = httpx.Client(
            base_url=sandbox.url,
            follow_redirects=True,
            timeout=60.0,
            event_hooks={"response": [meter]},
        )
    app_root = "/cpp" if three else ""
    try:
        if not three:
            _login(client, sandbox)
        login_s = time.perf_counter() - started
        requests_before_invoices = meter.requests
        for invoice in invoices:
            server_before = meter.server_s
            started = time.perf_counter()
            _one_invoice(client, invoice, new_number[invoice["numero"]], app_root)
            times.append(time.perf_counter() - started)
            server.append(meter.server_s - server_before)
    finally:
        client.close()
    return FloorResult(
        latency_ms=latency_ms,
        login_s=round(login_s, 3),
        per_invoice_s=tuple(round(t, 4) for t in times),
        server_s=tuple(round(s, 4) for s in server),
        requests_per_invoice=(meter.requests - requests_before_invoices) / len(invoices),
    )
