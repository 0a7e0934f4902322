"""« Recycler » an invoice through the page objects: a new recipient, read back routed again
under the same number; every refusal raised with the portal's own words."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from portal_support import log_in

from pages import ElementMissing, FormRejected, InvoicePage, Navigator, RecyclingForm
from sandbox.model import Structure
from sandbox.server import RunningSandbox
from sandbox.store import Store

pytestmark = pytest.mark.e2e

UNCHANGED = "Modifiez au moins le SIRET du destinataire, le code service ou le numéro d'engagement."
ROUTED = ("Déposée", "Mise à disposition du destinataire")


def _open(page: Page, numero: str) -> InvoicePage:
    rows = Navigator(page).search().search(numero=numero)
    return InvoicePage(page).goto(rows[0].href)


def _to_recycle(sandbox: RunningSandbox) -> str:
    """The number of an invoice « À recycler » (seeded for the test)."""
    numero: str = sandbox.reset(seed_recycle=1)["recycle"][0]
    return numero


def _other(sandbox: RunningSandbox, exigence: str, than: str) -> Structure:
    """An active structure of the directory requiring ``exigence``, other than ``than``."""
    store = Store(sandbox.options.db_path)
    try:
        structures = store.list_structures()
    finally:
        store.close()
    return next(s for s in structures if s.exigence == exigence and s.active and s.siret != than)


def _form(page: Page, sandbox: RunningSandbox, numero: str) -> RecyclingForm:
    log_in(page, sandbox)
    return _open(page, numero).open_recycling()


def test_recycle_to_a_new_siret_and_service_and_read_it_back(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    numero = _to_recycle(fresh_sandbox)
    held = fresh_sandbox.invoice(numero)
    count = len(fresh_sandbox.invoices())
    target = _other(fresh_sandbox, "service", held["siret_destinataire"])
    log_in(page, fresh_sandbox)
    invoice = _open(page, numero)

    before = invoice.read()
    assert before.statut == "À recycler"
    assert (before.motif_rejet, before.commentaire_rejet) == (
        held["motif"],
        held["commentaire_motif"],
    )
    assert before.date_rejet is not None and before.acquittee is None  # « Recyclage » block
    assert before.siret_destinataire == held["siret_destinataire"]
    expect(invoice.acknowledge_button).to_have_count(0)
    form = invoice.open_recycling()
    for name, locator in form.expected_elements().items():
        expect(locator, name).to_be_visible()
    assert form.values() == {
        "siret_destinataire": held["siret_destinataire"],
        "code_service": held["code_service"],
        "numero_engagement": held["numero_engagement"],
    }

    services = form.set_siret(target.siret)
    assert [s.value for s in services] == [s.code for s in target.active_services]
    assert form.requirement() == "Code service obligatoire"
    chosen = form.set_code_service(target.active_services[-1].code)
    assert chosen is not None and chosen.value == target.active_services[-1].code
    form.set_engagement("")
    form.set_commentaire("Adressée au bon service.")
    said = form.submit()

    assert said == (f"La facture {numero} a été recyclée.",)
    after = InvoicePage(page).wait().read()
    assert after.numero == numero and after.statut in ROUTED
    assert (after.siret_destinataire, after.destinataire) == (target.siret, target.nom)
    assert (after.code_service, after.numero_engagement) == (chosen.value, "")
    assert after.commentaire == "Adressée au bon service."
    assert after.historique == before.historique  # no action logged for recycling
    assert (after.date_depot, after.montant_ttc, after.lignes) == (
        before.date_depot,
        before.montant_ttc,
        before.lignes,
    )
    assert after.motif_rejet == ""  # no « Recyclage » block any more
    expect(InvoicePage(page).recycle_button).to_have_count(0)
    assert len(fresh_sandbox.invoices()) == count  # same invoice, no new one
    assert Navigator(page).synthese().find_row(numero) is None


def test_each_refusal_is_raised_with_the_portals_message_and_changes_nothing(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    numero = _to_recycle(fresh_sandbox)
    held = fresh_sandbox.invoice(numero)
    requiring = _other(fresh_sandbox, "service", held["siret_destinataire"])
    form = _form(page, fresh_sandbox, numero)

    with pytest.raises(FormRejected) as unchanged:
        form.submit()
    assert unchanged.value.messages == (UNCHANGED,)

    assert form.wait().set_siret("73282932000074") == []  # valid, but no such structure
    with pytest.raises(FormRejected) as unknown:
        form.submit()
    assert unknown.value.messages == ("Aucune structure publique ne correspond à ce SIRET.",)
    assert form.wait().errors() == unknown.value.messages

    form.set_siret(requiring.siret)
    assert form.set_code_service("") is None
    with pytest.raises(FormRejected) as missing:
        form.submit()
    assert missing.value.messages == ("Le code service est obligatoire pour cette structure.",)
    assert form.wait().values()["siret_destinataire"] == requiring.siret  # kept

    assert fresh_sandbox.invoice(numero) == held


def test_recycling_an_invoice_no_longer_to_recycle_is_refused(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    numero = _to_recycle(fresh_sandbox)
    form = _form(page, fresh_sandbox, numero)
    rejected = fresh_sandbox.admin("POST", f"invoices/{numero}/reject", json={"motif": "AUTRE"})
    assert rejected.status_code == 200

    form.set_engagement("BC-2026-9999")
    with pytest.raises(FormRejected) as refused:
        form.submit()

    assert refused.value.messages == (f"La facture {numero} n'est pas à recycler.",)
    record = InvoicePage(page).wait().read()
    assert record.statut == "Rejetée" and record.numero_engagement != "BC-2026-9999"


def test_recycler_is_not_offered_for_an_invoice_not_to_recycle(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    delivered = fresh_sandbox.invoices(status="MISE_A_DISPOSITION")[0]["numero"]
    log_in(page, fresh_sandbox)
    with pytest.raises(ElementMissing, match="« Recycler »"):
        _open(page, delivered).open_recycling()
