"""The three steps against the sandbox: done, then already done; refusals; dry run."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page
from portal_support import log_in

from pages import InvoiceLine, InvoicePage, InvoiceRecord, Navigator
from pages.synthese import Labels as SyntheseLabels
from sandbox.server import RunningSandbox
from scenarios import (
    BusinessError,
    Correction,
    Outcome,
    PortalError,
    Rejection,
    SessionLost,
    acknowledge,
    collect_rejections,
    process,
    reissue,
)

pytestmark = pytest.mark.e2e

DUPLICATE = (
    "Vous avez déjà déposé une demande de paiement avec ce numéro de facture pour cette structure"
)


def _actions(sandbox: RunningSandbox, numero: str) -> Counter[str]:
    return Counter(h["action"] for h in sandbox.invoice(numero)["historique"])


def _single_line(rejections: list[Rejection]) -> Rejection:
    return next(r for r in rejections if r.invoice is not None and len(r.invoice.lignes) == 1)


def _with_new_number(sandbox: RunningSandbox, numero: str) -> list[dict[str, Any]]:
    return [i for i in sandbox.invoices() if i["numero"].casefold() == numero.casefold()]


def test_acknowledge_is_done_once_then_found_already_done(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    rejection = collect_rejections(page)[0]
    first = acknowledge(page, rejection)
    again = acknowledge(page, rejection)
    assert (first.outcome, again.outcome) == (Outcome.DONE, Outcome.ALREADY_DONE)
    assert first.before["acquittee"] is False and first.after["acquittee"] is True
    assert first.portal_messages == (f"La facture {rejection.numero} a été acquittée.",)
    assert _actions(fresh_sandbox, rejection.numero)["ACQUITTEMENT_REJET"] == 1


def test_process_is_done_once_then_found_already_done(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    rejection = collect_rejections(page)[-1]
    acknowledge(page, rejection)
    first = process(page, rejection)
    again = process(page, rejection)
    assert (first.outcome, again.outcome) == (Outcome.DONE, Outcome.ALREADY_DONE)
    assert first.after["rejet_traite"] is True
    assert _actions(fresh_sandbox, rejection.numero)["TRAITEMENT_REJET"] == 1
    assert Navigator(page).synthese().find_row(rejection.numero) is None


def _documents(page: Page) -> list[str]:
    loaded: list[str] = []
    page.on(
        "request",
        lambda request: (
            loaded.append(urlsplit(request.url).path)
            if request.resource_type == "document"
            else None
        ),
    )
    return loaded


def test_process_is_proven_on_the_list_without_reopening_the_invoice(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    rejection = collect_rejections(page, details=False)[-1]
    acknowledge(page, rejection)
    loaded = _documents(page)
    result = process(page, rejection)
    assert result.outcome is Outcome.DONE and result.after["rejet_traite"] is True
    assert result.portal_messages == (f"Le rejet de la facture {rejection.numero} a été traité.",)
    assert urlsplit(rejection.link).path not in loaded  # the invoice was not opened again
    assert fresh_sandbox.invoice(rejection.numero)["rejet_traite"] is True


def test_process_is_proven_on_the_invoice_when_the_list_does_not_say_so(
    page: Page, fresh_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SyntheseLabels, "PROCESSED", "Traitement effectué : {numero}")
    log_in(page, fresh_sandbox)
    rejection = collect_rejections(page, details=False)[-1]
    acknowledge(page, rejection)
    loaded = _documents(page)
    result = process(page, rejection)
    assert result.outcome is Outcome.DONE
    assert result.after["rejet_traite"] is True and "statut" in result.after
    assert loaded[-1] == urlsplit(rejection.link).path  # verified on the consultation page


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every reading of a consultation page (its URL), from now on."""
    reads: list[str] = []
    original = InvoicePage.read

    def counted(self: InvoicePage) -> InvoiceRecord:
        reads.append(urlsplit(self.page.url).path)
        return original(self)

    monkeypatch.setattr(InvoicePage, "read", counted)
    return reads


