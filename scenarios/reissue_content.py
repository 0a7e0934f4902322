"""What the new invoice will contain: the rejected invoice's data overridden by the correction.

Pure functions (no browser), so the rules can be unit-tested:
- ``correction.lignes`` (the plan's lines sheet), when given, replace the lines: the rules
  below then do not apply (the plan checked that its cells agree with those lines);
- ``correction.taux_tva`` applies to every line;
- ``correction.remise``: one line → its « Remise » cell, its price kept (the total goes down
  by the discount added); equal to the lines' discounts → nothing changes; several lines →
  BusinessError (a discount per line is the lines sheet's to give);
- ``correction.montant_ht``: equal to the rejected invoice's total → nothing changes (the
  discount above still applies); one line → its unit price is set so that the line total
  equals it once discounted (the quantity is kept when the division is exact to the cent,
  else quantity 1); several lines → BusinessError;
- ``correction.coordonnees_bancaires`` names one of the supplier's accounts (checked on the
  portal before the first click, :func:`scenarios.reissue.check_bank_account`).

:func:`describe` and :meth:`ReissueContent.described` give an invoice's content as a person
reads it — French labels, French formats — for the report's « Ancienne valeur / Nouvelle
valeur » table (:data:`CONTENT_LABELS`, a contract with it).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from pages import InvoiceLine, InvoiceRecord
from scenarios.model import BusinessError, Correction

CENT = Decimal("0.01")

MULTI_LINE_AMOUNT = "montant_ht ne peut être corrigé que sur une facture d'une seule ligne"
MULTI_LINE_DISCOUNT = (
    "remise ne peut être appliquée qu'à une facture d'une seule ligne : pour une facture de "
    "{n} lignes, donnez la remise de chaque ligne dans la feuille de lignes (--lignes)"
)

#: The keys of :func:`describe`, in the report's order (the report builds its table from
#: exactly these: keep them).
CONTENT_LABELS = (
    "Date de facture",
    "Numéro d'engagement",
    "Code service",
    "SIRET du destinataire",
    "Numéro de marché",
    "Mode de paiement",
    "Coordonnées bancaires",
    "Lignes",
    "Montant HT",
    "TVA",
    "Montant TTC",
)
EMPTY = "—"


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
    #: The plan names the bank account: it must be among the portal's (no fallback).
    account_named: bool = False

    @property
    def montant_ht(self) -> Decimal:
        return _total(self.lignes)

    @property
    def montant_tva(self) -> Decimal:
        """As the portal computes it: per rate, on the HT total of that rate, to the cent."""
        return vat_of(self.lignes)

    @property
    def montant_ttc(self) -> Decimal:
        return self.montant_ht + self.montant_tva

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
            "coordonnees_bancaires": self.coordonnees_bancaires,
            "montant_ht": str(self.montant_ht),
            "montant_tva": str(self.montant_tva),
            "montant_ttc": str(self.montant_ttc),
            "taux_tva": sorted({str(line.taux_tva) for line in self.lignes}),
            "lignes": len(self.lignes),
            "pieces_jointes": [path.name for path in self.pieces_jointes],
        }

    def described(self) -> dict[str, Any]:
        """What the new invoice will contain, as :func:`describe` says an invoice's content."""
        return describe(
            date_facture=self.date_facture,
            numero_engagement=self.numero_engagement,
            code_service=self.code_service,
            siret_destinataire=self.siret_destinataire,
            numero_marche=self.numero_marche,
            mode_paiement=self.mode_paiement,
            coordonnees_bancaires=self.coordonnees_bancaires,
            lignes=self.lignes,
            montant_ht=self.montant_ht,
            montant_tva=self.montant_tva,
            montant_ttc=self.montant_ttc,
        )

    def summary(self) -> str:
        """One French sentence saying what would be sent."""
        day = self.date_facture.strftime("%d/%m/%Y") if self.date_facture else EMPTY
        parts = [
            f"Nouvelle facture {self.numero} pour le SIRET {self.siret_destinataire}",
            f"service {self.code_service or EMPTY}",
            f"datée du {day}",
            f"{len(self.lignes)} ligne(s), montant HT {french_money(self.montant_ht)}, "
            f"TVA {french_money(self.montant_tva)}, TTC {french_money(self.montant_ttc)}",
            f"engagement {self.numero_engagement or EMPTY}",
        ]
        if self.coordonnees_bancaires:
            parts.append(f"coordonnées bancaires {self.coordonnees_bancaires}")
        if self.pieces_jointes:
            names = ", ".join(path.name for path in self.pieces_jointes)
            parts.append(f"pièce(s) jointe(s) {names}")
        return ", ".join(parts) + "."

    def same_as(self, other: ReissueContent) -> bool:
        """Whether the two contents are one invoice but for its number: nothing the recipient
        reads differs (codes and SIRET compared as the portal understands them)."""
        return _comparable(self) == _comparable(other)


