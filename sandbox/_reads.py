"""Reading invoices: one invoice, the work list « Synthèse », searches, the rejection window.

Lists are sorted by date de dépôt, newest first; drafts, which have none, come last (newest
draft first among them). The indexes of :mod:`sandbox._schema` keep a page of 10,000 invoices
well under 100 ms.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sandbox import _schema as db
from sandbox._db import Database, PageResult
from sandbox.fmt import PARIS
from sandbox.model import Invoice, Status

ORDER = "ORDER BY date_depot DESC, id DESC"


class InvoiceReads(Database):
    """Queries on invoices (every one applies due routing first, see :mod:`sandbox.store`)."""

    def get_invoice(self, invoice_id: int) -> Invoice | None:
        with self._tx() as conn:
            found = db.load_invoices(conn, [invoice_id])
        return found[0] if found else None

    def find_invoices(self, supplier_id: int, numero: str) -> list[Invoice]:
        """This supplier's invoices with this number (case-insensitive, exact), newest first."""
        with self._tx() as conn:
            return self._select(
                conn,
                f"WHERE supplier_id = ? AND numero_key = ? {ORDER}",
                (supplier_id, db.search_key(numero.strip())),
            )

    def has_duplicate(self, supplier_id: int, numero: str, year: int) -> bool:
        """Whether a non-draft invoice of this supplier has this number and was deposited in
        ``year`` (calendar year in France)."""
        return any(
            invoice.statut is not Status.BROUILLON
            and invoice.date_depot is not None
            and invoice.date_depot.astimezone(PARIS).year == year
            for invoice in self.find_invoices(supplier_id, numero)
        )

    def list_synthese(self, supplier_id: int, *, page: int = 1, size: int = 10) -> PageResult:
        """The work list « Synthèse »: drafts, unprocessed rejections, suspended, to recycle."""
        return self._page("WHERE supplier_id = ? AND in_synthese = 1", (supplier_id,), page, size)

    def search(
        self,
        supplier_id: int,
        *,
        numero: str = "",
        statut: Status | None = None,
        destinataire: str = "",
        date_from: date | None = None,
        date_to: date | None = None,
        page: int = 1,
        size: int = 10,
    ) -> PageResult:
        """« Rechercher »: every filter optional; destinataire = SIRET (exact) or name part.

        The dates bound the date de dépôt (French calendar, both inclusive); drafts, which
        have none, are left out when a date is given.
        """
        where = ["supplier_id = ?"]
        params: list[Any] = [supplier_id]
        if numero.strip():
            where.append("numero_key = ?")
            params.append(db.search_key(numero.strip()))
        if statut is not None:
            where.append("statut = ?")
            params.append(str(statut))
        recipient = destinataire.strip()
        if recipient:
            compact = recipient.replace(" ", "")
            if compact.isdigit() and len(compact) == 14:
                where.append("siret_destinataire = ?")
                params.append(compact)
            else:
                where.append("instr(destinataire_key, ?) > 0")
                params.append(db.search_key(recipient))
        if date_from is not None:
            where.append("date_depot >= ?")
            params.append(db.instant_text(_start_of_day(date_from)))
        if date_to is not None:
            where.append("date_depot < ?")
            params.append(db.instant_text(_start_of_day(date_to + timedelta(days=1))))
        return self._page("WHERE " + " AND ".join(where), tuple(params), page, size)

    def pending_window(self, supplier_id: int) -> list[Invoice]:
        """Rejected or suspended invoices not yet acknowledged, latest rejection first."""
        with self._tx() as conn:
            return self._select(
                conn,
                "WHERE supplier_id = ? AND statut IN (?, ?) AND acquittee = 0 "
                "ORDER BY date_motif DESC, date_depot DESC, id DESC",
                (supplier_id, Status.REJETEE, Status.SUSPENDUE),
            )

    def list_all(
        self, statut: Status | None = None, *, supplier_id: int | None = None
    ) -> list[Invoice]:
        """Every supplier's invoices (administration), or one supplier's, newest deposit
        first."""
        where: list[str] = []
        params: list[Any] = []
        if statut is not None:
            where.append("statut = ?")
            params.append(str(statut))
        if supplier_id is not None:
            where.append("supplier_id = ?")
            params.append(supplier_id)
        clause = "WHERE " + " AND ".join(where) + " " if where else ""
        with self._tx() as conn:
            return self._select(conn, f"{clause}{ORDER}", tuple(params))

    def count_invoices(self, supplier_id: int | None = None) -> int:
        with self._tx() as conn:
            if supplier_id is None:
                row = conn.execute("SELECT COUNT(*) FROM invoices").fetchone()
            else:
                row = conn.execute(
                    "SELECT COUNT(*) FROM invoices WHERE supplier_id = ?", (supplier_id,)
                ).fetchone()
        return int(row[0])

    def attachment_data(self, invoice_id: int, position: int) -> bytes | None:
        """Content of the attachment at 1-based ``position`` (None if unknown or not kept)."""
        with self._tx() as conn:
            row = conn.execute(
                "SELECT data FROM attachments WHERE invoice_id = ? AND position = ?",
                (invoice_id, position),
            ).fetchone()
        return None if row is None or row["data"] is None else bytes(row["data"])

    def _select(self, conn: sqlite3.Connection, tail: str, params: Sequence[Any]) -> list[Invoice]:
        ids = [row[0] for row in conn.execute(f"SELECT id FROM invoices {tail}", params)]
        return db.load_invoices(conn, ids)

    def _page(self, where: str, params: tuple[Any, ...], page: int, size: int) -> PageResult:
        if size < 1:
            raise ValueError("page size must be positive")
        with self._tx() as conn:
            total = int(
                conn.execute(f"SELECT COUNT(*) FROM invoices {where}", params).fetchone()[0]
            )
            pages = max(1, math.ceil(total / size))
            page = min(max(1, page), pages)
            items = self._select(
                conn, f"{where} {ORDER} LIMIT ? OFFSET ?", (*params, size, (page - 1) * size)
            )
        return PageResult(items, total, page, size, pages)


def _start_of_day(day: date) -> datetime:
    """Midnight of ``day`` in France, as an aware instant."""
    return datetime.combine(day, time(0), tzinfo=PARIS)
