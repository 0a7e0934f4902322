"""The rejection's life through HTTP: window, acknowledgment, « Traiter le rejet », lists."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from typing import Any

import httpx

from sandbox.fmt import PARIS
from sandbox.model import STATUS_LABELS
from sandbox.server import PortalClient, RunningSandbox, csrf_token

WINDOW = "Factures rejetées ou suspendues"
COMPULSORY = "L'acquittement est obligatoire pour les factures rejetées depuis plus de 7 jours."


def _pending(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    return [i for i in sandbox.invoices(status="REJETEE") if not i["acquittee"]]


def _window_post(client: PortalClient, action: str, ids: list[int] | None = None) -> httpx.Response:
    home = client.get("/accueil")
    data: dict[str, Any] = {"csrf": csrf_token(home.text), "action": action, "ids": ids or []}
    return client.post("/accueil/fenetre", data=data)


def _process(client: PortalClient, ids: list[int]) -> httpx.Response:
    page = client.get("/factures-emises/synthese")
    return client.post(
        "/factures-emises/synthese/traiter", data={"csrf": csrf_token(page.text), "ids": ids}
    )


def test_window_lists_every_unacknowledged_rejection_after_login(
    fresh_sandbox: RunningSandbox,
) -> None:
    pending = _pending(fresh_sandbox)
    with fresh_sandbox.http_client() as client:
        home = client.get("/accueil").text
    assert WINDOW in home and 'role="dialog"' in home
    assert len(pending) == 5
    for invoice in pending:
        assert f"Sélectionner la facture {invoice['numero']}" in home
        assert invoice["motif"] in home
    assert "Fermer</button>" in home and COMPULSORY not in home


def test_acknowledging_selected_rows_removes_them_from_the_window(
    fresh_sandbox: RunningSandbox,
) -> None:
    first, second, *rest = _pending(fresh_sandbox)
    with fresh_sandbox.http_client() as client:
        page = _window_post(client, "acquitter", [first["id"], second["id"]])
    assert "2 facture(s) acquittée(s)." in page.text
    assert f"Sélectionner la facture {first['numero']}" not in page.text
    assert all(f"Sélectionner la facture {i['numero']}" in page.text for i in rest)
    history = fresh_sandbox.invoice(first["numero"])["historique"]
    assert history[-1]["action"] == "ACQUITTEMENT_REJET"


def test_acknowledging_everything_closes_the_window(fresh_sandbox: RunningSandbox) -> None:
    with fresh_sandbox.http_client() as client:
        page = _window_post(client, "tout")
    assert "5 facture(s) acquittée(s)." in page.text
    assert WINDOW not in page.text
    assert _pending(fresh_sandbox) == []


def test_acknowledging_nothing_selected_says_so(fresh_sandbox: RunningSandbox) -> None:
    with fresh_sandbox.http_client() as client:
        page = _window_post(client, "acquitter")
    assert "Sélectionnez au moins une facture." in page.text
    assert len(_pending(fresh_sandbox)) == 5


def test_closed_window_stays_closed_for_the_session_and_returns_at_next_login(
    fresh_sandbox: RunningSandbox,
) -> None:
    with fresh_sandbox.http_client() as client:
        closed = _window_post(client, "fermer")
        assert WINDOW not in closed.text
        assert WINDOW not in client.get("/accueil").text
    with fresh_sandbox.http_client() as client:
        assert WINDOW in client.get("/accueil").text


def test_window_is_compulsory_for_a_rejection_older_than_seven_days(
    fresh_sandbox: RunningSandbox,
) -> None:
    fresh_sandbox.reset(seed=0)
    target = fresh_sandbox.invoices(status="MISE_A_DISPOSITION")[0]["numero"]
    old = (datetime.now(PARIS) - timedelta(days=8)).isoformat()
    answer = fresh_sandbox.admin(
        "POST", f"invoices/{target}/reject", json={"motif": "DOUBLON", "date": old}
    )
    assert answer.status_code == 200
    with fresh_sandbox.http_client() as client:
        home = client.get("/accueil").text
        refused = _window_post(client, "fermer")
    assert COMPULSORY in home
    assert "Fermer</button>" not in home
    assert WINDOW in refused.text  # « Fermer » is not available: the window stays


def test_processing_a_rejection_not_acknowledged_is_refused(
    fresh_sandbox: RunningSandbox,
) -> None:
    invoice = _pending(fresh_sandbox)[0]
    with fresh_sandbox.http_client() as client:
        page = _process(client, [invoice["id"]])
    assert (
        f"La facture {invoice['numero']} doit être acquittée avant de traiter le rejet."
        in page.text
    )
    assert fresh_sandbox.invoice(invoice["numero"])["rejet_traite"] is False


def test_acknowledged_rejection_leaves_synthese_once_processed(
    fresh_sandbox: RunningSandbox,
) -> None:
    invoice, other = _pending(fresh_sandbox)[:2]
    with fresh_sandbox.http_client() as client:
        _window_post(client, "acquitter", [invoice["id"]])
        page = _process(client, [invoice["id"], other["id"]])
    assert page.url.path == "/factures-emises/synthese"
    assert f"Le rejet de la facture {invoice['numero']} a été traité." in page.text
    assert f"La facture {other['numero']} doit être acquittée" in page.text
    assert f"Sélectionner la facture {invoice['numero']}" not in page.text
    assert f"Sélectionner la facture {other['numero']}" in page.text
    actions = [h["action"] for h in fresh_sandbox.invoice(invoice["numero"])["historique"]]
    assert actions[-2:] == ["ACQUITTEMENT_REJET", "TRAITEMENT_REJET"]


def test_processing_an_invoice_that_is_not_rejected_says_so(
    fresh_sandbox: RunningSandbox,
) -> None:
    draft = fresh_sandbox.invoices(status="BROUILLON")[0]
    with fresh_sandbox.http_client() as client:
        page = _process(client, [draft["id"]])
        nothing = _process(client, [])
    assert f"La facture {draft['numero']} n'est pas rejetée." in html.unescape(page.text)
    assert "Sélectionnez au moins une facture." in nothing.text


def _page_buttons(page: str) -> dict[str, tuple[int, bool]]:
    """The pagination's buttons: title → (page it asks, disabled)."""
    found = re.findall(
        r'<button type="submit" name="page" value="(\d+)" title="([^"]+)"[^>]*?( disabled)?>',
        page,
    )
    return {title: (int(value), bool(off)) for value, title, off in found}


