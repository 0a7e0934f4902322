"""collect_rejections: the window and « Synthèse » merged, with details, read-only."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page
from portal_support import log_in

from pages import RejectionWindow
from sandbox.fmt import PARIS
from sandbox.server import RunningSandbox
from scenarios import collect_rejections

pytestmark = pytest.mark.e2e


def _to_handle(sandbox: RunningSandbox) -> dict[str, dict[str, Any]]:
    return {i["numero"]: i for i in sandbox.invoices(status="REJETEE") if not i["rejet_traite"]}


def _history(sandbox: RunningSandbox) -> dict[str, list[str]]:
    return {i["numero"]: [h["action"] for h in i["historique"]] for i in sandbox.invoices()}


def test_collect_returns_every_unprocessed_rejection_with_its_details(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    before = _history(fresh_sandbox)
    rejections = collect_rejections(page)
    expected = _to_handle(fresh_sandbox)
    assert [r.numero for r in rejections] == sorted(
        expected, key=lambda n: (expected[n]["date_depot"], n)
    )  # oldest deposit first
    for rejection in rejections:
        held = expected[rejection.numero]
        assert rejection.statut == "Rejetée"
        assert rejection.motif == held["motif"]
        assert rejection.commentaire == held["commentaire_motif"]
        assert rejection.destinataire == held["nom_destinataire"]
        assert rejection.acquittee is False
        assert str(rejection.montant_ttc) == held["montant_ttc"]
        assert rejection.invoice is not None
        assert rejection.invoice.numero == rejection.numero
        assert rejection.invoice.siret_destinataire == held["siret_destinataire"]
        assert len(rejection.invoice.lignes) == len(held["lignes"])
    assert _history(fresh_sandbox) == before  # nothing acknowledged, nothing processed


def test_collect_reads_35_rejections_across_the_pages_of_synthese(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    fresh_sandbox.reset(seed=35)
    log_in(page, fresh_sandbox)
    rejections = collect_rejections(page, details=False)
    assert len(rejections) >= 35
    assert {r.numero for r in rejections} == set(_to_handle(fresh_sandbox))
    assert all(r.motif for r in rejections)  # from the window
    assert all(r.invoice is None for r in rejections)


def test_acknowledged_rejection_is_still_collected_with_its_motive(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    window = RejectionWindow(page)
    numero = window.rows()[0].numero
    window.acknowledge([numero])  # the window no longer lists it; « Synthèse » still does
    assert numero not in {row.numero for row in window.rows()}
    rejections = {r.numero: r for r in collect_rejections(page)}
    assert rejections[numero].acquittee is True
    assert rejections[numero].motif == fresh_sandbox.invoice(numero)["motif"]


def test_collect_works_when_acknowledgment_is_compulsory_and_acknowledges_nothing(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    late = fresh_sandbox.invoices(status="MISE_A_DISPOSITION")[0]["numero"]
    long_ago = (datetime.now(PARIS) - timedelta(days=10)).isoformat()
    fresh_sandbox.admin(
        "POST", f"invoices/{late}/reject", json={"motif": "DOUBLON", "date": long_ago}
    )
    log_in(page, fresh_sandbox)
    assert RejectionWindow(page).is_compulsory()
    before = _history(fresh_sandbox)
    rejections = collect_rejections(page, details=False)
    assert {r.numero for r in rejections} == set(_to_handle(fresh_sandbox))
    assert late in {r.numero for r in rejections}
    assert _history(fresh_sandbox) == before
