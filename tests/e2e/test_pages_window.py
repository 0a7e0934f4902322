"""The rejection window « Factures rejetées ou suspendues » read and driven by its page object."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from portal_support import log_in

from pages import RejectionWindow, parse_date
from sandbox.fmt import PARIS
from sandbox.server import RunningSandbox

pytestmark = pytest.mark.e2e


def _unacknowledged(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    return [i for i in sandbox.invoices(status="REJETEE") if not i["acquittee"]]


def test_window_lists_every_unacknowledged_rejection_with_its_motive(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    window = RejectionWindow(page)
    assert window.is_open()
    rows = {row.numero: row for row in window.rows()}
    expected = {i["numero"]: i for i in _unacknowledged(fresh_sandbox)}
    assert set(rows) == set(expected)
    for numero, invoice in expected.items():
        row = rows[numero]
        assert row.statut == "Rejetée"
        assert row.motif == invoice["motif"]
        assert row.commentaire == invoice["commentaire_motif"]
        assert row.destinataire == invoice["nom_destinataire"]
        deposit = datetime.fromisoformat(invoice["date_depot"]).astimezone(PARIS).date()
        assert parse_date(row.date_depot) == deposit


def test_acknowledging_selected_rows_removes_them_and_says_how_many(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    window = RejectionWindow(page)
    first, second, *others = [row.numero for row in window.rows()]
    said = window.acknowledge([first, second])
    assert said == ["2 facture(s) acquittée(s)."]
    assert {row.numero for row in window.rows()} == set(others)
    acknowledged = {i["numero"] for i in fresh_sandbox.invoices() if i["acquittee"]}
    assert {first, second} <= acknowledged
    assert not set(others) & acknowledged


def test_acknowledge_all_closes_the_window_and_acknowledges_everything(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    window = RejectionWindow(page)
    window.acknowledge_all()
    expect(window.dialog).to_be_hidden()
    assert _unacknowledged(fresh_sandbox) == []


def test_closing_the_window_hides_it_and_acknowledges_nothing(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    window = RejectionWindow(page)
    assert not window.is_compulsory()
    before = len(_unacknowledged(fresh_sandbox))
    window.close()
    expect(window.dialog).to_be_hidden()
    expect(page.get_by_role("heading", name="Accueil", exact=True)).to_be_visible()
    assert len(_unacknowledged(fresh_sandbox)) == before


def test_rejection_older_than_seven_days_makes_acknowledgment_compulsory(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    numero = fresh_sandbox.invoices(status="MISE_A_DISPOSITION")[0]["numero"]
    long_ago = (datetime.now(PARIS) - timedelta(days=9)).isoformat()
    answer = fresh_sandbox.admin(
        "POST", f"invoices/{numero}/reject", json={"motif": "AUTRE", "date": long_ago}
    )
    assert answer.status_code == 200
    log_in(page, fresh_sandbox)
    window = RejectionWindow(page)
    assert window.is_compulsory()
    expect(window.close_button).to_have_count(0)
    for name, locator in window.expected_elements().items():
        expect(locator, name).to_be_visible()