def corrected_lines(
    lines: tuple[InvoiceLine, ...],
    *,
    taux_tva: Decimal | None = None,
    montant_ht: Decimal | None = None,
    current_total: Decimal | None = None,
    remise: Decimal | None = None,
) -> tuple[InvoiceLine, ...]:
    """The lines of the new invoice (see the module docstring for the rules)."""
    result = tuple(replace(line, taux_tva=taux_tva) for line in lines) if taux_tva else lines
    total = current_total if current_total is not None else _total(result)
    if remise is not None and remise != sum((line.remise for line in result), Decimal(0)):
        if len(result) != 1:
            raise BusinessError(MULTI_LINE_DISCOUNT.format(n=len(result)))
        (line,) = result
        if remise > (line.quantite * line.prix_unitaire_ht).quantize(CENT):
            raise BusinessError(
                f"la remise {french_money(remise)} dépasse le montant de la ligne "
                f"({french_quantity(line.quantite)} × {french_money(line.prix_unitaire_ht)})"
            )
        result = (replace(line, remise=remise.quantize(CENT)),)
    if montant_ht is None:
        return result
    target = montant_ht.quantize(CENT)
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
    lines = correction.lignes or corrected_lines(
        original.lignes,
        taux_tva=correction.taux_tva,
        montant_ht=correction.montant_ht,
        current_total=original.montant_ht,
        remise=correction.remise,
    )
    return ReissueContent(
        numero=correction.nouveau_numero,
        cadre=original.cadre,
        siret_destinataire=_pick(correction.siret_destinataire, original.siret_destinataire),
        code_service=_pick(correction.code_service, original.code_service),
        coordonnees_bancaires=_pick(
            correction.coordonnees_bancaires, original.coordonnees_bancaires
        ),
        type_facture=original.type_facture,
        date_facture=correction.date_facture or original.date_facture,
        devise=original.devise or "EUR",
        type_tva=original.type_tva,
        mode_paiement=_pick(correction.mode_paiement, original.mode_paiement),
        numero_engagement=_pick(correction.numero_engagement, original.numero_engagement),
        numero_marche=_pick(correction.numero_marche, original.numero_marche),
        numero_facture_origine=original.numero_facture_origine,
        lignes=lines,
        commentaire=_pick(correction.commentaire, original.commentaire),
        pieces_jointes=correction.pieces_jointes,
        account_named=correction.coordonnees_bancaires is not None,
    )


def describe(
    *,
    date_facture: date | None,
    numero_engagement: str,
    code_service: str,
    siret_destinataire: str,
    numero_marche: str,
    mode_paiement: str,
    coordonnees_bancaires: str,
    lignes: Iterable[InvoiceLine],
    montant_ht: Decimal | None,
    montant_tva: Decimal | None,
    montant_ttc: Decimal | None,
) -> dict[str, Any]:
    """An invoice's content as a person reads it: :data:`CONTENT_LABELS` → French text
    (« — » when empty); « Lignes » is a list, one sentence per line."""
    return {
        "Date de facture": date_facture.strftime("%d/%m/%Y") if date_facture else EMPTY,
        "Numéro d'engagement": numero_engagement or EMPTY,
        "Code service": code_service or EMPTY,
        "SIRET du destinataire": siret_destinataire or EMPTY,
        "Numéro de marché": numero_marche or EMPTY,
        "Mode de paiement": mode_paiement or EMPTY,
        "Coordonnées bancaires": coordonnees_bancaires or EMPTY,
        "Lignes": [describe_line(line) for line in lignes],
        "Montant HT": french_money(montant_ht),
        "TVA": french_money(montant_tva),
        "Montant TTC": french_money(montant_ttc),
    }


