"""The sandbox's data: accounts, directory of public structures, suppliers and invoices.

One SQLite database (a file in WAL mode, or ``":memory:"`` for tests) behind one connection
guarded by a re-entrant lock, so the store can be shared by uvicorn's thread pool. The class
is layered: :class:`sandbox._db.Database` (connection, accounts, directory) ←
:class:`sandbox._reads.InvoiceReads` (queries) ← :class:`Store` (changes to invoices).

Decisions worth knowing:

- **Routing is lazy.** An invoice sent through :meth:`Store.create_invoice` is
  « En cours d'acheminement »; it becomes « Mise à disposition du destinataire » once
  :attr:`Store.acheminement_s` seconds have passed since its deposit. The change is applied at
  the start of every operation (no background thread). Imported (seeded) invoices never move
  on by themselves, so a seed keeps one invoice of every status.
- **Drafts come last** in « Synthèse » and in searches: they have no date de dépôt; among
  themselves the newest draft comes first.
- Acknowledging an invoice already acknowledged is a no-op (no new history entry).
- **Completing and recycling log no action.** The portal has no history action for them: a
  completed invoice (« Complétée ») and a recycled one (« Déposée », then « Mise à disposition
  du destinataire » after :attr:`Store.acheminement_s` seconds) show it by their status only.
  Both keep their number; the comment given, if any, becomes the invoice's « Commentaire ».
- Completing needs the suspension acknowledged first (the public procedure: acknowledge,
  then complete).

Exceptions::

    StoreError
    ├── NotFound        no such invoice (or not this supplier's)
    └── RuleViolation   the transition or the data is not allowed (French message)
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandbox import _schema as db
from sandbox._db import NotFound, PageResult, RuleViolation, StoreError
from sandbox._reads import ORDER, InvoiceReads
from sandbox.fmt import PARIS
from sandbox.model import (
    MOTIFS,
    STATUS_LABELS,
    Action,
    CleanInvoiceData,
    HistoryItem,
    Invoice,
    Status,
    User,
    totals,
)

DUPLICATE_MESSAGE = (
    "Vous avez déjà déposé une demande de paiement avec ce numéro de facture pour cette structure"
)
#: Refusal reasons of :meth:`Store.process_rejection`.
NOT_ACKNOWLEDGED = "non_acquittee"
NOT_REJECTED = "non_rejetee"

_REJECTABLE = frozenset(
    {
        Status.MISE_A_DISPOSITION,
        Status.EN_COURS_ACHEMINEMENT,
        Status.DEPOSEE,
        Status.COMPLETEE,
        Status.SUSPENDUE,
        Status.A_RECYCLER,
    }
)
_SUSPENDABLE = _REJECTABLE - {Status.SUSPENDUE}
_RECYCLABLE = _REJECTABLE - {Status.A_RECYCLER}


def completion_refusal(invoice: Invoice) -> str | None:
    """Why « Compléter » is refused for this invoice (French), or None when it is allowed."""
    if invoice.statut is not Status.SUSPENDUE:
        return f"La facture {invoice.numero} n'est pas suspendue."
    if not invoice.acquittee:
        return f"La facture {invoice.numero} doit être acquittée avant d'être complétée."
    return None


def recycling_refusal(invoice: Invoice) -> str | None:
    """Why « Recycler » is refused for this invoice (French), or None when it is allowed."""
    if invoice.statut is not Status.A_RECYCLER:
        return f"La facture {invoice.numero} n'est pas à recycler."
    return None


__all__ = [
    "DUPLICATE_MESSAGE",
    "NOT_ACKNOWLEDGED",
    "NOT_REJECTED",
    "NotFound",
    "PageResult",
    "ProcessResult",
    "RuleViolation",
    "Store",
    "StoreError",
    "completion_refusal",
    "recycling_refusal",
]


@dataclass(frozen=True)
class ProcessResult:
    """Outcome of « Traiter le rejet »: refused = (invoice, NOT_ACKNOWLEDGED | NOT_REJECTED)."""

    processed: list[Invoice]
    refused: list[tuple[Invoice, str]]


class Store(InvoiceReads):
    """Thread-safe access to the sandbox database. Instants given and returned are aware."""

    # -- writing invoices -------------------------------------------------------------------

    def create_invoice(
        self,
        supplier_id: int,
        clean_data: CleanInvoiceData,
        user: User,
        *,
        send: bool,
        now: datetime,
    ) -> Invoice:
        """Store a checked invoice: sent (« En cours d'acheminement », history DEPOT) or a
        draft (« Brouillon », history ENREGISTREMENT). A duplicate number is refused again
        here, under the lock, so that two simultaneous sends cannot both pass."""
        data = clean_data
        ht, tva, ttc = totals(data.lignes)
        nom = data.nom_destinataire
        if not nom and data.siret_destinataire:
            structure = self.get_structure(data.siret_destinataire)
            nom = structure.nom if structure else ""
        invoice = Invoice(
            id=0,
            supplier_id=supplier_id,
            numero=data.numero,
            statut=Status.EN_COURS_ACHEMINEMENT if send else Status.BROUILLON,
            type_facture=data.type_facture,
            cadre=data.cadre,
            date_facture=data.date_facture,
            date_depot=now if send else None,
            siret_destinataire=data.siret_destinataire,
            nom_destinataire=nom,
            code_service=data.code_service,
            numero_engagement=data.numero_engagement,
            numero_marche=data.numero_marche,
            numero_facture_origine=data.numero_facture_origine,
            devise=data.devise,
            type_tva=data.type_tva,
            mode_paiement=data.mode_paiement,
            compte_id=data.compte_id,
            commentaire=data.commentaire,
            lignes=data.lignes,
            pieces_jointes=(),
            montant_ht=ht,
            montant_tva=tva,
            montant_ttc=ttc,
            historique=(
                HistoryItem(
                    Action.DEPOT if send else Action.ENREGISTREMENT, now, user.display_name
                ),
            ),
        )
        with self._tx() as conn:
            if send and self.has_duplicate(supplier_id, data.numero, now.astimezone(PARIS).year):
                raise RuleViolation(DUPLICATE_MESSAGE)
            (invoice_id,) = self._insert(conn, [invoice], auto_route=send, created_at=now)
            conn.executemany(
                db.INSERT_ATTACHMENT,
                [
                    (
                        invoice_id,
                        i,
                        name,
                        len(content),
                        hashlib.sha256(content).hexdigest(),
                        content,
                    )
                    for i, (name, content) in enumerate(data.pieces_jointes, start=1)
                ],
            )
            return db.load_invoices(conn, [invoice_id])[0]

    def import_invoices(self, invoices: Iterable[Invoice]) -> list[int]:
        """Insert complete records as they are (status, history, motive…), e.g. from a seed.

        Their ``id`` is ignored (new ids are returned, in order); attachments are kept as
        metadata only. Imported invoices are not routed automatically.
        """
        with self._tx() as conn:
            return self._insert(conn, list(invoices), auto_route=False, created_at=None)

    def _insert(
        self,
        conn: sqlite3.Connection,
        invoices: list[Invoice],
        *,
        auto_route: bool,
        created_at: datetime | None,
    ) -> list[int]:
        first = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM invoices").fetchone()[0]) + 1
        ids = list(range(first, first + len(invoices)))
        fallback = self.clock()
        rows: list[tuple[Any, ...]] = []
        lines: list[tuple[Any, ...]] = []
        attachments: list[tuple[Any, ...]] = []
        history: list[tuple[Any, ...]] = []
        for invoice_id, invoice in zip(ids, invoices, strict=True):
            created = created_at or invoice.date_depot or _first_date(invoice) or fallback
            rows.append(db.invoice_row(invoice, invoice_id, created, auto_route))
            lines.extend(db.line_rows(invoice_id, invoice.lignes))
            history.extend(db.history_rows(invoice_id, invoice.historique))
            attachments.extend(
                (invoice_id, i, a.nom, a.taille, a.sha256, None)
                for i, a in enumerate(invoice.pieces_jointes, start=1)
            )
        conn.executemany(db.INSERT_INVOICE, rows)
        conn.executemany(db.INSERT_LINE, lines)
        conn.executemany(db.INSERT_ATTACHMENT, attachments)
        conn.executemany(db.INSERT_HISTORY, history)
        return ids

    # -- supplier actions -------------------------------------------------------------------

    def acknowledge(
        self,
        supplier_id: int,
        invoice_ids: Iterable[int],
        user: User,
        *,
        now: datetime | None = None,
    ) -> list[Invoice]:
        """« Acquitter »: the invoices newly acknowledged (rejected → ACQUITTEMENT_REJET,
        suspended → ACQUITTEMENT_SUSPENSION). Others, and those already acknowledged, are
        left unchanged. Raises NotFound (changing nothing) for an id not this supplier's."""
        when = now or self.clock()
        with self._tx() as conn:
            done = []
            for invoice in self._owned(conn, supplier_id, invoice_ids):
                if invoice.acquittee or invoice.statut not in (Status.REJETEE, Status.SUSPENDUE):
                    continue
                action = (
                    Action.ACQUITTEMENT_REJET
                    if invoice.statut is Status.REJETEE
                    else Action.ACQUITTEMENT_SUSPENSION
                )
                conn.execute("UPDATE invoices SET acquittee = 1 WHERE id = ?", (invoice.id,))
                self._log(conn, invoice.id, action, when, user.display_name)
                done.append(invoice.id)
            return db.load_invoices(conn, done)

    def process_rejection(
        self,
        supplier_id: int,
        invoice_ids: Iterable[int],
        user: User,
        *,
        now: datetime | None = None,
    ) -> ProcessResult:
        """« Traiter le rejet »: each acknowledged, unprocessed rejection is processed and
        leaves « Synthèse »; the others are refused untouched (not acknowledged, or not a
        rejection waiting to be processed — an already processed one counts as the latter)."""
        when = now or self.clock()
        with self._tx() as conn:
            processed, refused = [], []
            for invoice in self._owned(conn, supplier_id, invoice_ids):
                if invoice.statut is not Status.REJETEE or invoice.rejet_traite:
                    refused.append((invoice, NOT_REJECTED))
                elif not invoice.acquittee:
                    refused.append((invoice, NOT_ACKNOWLEDGED))
                else:
                    conn.execute("UPDATE invoices SET rejet_traite = 1 WHERE id = ?", (invoice.id,))
                    self._log(conn, invoice.id, Action.TRAITEMENT_REJET, when, user.display_name)
                    processed.append(invoice.id)
            return ProcessResult(db.load_invoices(conn, processed), refused)

    def complete(
        self,
        supplier_id: int,
        invoice_id: int,
        *,
        pieces_jointes: Iterable[tuple[str, bytes]],
        commentaire: str = "",
    ) -> Invoice:
        """« Compléter » a suspended, acknowledged invoice: the files are added to its
        attachments, a non-blank comment becomes its « Commentaire », its status « Complétée »;
        nothing else changes (same number, no history action). RuleViolation (changing
        nothing) when :func:`completion_refusal` refuses it; NotFound for another's invoice."""
        files = list(pieces_jointes)
        with self._tx() as conn:
            (invoice,) = self._owned(conn, supplier_id, [invoice_id])
            refusal = completion_refusal(invoice)
            if refusal is not None:
                raise RuleViolation(refusal)
            last = conn.execute(
                "SELECT COALESCE(MAX(position), 0) FROM attachments WHERE invoice_id = ?",
                (invoice.id,),
            ).fetchone()[0]
            conn.executemany(
                db.INSERT_ATTACHMENT,
                [
                    (
                        invoice.id,
                        int(last) + i,
                        name,
                        len(content),
                        hashlib.sha256(content).hexdigest(),
                        content,
                    )
                    for i, (name, content) in enumerate(files, start=1)
                ],
            )
            conn.execute(
                "UPDATE invoices SET statut = ?, commentaire = CASE WHEN ? = '' THEN commentaire "
                "ELSE ? END WHERE id = ?",
                (Status.COMPLETEE, commentaire.strip(), commentaire.strip(), invoice.id),
            )
            return db.load_invoices(conn, [invoice.id])[0]

    def recycle(
        self,
        supplier_id: int,
        invoice_id: int,
        *,
        siret_destinataire: str,
        code_service: str,
        numero_engagement: str,
        commentaire: str = "",
        now: datetime | None = None,
    ) -> Invoice:
        """« Recycler » an invoice « À recycler »: new recipient SIRET, code service and
        engagement number (nothing else changes: same number, same deposit date, no history
        action); a non-blank comment becomes its « Commentaire ». It is « Déposée » and routed
        again: « Mise à disposition du destinataire » :attr:`acheminement_s` seconds after
        ``now``. RuleViolation (changing nothing) when :func:`recycling_refusal` refuses it."""
        when = now or self.clock()
        with self._tx() as conn:
            (invoice,) = self._owned(conn, supplier_id, [invoice_id])
            refusal = recycling_refusal(invoice)
            if refusal is not None:
                raise RuleViolation(refusal)
            structure = self.get_structure(siret_destinataire)
            nom = structure.nom if structure is not None else ""
            conn.execute(
                "UPDATE invoices SET statut = ?, siret_destinataire = ?, nom_destinataire = ?, "
                "destinataire_key = ?, code_service = ?, numero_engagement = ?, "
                "commentaire = CASE WHEN ? = '' THEN commentaire ELSE ? END, "
                "auto_route = 1, routing_since = ? WHERE id = ?",
                (
                    Status.DEPOSEE,
                    siret_destinataire,
                    nom,
                    db.search_key(nom),
                    code_service,
                    numero_engagement,
                    commentaire.strip(),
                    commentaire.strip(),
                    db.instant_text(when),
                    invoice.id,
                ),
            )
            return db.load_invoices(conn, [invoice.id])[0]

    def add_history(
        self, invoice_id: int, action: Action, utilisateur: str, *, now: datetime | None = None
    ) -> None:
        """Log an action (e.g. TELECHARGEMENT_FACTURE) on an invoice."""
        with self._tx() as conn:
            if (
                conn.execute("SELECT 1 FROM invoices WHERE id = ?", (invoice_id,)).fetchone()
                is None
            ):
                raise NotFound(f"Facture {invoice_id} introuvable.")
            self._log(conn, invoice_id, action, now or self.clock(), utilisateur)

    # -- public-client actions (administration interface) ------------------------------------

    def reject(
        self,
        numero_or_id: str | int,
        motif: str,
        commentaire: str = "",
        *,
        now: datetime | None = None,
    ) -> Invoice:
        """The public client rejects the invoice. ``motif``: a code of MOTIFS or a text."""
        return self._client_action(
            numero_or_id, motif, commentaire, now, Status.REJETEE, _REJECTABLE, Action.REJET
        )

    def suspend(
        self,
        numero_or_id: str | int,
        motif: str,
        commentaire: str = "",
        *,
        now: datetime | None = None,
    ) -> Invoice:
        """The public client suspends the invoice (to be acknowledged, then completed)."""
        return self._client_action(
            numero_or_id, motif, commentaire, now, Status.SUSPENDUE, _SUSPENDABLE, Action.SUSPENSION
        )

    def ask_recycling(
        self,
        numero_or_id: str | int,
        motif: str,
        commentaire: str = "",
        *,
        now: datetime | None = None,
    ) -> Invoice:
        """The public client sends the invoice back « À recycler » (it reached the wrong
        recipient). No history action: the portal has none for it, the status tells."""
        return self._client_action(
            numero_or_id, motif, commentaire, now, Status.A_RECYCLER, _RECYCLABLE, None
        )

    def _client_action(
        self,
        numero_or_id: str | int,
        motif: str,
        commentaire: str,
        now: datetime | None,
        target: Status,
        allowed: frozenset[Status],
        action: Action | None,
    ) -> Invoice:
        text = MOTIFS.get(motif.strip(), motif.strip())
        if not text:
            raise RuleViolation("Le motif est obligatoire.")
        when = now or self.clock()
        with self._tx() as conn:
            invoice = self._resolve(conn, numero_or_id)
            if invoice.statut not in allowed:
                verb = _CLIENT_VERBS[target]
                raise RuleViolation(
                    f"La facture {invoice.numero} ne peut pas être {verb} depuis le statut "
                    f"« {STATUS_LABELS[invoice.statut]} »."
                )
            conn.execute(
                "UPDATE invoices SET statut = ?, motif = ?, commentaire_motif = ?, "
                "date_motif = ?, acquittee = 0, rejet_traite = 0, auto_route = 0 WHERE id = ?",
                (target, text, commentaire.strip(), db.instant_text(when), invoice.id),
            )
            if action is not None:
                who = invoice.nom_destinataire or "Destinataire"
                self._log(conn, invoice.id, action, when, who)
            return db.load_invoices(conn, [invoice.id])[0]

    def _resolve(self, conn: sqlite3.Connection, numero_or_id: str | int) -> Invoice:
        """By id (an int), else by number: the latest deposited invoice with that number,
        any supplier; a string of digits matching no number is tried as an id."""
        if isinstance(numero_or_id, int):
            found = db.load_invoices(conn, [numero_or_id])
        else:
            key = db.search_key(numero_or_id.strip())
            found = self._select(conn, f"WHERE numero_key = ? {ORDER} LIMIT 1", (key,))
            if not found and numero_or_id.strip().isdigit():
                found = db.load_invoices(conn, [int(numero_or_id)])
        if not found:
            raise NotFound(f"Facture {numero_or_id} introuvable.")
        return found[0]

    def _owned(
        self, conn: sqlite3.Connection, supplier_id: int, invoice_ids: Iterable[int]
    ) -> list[Invoice]:
        ids = list(dict.fromkeys(invoice_ids))
        invoices = db.load_invoices(conn, ids)
        if len(invoices) != len(ids) or any(i.supplier_id != supplier_id for i in invoices):
            missing = [
                i for i in ids if i not in {v.id for v in invoices if v.supplier_id == supplier_id}
            ]
            raise NotFound(f"Facture {missing[0]} introuvable.")
        return invoices

    @staticmethod
    def _log(
        conn: sqlite3.Connection, invoice_id: int, action: Action, when: datetime, who: str
    ) -> None:
        conn.execute(db.INSERT_HISTORY, (invoice_id, str(action), db.instant_text(when), who))


#: How the refusal of a public client's action names it (« ne peut pas être … »).
_CLIENT_VERBS: dict[Status, str] = {
    Status.REJETEE: "rejetée",
    Status.SUSPENDUE: "suspendue",
    Status.A_RECYCLER: "mise à recycler",
}


def _first_date(invoice: Invoice) -> datetime | None:
    return invoice.historique[0].date if invoice.historique else None
