"""QA, mutating: the three steps of a transaction on a real rejected invoice.

They change data: on a portal that is not on this machine they are refused at setup unless
``--qa-allow-mutating`` is given. Each step is also run twice, to prove it is idempotent.
"""

from __future__ import annotations

import secrets
from datetime import datetime

import pytest
from _target import QaPortal
from playwright.sync_api import Page

from pages import Navigator, SearchPage
from robot.timezone import PARIS
from scenarios import (
    Correction,
    Outcome,
    Rejection,
    acknowledge,
    collect_rejections,
    process,
    reissue,
)
from scenarios.lookup import find_rejection
from scenarios.reissue import SENT_STATUSES

pytestmark = [pytest.mark.mutating, pytest.mark.e2e]


def _a_rejection(page: Page) -> Rejection:
    """A rejected invoice whose rejection is not processed yet (as the lists show it)."""
    rejections = collect_rejections(page, details=False)
    if not rejections:
        pytest.fail("Aucune facture rejetée à traiter sur ce portail : rien à tester.")
    unacknowledged = [r for r in rejections if not r.acquittee]
    return (unacknowledged or rejections)[0]


def _actions(portal: QaPortal, numero: str, code: str) -> int:
    assert portal.sandbox is not None
    invoice = portal.sandbox.invoice(numero)
    return sum(1 for entry in invoice["historique"] if entry["action"] == code)


def test_acknowledging_a_rejection_is_done_once_and_shown_on_the_portal(
    qa_page: Page, qa_portal: QaPortal
) -> None:
    rejection = _a_rejection(qa_page)

    first = acknowledge(qa_page, rejection)
    again = acknowledge(qa_page, rejection)

    assert first.outcome in {Outcome.DONE, Outcome.ALREADY_DONE}
    assert first.after["acquittee"] is True
    assert again.outcome == Outcome.ALREADY_DONE
    if qa_portal.sandbox is not None:
        assert first.outcome == Outcome.DONE
        assert _actions(qa_portal, rejection.numero, "ACQUITTEMENT_REJET") == 1


def test_rejected_invoice_leaves_synthese_after_processing(
    qa_page: Page, qa_portal: QaPortal
) -> None:
    rejection = _a_rejection(qa_page)

    acknowledge(qa_page, rejection)
    done = process(qa_page, rejection)
    again = process(qa_page, rejection)

    assert done.outcome == Outcome.DONE and done.after["rejet_traite"] is True
    assert again.outcome == Outcome.ALREADY_DONE
    listed = Navigator(qa_page).synthese().rows()
    assert rejection.numero.casefold() not in {
        row.numero.casefold() for row in listed if row.statut == "Rejetée"
    }
    if qa_portal.sandbox is not None:
        assert _actions(qa_portal, rejection.numero, "TRAITEMENT_REJET") == 1


def test_corrected_invoice_is_issued_once_under_its_new_number(
    qa_page: Page, qa_portal: QaPortal
) -> None:
    rejection = find_rejection(qa_page, _a_rejection(qa_page).numero)
    assert rejection is not None and rejection.invoice is not None
    stamp = datetime.now(PARIS).strftime("%m%d%H%M%S")
    nouveau = f"QA-{stamp}-{secrets.token_hex(1).upper()}"
    correction = Correction(numero_rejete=rejection.numero, nouveau_numero=nouveau)

    acknowledge(qa_page, rejection)
    process(qa_page, rejection)
    issued = reissue(qa_page, rejection, correction)
    again = reissue(qa_page, rejection, correction)

    assert issued.outcome == Outcome.DONE
    assert issued.after["numero"] == nouveau and issued.after["statut"] in SENT_STATUSES
    assert again.outcome == Outcome.ALREADY_DONE
    found = Navigator(qa_page).search().search(numero=nouveau)
    assert [row.numero for row in found] == [nouveau]
    record = SearchPage(qa_page).open_row(found[0]).read()
    assert record.siret_destinataire == rejection.invoice.siret_destinataire
    assert record.montant_ttc == rejection.invoice.montant_ttc
    if qa_portal.sandbox is not None:
        assert qa_portal.sandbox.invoice(nouveau)["statut"] != "BROUILLON"
