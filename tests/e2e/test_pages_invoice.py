"""The consultation page object reads every field as the portal holds it (admin JSON)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from portal_support import log_in

from pages import InvoicePage, InvoiceRecord, Navigator
from sandbox.fmt import PARIS
from sandbox.model import (
    ACTION_LABELS,
    CADRES,
    MODES_PAIEMENT,
    STATUS_LABELS,
    TYPES_FACTURE,
    TYPES_TVA,
    Action,
    Status,
)
from sandbox.server import RunningSandbox

pytestmark = pytest.mark.e2e


def _open(page: Page, numero: str) -> InvoicePage:
    rows = Navigator(page).search().search(numero=numero)
    return InvoicePage(page).goto(rows[0].href)


def _minute(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(PARIS).replace(second=0, microsecond=0)


def _assert_same(record: InvoiceRecord, held: dict[str, Any]) -> None:
    assert record.numero == held["numero"]
    assert record.statut == STATUS_LABELS[Status(held["statut"])]
    assert record.type_facture == TYPES_FACTURE[held["type_facture"]]
    assert record.cadre == CADRES[held["cadre"]]
    assert record.siret_destinataire == held["siret_destinataire"]
    assert record.destinataire == held["nom_destinataire"]
    assert record.code_service == held["code_service"]
    assert record.numero_engagement == held["numero_engagement"]
    assert record.numero_marche == held["numero_marche"]
    assert record.numero_facture_origine == held["numero_facture_origine"]
    assert record.commentaire == held["commentaire"]
    assert record.devise == "EUR"
    assert record.type_tva in TYPES_TVA.values()
    assert record.mode_paiement in MODES_PAIEMENT.values()
    assert record.fournisseur
    assert " - FR76 " in record.coordonnees_bancaires
    assert record.montant_ht == Decimal(held["montant_ht"])
    assert record.montant_tva == Decimal(held["montant_tva"])
    assert record.montant_ttc == Decimal(held["montant_ttc"])
    assert record.date_facture is not None
    assert record.date_facture.isoformat() == held["date_facture"]
    if held["date_depot"]:
        assert record.date_depot == _minute(held["date_depot"])
    assert [(line.reference, line.designation) for line in record.lignes] == [
        (line["reference"], line["designation"]) for line in held["lignes"]
    ]
    for line, held_line in zip(record.lignes, held["lignes"], strict=True):
        assert line.quantite == Decimal(held_line["quantite"])
        assert line.unite == held_line["unite"]
        assert line.prix_unitaire_ht == Decimal(held_line["prix_unitaire_ht"])
        assert line.remise == Decimal(held_line["remise"])
        assert line.taux_tva == Decimal(held_line["taux_tva"])
        assert line.montant_ht == Decimal(held_line["montant_ht"])
    assert record.pieces_jointes == tuple(pj["nom"] for pj in held["pieces_jointes"])
    assert [entry.action for entry in record.historique] == [
        ACTION_LABELS[Action(h["action"])] for h in held["historique"]
    ]
    assert [entry.utilisateur for entry in record.historique] == [
        h["utilisateur"] for h in held["historique"]
    ]


def test_every_field_of_rejected_and_attached_invoices_matches_what_the_portal_holds(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    held_invoices = [
        held
        for held in fresh_sandbox.invoices()
        if held["statut"] == "REJETEE" or held["pieces_jointes"] or held["statut"] == "BROUILLON"
    ]
    links = {row.numero: row.href for row in Navigator(page).search().search()}
    attachments = 0
    for held in held_invoices:
        record = InvoicePage(page).goto(links[held["numero"]]).read()
        _assert_same(record, held)
        attachments += len(record.pieces_jointes)
    assert attachments > 0  # the seed has attachments: their table was read too


def test_rejection_block_is_read_with_motive_comment_and_flags(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    held = next(i for i in fresh_sandbox.invoices(status="REJETEE") if i["commentaire_motif"])
    record = _open(page, held["numero"]).read()
    assert record.motif_rejet == held["motif"]
    assert record.commentaire_rejet == held["commentaire_motif"]
    assert record.acquittee is held["acquittee"] is False
    assert record.rejet_traite is held["rejet_traite"] is False
    assert record.date_rejet is not None
    assert record.date_rejet.date() == _minute(held["date_motif"]).date()
    assert record.url.startswith(fresh_sandbox.url)


def test_acknowledge_on_the_consultation_page_shows_acquittee_oui(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    numero = next(
        i["numero"] for i in fresh_sandbox.invoices(status="REJETEE") if not i["acquittee"]
    )
    invoice = _open(page, numero)
    for name, locator in invoice.expected_elements().items():
        expect(locator, name).to_be_visible()
    said = invoice.acknowledge()
    assert said == [f"La facture {numero} a été acquittée."]
    record = invoice.read()
    assert record.acquittee is True
    assert record.historique[-1].action == "Acquittement du rejet"
    expect(invoice.acknowledge_button).to_have_count(0)
    assert fresh_sandbox.invoice(numero)["acquittee"] is True


def test_all_blocks_read_in_one_round_trip_match_the_blocks_read_one_by_one(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    held = next(h for h in fresh_sandbox.invoices("REJETEE") if len(h["lignes"]) > 1)
    invoice = _open(page, held["numero"])
    at_once = invoice._read_at_once()
    assert at_once is not None
    assert at_once == invoice._read_block_by_block()
    assert at_once["motif_rejet"] and len(at_once["lignes"]) == len(held["lignes"])


def test_a_block_labelled_otherwise_is_read_block_by_block(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    held = next(iter(fresh_sandbox.invoices("REJETEE")))
    invoice = _open(page, held["numero"])
    # Named by its title: the role locator still finds it, the one-call read cannot tell it.
    page.evaluate(
        """() => {
          const heading = Array.from(document.querySelectorAll('h2, h3'))
            .find(h => h.textContent.trim() === 'Informations de la facture');
          const region = heading.closest('section');
          region.removeAttribute('aria-labelledby');
          region.setAttribute('role', 'region');
          region.setAttribute('title', 'Informations de la facture');
        }"""
    )
    expect(invoice.info_region).to_have_count(1)
    assert invoice._read_at_once() is None
    _assert_same(invoice.read(), held)
