"""The sandbox's domain records: statuses, actions, reference lists, invoices and their parts.

Pure data, no storage: :mod:`sandbox.store` persists these records, :mod:`sandbox.rules`
checks what the entry form submits (:class:`Draft`) and turns it into
:class:`CleanInvoiceData`. Labels are the portal's own words (docs/portal.md, « Statuses »
and « The entry form »; SCREENS.md), quoted exactly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

CENT = Decimal("0.01")


def to_cents(value: Decimal) -> Decimal:
    """Round an amount half-up to the cent (the portal's rounding)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class Status(StrEnum):
    """Status of an issued invoice (API codes: docs/portal.md, « Statuses »)."""

    BROUILLON = "BROUILLON"
    DEPOSEE = "DEPOSEE"
    EN_COURS_ACHEMINEMENT = "EN_COURS_ACHEMINEMENT"
    MISE_A_DISPOSITION = "MISE_A_DISPOSITION"
    A_RECYCLER = "A_RECYCLER"
    SUSPENDUE = "SUSPENDUE"
    COMPLETEE = "COMPLETEE"
    REJETEE = "REJETEE"
    SERVICE_FAIT = "SERVICE_FAIT"
    MANDATEE = "MANDATEE"
    MISE_A_DISPOSITION_COMPTABLE = "MISE_A_DISPOSITION_COMPTABLE"
    COMPTABILISEE = "COMPTABILISEE"
    MISE_EN_PAIEMENT = "MISE_EN_PAIEMENT"


STATUS_LABELS: dict[Status, str] = {
    Status.BROUILLON: "Brouillon",
    Status.DEPOSEE: "Déposée",
    Status.EN_COURS_ACHEMINEMENT: "En cours d'acheminement",
    Status.MISE_A_DISPOSITION: "Mise à disposition du destinataire",
    Status.A_RECYCLER: "À recycler",
    Status.SUSPENDUE: "Suspendue",
    Status.COMPLETEE: "Complétée",
    Status.REJETEE: "Rejetée",
    Status.SERVICE_FAIT: "Service fait",
    Status.MANDATEE: "Mandatée",
    Status.MISE_A_DISPOSITION_COMPTABLE: "Mise à disposition du comptable",
    Status.COMPTABILISEE: "Comptabilisée",
    Status.MISE_EN_PAIEMENT: "Mise en paiement",
}


class Action(StrEnum):
    """Actions logged in « Historique des actions utilisateurs » (API codes)."""

    DEPOT = "DEPOT"
    ENREGISTREMENT = "ENREGISTREMENT"
    REJET = "REJET"
    SUSPENSION = "SUSPENSION"
    ACQUITTEMENT_REJET = "ACQUITTEMENT_REJET"
    TRAITEMENT_REJET = "TRAITEMENT_REJET"
    ACQUITTEMENT_SUSPENSION = "ACQUITTEMENT_SUSPENSION"
    TELECHARGEMENT_FACTURE = "TELECHARGEMENT_FACTURE"


ACTION_LABELS: dict[Action, str] = {
    Action.DEPOT: "Dépôt de la facture",
    Action.ENREGISTREMENT: "Enregistrement du brouillon",
    Action.REJET: "Rejet de la facture",
    Action.SUSPENSION: "Suspension de la facture",
    Action.ACQUITTEMENT_REJET: "Acquittement du rejet",
    Action.TRAITEMENT_REJET: "Traitement du rejet",
    Action.ACQUITTEMENT_SUSPENSION: "Acquittement de la suspension",
    Action.TELECHARGEMENT_FACTURE: "Téléchargement de la facture",
}

#: Cadres de facturation offered by the form (code → option label).
CADRES: dict[str, str] = {
    "A1": "A1 - Dépôt par un fournisseur d'une facture",
    "A2": "A2 - Dépôt par un fournisseur d'une facture déjà payée",
    "A9": "A9 - Dépôt par un sous-traitant d'une facture",
    "A12": "A12 - Dépôt par un cotraitant d'une facture",
}

#: Reference lists of the « Références » block: API code → display label.
TYPES_FACTURE: dict[str, str] = {"FACTURE": "Facture", "AVOIR": "Avoir", "ACOMPTE": "Acompte"}
TYPES_TVA: dict[str, str] = {
    "TVA_SUR_DEBIT": "TVA sur les débits",
    "TVA_SUR_ENCAISSEMENT": "TVA sur les encaissements",
    "EXONERATION": "Exonération",
    "SANS_TVA": "Sans TVA",
}
MODES_PAIEMENT: dict[str, str] = {
    "VIREMENT": "Virement",
    "CHEQUE": "Chèque",
    "PRELEVEMENT": "Prélèvement",
    "ESPECE": "Espèce",
    "REPORT": "Report",
    "AUTRE": "Autre",
}
DEVISES: tuple[str, ...] = ("EUR",)

#: VAT rates of the line combobox, in the form's order.
TAUX_TVA: tuple[Decimal, ...] = (
    Decimal("20"),
    Decimal("10"),
    Decimal("5.5"),
    Decimal("2.1"),
    Decimal("0"),
)

#: Rejection motives: reason code → the text the portal shows (docs/portal.md, « Rejection
#: motives »).
MOTIFS: dict[str, str] = {
    "TX_TVA_ERR": "Taux de TVA erroné",
    "MONTANTTOTAL_ERR": "Montant total erroné",
    "CALCUL_ERR": "Erreur de calcul de la facture",
    "DOUBLON": "Facture en doublon",
    "DEST_ERR": "Erreur de destinataire",
    "CMD_ERR": "Numéro de commande erroné",
    "REF_CT_ABSENT": "Référence contractuelle absente",
    "COORD_BANC_ERR": "Erreur de coordonnées bancaires",
    "SIRET_ERR": "SIRET erroné",
    "CODE_ROUTAGE_ERR": "Code service erroné",
    "NON_CONFORME": "Mention légale manquante",
    "AUTRE": "Autre",
}

#: What a public structure requires on its invoices.
EXIGENCES: tuple[str, ...] = (
    "aucune",
    "service",
    "engagement",
    "service_et_engagement",
    "service_ou_engagement",
)

#: The text the entry form shows for each requirement (empty: nothing required).
EXIGENCE_LABELS: dict[str, str] = {
    "aucune": "",
    "service": "Code service obligatoire",
    "engagement": "Numéro d'engagement obligatoire",
    "service_et_engagement": "Code service et numéro d'engagement obligatoires",
    "service_ou_engagement": "Code service ou numéro d'engagement obligatoire",
}

#: Statuses that keep an invoice in « Synthèse » (REJETEE only while not processed).
SYNTHESE_STATUSES: tuple[Status, ...] = (
    Status.BROUILLON,
    Status.REJETEE,
    Status.SUSPENDUE,
    Status.A_RECYCLER,
)


@dataclass(frozen=True)
class Service:
    code: str
    nom: str
    active: bool = True


@dataclass(frozen=True)
class Structure:
    """A public structure of the directory (a possible recipient)."""

    siret: str
    nom: str
    active: bool = True
    exigence: str = "aucune"
    services: tuple[Service, ...] = ()

    def service(self, code: str) -> Service | None:
        """The service with this code (active or not), or None."""
        return next((s for s in self.services if s.code == code), None)

    @property
    def active_services(self) -> tuple[Service, ...]:
        return tuple(s for s in self.services if s.active)


@dataclass(frozen=True)
class BankAccount:
    id: int
    libelle: str
    iban: str
    bic: str


@dataclass(frozen=True)
class Supplier:
    """The supplier's structure; ``id`` is assigned by the store (pass 0 to add one)."""

    id: int
    siret: str
    nom: str
    comptes: tuple[BankAccount, ...] = ()

    def compte(self, compte_id: int | None) -> BankAccount | None:
        return next((c for c in self.comptes if c.id == compte_id), None)


@dataclass(frozen=True)
class User:
    email: str
    password_hash: str = field(repr=False)
    supplier_id: int
    otp: bool = False  # the account has the second factor (one-time code by e-mail)
    nom: str = ""

    @property
    def display_name(self) -> str:
        """The name logged in the history: the display name, else the e-mail."""
        return self.nom or self.email


@dataclass(frozen=True)
class Line:
    reference: str
    designation: str
    quantite: Decimal
    unite: str
    prix_unitaire_ht: Decimal
    remise: Decimal
    taux_tva: Decimal

    @property
    def montant_ht(self) -> Decimal:
        return to_cents(self.quantite * self.prix_unitaire_ht - self.remise)

    @property
    def montant_tva(self) -> Decimal:
        return to_cents(self.montant_ht * self.taux_tva / 100)


def totals(lines: Iterable[Line]) -> tuple[Decimal, Decimal, Decimal]:
    """HT, TVA and TTC of these lines; TVA is computed per rate on the HT sum of that rate."""
    by_rate: dict[Decimal, Decimal] = defaultdict(Decimal)
    for line in lines:
        by_rate[line.taux_tva] += line.montant_ht
    ht = to_cents(sum(by_rate.values(), Decimal(0)))
    tva = to_cents(sum((to_cents(base * rate / 100) for rate, base in by_rate.items()), Decimal(0)))
    return ht, tva, ht + tva


def vat_breakdown(lines: Iterable[Line]) -> list[tuple[Decimal, Decimal, Decimal]]:
    """(rate, HT base, TVA) per rate, highest rate first — the « Récapitulatif TVA »."""
    by_rate: dict[Decimal, Decimal] = defaultdict(Decimal)
    for line in lines:
        by_rate[line.taux_tva] += line.montant_ht
    return [
        (rate, to_cents(base), to_cents(base * rate / 100))
        for rate, base in sorted(by_rate.items(), reverse=True)
    ]


@dataclass(frozen=True)
class Attachment:
    nom: str
    taille: int  # bytes
    sha256: str


@dataclass(frozen=True)
class HistoryItem:
    action: Action
    date: datetime  # timezone-aware
    utilisateur: str

    @property
    def label(self) -> str:
        return ACTION_LABELS[self.action]


@dataclass(frozen=True)
class Invoice:
    """An issued invoice as the store holds it. Instants are timezone-aware (UTC)."""

    id: int
    supplier_id: int
    numero: str
    statut: Status
    type_facture: str
    cadre: str
    date_facture: date | None
    date_depot: datetime | None
    siret_destinataire: str
    nom_destinataire: str
    code_service: str
    numero_engagement: str
    numero_marche: str
    numero_facture_origine: str
    devise: str
    type_tva: str
    mode_paiement: str
    compte_id: int | None
    commentaire: str
    lignes: tuple[Line, ...]
    pieces_jointes: tuple[Attachment, ...]
    montant_ht: Decimal
    montant_tva: Decimal
    montant_ttc: Decimal
    motif: str = ""
    commentaire_motif: str = ""
    date_motif: datetime | None = None
    acquittee: bool = False
    rejet_traite: bool = False
    historique: tuple[HistoryItem, ...] = ()

    @property
    def statut_label(self) -> str:
        return STATUS_LABELS[self.statut]

    @property
    def montant_a_payer(self) -> Decimal:
        """« Montant à payer »: the TTC, except for an invoice already paid (cadre A2)."""
        return Decimal("0.00") if self.cadre == "A2" else self.montant_ttc

    @property
    def in_synthese(self) -> bool:
        """Whether the invoice is on the supplier's work list « Synthèse »."""
        if self.statut is Status.REJETEE:
            return not self.rejet_traite
        return self.statut in SYNTHESE_STATUSES


@dataclass
class Draft:
    """What the entry form « Saisir une facture » submits, every value as typed."""

    cadre: str = ""
    siret_destinataire: str = ""
    code_service: str = ""
    compte_id: str = ""
    type_facture: str = ""
    numero: str = ""
    date_facture: str = ""
    devise: str = ""
    type_tva: str = ""
    mode_paiement: str = ""
    numero_engagement: str = ""
    numero_marche: str = ""
    numero_facture_origine: str = ""
    commentaire: str = ""
    #: one dict per line, keys: reference, designation, quantite, unite,
    #: prix_unitaire_ht, remise, taux_tva
    lignes: list[dict[str, str]] = field(default_factory=list)
    #: totals the page computed and sent; empty = not checked
    total_ht: str = ""
    total_tva: str = ""
    total_ttc: str = ""
    pieces_jointes: list[tuple[str, bytes]] = field(default_factory=list, repr=False)


@dataclass(frozen=True)
class CleanInvoiceData:
    """A draft once checked and parsed: what :meth:`Store.create_invoice` stores."""

    numero: str
    cadre: str = "A1"
    siret_destinataire: str = ""
    nom_destinataire: str = ""
    code_service: str = ""
    compte_id: int | None = None
    type_facture: str = "FACTURE"
    date_facture: date | None = None
    devise: str = "EUR"
    type_tva: str = "TVA_SUR_DEBIT"
    mode_paiement: str = "VIREMENT"
    numero_engagement: str = ""
    numero_marche: str = ""
    numero_facture_origine: str = ""
    commentaire: str = ""
    lignes: tuple[Line, ...] = ()
    pieces_jointes: tuple[tuple[str, bytes], ...] = field(default=(), repr=False)
