"""« Rechercher » through its page object: criteria, every page of results, opening one."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from portal_support import log_in

from pages import LoginRequired, Navigator
from sandbox.server import RunningSandbox

pytestmark = pytest.mark.e2e


def test_search_by_number_finds_exactly_that_invoice_whatever_its_case(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    held = fresh_sandbox.invoices(status="MISE_A_DISPOSITION")[0]
    rows = Navigator(page).search().search(numero=held["numero"].lower())
    assert [(row.numero, row.statut) for row in rows] == [
        (held["numero"], "Mise à disposition du destinataire")
    ]
    assert rows[0].destinataire == held["nom_destinataire"]


def test_search_without_criteria_reads_every_page_of_results(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    fresh_sandbox.reset(seed=25)
    log_in(page, fresh_sandbox)
    rows = Navigator(page).search().search()
    expected = {i["numero"] for i in fresh_sandbox.invoices()}
    assert len(expected) > 30  # more than three pages of 10
    assert [row.numero for row in rows if row.numero in expected] == [row.numero for row in rows]
    assert len(rows) == len(expected)


def test_search_by_status_returns_only_that_status(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    rows = Navigator(page).search().search(statut="Rejetée")
    expected = {i["numero"] for i in fresh_sandbox.invoices(status="REJETEE")}
    assert {row.numero for row in rows} == expected
    assert {row.statut for row in rows} == {"Rejetée"}


def test_search_without_result_returns_an_empty_list(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    search = Navigator(page).search()
    assert search.search(numero="AUCUNE-FACTURE-9") == []
    expect(search.no_result).to_be_visible()


def test_open_picks_the_result_with_the_wanted_status(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    numero = fresh_sandbox.invoices(status="REJETEE")[0]["numero"]
    search = Navigator(page).search()
    for name, locator in search.expected_elements().items():
        expect(locator, name).to_be_visible()
    record = search.open(numero, statut="Rejetée").read()
    assert (record.numero, record.statut) == (numero, "Rejetée")
    expect(page.get_by_role("heading", name=f"Facture {numero}")).to_be_visible()


def _documents(page: Page) -> list[str]:
    """The documents (and files) ``page`` asks the portal for, as they are asked."""
    asked: list[str] = []
    page.on(
        "request",
        lambda request: asked.append(request.url) if request.is_navigation_request() else None,
    )
    return asked


def test_export_reads_every_result_in_one_file(page: Page, fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.reset(seed=25)
    log_in(page, fresh_sandbox)
    search = Navigator(page).search()
    paged = search.search(statut="Rejetée")
    assert len(paged) > 20  # three pages of 10
    asked = _documents(page)

    exported = search.export(statut="Rejetée")

    assert exported is not None
    assert [
        (r.numero, r.date_depot, r.destinataire, r.montant_ttc, r.statut) for r in exported
    ] == [(r.numero, r.date_depot, r.destinataire, r.montant_ttc, r.statut) for r in paged]
    assert len(asked) == 2  # the search's first page, then the file: no page walked
    assert search.export(numero="AUCUNE-FACTURE-9") is None  # nothing found, nothing exported


def test_export_after_the_session_ended_raises_login_required(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    search = Navigator(page).search()
    search.submit()
    fresh_sandbox.admin("POST", "/_admin/sessions/expire")
    with pytest.raises(LoginRequired):
        search.download(search.export_button)
