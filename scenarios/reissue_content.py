"""What the new invoice will contain: the rejected invoice's data overridden by the correction.

Pure functions (no browser), so the rules can be unit-tested:
- ``correction.taux_tva`` applies to every line;
- ``correction.montant_ht``: equal to the current total → nothing changes; one line → its
  unit price is set so that the line total equals it (the quantity is kept when the division
  is exact to the cent, else quantity 1; a discount is kept); several lines → BusinessError.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pages import InvoiceLine, InvoiceRecord
from scenarios.model import BusinessError, Correction

CENT = Decimal("0.01")

MULTI_LINE_AMOUNT = "montant_ht ne peut être corrigé que sur une facture d'une seule ligne"


@dataclass(frozen=True)
class ReissueContent:
    """Every value typed into « Saisir une facture » for the new invoice."""

    numero: str
    cadre: str
    siret_destinataire: str
    code_service: str
    coordonnees_bancaires: str
    type_facture: str
    date_facture: date | None
    devise: str
    type_tva: str
    mode_paiement: str
    numero_engagement: str
    numero_marche: str
    numero_facture_origine: str
    lignes: tuple[InvoiceLine, ...]
    commentaire: str
    pieces_jointes: tuple[Path, ...] = ()

    @property
    def montant_ht(self) -> Decimal:
        return sum((line.montant_ht for line in self.lignes), Decimal("0.00"))

    def as_dict(self) -> dict[str, Any]:
        """The content as plain values (journal, audit)."""
        return {
            "numero": self.numero,
            "cadre": self.cadre,
            "siret_destinataire": self.siret_destinataire,
            "code_service": self.code_service,
            "date_facture": self.date_facture.isoformat() if self.date_facture else None,
            "numero_engagement": self.numero_engagement,
            "numero_marche": self.numero_marche,
            "mode_paiement": self.mode_paiement,
            "montant_ht": str(self.montant_ht),
            "taux_tva": sorted({str(line.taux_tva) for line in self.lignes}),
            "lignes": len(self.lignes),
            "pieces_jointes": [path.name for path in self.pieces_jointes],
        }

    def summary(self) -> str:
        """One French sentence saying what would be sent."""
        day = self.date_facture.strftime("%d/%m/%Y") if self.date_facture else "—"
        amount = f"{self.montant_ht:.2f}".replace(".", ",")
        parts = [
            f"Nouvelle facture {self.numero} pour le SIRET {self.siret_destinataire}",
            f"service {self.code_service or '—'}",
            f"datée du {day}",
            f"{len(self.lignes)} ligne(s), montant HT {amount} €",
            f"engagement {self.numero_engagement or '—'}",
        ]
        if self.pieces_jointes:
            names = ", ".join(path.name for path in self.pieces_jointes)
            parts.append(f"pièce(s) jointe(s) {names}")
        return ", ".join(parts) + "."


def corrected_lines(
    lines: tuple[InvoiceLine, ...],
    *,
    taux_tva: Decimal | None = None,
    montant_ht: Decimal | None = None,
    current_total: Decimal | None = None,
) -> tuple[InvoiceLine, ...]:
    """The lines of the new invoice (see the module docstring for the rules)."""
    result = tuple(replace(line, taux_tva=taux_tva) for line in lines) if taux_tva else lines
    if montant_ht is None:
        return result
    target = montant_ht.quantize(CENT)
    total = current_total if current_total is not None else _total(result)
    if target == total.quantize(CENT):
        return result
    if len(result) != 1:
        raise BusinessError(MULTI_LINE_AMOUNT)
    line = result[0]
    gross = target + line.remise  # the line total is quantity × price − discount
    quantity = line.quantite
    if quantity > 0 and (gross / quantity) == (gross / quantity).quantize(CENT):
        price = (gross / quantity).quantize(CENT)
    else:
        quantity, price = Decimal(1), gross
    return (replace(line, quantite=quantity, prix_unitaire_ht=price),)


def build_content(original: InvoiceRecord, correction: Correction) -> ReissueContent:
    """The rejected invoice's data, overridden by what ``correction`` sets."""
    return ReissueContent(
        numero=correction.nouveau_numero,
        cadre=original.cadre,
        siret_destinataire=_pick(correction.siret_destinataire, original.siret_destinataire),
        code_service=_pick(correction.code_service, original.code_service),
        coordonnees_bancaires=original.coordonnees_bancaires,
        type_facture=original.type_facture,
        date_facture=correction.date_facture or original.date_facture,
        devise=original.devise or "EUR",
        type_tva=original.type_tva,
        mode_paiement=_pick(correction.mode_paiement, original.mode_paiement),
        numero_engagement=_pick(correction.numero_engagement, original.numero_engagement),
        numero_marche=_pick(correction.numero_marche, original.numero_marche),
        numero_facture_origine=original.numero_facture_origine,
        lignes=corrected_lines(
            original.lignes,
            taux_tva=correction.taux_tva,
            montant_ht=correction.montant_ht,
            current_total=original.montant_ht,
        ),
        commentaire=_pick(correction.commentaire, original.commentaire),
        pieces_jointes=correction.pieces_jointes,
    )


def _pick(override: str | None, original: str) -> str:
    return original if override is None else override


def _total(lines: tuple[InvoiceLine, ...]) -> Decimal:
    return sum((line.montant_ht for line in lines), Decimal("0.00"))
