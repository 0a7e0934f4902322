"""What the reissued invoice contains: the rejected one overridden by the correction."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from pages import InvoiceLine, InvoiceRecord
from scenarios import BusinessError, Correction, build_content, corrected_lines


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
    assert "montant HT 330,00 €" in summary
