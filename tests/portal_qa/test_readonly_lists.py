"""QA, read-only: « Synthèse », « Rechercher », an invoice's page, the entry form opened and
left, the rejections collected. Safe on production.

On the sandbox, its admin interface also checks that the portal shows what it holds and that
nothing was changed.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from _target import QaPortal, pending_rejections, sandbox_state
from playwright.sync_api import Page

from pages import InvoicePage, Navigator, SearchPage
from scenarios import collect_rejections

pytestmark = [pytest.mark.readonly, pytest.mark.e2e]

#: What « Synthèse » lists: invoices the supplier must act on (docs/portal.md, « Navigation »).
WORK_STATUSES = {"Brouillon", "Rejetée", "Suspendue", "À recycler"}


def test_synthese_lists_only_invoices_that_need_an_action_newest_first(
    qa_page: Page, qa_portal: QaPortal
) -> None:
    rows = Navigator(qa_page).synthese().rows()
    assert {row.statut for row in rows} <= WORK_STATUSES
    deposited = [row.deposited_at for row in rows if row.deposited_at is not None]
    assert deposited == sorted(deposited, reverse=True)
    if qa_portal.sandbox is not None:
        assert pending_rejections(qa_portal) <= {row.numero for row in rows}


def test_search_by_number_finds_that_invoice_and_opens_it(qa_page: Page) -> None:
    listed = Navigator(qa_page).synthese().rows()
    assert listed, "« Synthèse » est vide : aucune facture à rechercher"
    wanted = listed[0]
    search = Navigator(qa_page).search()
    found = [
        row for row in search.search(numero=wanted.numero.lower()) if row.statut == wanted.statut
    ]
    assert [row.numero for row in found][:1] == [wanted.numero]
    record = SearchPage(qa_page).open_row(found[0]).read()
    assert record.numero == wanted.numero
    assert record.statut == wanted.statut
    assert record.montant_ttc == wanted.montant_ttc


def test_rejected_invoice_page_shows_motive_amounts_lines_and_history(qa_page: Page) -> None:
    listed = Navigator(qa_page).synthese().rows()
    rejected = [row for row in listed if row.statut == "Rejetée"] or listed
    assert rejected, "« Synthèse » est vide : aucune facture à consulter"
    record = InvoicePage(qa_page).goto(rejected[0].href).read()
    assert record.numero == rejected[0].numero
    assert record.lignes
    assert record.montant_ht is not None and record.montant_tva is not None
    assert record.montant_ttc == record.montant_ht + record.montant_tva
    assert sum((line.montant_ht for line in record.lignes), Decimal("0")) == record.montant_ht
    if record.statut == "Rejetée":
        assert record.motif_rejet
        assert record.acquittee is not None and record.rejet_traite is False
        assert "Rejet de la facture" in {entry.action for entry in record.historique}


def test_entry_form_opens_with_every_block_and_sends_nothing(
    qa_page: Page, qa_portal: QaPortal
) -> None:
    before = sandbox_state(qa_portal)
    form = Navigator(qa_page).entry_form()
    assert form.missing_elements() == []
    assert form.lignes.count() == 1
    assert form.recap.totals()["Total TTC"] == Decimal("0.00")
    assert form.fournisseur.accounts()
    assert sandbox_state(qa_portal) == before


def test_collecting_rejections_reads_each_one_and_acknowledges_nothing(
    qa_page: Page, qa_portal: QaPortal
) -> None:
    before = sandbox_state(qa_portal)
    rejections = collect_rejections(qa_page, details=True)
    for rejection in rejections:
        assert rejection.invoice is not None
        assert rejection.invoice.numero == rejection.numero
        assert rejection.invoice.statut == "Rejetée" and rejection.motif
    if qa_portal.sandbox is not None:
        assert {r.numero for r in rejections} == pending_rejections(qa_portal)
        assert sandbox_state(qa_portal) == before
