"""Records the page objects read off the portal (no business meaning attached)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class InvoiceLine:
    reference: str
    designation: str
    quantite: Decimal
    unite: str
    prix_unitaire_ht: Decimal
    remise: Decimal
    taux_tva: Decimal

    @property
    def montant_ht(self) -> Decimal:
        return (self.quantite * self.prix_unitaire_ht - self.remise).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class HistoryEntry:
    date: str
    utilisateur: str
    action: str


@dataclass(frozen=True)
class InvoiceRecord:
    """Everything the consultation page shows about one invoice (labels → values, parsed)."""

    numero: str
    statut: str  # display label, e.g. « Rejetée »
    type_facture: str = ""
    cadre: str = ""  # display label of the cadre de facturation
    date_facture: date | None = None
    date_depot: datetime | None = None
    siret_destinataire: str = ""
    destinataire: str = ""
    code_service: str = ""
    numero_engagement: str = ""
    numero_marche: str = ""
    numero_facture_origine: str = ""
    devise: str = "EUR"
    type_tva: str = ""
    mode_paiement: str = ""
    fournisseur: str = ""
    coordonnees_bancaires: str = ""
    montant_ht: Decimal | None = None
    montant_tva: Decimal | None = None
    montant_ttc: Decimal | None = None
    montant_a_payer: Decimal | None = None
    commentaire: str = ""
    # The public client's motive block, whichever it is: « Rejet » (Rejetée), « Suspension »
    # (Suspendue) or « Recyclage » (À recycler); empty / None when the page shows none, and
    # acquittee / rejet_traite None for « Recyclage », which has neither.
    motif_rejet: str = ""
    commentaire_rejet: str = ""
    date_rejet: datetime | None = None
    acquittee: bool | None = None
    rejet_traite: bool | None = None
    lignes: tuple[InvoiceLine, ...] = ()
    historique: tuple[HistoryEntry, ...] = ()
    pieces_jointes: tuple[str, ...] = ()  # file names
    url: str = ""