def _acknowledged(page: Page, sandbox: RunningSandbox) -> tuple[Rejection, InvoiceRecord]:
    """A rejection acknowledged by the step, and the consultation page as the step read it."""
    log_in(page, sandbox)
    rejection = collect_rejections(page, details=False)[-1]
    record = acknowledge(page, rejection).record
    assert record is not None and record.acquittee is True
    return rejection, record


def test_process_starts_from_the_page_the_acknowledge_step_read(
    page: Page, fresh_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    rejection, shown = _acknowledged(page, fresh_sandbox)
    reads = _count_reads(monkeypatch)
    loaded = _documents(page)
    result = process(page, rejection, shown=shown)
    assert result.outcome is Outcome.DONE
    assert reads == []  # neither reloaded nor read again
    assert urlsplit(rejection.link).path not in loaded
    assert fresh_sandbox.invoice(rejection.numero)["rejet_traite"] is True


def test_what_a_step_read_is_not_trusted_once_the_page_shows_something_else(
    page: Page, fresh_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    rejection, shown = _acknowledged(page, fresh_sandbox)
    Navigator(page).search()  # the page no longer shows the invoice
    reads = _count_reads(monkeypatch)
    result = process(page, rejection, shown=shown)
    assert result.outcome is Outcome.DONE
    assert reads == [urlsplit(rejection.link).path]  # opened and read on the portal again
    again = process(page, rejection, shown=shown)  # stale: « Rejet traité : Non »
    assert again.outcome is Outcome.ALREADY_DONE
    assert _actions(fresh_sandbox, rejection.numero)["TRAITEMENT_REJET"] == 1


def test_reissue_starts_from_the_rejected_invoice_read_by_the_acknowledge_step(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    rejection, shown = _acknowledged(page, fresh_sandbox)
    process(page, rejection, shown=shown)
    loaded = _documents(page)
    correction = Correction(numero_rejete=rejection.numero, nouveau_numero="RECT-LU-1")
    result = reissue(page, replace(rejection, invoice=shown), correction)
    assert result.outcome is Outcome.DONE
    assert urlsplit(rejection.link).path not in loaded  # the rejected invoice was not reopened
    (held,) = _with_new_number(fresh_sandbox, "RECT-LU-1")
    original = fresh_sandbox.invoice(rejection.numero)
    assert [line["designation"] for line in held["lignes"]] == [
        line["designation"] for line in original["lignes"]
    ]
    assert held["siret_destinataire"] == original["siret_destinataire"]


def test_process_before_acknowledgment_is_a_business_error(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    rejection = collect_rejections(page, details=False)[0]
    with pytest.raises(BusinessError, match="doit être acquittée"):
        process(page, rejection)
    assert _actions(fresh_sandbox, rejection.numero)["TRAITEMENT_REJET"] == 0


def test_reissue_sends_one_corrected_invoice_then_finds_it_already_done(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    rejection = _single_line(collect_rejections(page))
    assert rejection.invoice is not None
    new_total = (rejection.invoice.montant_ht or Decimal(0)) - Decimal("100.00")
    correction = Correction(
        numero_rejete=rejection.numero,
        nouveau_numero=f"{rejection.numero}-R1",
        montant_ht=new_total,
        taux_tva=Decimal("10"),
        numero_engagement="EJ-CORRIGE-42",
        commentaire="Montant corrigé selon le bon de commande.",
    )
    first = reissue(page, rejection, correction)
    again = reissue(page, rejection, correction)
    assert (first.outcome, again.outcome) == (Outcome.DONE, Outcome.ALREADY_DONE)
    assert first.after["statut"] in (
        "En cours d'acheminement",
        "Mise à disposition du destinataire",
    )
    assert again.after["numero"] == correction.nouveau_numero
    (held,) = _with_new_number(fresh_sandbox, correction.nouveau_numero)
    assert Decimal(held["montant_ht"]) == new_total
    assert {line["taux_tva"] for line in held["lignes"]} == {"10"}
    assert held["numero_engagement"] == "EJ-CORRIGE-42"
    assert held["commentaire"] == "Montant corrigé selon le bon de commande."
    assert held["siret_destinataire"] == rejection.invoice.siret_destinataire
    assert held["code_service"] == rejection.invoice.code_service
    assert held["date_facture"] == (rejection.invoice.date_facture or date.min).isoformat()
    assert [h["action"] for h in held["historique"]] == ["DEPOT"]


def test_reissue_with_a_number_already_used_is_refused_by_the_portal(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    rejections = collect_rejections(page)
    rejection = rejections[0]
    assert rejection.invoice is not None
    siret = rejection.invoice.siret_destinataire
    # an invoice of the supplier, this year, to another recipient
    other = next(r for r in rejections if r.invoice and r.invoice.siret_destinataire != siret)
    taken = f"{other.numero}-R"
    reissue(page, other, Correction(numero_rejete=other.numero, nouveau_numero=taken))
    correction = Correction(numero_rejete=rejection.numero, nouveau_numero=taken)
    with pytest.raises(BusinessError) as refused:
        reissue(page, rejection, correction)
    assert refused.value.messages == (DUPLICATE,)
    assert len(_with_new_number(fresh_sandbox, taken)) == 1


def test_reissue_when_a_draft_has_the_number_is_a_business_error(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    rejection = collect_rejections(page, details=False)[0]
    draft = next(i["numero"] for i in fresh_sandbox.invoices(status="BROUILLON") if i["numero"])
    with pytest.raises(BusinessError, match="brouillon"):
        reissue(page, rejection, Correction(numero_rejete=rejection.numero, nouveau_numero=draft))


def test_amount_correction_on_several_lines_is_a_business_error(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    rejection = next(
        r for r in collect_rejections(page) if r.invoice is not None and len(r.invoice.lignes) > 1
    )
    correction = Correction(
        numero_rejete=rejection.numero,
        nouveau_numero=f"{rejection.numero}-R2",
        montant_ht=Decimal("1.00"),
    )
    with pytest.raises(BusinessError, match="une seule ligne"):
        reissue(page, rejection, correction)
    assert _with_new_number(fresh_sandbox, correction.nouveau_numero) == []


def test_dry_run_of_the_three_steps_changes_nothing(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    before = fresh_sandbox.invoices()
    rejection = _single_line(collect_rejections(page))
    correction = Correction(numero_rejete=rejection.numero, nouveau_numero="SIMULATION-1")
    results = [
        acknowledge(page, rejection, dry_run=True),
        process(page, rejection, dry_run=True),
        reissue(page, rejection, correction, dry_run=True),
    ]
    assert [r.outcome for r in results] == [Outcome.WOULD_DO] * 3
    assert results[2].message.startswith("Nouvelle facture SIMULATION-1 pour le SIRET ")
    assert fresh_sandbox.invoices() == before


def test_expired_session_during_a_step_is_session_lost(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    rejection = collect_rejections(page, details=False)[0]
    fresh_sandbox.set_faults(session_idle_s=0.001)
    with pytest.raises(SessionLost):
        acknowledge(page, rejection)


def test_unavailable_portal_during_a_step_is_a_portal_error(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    rejection = collect_rejections(page, details=False)[0]
    fresh_sandbox.set_faults(error_rate=1.0)
    with pytest.raises(PortalError, match="Service indisponible") as failed:
        process(page, rejection)
    assert not isinstance(failed.value, SessionLost)


def test_lines_read_on_the_portal_are_the_ones_sent_again(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    rejection = next(
        r for r in collect_rejections(page) if r.invoice is not None and len(r.invoice.lignes) > 1
    )
    assert rejection.invoice is not None
    correction = Correction(numero_rejete=rejection.numero, nouveau_numero="LIGNES-1")
    assert reissue(page, rejection, correction).outcome is Outcome.DONE
    (held,) = _with_new_number(fresh_sandbox, "LIGNES-1")
    sent = [
        InvoiceLine(
            reference=line["reference"],
            designation=line["designation"],
            quantite=Decimal(line["quantite"]),
            unite=line["unite"],
            prix_unitaire_ht=Decimal(line["prix_unitaire_ht"]),
            remise=Decimal(line["remise"]),
            taux_tva=Decimal(line["taux_tva"]),
        )
        for line in held["lignes"]
    ]
    assert sent == list(rejection.invoice.lignes)
    assert Decimal(held["montant_ttc"]) == rejection.invoice.montant_ttc
