"""« Compléter » a suspended invoice through the page objects: acknowledge, complete, read back;
every refusal raised with the portal's own words."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from portal_support import log_in

from pages import CompletionForm, ElementMissing, FormRejected, InvoicePage, Navigator
from sandbox.server import RunningSandbox, csrf_token

pytestmark = pytest.mark.e2e

NOTHING = "Ajoutez au moins une pièce jointe ou un commentaire."


def _open(page: Page, numero: str) -> InvoicePage:
    rows = Navigator(page).search().search(numero=numero)
    return InvoicePage(page).goto(rows[0].href)


def _suspended(sandbox: RunningSandbox) -> str:
    """The number of a suspended invoice not yet acknowledged (seeded for the test)."""
    numero: str = sandbox.reset(seed_suspended=1)["suspended"][0]
    return numero


def _file(folder: Path, name: str, content: bytes = b"%PDF-1.4 test") -> Path:
    path = folder / name
    path.write_bytes(content)
    return path


def _acknowledged_form(page: Page, sandbox: RunningSandbox, numero: str) -> CompletionForm:
    log_in(page, sandbox)
    invoice = _open(page, numero)
    invoice.acknowledge()
    return invoice.open_completion()


def test_complete_a_suspended_invoice_with_an_attachment_and_a_comment(
    page: Page, fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    numero = _suspended(fresh_sandbox)
    held = fresh_sandbox.invoice(numero)
    count = len(fresh_sandbox.invoices())
    log_in(page, fresh_sandbox)
    invoice = _open(page, numero)

    before = invoice.read()
    assert (before.statut, before.acquittee, before.rejet_traite) == ("Suspendue", False, False)
    assert before.motif_rejet == held["motif"]
    assert before.commentaire_rejet == held["commentaire_motif"]
    assert before.date_rejet is not None
    expect(invoice.complete_button).to_have_count(0)  # acknowledge first
    assert invoice.acknowledge() == [f"La facture {numero} a été acquittée."]
    acknowledged = invoice.read()
    assert acknowledged.acquittee is True
    assert acknowledged.historique[-1].action == "Acquittement de la suspension"

    form = invoice.open_completion()
    for name, locator in form.expected_elements().items():
        expect(locator, name).to_be_visible()
    form.attach([_file(tmp_path, "PV-reception-signe.pdf")])
    form.set_commentaire("Le procès-verbal signé est joint.")
    said = form.submit()

    assert said == (f"La facture {numero} a été complétée.",)
    after = InvoicePage(page).wait().read()
    assert after.numero == numero and after.statut == "Complétée"
    assert after.pieces_jointes == ("PV-reception-signe.pdf",)
    assert after.commentaire == "Le procès-verbal signé est joint."
    assert after.historique == acknowledged.historique  # no action logged for completing
    assert (after.siret_destinataire, after.montant_ttc, after.lignes) == (
        before.siret_destinataire,
        before.montant_ttc,
        before.lignes,
    )
    assert after.motif_rejet == "" and after.acquittee is None  # no « Suspension » block
    expect(InvoicePage(page).complete_button).to_have_count(0)
    assert fresh_sandbox.invoice(numero)["statut"] == "COMPLETEE"
    assert len(fresh_sandbox.invoices()) == count
    assert Navigator(page).synthese().find_row(numero) is None  # done: off the work list


def test_each_refusal_is_raised_with_the_portals_message_and_the_form_comes_back(
    page: Page, fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    numero = _suspended(fresh_sandbox)
    form = _acknowledged_form(page, fresh_sandbox, numero)
    long_name = "procès-verbal-de-réception-des-prestations-2026.pdf"
    assert len(long_name) == 51
    cases: list[tuple[list[Path], str, tuple[str, ...]]] = [
        ([], "", (NOTHING,)),
        ([], "   ", (NOTHING,)),
        (
            [_file(tmp_path, "programme.exe", b"MZ")],
            "Voir la pièce",
            ("Le format du fichier programme.exe n'est pas autorisé.",),
        ),
        (
            [_file(tmp_path, long_name)],
            "",
            (f"Le nom du fichier {long_name} dépasse 50 caractères.",),
        ),
    ]
    for files, comment, messages in cases:
        if files:
            form.attach(files)
        form.set_commentaire(comment)
        with pytest.raises(FormRejected) as refused:
            form.submit()
        assert refused.value.messages == messages
        assert form.wait().errors() == messages
        expect(form.commentaire.text).to_have_value(comment)  # what was typed is kept
    assert fresh_sandbox.invoice(numero)["statut"] == "SUSPENDUE"
    assert fresh_sandbox.invoice(numero)["pieces_jointes"] == []


def test_completing_an_invoice_no_longer_suspended_is_refused(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    numero = _suspended(fresh_sandbox)
    form = _acknowledged_form(page, fresh_sandbox, numero)
    rejected = fresh_sandbox.admin("POST", f"invoices/{numero}/reject", json={"motif": "AUTRE"})
    assert rejected.status_code == 200

    form.set_commentaire("Trop tard")
    with pytest.raises(FormRejected) as refused:
        form.submit()

    assert refused.value.messages == (f"La facture {numero} n'est pas suspendue.",)
    record = InvoicePage(page).wait().read()  # back on the consultation page
    assert record.statut == "Rejetée" and record.commentaire == ""


def test_completing_a_suspension_not_acknowledged_is_refused(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    numero = _suspended(fresh_sandbox)
    form = _acknowledged_form(page, fresh_sandbox, numero)
    # Meanwhile someone completes it, and the public client suspends it again.
    with fresh_sandbox.http_client() as other:
        held = fresh_sandbox.invoice(numero)
        opened = other.get(f"/factures-emises/factures/{held['id']}/completer")
        other.post(
            f"/factures-emises/factures/{held['id']}/completer",
            data={"csrf": csrf_token(opened.text), "commentaire": "Par un collègue"},
        )
    assert fresh_sandbox.invoice(numero)["statut"] == "COMPLETEE"
    fresh_sandbox.admin("POST", f"invoices/{numero}/suspend", json={"motif": "Document manquant"})

    form.set_commentaire("Mon complément")
    with pytest.raises(FormRejected) as refused:
        form.submit()

    assert refused.value.messages == (
        f"La facture {numero} doit être acquittée avant d'être complétée.",
    )
    record = InvoicePage(page).wait().read()
    assert (record.statut, record.acquittee) == ("Suspendue", False)
    assert record.commentaire == "Par un collègue"


def test_the_form_is_not_offered_for_a_wrong_status(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    numero = _suspended(fresh_sandbox)
    delivered = fresh_sandbox.invoices(status="MISE_A_DISPOSITION")[0]["numero"]
    log_in(page, fresh_sandbox)

    with pytest.raises(ElementMissing, match="« Compléter »"):
        _open(page, numero).open_completion()  # suspended, not acknowledged
    with pytest.raises(ElementMissing, match="« Compléter »"):
        _open(page, delivered).open_completion()

    invoice = _open(page, numero)
    invoice.acknowledge()
    fresh_sandbox.admin("POST", f"invoices/{numero}/reject", json={"motif": "AUTRE"})
    with pytest.raises(FormRejected) as refused:  # the button of a page shown before
        invoice.open_completion()
    assert refused.value.messages == (f"La facture {numero} n'est pas suspendue.",)
