"""The test-only administration interface, ``/health`` and the ``Server-Timing`` header."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from sandbox.app import create_app
from sandbox.server import RunningSandbox
from sandbox.settings import SandboxOptions


def test_health_answers_the_per_process_token(fresh_sandbox: RunningSandbox) -> None:
    answer = httpx.get(fresh_sandbox.url + "/health")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok"
    assert re.fullmatch(r"[0-9a-f]{32}", body["token"])


def test_every_answer_carries_server_timing(fresh_sandbox: RunningSandbox) -> None:
    for path in ("/", "/connexion", "/health", "/inconnue", "/static/style.css"):
        header = httpx.get(fresh_sandbox.url + path).headers["server-timing"]
        assert re.fullmatch(r"app;dur=[\d.]+, latency;dur=[\d.]+", header), (path, header)


def test_admin_needs_the_bearer_token(fresh_sandbox: RunningSandbox) -> None:
    url = fresh_sandbox.url + "/_admin/invoices"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer faux-jeton"}).status_code == 401
    assert fresh_sandbox.admin("GET", "invoices").status_code == 200


def test_admin_is_absent_without_a_configured_token(tmp_path: Path) -> None:
    app = create_app(SandboxOptions(data_dir=tmp_path, seed=1))

    def call() -> httpx.Response:
        # Its own thread and event loop: pytest-playwright may hold this thread's loop.
        async def get() -> httpx.Response:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as c:
                return await c.get("/_admin/invoices", headers={"Authorization": "Bearer x"})

        return asyncio.run(get())

    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            answer = pool.submit(call).result()
    finally:
        app.state.portal.store.close()
    assert answer.status_code == 404


def test_admin_lists_invoices_with_their_fields_and_filters_by_status(
    fresh_sandbox: RunningSandbox,
) -> None:
    everything = fresh_sandbox.invoices()
    rejected = fresh_sandbox.invoices(status="REJETEE")
    assert len(rejected) < len(everything)
    assert {i["statut"] for i in rejected} == {"REJETEE"}
    record = rejected[0]
    for key in (
        "id", "numero", "statut", "statut_label", "acquittee", "rejet_traite",
        "siret_destinataire", "nom_destinataire", "montant_ht", "montant_ttc", "date_depot",
        "motif", "commentaire_motif", "numero_engagement", "code_service", "date_facture",
        "lignes", "historique",
    ):  # fmt: skip
        assert key in record, key
    assert isinstance(record["montant_ttc"], str)
    assert record["historique"][0].keys() == {"action", "date", "utilisateur"}
    assert fresh_sandbox.admin("GET", "invoices?status=NIMPORTE").status_code == 422


def test_admin_reads_one_invoice_by_number(fresh_sandbox: RunningSandbox) -> None:
    numero = fresh_sandbox.invoices()[0]["numero"]
    assert fresh_sandbox.invoice(numero)["numero"] == numero
    assert fresh_sandbox.admin("GET", "invoices/INCONNUE-42").status_code == 404


def test_admin_rejects_and_suspends_like_the_public_client(
    fresh_sandbox: RunningSandbox,
) -> None:
    first, second = fresh_sandbox.invoices(status="MISE_A_DISPOSITION")[:2]
    rejected = fresh_sandbox.admin(
        "POST",
        f"invoices/{first['numero']}/reject",
        json={"motif": "TX_TVA_ERR", "commentaire": "Taux réduit non applicable."},
    ).json()
    suspended = fresh_sandbox.admin(
        "POST", f"invoices/{second['numero']}/suspend", json={"motif": "AUTRE"}
    ).json()
    again = fresh_sandbox.admin("POST", f"invoices/{second['numero']}/suspend", json={})
    assert rejected["statut"] == "REJETEE" and rejected["motif"] == "Taux de TVA erroné"
    assert rejected["historique"][-1]["action"] == "REJET"
    assert suspended["statut"] == "SUSPENDUE" and not suspended["acquittee"]
    assert again.status_code == 409


def test_admin_reset_reseeds_with_the_requested_number_of_rejections(
    fresh_sandbox: RunningSandbox,
) -> None:
    summary = fresh_sandbox.reset(seed=9)
    pending = [i for i in fresh_sandbox.invoices(status="REJETEE") if not i["acquittee"]]
    assert len(summary["rejected"]) == 9 == len(pending)
    assert fresh_sandbox.admin("POST", "reset", json={"inconnu": 1}).status_code == 422
    back = fresh_sandbox.reset()
    assert len(back["rejected"]) == 5  # the options the server started with


def test_admin_reset_forgets_sessions(fresh_sandbox: RunningSandbox) -> None:
    with fresh_sandbox.http_client() as client:
        fresh_sandbox.reset()
        page = client.get("/accueil")
    assert page.url.path == "/connexion"


def test_admin_faults_are_read_changed_and_validated(fresh_sandbox: RunningSandbox) -> None:
    assert fresh_sandbox.admin("GET", "faults").json()["latency_ms"] == 0
    changed = fresh_sandbox.set_faults(latency_ms=5, popup_rate=0.25)
    assert changed["latency_ms"] == 5 and changed["popup_rate"] == 0.25
    assert fresh_sandbox.admin("POST", "faults", json={"vitesse": 1}).status_code == 422
    assert fresh_sandbox.admin("POST", "faults", json={"error_rate": 2}).status_code == 422
    assert fresh_sandbox.admin("POST", "faults", json={"maintenance": "oui"}).status_code == 422
    assert fresh_sandbox.set_faults()["latency_ms"] == 0


def test_admin_gives_the_last_email(fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.reset(otp=True)
    assert fresh_sandbox.admin("GET", "mail/last").status_code == 404
    with fresh_sandbox.http_client():
        pass
    mail = fresh_sandbox.admin("GET", "mail/last").json()
    assert mail["to"] == fresh_sandbox.options.user
    assert "Votre code de vérification est : " in mail["body"]
