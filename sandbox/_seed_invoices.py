"""Builds the seed's invoices: recipients, lines, statuses and their history.

Invoices come out without a number (the seed numbers them in deposit order). A recipient's
code service and engagement number always satisfy what its structure requires, so a rejected
invoice can be reissued as it is once given a new number.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from sandbox import _seed_data as data
from sandbox.model import (
    MOTIFS,
    Action,
    Attachment,
    HistoryItem,
    Invoice,
    Line,
    Status,
    Structure,
    Supplier,
    to_cents,
    totals,
)

_QUANTITIES = {"jour": (1, 20), "mois": (1, 3), "heure": (4, 40), "unité": (1, 10)}
_SUSPENSION = ("Pièce justificative manquante", "Merci de joindre le procès-verbal de réception.")
_RECYCLING = ("Code service erroné", "Merci d'indiquer le code service du service financier.")


class InvoiceFactory:
    """Invoices of one supplier, drawn from ``rng`` (the only source of variation)."""

    def __init__(
        self,
        rng: random.Random,
        supplier: Supplier,
        user_name: str,
        structures: Sequence[Structure],
    ) -> None:
        self.rng = rng
        self.supplier = supplier
        self.user_name = user_name
        self.structures = [s for s in structures if s.active]

    def pending_rejection(self, motive: str, deposit: datetime) -> Invoice:
        """A rejected invoice, not yet acknowledged, with a realistic motive and comment."""
        rng = self.rng
        lines: tuple[Line, ...]
        if motive in data.AMOUNT_MOTIVES:
            rate = rng.choice((Decimal(10), Decimal("5.5"))) if motive == "TX_TVA_ERR" else None
            lines = (self._line(rate=rate, discount=motive != "CALCUL_ERR"),)
        else:
            lines = tuple(self._line() for _ in range(rng.randint(1, 3)))
        invoice = self._invoice(Status.REJETEE, deposit, lines, motive=motive)
        rejected_at = deposit + timedelta(hours=rng.randint(2, 8), minutes=rng.randrange(60))
        return self._client_event(
            invoice, Action.REJET, rejected_at, MOTIFS[motive], rng.choice(data.COMMENTS[motive])
        )

    def pending_suspension(self, motive: str, comment: str, deposit: datetime) -> Invoice:
        """A suspended invoice, not yet acknowledged (a document is missing)."""
        rng = self.rng
        lines = tuple(self._line() for _ in range(rng.randint(1, 3)))
        invoice = self._invoice(Status.SUSPENDUE, deposit, lines)
        at = deposit + timedelta(hours=rng.randint(2, 8), minutes=rng.randrange(60))
        return self._client_event(invoice, Action.SUSPENSION, at, motive, comment)

    def pending_recycling(self, motive: str, comment: str, deposit: datetime) -> Invoice:
        """An invoice « À recycler » (it reached the wrong recipient); no history action: the
        portal has none for a recycling request."""
        rng = self.rng
        lines = tuple(self._line() for _ in range(rng.randint(1, 3)))
        invoice = self._invoice(Status.A_RECYCLER, deposit, lines)
        at = deposit + timedelta(hours=rng.randint(2, 8), minutes=rng.randrange(60))
        return replace(invoice, motif=motive, commentaire_motif=comment, date_motif=at)

    def other(self, status: Status, at: datetime, *, lines: int | None = None) -> Invoice:
        """An invoice in ``status``, deposited (or, for a draft, saved) at ``at``; rejections
        and suspensions among them are already acknowledged (and rejections processed)."""
        rng = self.rng
        count = lines if lines is not None else rng.randint(1, 3)
        invoice = self._invoice(status, at, tuple(self._line() for _ in range(count)))
        if status is Status.REJETEE:
            motive = rng.choice(sorted(data.COMMENTS))
            invoice = self._client_event(
                invoice,
                Action.REJET,
                at + timedelta(days=1),
                MOTIFS[motive],
                data.COMMENTS[motive][0],
            )
            invoice = self._user_event(invoice, Action.ACQUITTEMENT_REJET, at + timedelta(days=2))
            invoice = self._user_event(
                invoice, Action.TRAITEMENT_REJET, at + timedelta(days=2, minutes=10)
            )
            return replace(invoice, acquittee=True, rejet_traite=True)
        if status in (Status.SUSPENDUE, Status.COMPLETEE):
            invoice = self._client_event(
                invoice, Action.SUSPENSION, at + timedelta(days=1), *_SUSPENSION
            )
            invoice = self._user_event(
                invoice, Action.ACQUITTEMENT_SUSPENSION, at + timedelta(days=2)
            )
            invoice = replace(invoice, acquittee=True)
            if status is Status.COMPLETEE:
                proof = Attachment("PV-reception.pdf", 48_213, "0" * 64)
                invoice = replace(
                    invoice,
                    motif="",
                    commentaire_motif="",
                    date_motif=None,
                    pieces_jointes=(proof,),
                )
            return invoice
        if status is Status.A_RECYCLER:
            return replace(
                invoice,
                motif=_RECYCLING[0],
                commentaire_motif=_RECYCLING[1],
                date_motif=at + timedelta(days=1),
            )
        return invoice

    def _invoice(
        self, status: Status, at: datetime, lines: tuple[Line, ...], motive: str = ""
    ) -> Invoice:
        rng = self.rng
        structure = rng.choice(self.structures)
        code, engagement = self._routing(structure, at.year, needs_engagement=motive == "CMD_ERR")
        ht, tva, ttc = totals(lines)
        draft = status is Status.BROUILLON
        compte = self.supplier.comptes[1 if motive == "COORD_BANC_ERR" else 0]
        with_contract = motive != "REF_CT_ABSENT" and rng.random() < 0.4
        return Invoice(
            id=0,
            supplier_id=self.supplier.id,
            numero="",
            statut=status,
            type_facture="FACTURE",
            cadre="A1",
            date_facture=at.date() - timedelta(days=rng.randint(0, 3)),
            date_depot=None if draft else at,
            siret_destinataire=structure.siret,
            nom_destinataire=structure.nom,
            code_service=code,
            numero_engagement=engagement,
            numero_marche=f"{at.year - 1}-MP-{rng.randint(1, 99):03d}" if with_contract else "",
            numero_facture_origine="",
            devise="EUR",
            type_tva="TVA_SUR_DEBIT",
            mode_paiement="VIREMENT",
            compte_id=compte.id,
            commentaire="",
            lignes=lines,
            pieces_jointes=(),
            montant_ht=ht,
            montant_tva=tva,
            montant_ttc=ttc,
            historique=(
                HistoryItem(Action.ENREGISTREMENT if draft else Action.DEPOT, at, self.user_name),
            ),
        )

    def _routing(
        self, structure: Structure, year: int, *, needs_engagement: bool
    ) -> tuple[str, str]:
        """A code service and an engagement number that satisfy the structure's requirement."""
        rng = self.rng
        services = structure.active_services
        exigence = structure.exigence
        with_service = exigence in ("service", "service_et_engagement") or (
            exigence in ("aucune", "service_ou_engagement") and rng.random() < 0.5
        )
        with_engagement = (
            needs_engagement
            or exigence in ("engagement", "service_et_engagement")
            or (exigence == "service_ou_engagement" and not with_service)
            or rng.random() < 0.3
        )
        code = rng.choice(services).code if with_service and services else ""
        if not with_engagement:
            return code, ""
        if structure.nom.startswith("Ministère"):
            return code, str(rng.randint(1_300_000_000, 1_399_999_999))
        return code, f"BC-{year}-{rng.randint(1, 9999):04d}"

    def _line(self, *, rate: Decimal | None = None, discount: bool = True) -> Line:
        rng = self.rng
        index = rng.randrange(len(data.ITEMS))
        designation, unit, price = data.ITEMS[index]
        low, high = _QUANTITIES.get(unit, (1, 1))
        quantity = Decimal(rng.randint(low, high))
        remise = Decimal("0.00")
        if discount and rng.random() < 0.2:
            remise = to_cents(quantity * price * Decimal("0.05"))
        return Line(
            reference=f"ART-{index + 1:03d}",
            designation=designation,
            quantite=quantity,
            unite=unit,
            prix_unitaire_ht=price,
            remise=remise,
            taux_tva=rate if rate is not None else Decimal(20),
        )

    def _user_event(self, invoice: Invoice, action: Action, at: datetime) -> Invoice:
        item = HistoryItem(action, at, self.user_name)
        return replace(invoice, historique=(*invoice.historique, item))

    def _client_event(
        self, invoice: Invoice, action: Action, at: datetime, motif: str, comment: str
    ) -> Invoice:
        """A rejection or suspension by the recipient structure."""
        item = HistoryItem(action, at, invoice.nom_destinataire)
        return replace(
            invoice,
            motif=motif,
            commentaire_motif=comment,
            date_motif=at,
            acquittee=False,
            rejet_traite=False,
            historique=(*invoice.historique, item),
        )