def described(record: InvoiceRecord) -> dict[str, Any]:
    """An invoice as read on its consultation page, as :func:`describe` says it."""
    return describe(
        date_facture=record.date_facture,
        numero_engagement=record.numero_engagement,
        code_service=record.code_service,
        siret_destinataire=record.siret_destinataire,
        numero_marche=record.numero_marche,
        mode_paiement=record.mode_paiement,
        coordonnees_bancaires=record.coordonnees_bancaires,
        lignes=record.lignes,
        montant_ht=record.montant_ht,
        montant_tva=record.montant_tva,
        montant_ttc=record.montant_ttc,
    )


def describe_line(line: InvoiceLine) -> str:
    """« Prestation X — 2 jour × 150,00 € HT, remise 10,00 €, TVA 20 % (réf. R-1) »."""
    quantity = french_quantity(line.quantite) + (f" {line.unite}" if line.unite else "")
    text = f"{line.designation or EMPTY} — {quantity} × {french_money(line.prix_unitaire_ht)} HT"
    if line.remise:
        text += f", remise {french_money(line.remise)}"
    text += f", TVA {french_quantity(line.taux_tva)} %"
    if line.reference:
        text += f" (réf. {line.reference})"
    return text


def french_money(amount: Decimal | None) -> str:
    """« 1 234,56 € » (« — » for none)."""
    if amount is None:
        return EMPTY
    quantized = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    return f"{quantized:,.2f}".replace(",", " ").replace(".", ",") + " €"


def french_quantity(value: Decimal) -> str:
    """« 2 », « 1,5 », « 5,5 » (no trailing zeros)."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",") or "0"


def vat_of(lines: Iterable[InvoiceLine]) -> Decimal:
    """The VAT of ``lines``: per rate, on the HT total of that rate, each to the cent."""
    by_rate: dict[Decimal, Decimal] = defaultdict(Decimal)
    for line in lines:
        by_rate[line.taux_tva] += line.montant_ht
    return sum(
        (
            (base * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
            for rate, base in by_rate.items()
        ),
        Decimal("0.00"),
    )


def _account_parts(text: str) -> tuple[str, str]:
    """(label casefolded, IBAN compact) of « Libellé - IBAN », « IBAN » or « Libellé »."""
    clean = " ".join(text.split())
    label, _, tail = clean.rpartition(" - ")
    if not label:
        label, tail = clean, ""
    iban = _compact(tail) if tail else ""
    if not iban and _IBAN.fullmatch(_compact(clean)):
        return "", _compact(clean)
    return label.casefold(), iban if _IBAN.fullmatch(iban) else ""


_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")


def _compact(text: str) -> str:
    return re.sub(r"\s", "", text).upper()


def _code(text: str) -> str:
    """« ACH - Achats » and « ACH » are one service code."""
    return text.split(" - ", 1)[0].strip().casefold()


def _comparable(content: ReissueContent) -> tuple[object, ...]:
    label, iban = _account_parts(content.coordonnees_bancaires)
    return (
        re.sub(r"\D", "", content.siret_destinataire),
        _code(content.code_service),
        label or iban,
        content.type_facture,
        content.date_facture,
        content.devise,
        content.type_tva,
        content.mode_paiement.casefold(),
        content.numero_engagement.strip(),
        content.numero_marche.strip(),
        content.lignes,
        content.commentaire.strip(),
        content.pieces_jointes,
    )


def _pick(override: str | None, original: str) -> str:
    return original if override is None else override


def _total(lines: tuple[InvoiceLine, ...]) -> Decimal:
    return sum((line.montant_ht for line in lines), Decimal("0.00"))
