"""« Saisir une facture » through the real POST: success, draft, and validation messages."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from sandbox.server import PortalClient, RunningSandbox, csrf_token

FORM = "/factures-emises/saisir"
SUMMARY = "Le formulaire contient des erreurs"


def _rejected(sandbox: RunningSandbox) -> dict[str, Any]:
    return sandbox.invoices(status="REJETEE")[0]


def _form_data(client: PortalClient, source: dict[str, Any], numero: str) -> dict[str, Any]:
    """A valid submission copying the recipient of ``source`` (one line: 2 × 100,50 € HT)."""
    page = client.get(FORM).text
    account = re.search(
        r'name="compte_id"[^>]*>\s*<option value="">[^<]*</option><option value="(\d+)"', page
    )
    assert account is not None
    return {
        "csrf": csrf_token(page),
        "cadre": "A1",
        "siret_destinataire": source["siret_destinataire"],
        "code_service": source["code_service"],
        "compte_id": account.group(1),
        "type_facture": "FACTURE",
        "numero": numero,
        "date_facture": source["date_facture"],
        "devise": "EUR",
        "type_tva": "TVA_SUR_DEBIT",
        "mode_paiement": "VIREMENT",
        "numero_engagement": source["numero_engagement"],
        "ligne-1-reference": "REF-1",
        "ligne-1-designation": "Prestation de conseil",
        "ligne-1-quantite": "2",
        "ligne-1-unite": "jour",
        "ligne-1-prix_unitaire_ht": "100,50",
        "ligne-1-remise": "",
        "ligne-1-taux_tva": "20",
        "total_ht": "201.00",
        "total_tva": "40.20",
        "total_ttc": "241.20",
        "action": "envoyer",
    }


def _text(response: httpx.Response) -> str:
    return html.unescape(response.text)


def test_sent_invoice_opens_on_its_page_with_the_acheminement_message(
    fresh_sandbox: RunningSandbox,
) -> None:
    with fresh_sandbox.http_client() as client:
        data = _form_data(client, _rejected(fresh_sandbox), "CORR-2026-001")
        page = client.post(FORM, data=data)
    assert re.fullmatch(r"/factures-emises/factures/\d+", page.url.path)
    assert (
        "La facture CORR-2026-001 a été validée et est en cours d'acheminement vers le service "
        "concerné." in _text(page)
    )
    stored = fresh_sandbox.invoice("CORR-2026-001")
    assert stored["statut"] == "EN_COURS_ACHEMINEMENT"
    assert stored["montant_ttc"] == "241.20"
    assert [h["action"] for h in stored["historique"]] == ["DEPOT"]


def test_saved_draft_stays_in_synthese(fresh_sandbox: RunningSandbox) -> None:
    with fresh_sandbox.http_client() as client:
        data = _form_data(client, _rejected(fresh_sandbox), "BROUILLON-7")
        data["action"] = "enregistrer"
        page = client.post(FORM, data=data)
        synthese = client.get("/factures-emises/synthese?taille=50").text
    assert "Le brouillon de la facture BROUILLON-7 a été enregistré." in _text(page)
    assert fresh_sandbox.invoice("BROUILLON-7")["statut"] == "BROUILLON"
    assert "Sélectionner la facture BROUILLON-7" in synthese


def test_errors_come_back_with_the_typed_values_and_accessible_messages(
    fresh_sandbox: RunningSandbox,
) -> None:
    with fresh_sandbox.http_client() as client:
        data = _form_data(client, _rejected(fresh_sandbox), "FAC 12")
        data.update({"siret_destinataire": "12345678901234", "ligne-1-prix_unitaire_ht": "10,123"})
        page = client.post(FORM, data=data)
    text = _text(page)
    assert page.url.path == FORM
    assert 'role="alert"' in text and SUMMARY in text
    assert "Le SIRET du destinataire est invalide." in text
    assert "Ligne 1 : le prix unitaire doit avoir au plus 2 décimales." in text
    assert (
        "Le numéro de facture ne peut contenir que des lettres, des chiffres et les caractères "
        "- _ / +" in text
    )
    numero = re.search(r'<input[^>]*name="numero"[^>]*>', text)
    assert numero is not None
    assert 'value="FAC 12"' in numero.group(0)
    assert 'aria-invalid="true"' in numero.group(0)
    described = re.search(r'aria-describedby="([^"]+)"', numero.group(0))
    assert described is not None
    assert f'id="{described.group(1)}"' in text
    assert 'value="10,123"' in text and 'value="12345678901234"' in text
    assert fresh_sandbox.admin("GET", "invoices/FAC 12").status_code == 404


def test_empty_number_and_no_line_are_reported(fresh_sandbox: RunningSandbox) -> None:
    with fresh_sandbox.http_client() as client:
        data = _form_data(client, _rejected(fresh_sandbox), "")
        for key in [k for k in data if k.startswith("ligne-")]:
            data[key] = ""
        text = _text(client.post(FORM, data=data))
    assert "Le numéro de facture est obligatoire." in text
    assert "La facture doit comporter au moins une ligne." in text


def test_a_number_already_deposited_this_year_is_a_duplicate(
    fresh_sandbox: RunningSandbox,
) -> None:
    source = _rejected(fresh_sandbox)
    with fresh_sandbox.http_client() as client:
        text = _text(client.post(FORM, data=_form_data(client, source, source["numero"])))
    assert (
        "Vous avez déjà déposé une demande de paiement avec ce numéro de facture pour cette "
        "structure" in text
    )


def test_totals_that_do_not_match_the_lines_are_refused(fresh_sandbox: RunningSandbox) -> None:
    with fresh_sandbox.http_client() as client:
        data = _form_data(client, _rejected(fresh_sandbox), "CORR-TOTAL")
        data["total_ttc"] = "999.99"
        text = _text(client.post(FORM, data=data))
    assert "Les montants ne correspondent pas aux lignes de la facture." in text


def test_avoir_needs_the_original_number_and_attachments_are_checked(
    fresh_sandbox: RunningSandbox,
) -> None:
    with fresh_sandbox.http_client() as client:
        data = _form_data(client, _rejected(fresh_sandbox), "AVOIR-1")
        data["type_facture"] = "AVOIR"
        files = [("pieces_jointes", ("programme.exe", b"MZ", "application/octet-stream"))]
        text = _text(client.post(FORM, data=data, files=files))
    assert "Le numéro de la facture d'origine est obligatoire pour un avoir." in text
    assert "Le format du fichier programme.exe n'est pas autorisé." in text


def test_attachments_of_a_sent_invoice_are_listed(fresh_sandbox: RunningSandbox) -> None:
    with fresh_sandbox.http_client() as client:
        data = _form_data(client, _rejected(fresh_sandbox), "CORR-PJ")
        files = [("pieces_jointes", ("devis.pdf", b"%PDF-1.4 test", "application/pdf"))]
        text = _text(client.post(FORM, data=data, files=files))
    assert "Pièces jointes</caption>" in text and "devis.pdf" in text


def test_structure_lookup_gives_the_active_services(fresh_sandbox: RunningSandbox) -> None:
    source = _rejected(fresh_sandbox)
    with fresh_sandbox.http_client() as client:
        known = client.get(f"/api/structures/{source['siret_destinataire']}")
        unknown = client.get("/api/structures/00000000000000")
    assert known.status_code == 200
    body = known.json()
    assert body["nom"] == source["nom_destinataire"]
    assert {"code", "nom"} <= set(body["services"][0])
    if source["code_service"]:
        assert source["code_service"] in [s["code"] for s in body["services"]]
    assert unknown.status_code == 404
    assert unknown.json()["erreur"] == "Aucune structure publique ne correspond à ce SIRET."