FIRST, PREVIOUS = "Aller à la première page du tableau", "Aller à la page précédente du tableau"
NEXT, LAST = "Aller à la page suivante du tableau", "Aller à la dernière page du tableau"


def test_synthese_is_paginated_with_a_choice_of_rows_per_page(
    fresh_sandbox: RunningSandbox,
) -> None:
    fresh_sandbox.reset(seed=24)
    with fresh_sandbox.http_client() as client:
        first = client.get("/factures-emises/synthese").text
        middle = client.get("/factures-emises/synthese?page=2").text
        last = client.get("/factures-emises/synthese?page=3").text
        wide = client.get("/factures-emises/synthese?taille=50").text
    count = re.search(r"(\d+) facture\(s\)", first)
    assert count is not None
    total = int(count.group(1))
    assert total > 20
    assert "Page 1 sur 3" in first and "Page 3 sur 3" in last
    assert _page_buttons(first) == {
        FIRST: (1, True),
        PREVIOUS: (1, True),
        NEXT: (2, False),
        LAST: (3, False),
    }
    assert _page_buttons(middle) == {
        FIRST: (1, False),
        PREVIOUS: (1, False),
        NEXT: (3, False),
        LAST: (3, False),
    }
    assert _page_buttons(last) == {
        FIRST: (1, False),
        PREVIOUS: (2, False),
        NEXT: (3, True),
        LAST: (3, True),
    }
    assert "Page précédente" not in first and "Page suivante" not in last  # the old links
    assert first.count("Sélectionner la facture") == 10
    assert wide.count("Sélectionner la facture") == total and "Page 1 sur 1" in wide
    assert all(off for _, off in _page_buttons(wide).values())
    # The buttons' form keeps the size; the page's own size form keeps the filters.
    assert '<input type="hidden" name="taille" value="50">' in wide


def test_consultation_page_shows_every_field_the_rejection_and_acknowledge(
    fresh_sandbox: RunningSandbox,
) -> None:
    invoice = _pending(fresh_sandbox)[0]
    with fresh_sandbox.http_client() as client:
        page = client.get(f"/factures-emises/factures/{invoice['id']}").text
        acknowledged = client.post(
            f"/factures-emises/factures/{invoice['id']}/acquitter",
            data={"csrf": csrf_token(page)},
        ).text
    labels = [
        "Numéro", "Statut", "Type de facture", "Cadre de facturation", "Date de facture",
        "Date de dépôt", "SIRET du destinataire", "Destinataire", "Code service",
        "Numéro d&#39;engagement", "Numéro de marché", "Numéro de la facture d&#39;origine",
        "Devise", "Type de TVA", "Mode de paiement", "Fournisseur", "Coordonnées bancaires",
        "Montant HT", "Montant TVA", "Montant TTC", "Montant à payer", "Commentaire",
    ]  # fmt: skip
    positions = [page.index(f"<dt>{label}</dt>") for label in labels]
    assert positions == sorted(positions)
    assert f"Facture {invoice['numero']}</h1>" in page
    for label in ("Motif", "Date du rejet", "Acquittée", "Rejet traité"):
        assert f"<dt>{label}</dt>" in page
    assert ">Acquitter</button>" in page
    assert f"La facture {invoice['numero']} a été acquittée." in acknowledged
    assert ">Acquitter</button>" not in acknowledged
    assert "Acquittement du rejet" in acknowledged


NUMERO, STATUT = "listeResultats.critere.numero", "listeResultats.critere.statut"


def test_search_finds_by_exact_number_case_insensitively(fresh_sandbox: RunningSandbox) -> None:
    invoice = _pending(fresh_sandbox)[0]
    with fresh_sandbox.http_client() as client:
        found = client.get(
            "/factures-emises/rechercher", params={NUMERO: invoice["numero"].lower()}
        ).text
        by_status = client.get("/factures-emises/rechercher", params={STATUT: "REJETEE"}).text
        none = client.get("/factures-emises/rechercher", params={NUMERO: "INCONNU-1"}).text
    assert "Résultats de la recherche" in found
    assert found.count('href="/factures-emises/factures/') == 1
    assert f">{invoice['numero']}</a>" in found
    assert by_status.count("Rejetée</span>") == len(fresh_sandbox.invoices(status="REJETEE"))
    assert "Aucune facture ne correspond à votre recherche." in none
    for code, label in STATUS_LABELS.items():
        assert f'<option value="{code.value}">{label}</option>' in html.unescape(none)
    assert '<option value="">Tous</option>' in none


def test_another_invoice_id_is_not_found(fresh_sandbox: RunningSandbox) -> None:
    with fresh_sandbox.http_client() as client:
        page = client.get("/factures-emises/factures/999999")
    assert page.status_code == 404
    assert "Page introuvable" in page.text
