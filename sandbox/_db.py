"""Base of the sandbox store: the SQLite connection, transactions, accounts, directory.

One connection guarded by a re-entrant lock (``check_same_thread=False``), so the store can
be shared by uvicorn's thread pool. A file database runs in WAL mode.

Exceptions::

    StoreError
    ├── NotFound        no such invoice (or not this supplier's)
    └── RuleViolation   the transition or the data is not allowed (French message)
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sandbox import _schema as db
from sandbox._passwords import hash_password, verify_password
from sandbox.fmt import now_utc
from sandbox.model import BankAccount, Invoice, Service, Status, Structure, Supplier, User


class StoreError(Exception):
    """Base of the store's errors."""


class NotFound(StoreError, LookupError):
    """No such invoice, or it belongs to another supplier."""


class RuleViolation(StoreError):
    """The action is not allowed in the invoice's state; ``message`` is French."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class PageResult:
    """One page of a list: ``page`` is 1-based and clamped to ``1..pages``."""

    items: list[Invoice]
    total: int
    page: int
    size: int
    pages: int


class Database:
    """The connection, its transactions, accounts and the directory (base of the Store)."""

    acheminement_s: float = 2.0

    def __init__(self, path: Path | str, *, clock: Callable[[], datetime] = now_utc) -> None:
        self.path = path
        self.clock = clock
        self._lock = threading.RLock()
        self._depth = 0
        self._conn = sqlite3.connect(
            str(path), check_same_thread=False, isolation_level=None, timeout=10
        )
        self._conn.row_factory = sqlite3.Row
        if str(path) != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(db.SCHEMA)
        db.upgrade(self._conn)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One transaction (re-entrant), routing applied first."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._conn
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                self._advance_routing()
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._depth = 0

    def _advance_routing(self) -> None:
        """Invoices being routed (sent: « En cours d'acheminement »; recycled: « Déposée »)
        are « Mise à disposition du destinataire » once ``acheminement_s`` have passed since
        their deposit, or since they were recycled."""
        cutoff = self.clock() - timedelta(seconds=self.acheminement_s)
        self._conn.execute(
            "UPDATE invoices SET statut = ? WHERE statut IN (?, ?) AND auto_route = 1 "
            "AND COALESCE(routing_since, date_depot) <= ?",
            (
                Status.MISE_A_DISPOSITION,
                Status.EN_COURS_ACHEMINEMENT,
                Status.DEPOSEE,
                db.instant_text(cutoff),
            ),
        )

    def reset(self) -> None:
        """Drop every record (the schema stays); ids start again at 1."""
        with self._tx() as conn:
            for table in db.TABLES:
                conn.execute(f"DELETE FROM {table}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- accounts ---------------------------------------------------------------------------

    def add_user(
        self,
        email: str,
        password: str,
        supplier_id: int,
        *,
        otp: bool = False,
        nom: str = "",
        password_hash: str | None = None,
    ) -> User:
        """Create an account (the password is stored hashed); an existing e-mail is replaced.
        ``password_hash``: the password's hash already computed (many accounts sharing it)."""
        hashed = password_hash if password_hash is not None else hash_password(password)
        user = User(email.strip(), hashed, supplier_id, otp, nom)
        with self._tx() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO users VALUES (?, ?, ?, ?, ?)",
                (user.email, user.password_hash, supplier_id, int(otp), nom),
            )
        return user

    def get_user(self, email: str) -> User | None:
        """The account with this identifiant (case-insensitive), or None."""
        with self._tx() as conn:
            row = conn.execute("SELECT * FROM users WHERE email = ?", (email.strip(),)).fetchone()
        if row is None:
            return None
        return User(
            row["email"], row["password_hash"], row["supplier_id"], bool(row["otp"]), row["nom"]
        )

    def list_users(self) -> list[User]:
        """Every account, by supplier structure (account 1 first after a seed)."""
        with self._tx() as conn:
            rows = conn.execute("SELECT * FROM users ORDER BY supplier_id, rowid").fetchall()
        return [
            User(r["email"], r["password_hash"], r["supplier_id"], bool(r["otp"]), r["nom"])
            for r in rows
        ]

    def account_names(self) -> dict[int, str]:
        """supplier id → the identifiant of its account (the first one, should it have
        several): what the admin interface shows as an invoice's ``compte``."""
        names: dict[int, str] = {}
        for user in self.list_users():
            names.setdefault(user.supplier_id, user.email)
        return names

    def check_password(self, user: User, password: str) -> bool:
        return verify_password(user.password_hash, password)

    # -- authenticator codes (TOTP) ---------------------------------------------------------

    def totp_enrolment(self, email: str) -> tuple[bool, str | None]:
        """Whether the admin interface enrolled or unenrolled ``email`` since the last reset,
        and its secret then (None: unenrolled)."""
        with self._tx() as conn:
            row = conn.execute(
                "SELECT secret FROM totp WHERE email = ?", (email.strip(),)
            ).fetchone()
        return (False, None) if row is None else (True, row["secret"])

    def set_totp(self, email: str, secret: str | None) -> None:
        """Enrol ``email`` with ``secret``, or unenrol it (None); its used periods are
        forgotten (a new secret has codes of its own)."""
        with self._tx() as conn:
            conn.execute("INSERT OR REPLACE INTO totp VALUES (?, ?)", (email.strip(), secret))
            conn.execute("DELETE FROM totp_uses WHERE email = ?", (email.strip(),))

    def use_totp_step(self, email: str, step: int) -> bool:
        """Record that ``email`` logged in with the code of period ``step``; False, recording
        nothing, when that period or a later one was used already (a replay)."""
        with self._tx() as conn:
            row = conn.execute(
                "SELECT MAX(step) AS last FROM totp_uses WHERE email = ?", (email.strip(),)
            ).fetchone()
            if row["last"] is not None and row["last"] >= step:
                return False
            conn.execute("INSERT INTO totp_uses VALUES (?, ?)", (email.strip(), step))
            return True

    def totp_steps(self, email: str) -> list[int]:
        """The periods whose code ``email`` logged in with since the last reset, in order."""
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT step FROM totp_uses WHERE email = ? ORDER BY step", (email.strip(),)
            ).fetchall()
        return [int(r["step"]) for r in rows]

    # -- directory and suppliers ------------------------------------------------------------

    def add_structure(self, structure: Structure) -> None:
        """Add (or replace) a public structure with its services."""
        with self._tx() as conn:
            conn.execute("DELETE FROM services WHERE siret = ?", (structure.siret,))
            conn.execute(
                "INSERT OR REPLACE INTO structures VALUES (?, ?, ?, ?)",
                (structure.siret, structure.nom, int(structure.active), structure.exigence),
            )
            conn.executemany(
                "INSERT INTO services VALUES (?, ?, ?, ?, ?)",
                [
                    (structure.siret, s.code, s.nom, int(s.active), i)
                    for i, s in enumerate(structure.services)
                ],
            )

    def get_structure(self, siret: str) -> Structure | None:
        with self._tx() as conn:
            row = conn.execute("SELECT * FROM structures WHERE siret = ?", (siret,)).fetchone()
            return None if row is None else self._structure(conn, row)

    def list_structures(self) -> list[Structure]:
        """Every structure of the directory, by name."""
        with self._tx() as conn:
            rows = conn.execute("SELECT * FROM structures ORDER BY nom, siret").fetchall()
            return [self._structure(conn, row) for row in rows]

    @staticmethod
    def _structure(conn: sqlite3.Connection, row: sqlite3.Row) -> Structure:
        services = tuple(
            Service(s["code"], s["nom"], bool(s["active"]))
            for s in conn.execute(
                "SELECT * FROM services WHERE siret = ? ORDER BY position", (row["siret"],)
            )
        )
        return Structure(row["siret"], row["nom"], bool(row["active"]), row["exigence"], services)

    def add_supplier(self, supplier: Supplier) -> int:
        """Add a supplier structure and its bank accounts (their ids are assigned); its id."""
        with self._tx() as conn:
            cursor = conn.execute(
                "INSERT INTO suppliers (siret, nom) VALUES (?, ?)", (supplier.siret, supplier.nom)
            )
            supplier_id = cursor.lastrowid
            assert supplier_id is not None
            conn.executemany(
                "INSERT INTO bank_accounts (supplier_id, libelle, iban, bic) VALUES (?, ?, ?, ?)",
                [(supplier_id, c.libelle, c.iban, c.bic) for c in supplier.comptes],
            )
        return supplier_id

    def get_supplier(self, supplier_id: int) -> Supplier | None:
        with self._tx() as conn:
            row = conn.execute("SELECT * FROM suppliers WHERE id = ?", (supplier_id,)).fetchone()
            if row is None:
                return None
            comptes = tuple(
                BankAccount(c["id"], c["libelle"], c["iban"], c["bic"])
                for c in conn.execute(
                    "SELECT * FROM bank_accounts WHERE supplier_id = ? ORDER BY id", (supplier_id,)
                )
            )
        return Supplier(row["id"], row["siret"], row["nom"], comptes)
