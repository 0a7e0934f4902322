"""What the reissued invoice contains: the rejected one overridden by the correction."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from pages import InvoiceLine, InvoiceRecord
from scenarios import BusinessError, Correction, build_content, corrected_lines
from scenarios.reissue import check_reissue
from scenarios.reissue_content import CONTENT_LABELS, described


def _line(quantite: str = "3", prix: str = "100.00", remise: str = "0.00") -> InvoiceLine:
    return InvoiceLine(
        reference="REF-1",
        designation="Prestation de conseil",
        quantite=Decimal(quantite),
        unite="jour",
        prix_unitaire_ht=Decimal(prix),
        remise=Decimal(remise),
        taux_tva=Decimal("20"),
    )


def _original(*lines: InvoiceLine) -> InvoiceRecord:
    total = sum((line.montant_ht for line in lines), Decimal("0.00"))
    return InvoiceRecord(
        numero="F-2026-001",
        statut="Rejetée",
        type_facture="Facture",
        cadre="A1 - Dépôt par un fournisseur d'une facture",
        date_facture=date(2026, 3, 2),
        siret_destinataire="21690123100011",
        code_service="ACH - Achats",
        numero_engagement="EJ-1",
        mode_paiement="Virement",
        commentaire="Commentaire d'origine",
        montant_ht=total,
        lignes=lines,
    )


def test_amount_equal_to_the_current_total_changes_nothing() -> None:
    lines = (_line(), _line("1", "50.00"))
    assert corrected_lines(lines, montant_ht=Decimal("350.00")) == lines


def test_amount_on_one_line_keeps_the_quantity_when_the_division_is_exact() -> None:
    (line,) = corrected_lines((_line("3", "100.00"),), montant_ht=Decimal("330.00"))
    assert (line.quantite, line.prix_unitaire_ht, line.montant_ht) == (
        Decimal("3"),
        Decimal("110.00"),
        Decimal("330.00"),
    )


def test_amount_on_one_line_uses_quantity_one_when_the_division_is_not_exact() -> None:
    (line,) = corrected_lines((_line("3", "100.00"),), montant_ht=Decimal("100.00"))
    assert (line.quantite, line.prix_unitaire_ht) == (Decimal("1"), Decimal("100.00"))


def test_amount_on_one_line_with_a_discount_still_gives_the_wanted_total() -> None:
    (line,) = corrected_lines((_line("2", "100.00", "10.00"),), montant_ht=Decimal("250.00"))
    assert line.montant_ht == Decimal("250.00")


def test_amount_on_several_lines_is_a_business_error() -> None:
    with pytest.raises(BusinessError, match="une seule ligne"):
        corrected_lines((_line(), _line()), montant_ht=Decimal("1.00"))


def test_vat_rate_applies_to_every_line() -> None:
    lines = corrected_lines((_line(), _line("1", "5")), taux_tva=Decimal("5.5"))
    assert [line.taux_tva for line in lines] == [Decimal("5.5"), Decimal("5.5")]


def test_content_copies_the_original_where_the_correction_is_empty() -> None:
    content = build_content(
        _original(_line()), Correction(numero_rejete="F-2026-001", nouveau_numero="F-2026-001B")
    )
    assert (content.numero, content.code_service, content.numero_engagement) == (
        "F-2026-001B",
        "ACH - Achats",
        "EJ-1",
    )
    assert content.date_facture == date(2026, 3, 2)
    assert content.commentaire == "Commentaire d'origine"


def test_content_takes_the_correction_where_it_is_set() -> None:
    correction = Correction(
        numero_rejete="F-2026-001",
        nouveau_numero="F-2026-001B",
        date_facture=date(2026, 3, 9),
        numero_engagement="EJ-2",
        code_service="FIN",
        commentaire="",
        pieces_jointes=(Path("bon.pdf"),),
    )
    content = build_content(_original(_line()), correction)
    assert (content.date_facture, content.numero_engagement, content.code_service) == (
        date(2026, 3, 9),
        "EJ-2",
        "FIN",
    )
    assert content.commentaire == ""  # an explicit empty comment replaces the original one
    assert "pièce(s) jointe(s) bon.pdf" in content.summary()


def test_summary_says_in_french_what_would_be_sent() -> None:
    correction = Correction(
        numero_rejete="F-2026-001", nouveau_numero="F-2026-001B", montant_ht=Decimal("330")
    )
    summary = build_content(_original(_line()), correction).summary()
    assert summary.startswith("Nouvelle facture F-2026-001B pour le SIRET 21690123100011")
    assert "montant HT 330,00 €, TVA 66,00 €, TTC 396,00 €" in summary


# -- the discount, the bank account, the lines sheet ------------------------------------------


def test_discount_on_one_line_goes_to_its_remise_cell_and_keeps_the_price() -> None:
    (line,) = corrected_lines((_line("2", "150.00"),), remise=Decimal("10.00"))
    assert (line.quantite, line.prix_unitaire_ht, line.remise, line.montant_ht) == (
        Decimal("2"),
        Decimal("150.00"),
        Decimal("10.00"),
        Decimal("290.00"),
    )


def test_discount_with_the_unchanged_total_still_applies() -> None:
    # The template prefills montant_ht with the current total: the discount wins.
    (line,) = corrected_lines(
        (_line("2", "150.00"),),
        remise=Decimal("10.00"),
        montant_ht=Decimal("300.00"),
        current_total=Decimal("300.00"),
    )
    assert line.montant_ht == Decimal("290.00")


def test_discount_and_a_new_total_give_that_total_after_the_discount() -> None:
    (line,) = corrected_lines(
        (_line("2", "150.00"),),
        remise=Decimal("20.00"),
        montant_ht=Decimal("260.00"),
        current_total=Decimal("300.00"),
    )
    assert (line.prix_unitaire_ht, line.remise, line.montant_ht) == (
        Decimal("140.00"),
        Decimal("20.00"),
        Decimal("260.00"),
    )


def test_discount_equal_to_the_lines_discounts_changes_nothing_even_on_several_lines() -> None:
    lines = (_line(remise="5.00"), _line(remise="5.00"))
    assert corrected_lines(lines, remise=Decimal("10.00")) == lines


def test_discount_on_several_lines_is_a_business_error_pointing_to_the_lines_sheet() -> None:
    with pytest.raises(BusinessError, match="feuille de lignes"):
        corrected_lines((_line(), _line()), remise=Decimal("10.00"))


def test_discount_above_the_line_amount_is_a_business_error() -> None:
    with pytest.raises(BusinessError, match="dépasse le montant de la ligne"):
        corrected_lines((_line("1", "10.00"),), remise=Decimal("10.01"))


def test_lines_of_the_lines_sheet_replace_the_invoices_lines() -> None:
    new = (_line("1", "80.00"), _line("4", "25.00", "10.00"))
    correction = Correction("F-2026-001", "F-2026-001B", lignes=new, taux_tva=Decimal("5.5"))

    content = build_content(_original(_line()), correction)

    assert content.lignes == new
    assert (content.montant_ht, content.montant_tva, content.montant_ttc) == (
        Decimal("170.00"),
        Decimal("34.00"),
        Decimal("204.00"),
    )


def test_bank_account_named_by_the_plan_must_be_chosen_as_is() -> None:
    original = replace(_original(_line()), coordonnees_bancaires="Compte affacturage - FR76 1")
    kept = build_content(original, Correction("F-2026-001", "B"))
    named = build_content(
        original, Correction("F-2026-001", "B", coordonnees_bancaires="Compte principal")
    )

    assert (kept.coordonnees_bancaires, kept.account_named) == (
        "Compte affacturage - FR76 1",
        False,
    )
    assert (named.coordonnees_bancaires, named.account_named) == ("Compte principal", True)


# -- what a person reads ----------------------------------------------------------------------


def test_summary_gives_the_new_totals_in_french() -> None:
    correction = Correction("F-2026-001", "F-2026-001B", montant_ht=Decimal("1330"))
    summary = build_content(_original(_line()), correction).summary()
    assert "montant HT 1 330,00 €, TVA 266,00 €, TTC 1 596,00 €" in summary


def test_content_is_described_with_french_labels_and_formats() -> None:
    original = replace(
        _original(_line("2", "150.00", "10.00")),
        montant_tva=Decimal("58.00"),
        montant_ttc=Decimal("348.00"),
        coordonnees_bancaires="Compte principal - FR76 3000",
    )

    said = described(original)

    assert tuple(said) == CONTENT_LABELS
    assert said["Date de facture"] == "02/03/2026"
    assert said["Numéro de marché"] == "—"
    assert said["Lignes"] == [
        "Prestation de conseil — 2 jour × 150,00 € HT, remise 10,00 €, TVA 20 % (réf. REF-1)"
    ]
    assert (said["Montant HT"], said["TVA"], said["Montant TTC"]) == (
        "290,00 €",
        "58,00 €",
        "348,00 €",
    )
    planned = build_content(original, Correction("F-2026-001", "B")).described()
    assert planned == said


# -- a reissue that would bill twice ----------------------------------------------------------


def _rejected(motif: str = "Montant total erroné") -> InvoiceRecord:
    return replace(_original(_line()), motif_rejet=motif, acquittee=False, rejet_traite=False)


def test_an_invoice_rejected_as_a_duplicate_needs_a_confirmation_to_be_reissued() -> None:
    correction = Correction("F-2026-001", "F-2026-001B", numero_engagement="EJ-9", source_line=4)

    with pytest.raises(BusinessError) as refused:
        check_reissue(_rejected("Facture en doublon"), correction)

    message = str(refused.value)
    assert "« Facture en doublon »" in message and "confirmer_reemission=oui" in message
    assert "action=acquitter" in message
    assert "Rien n'a été fait par le robot sur le portail" in message
    assert "toujours rejetée, non acquittée" in message and "ligne 4 du plan" in message
    check_reissue(_rejected("Facture en doublon"), replace(correction, confirmer_reemission=True))


def test_a_reissue_identical_but_for_its_number_needs_a_confirmation() -> None:
    same = Correction(
        "F-2026-001",
        "F-2026-001B",
        code_service="ACH",  # « ACH - Achats » as the portal shows it: the same service
        siret_destinataire="21690123100011",
        date_facture=date(2026, 3, 2),
        montant_ht=Decimal("300.00"),
        taux_tva=Decimal("20"),
        remise=Decimal("0.00"),
    )

    with pytest.raises(BusinessError, match="serait identique à la facture rejetée F-2026-001"):
        check_reissue(_rejected(), same)

    check_reissue(_rejected(), replace(same, confirmer_reemission=True))
    check_reissue(_rejected(), replace(same, remise=Decimal("30.00")))
    check_reissue(_rejected(), replace(same, commentaire="Facture rectificative"))
