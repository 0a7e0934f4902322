"""« Synthèse » through its page object: every page of the list, « Traiter le rejet »."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from portal_support import log_in

from pages import InvoicePage, Navigator, SynthesePage
from sandbox.server import RunningSandbox

pytestmark = pytest.mark.e2e

#: Statuses « Synthèse » lists (its work list), as API codes.
WORK_LIST = {"BROUILLON", "SUSPENDUE", "A_RECYCLER"}


def _in_work_list(sandbox: RunningSandbox) -> dict[str, dict[str, Any]]:
    return {
        i["numero"]: i
        for i in sandbox.invoices()
        if i["statut"] in WORK_LIST or (i["statut"] == "REJETEE" and not i["rejet_traite"])
    }


def _acknowledge_on_portal(page: Page, numero: str) -> None:
    InvoicePage(page).goto(Navigator(page).search().search(numero=numero)[0].href).acknowledge()


def test_rows_follow_every_page_and_read_35_rejections(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    fresh_sandbox.reset(seed=35)
    log_in(page, fresh_sandbox)
    synthese = Navigator(page).synthese(rows_per_page=None)
    rows = synthese.rows(rows_per_page=None)  # 10 a page
    expected = _in_work_list(fresh_sandbox)
    assert len(rows) == len(expected) >= 35 + len(WORK_LIST)
    assert {row.numero for row in rows} == set(expected)
    rejected = [row for row in rows if row.statut == "Rejetée"]
    assert len(rejected) >= 35
    for row in rows:
        assert row.montant_ttc == Decimal(expected[row.numero]["montant_ttc"])
    assert all(row.acquittee is False for row in rejected)
    pages = -(-len(expected) // 10)
    assert pages >= 4
    expect(page.get_by_text(f"Page {pages} sur {pages}")).to_be_visible()


def test_fifty_rows_a_page_read_the_same_list_in_one_page(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    fresh_sandbox.reset(seed=35)
    log_in(page, fresh_sandbox)
    rows = Navigator(page).synthese().rows(rows_per_page=50)
    assert {row.numero for row in rows} == set(_in_work_list(fresh_sandbox))
    expect(page.get_by_text("Page 1 sur 1")).to_be_visible()
    deposited = [row.deposited_at for row in rows if row.statut != "Brouillon"]
    dates = [moment for moment in deposited if moment is not None]
    assert len(dates) == len(deposited) >= 35
    assert dates == sorted(dates, reverse=True)  # newest first


def test_find_row_finds_an_invoice_on_a_later_page(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    fresh_sandbox.reset(seed=35)
    log_in(page, fresh_sandbox)
    synthese = Navigator(page).synthese()
    oldest = synthese.rows(rows_per_page=10)[-1]
    found = synthese.find_row(oldest.numero)
    assert found == oldest
    assert synthese.find_row("N-EXISTE-PAS") is None


def test_processing_an_acknowledged_rejection_removes_it_from_the_list(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    numero = sorted(i["numero"] for i in fresh_sandbox.invoices(status="REJETEE"))[-1]
    _acknowledge_on_portal(page, numero)
    synthese = Navigator(page).synthese()
    said = synthese.process_rejection([numero])
    assert said == [f"Le rejet de la facture {numero} a été traité."]
    assert synthese.find_row(numero) is None
    assert fresh_sandbox.invoice(numero)["rejet_traite"] is True


def test_processing_an_unacknowledged_rejection_returns_the_portals_alert(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    numero = next(
        i["numero"] for i in fresh_sandbox.invoices(status="REJETEE") if not i["acquittee"]
    )
    said = Navigator(page).synthese().process_rejection([numero])
    assert said == [f"La facture {numero} doit être acquittée avant de traiter le rejet."]
    assert fresh_sandbox.invoice(numero)["rejet_traite"] is False


def test_slow_list_is_read_once_its_spinner_is_gone(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    fresh_sandbox.set_faults(slow_list_ms=400)
    synthese = Navigator(page).synthese()
    assert {row.numero for row in synthese.rows(rows_per_page=None)} == set(
        _in_work_list(fresh_sandbox)
    )
    for name, locator in SynthesePage(page).expected_elements().items():
        expect(locator, name).to_be_visible()


def test_the_list_navigation_showed_is_walked_from_there_without_checking_it_again(
    page: Page, fresh_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh_sandbox.reset(seed=35)
    log_in(page, fresh_sandbox)
    waits: list[str] = []
    original = SynthesePage.wait

    def counted(self: SynthesePage) -> SynthesePage:
        waits.append(page.url)
        return original(self)

    monkeypatch.setattr(SynthesePage, "wait", counted)
    synthese = Navigator(page).synthese()  # first page, 50 rows a page
    assert {row.numero for row in synthese.rows()} == set(_in_work_list(fresh_sandbox))
    assert waits == []
    # Another page size than the one shown: chosen on the list, from its first page.
    synthese = Navigator(page).synthese(rows_per_page=None)
    rows = synthese.rows(rows_per_page=10)
    assert len(waits) == 1
    assert {row.numero for row in rows} == set(_in_work_list(fresh_sandbox))
    expect(page.get_by_role("combobox", name="Lignes par page")).to_have_text("10")
    # Walked once: the next walk checks where the list stands (last page now).
    synthese.rows(rows_per_page=None)
    assert len(waits) == 2
