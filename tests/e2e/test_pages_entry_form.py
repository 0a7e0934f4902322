"""« Saisir une facture » through its block objects: loading, lines, totals, refusals, sending."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from portal_support import log_in

from pages import (
    EntryForm,
    FormRejected,
    InvoiceLine,
    LoginRequired,
    Navigator,
    OptionUnavailable,
    PortalUnavailable,
)
from pages._options import selected_value
from sandbox.server import RunningSandbox

pytestmark = pytest.mark.e2e

DUPLICATE = (
    "Vous avez déjà déposé une demande de paiement avec ce numéro de facture pour cette structure"
)


def _line(designation: str, quantite: str, prix: str, taux: str = "20") -> InvoiceLine:
    return InvoiceLine(
        reference="REF",
        designation=designation,
        quantite=Decimal(quantite),
        unite="jour",
        prix_unitaire_ht=Decimal(prix),
        remise=Decimal("0"),
        taux_tva=Decimal(taux),
    )


def _model(sandbox: RunningSandbox) -> dict[str, Any]:
    """A seeded invoice whose recipient has a code service (reused as form data)."""
    return next(i for i in sandbox.invoices(status="REJETEE") if i["code_service"])


def _fill_valid(form: EntryForm, model: dict[str, Any], numero: str) -> None:
    form.cadre.set("A1")
    form.destinataire.set_siret(model["siret_destinataire"])
    form.destinataire.set_code_service(model["code_service"])
    form.fournisseur.set_account()
    form.references.set_numero(numero)
    form.references.set_date(date.fromisoformat(model["date_facture"]))
    form.references.set_engagement(model["numero_engagement"])
    form.lignes.set_lines([_line("Audit", "2", "150.50")])


def test_siret_loads_the_services_of_its_structure(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    model = _model(fresh_sandbox)
    log_in(page, fresh_sandbox)
    form = Navigator(page).entry_form()
    for name, locator in form.expected_elements().items():
        expect(locator, name).to_be_attached()
    services = form.destinataire.set_siret(model["siret_destinataire"])
    assert model["code_service"] in {service.value for service in services}
    assert all(service.label.startswith(service.value + " - ") for service in services)
    chosen = form.destinataire.set_code_service(model["code_service"])
    expect(form.destinataire.code_service).to_have_text(chosen.label)  # the widget shows it
    assert selected_value(form.destinataire.code_service) == chosen.value  # the form sends it
    with pytest.raises(OptionUnavailable):
        form.destinataire.set_code_service("SERVICE-INCONNU")


def test_siret_of_no_structure_loads_no_service(page: Page, fresh_sandbox: RunningSandbox) -> None:
    log_in(page, fresh_sandbox)
    block = Navigator(page).entry_form().destinataire

    assert block.set_siret("12345678901234") == []

    expect(block.group).to_contain_text("Aucune structure publique ne correspond à ce SIRET.")
    expect(block.siret).to_have_value("12345678901234")


def test_services_the_portal_fails_to_send_are_a_portal_unavailable(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    model = _model(fresh_sandbox)
    log_in(page, fresh_sandbox)
    block = Navigator(page).entry_form().destinataire
    fresh_sandbox.set_faults(error_rate=1.0)  # the page's request for the services fails

    with pytest.raises(PortalUnavailable, match="liste des services"):
        block.set_siret(model["siret_destinataire"])


def test_session_lost_while_the_services_load_raises_login_required_at_once(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    model = _model(fresh_sandbox)
    log_in(page, fresh_sandbox)
    block = Navigator(page).entry_form().destinataire
    # The robot's own action timeout: a wait that lasted until it would end in a
    # PortalUnavailable (« n'a pas répondu à temps »), not in LoginRequired.
    page.set_default_timeout(15_000)
    assert fresh_sandbox.admin("POST", "sessions/expire").status_code == 200

    script_request = {"xhr", "fetch"}
    with (
        page.expect_response(lambda r: r.request.resource_type in script_request) as answer,
        pytest.raises(LoginRequired, match="session expirée pendant le chargement des services"),
    ):
        block.set_siret(model["siret_destinataire"])

    assert answer.value.status == 401  # the page's request was refused: the session is gone
    expect(page.get_by_label("Mot de passe", exact=True)).to_be_visible()


def test_lines_are_added_removed_and_totalled_live(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    lignes = Navigator(page).entry_form().lignes
    lignes.set_lines(
        [_line("A", "2", "100"), _line("B", "1", "50.25", "5.5"), _line("C", "3", "1")]
    )
    assert lignes.count() == 3
    totals = EntryForm(page).recap.totals()
    assert totals["Total HT"] == Decimal("253.25")
    assert totals["Total TVA"] == Decimal("40.00") + Decimal("2.76") + Decimal("0.60")
    lignes.remove(1)
    assert lignes.count() == 2
    expect(lignes.input(1, "Désignation")).to_have_value("B")  # renumbered
    assert EntryForm(page).recap.totals()["Total TTC"] == Decimal("56.61")


def test_empty_form_is_refused_with_the_portals_own_messages(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    form = Navigator(page).entry_form()
    with pytest.raises(FormRejected) as refused:
        form.submit()
    messages = refused.value.messages
    assert "Le numéro de facture est obligatoire." in messages
    assert "Le SIRET du destinataire est obligatoire." in messages
    assert "La facture doit comporter au moins une ligne." in messages
    expect(form.references.field("Numéro")).to_have_attribute("aria-invalid", "true")


def test_duplicate_number_is_refused_with_the_portals_message(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    model = _model(fresh_sandbox)
    log_in(page, fresh_sandbox)
    form = Navigator(page).entry_form()
    _fill_valid(form, model, model["numero"])
    with pytest.raises(FormRejected) as refused:
        form.submit()
    assert refused.value.messages == (DUPLICATE,)
    expect(form.references.field("Numéro")).to_have_value(model["numero"])  # kept


def test_attachment_with_a_forbidden_format_is_refused(
    page: Page, fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    model = _model(fresh_sandbox)
    program = tmp_path / "programme.exe"
    program.write_bytes(b"MZ")
    log_in(page, fresh_sandbox)
    form = Navigator(page).entry_form()
    _fill_valid(form, model, "PJ-REFUSEE-1")
    form.pieces_jointes.attach([program])
    with pytest.raises(FormRejected) as refused:
        form.submit()
    assert refused.value.messages == ("Le format du fichier programme.exe n'est pas autorisé.",)


def test_valid_form_is_sent_after_confirmation(
    page: Page, fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    model = _model(fresh_sandbox)
    proof = tmp_path / "bon-de-commande.pdf"
    proof.write_bytes(b"%PDF-1.4\n")
    log_in(page, fresh_sandbox)
    form = Navigator(page).entry_form()
    _fill_valid(form, model, "NOUVELLE-0001")
    form.pieces_jointes.attach([proof])
    form.commentaire.set("Facture corrigée")
    said = form.submit()
    assert said == (
        "La facture NOUVELLE-0001 a été validée et est en cours d'acheminement vers le "
        "service concerné."
    )
    held = fresh_sandbox.invoice("NOUVELLE-0001")
    assert held["statut"] in ("EN_COURS_ACHEMINEMENT", "MISE_A_DISPOSITION")
    assert held["montant_ht"] == "301.00"
    assert [pj["nom"] for pj in held["pieces_jointes"]] == ["bon-de-commande.pdf"]
    assert held["commentaire"] == "Facture corrigée"


def test_draft_is_saved_without_being_sent(page: Page, fresh_sandbox: RunningSandbox) -> None:
    model = _model(fresh_sandbox)
    log_in(page, fresh_sandbox)
    form = Navigator(page).entry_form()
    _fill_valid(form, model, "BROUILLON-0001")
    said = form.save_draft()
    assert said == "Le brouillon de la facture BROUILLON-0001 a été enregistré."
    assert fresh_sandbox.invoice("BROUILLON-0001")["statut"] == "BROUILLON"
