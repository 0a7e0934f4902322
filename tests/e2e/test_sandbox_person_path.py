"""A person's full path through the sandbox in real headless Chromium (SCREENS.md).

Role and label locators only, web-first assertions only.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import FilePayload, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from sandbox.server import RunningSandbox

pytestmark = pytest.mark.e2e


def _log_in(page: Page, sandbox: RunningSandbox) -> None:
    page.goto(sandbox.url + "/")
    page.get_by_role("link", name="Se connecter").click()
    page.get_by_label("Identifiant").fill(sandbox.options.user)
    page.get_by_label("Mot de passe").fill(sandbox.options.password)
    page.get_by_role("button", name="Connexion").click()
    expect(page.get_by_role("heading", name="Accueil")).to_be_visible()


def _choose(page: Page, name: str, typed: str, option: str | re.Pattern[str]) -> None:
    """A Select2 drop-down, as a person uses it: click the combobox, type in its search box,
    click the option."""
    page.get_by_role("combobox", name=name, exact=True).click()
    page.get_by_role("searchbox", name="Rechercher").fill(typed)
    page.get_by_role("listbox", name=name, exact=True).get_by_role(
        "option", name=option, exact=isinstance(option, str)
    ).click()
    expect(page.get_by_role("listbox")).to_have_count(0)


def _pending(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    return [i for i in sandbox.invoices(status="REJETEE") if not i["acquittee"]]


def _open_form(page: Page) -> None:
    page.get_by_role("navigation", name="Factures émises").get_by_role(
        "link", name="Saisir une facture"
    ).click()
    expect(page.get_by_role("heading", name="Saisir une facture")).to_be_visible()


def test_person_acknowledges_processes_and_reissues_a_rejected_invoice(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    fresh_sandbox.reset(seed=2)
    rejected = _pending(fresh_sandbox)[0]
    number = rejected["numero"]
    new_number = "FAC-CORR-0001"
    _log_in(page, fresh_sandbox)

    # Rejection window: read, tick one invoice, acknowledge it.
    window = page.get_by_role("dialog", name="Factures rejetées ou suspendues")
    expect(window.get_by_role("cell", name=rejected["motif"]).first).to_be_visible()
    window.get_by_label(f"Sélectionner la facture {number}").check()
    window.get_by_role("button", name="Acquitter les factures sélectionnées").click()
    expect(page.get_by_role("status")).to_have_text("1 facture(s) acquittée(s).")
    expect(window.get_by_label(f"Sélectionner la facture {number}")).to_have_count(0)
    window.get_by_role("button", name="Fermer", exact=True).click()
    expect(window).to_be_hidden()

    # Accueil → Facturation → Factures émises → Synthèse.
    page.get_by_role("region", name="Facturation").get_by_role(
        "link", name="Accéder au domaine"
    ).click()
    page.get_by_role("link", name="Factures émises").click()
    space_nav = page.get_by_role("navigation", name="Factures émises")
    space_nav.get_by_role("link", name="Synthèse").click()
    expect(space_nav.get_by_role("link", name="Synthèse")).to_have_attribute("aria-current", "page")
    synthese = page.get_by_role("table", name="Synthèse")
    synthese.get_by_label(f"Sélectionner la facture {number}").check()
    page.get_by_role("button", name="Traiter le rejet").click()
    expect(page.get_by_role("status")).to_have_text(
        f"Le rejet de la facture {number} a été traité."
    )
    expect(synthese.get_by_role("link", name=number, exact=True)).to_have_count(0)

    # Open it through « Rechercher »: both actions are in the history.
    space_nav.get_by_role("link", name="Rechercher").click()
    page.get_by_label("Numéro de facture").fill(number)
    page.get_by_role("search").get_by_role("button", name="Rechercher").click()
    page.get_by_role("table", name="Résultats de la recherche").get_by_role(
        "link", name=number, exact=True
    ).click()
    expect(page.get_by_role("heading", name=f"Facture {number}")).to_be_visible()
    history = page.get_by_role("region", name="Historique des actions utilisateurs")
    expect(history.get_by_role("cell", name="Acquittement du rejet")).to_be_visible()
    expect(history.get_by_role("cell", name="Traitement du rejet")).to_be_visible()

    # Reissue under a new number: every block of « Saisir une facture ».
    _open_form(page)
    _choose(page, "Cadre de facturation", "A1 -", "A1 - Dépôt par un fournisseur d'une facture")
    page.get_by_label("SIRET du destinataire").fill(rejected["siret_destinataire"])
    page.get_by_label("SIRET du destinataire").press("Tab")
    service = page.get_by_role("combobox", name="Code service", exact=True)
    expect(service).to_have_text("Sélectionnez un service")
    if rejected["code_service"]:
        code = rejected["code_service"]
        _choose(page, "Code service", code, re.compile(rf"^{re.escape(code)} - "))
        expect(service).to_have_text(re.compile(rf"^{re.escape(code)} - "))
    page.get_by_role("combobox", name="Coordonnées bancaires", exact=True).click()
    page.get_by_role("listbox", name="Coordonnées bancaires").get_by_role("option").nth(1).click()
    _choose(page, "Type de facture", "fact", "Facture")
    page.get_by_label("Numéro", exact=True).fill(new_number)
    page.get_by_label("Date de facture").fill(rejected["date_facture"])
    _choose(page, "Devise", "eur", "EUR")
    _choose(page, "Type de TVA", "debits", "TVA sur les débits")
    _choose(page, "Mode de paiement", "vire", "Virement")
    page.get_by_label("Numéro d'engagement").fill(rejected["numero_engagement"])
    page.get_by_label("Numéro de marché").fill("MARCHE-2026-01")
    page.get_by_label("Référence ligne 1").fill("ART-1")
    page.get_by_label("Désignation ligne 1").fill("Maintenance annuelle")
    page.get_by_label("Quantité ligne 1").fill("2")
    page.get_by_label("Unité ligne 1").fill("jour")
    page.get_by_label("Prix unitaire HT ligne 1").fill("450,50")
    page.get_by_label("Remise ligne 1").fill("1")
    page.get_by_role("button", name="Ajouter une ligne").click()
    page.get_by_label("Désignation ligne 2").fill("Support")
    page.get_by_label("Quantité ligne 2").fill("1,5")
    page.get_by_label("Prix unitaire HT ligne 2").fill("100")
    _choose(page, "Taux de TVA ligne 2", "5,5", "5,5 %")
    # 2 × 450,50 − 1 = 900,00 at 20 %; 150,00 at 5,5 % → TVA 180,00 + 8,25.
    expect(page.get_by_label("Total HT")).to_have_text("1\u202f050,00 €")
    expect(page.get_by_label("Total TVA")).to_have_text("188,25 €")
    expect(page.get_by_label("Total TTC")).to_have_text("1\u202f238,25 €")
    expect(page.get_by_label("Montant à payer")).to_have_text("1\u202f238,25 €")
    attachment: FilePayload = {
        "name": "bon-de-commande.pdf",
        "mimeType": "application/pdf",
        "buffer": b"%PDF-1.4",
    }
    page.get_by_label("Ajouter des pièces jointes").set_input_files(files=[attachment])
    page.get_by_label("Commentaire").fill(f"Remplace la facture {number}.")
    page.get_by_role("button", name="Valider et envoyer").click()
    confirm = page.get_by_role("dialog", name="Confirmation d'envoi")
    expect(confirm).to_contain_text(f"Confirmez-vous l'envoi de la facture {new_number} ?")
    confirm.get_by_role("button", name="Confirmer et envoyer").click()
    expect(page.get_by_role("status")).to_have_text(
        f"La facture {new_number} a été validée et est en cours d'acheminement "
        "vers le service concerné."
    )
    expect(page.get_by_role("heading", name=f"Facture {new_number}")).to_be_visible()
    expect(page.get_by_role("table", name="Pièces jointes")).to_contain_text("bon-de-commande.pdf")

    # And it can be found.
    space_nav.get_by_role("link", name="Rechercher").click()
    page.get_by_label("Numéro de facture").fill(new_number)
    page.get_by_role("search").get_by_role("button", name="Rechercher").click()
    results = page.get_by_role("table", name="Résultats de la recherche")
    expect(results.get_by_role("link", name=new_number, exact=True)).to_be_visible()

    # Its documents: the PDF and the attachment sent with it.
    results.get_by_role("button", name=f"Télécharger la facture {new_number}").click()
    documents = page.get_by_role("dialog", name=f"Télécharger la facture {new_number}")
    with page.expect_download() as attachment_download:
        documents.get_by_role("link", name="bon-de-commande.pdf").click()
    assert attachment_download.value.suggested_filename == "bon-de-commande.pdf"
    with page.expect_download() as pdf_download:
        documents.get_by_role("link", name="Facture au format PDF").click()
    assert pdf_download.value.suggested_filename == f"facture_{new_number}.pdf"
    documents.get_by_role("button", name="Fermer").click()
    expect(documents).to_have_count(0)

    # And the results as a spreadsheet: one row, as the table shows it.
    with page.expect_download() as export:
        page.get_by_role("button", name="Exporter").click()
    lines = Path(export.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "Numéro de facture;Date de dépôt;Destinataire;Montant TTC;Statut"
    assert len(lines) == 2 and lines[1].startswith(new_number + ";")
    row = lines[1].split(";")
    assert row[3] == "1\u202f238,25 €" and row[4] in (
        "En cours d'acheminement",
        "Mise à disposition du destinataire",  # routed meanwhile (acheminement_s)
    )


def test_entry_form_shows_every_error_and_keeps_what_was_typed(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    _log_in(page, fresh_sandbox)
    window = page.get_by_role("dialog", name="Factures rejetées ou suspendues")
    window.get_by_role("button", name="Fermer", exact=True).click()
    page.get_by_role("region", name="Facturation").get_by_role(
        "link", name="Accéder au domaine"
    ).click()
    page.get_by_role("link", name="Factures émises").click()
    _open_form(page)
    page.get_by_label("SIRET du destinataire").fill("12345678901234")
    page.get_by_label("Numéro", exact=True).fill("FAC 2026")
    page.get_by_label("Désignation ligne 1").fill("Prestation")
    page.get_by_label("Quantité ligne 1").fill("1")
    page.get_by_label("Prix unitaire HT ligne 1").fill("10,123")
    page.get_by_role("button", name="Valider et envoyer").click()
    page.get_by_role("dialog", name="Confirmation d'envoi").get_by_role(
        "button", name="Confirmer et envoyer"
    ).click()

    summary = page.get_by_role("alert").filter(has_text="Le formulaire contient des erreurs")
    expect(summary).to_contain_text("Le SIRET du destinataire est invalide.")
    expect(summary).to_contain_text(
        "Le numéro de facture ne peut contenir que des lettres, des chiffres "
        "et les caractères - _ / +"
    )
    expect(summary).to_contain_text("Ligne 1 : le prix unitaire doit avoir au plus 2 décimales.")
    numero = page.get_by_label("Numéro", exact=True)
    expect(numero).to_have_value("FAC 2026")
    expect(numero).to_have_attribute("aria-invalid", "true")
    expect(numero).to_have_accessible_description(re.compile("ne peut contenir que des lettres"))
    expect(page.get_by_label("SIRET du destinataire")).to_have_value("12345678901234")
    expect(page.get_by_label("Prix unitaire HT ligne 1")).to_have_value("10,123")
    expect(page.get_by_label("Désignation ligne 1")).to_have_value("Prestation")


def test_slow_synthese_shows_a_progressbar_until_its_table_arrives(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    _log_in(page, fresh_sandbox)
    fresh_sandbox.set_faults(slow_list_ms=800)
    page.goto(fresh_sandbox.url + "/factures-emises/synthese")
    expect(page.get_by_role("progressbar", name="Chargement en cours…")).to_be_visible()
    expect(page.get_by_role("table", name="Synthèse")).to_be_visible()
    expect(page.get_by_role("progressbar")).to_have_count(0)


def test_information_popup_covers_the_page_until_acknowledged(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    fresh_sandbox.set_faults(popup_rate=1.0, layout_drift=True)
    page.goto(fresh_sandbox.url + "/connexion")
    popup = page.get_by_role("dialog", name="Information")
    expect(popup).to_be_visible()
    with pytest.raises(PlaywrightTimeoutError, match="intercepts pointer events"):
        page.get_by_label("Identifiant").click(timeout=1000)
    popup.get_by_role("button", name="J'ai compris").click()
    expect(popup).to_have_count(0)
    page.get_by_label("Identifiant").fill(fresh_sandbox.options.user)
    page.get_by_label("Mot de passe").fill(fresh_sandbox.options.password)
    page.get_by_role("button", name="Connexion").click()
    expect(page.get_by_role("heading", name="Accueil")).to_be_visible()
