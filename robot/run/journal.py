"""The journal: the durable record of runs, transactions and steps (SQLite, WAL).

It is the source of truth for resume and idempotency. A step's *intent* is written before
the click that performs it and its *result* after (docs/architecture.md, rule 3), so that
after a crash a resume knows which steps must be reconciled with the portal before anything
else.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from robot.run.states import State

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    plan_path TEXT NOT NULL,
    plan_sha256 TEXT NOT NULL,
    portal_url TEXT NOT NULL,
    dry_run INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    exit_code INTEGER,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS transactions (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id),
    numero_rejete TEXT NOT NULL,
    nouveau_numero TEXT NOT NULL,
    correction TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    worker TEXT,
    message TEXT NOT NULL DEFAULT '',
    new_invoice_status TEXT NOT NULL DEFAULT '',
    motif TEXT NOT NULL DEFAULT '',
    commentaire TEXT NOT NULL DEFAULT '',
    duration_s REAL NOT NULL DEFAULT 0,
    server_s REAL NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    UNIQUE (run_id, numero_rejete)
);
CREATE TABLE IF NOT EXISTS steps (
    id INTEGER PRIMARY KEY,
    transaction_id INTEGER NOT NULL REFERENCES transactions(id),
    step TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    intent_at TEXT NOT NULL,
    result_at TEXT,
    outcome TEXT,
    message TEXT NOT NULL DEFAULT '',
    before TEXT NOT NULL DEFAULT '{}',
    after TEXT NOT NULL DEFAULT '{}',
    portal_messages TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS steps_by_transaction ON steps (transaction_id, step);
CREATE INDEX IF NOT EXISTS transactions_by_state ON transactions (run_id, state);
"""

#: Transaction states. ``pending`` and ``claimed`` are unfinished; the others are final.
FINAL_STATES = frozenset(state for state in State if state.final)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class TransactionRow:
    id: int
    numero_rejete: str
    nouveau_numero: str
    correction: dict[str, Any]
    state: State
    message: str
    new_invoice_status: str
    motif: str = ""
    commentaire: str = ""
    duration_s: float = 0.0
    server_s: float = 0.0
    worker: str | None = None


@dataclass(frozen=True)
class RunRow:
    id: str
    plan_path: str
    plan_sha256: str
    portal_url: str
    dry_run: bool
    started_at: str
    ended_at: str | None
    exit_code: int | None


@dataclass(frozen=True)
class StepRow:
    step: str
    attempt: int
    intent_at: str
    result_at: str | None
    outcome: str | None
    message: str
    before: dict[str, Any]
    after: dict[str, Any]
    portal_messages: tuple[str, ...] = ()


class Journal:
    """A journal file; safe to share between threads, and between processes through WAL."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- runs -------------------------------------------------------------------------------
    def start_run(
        self, run_id: str, *, plan_path: Path, plan_sha256: str, portal_url: str, dry_run: bool
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO runs (id, plan_path, plan_sha256, portal_url, dry_run, started_at,"
                " pid, host) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    str(plan_path),
                    plan_sha256,
                    portal_url,
                    int(dry_run),
                    now_iso(),
                    os.getpid(),
                    socket.gethostname(),
                ),
            )

    def end_run(self, run_id: str, exit_code: int) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET ended_at = ?, exit_code = ? WHERE id = ?",
                (now_iso(), exit_code, run_id),
            )

    def run(self, run_id: str) -> RunRow | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        return RunRow(
            id=row["id"],
            plan_path=row["plan_path"],
            plan_sha256=row["plan_sha256"],
            portal_url=row["portal_url"],
            dry_run=bool(row["dry_run"]),
            started_at=row["started_at"],
            ended_at=row["ended_at"],
            exit_code=row["exit_code"],
        )

    def reopen_run(self, run_id: str) -> None:
        """A resumed run is running again: clear its end."""
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET ended_at = NULL, exit_code = NULL, pid = ? WHERE id = ?",
                (os.getpid(), run_id),
            )

    # -- transactions -----------------------------------------------------------------------
    def add_transaction(
        self, run_id: str, numero_rejete: str, nouveau_numero: str, correction: dict[str, Any]
    ) -> int:
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO transactions (run_id, numero_rejete, nouveau_numero, correction,"
                " updated_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (run_id, numero_rejete)"
                " DO UPDATE SET updated_at = excluded.updated_at"
                " RETURNING id",
                (
                    run_id,
                    numero_rejete,
                    nouveau_numero,
                    json.dumps(correction, default=str),
                    now_iso(),
                ),
            )
            return int(cur.fetchone()[0])

    def claim_next(self, run_id: str, worker: str) -> TransactionRow | None:
        """Atomically take the next pending transaction for ``worker``."""
        with self._tx() as db:
            row = db.execute(
                "SELECT id FROM transactions WHERE run_id = ? AND state = 'pending'"
                " ORDER BY id LIMIT 1",
                (run_id,),
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE transactions SET state = 'claimed', worker = ?, updated_at = ?"
                " WHERE id = ?",
                (worker, now_iso(), row["id"]),
            )
        return self.transaction(int(row["id"]))

    def describe_transaction(self, transaction_id: int, motif: str, commentaire: str) -> None:
        """Record the rejection's motive and comment as read on the portal."""
        with self._tx() as db:
            db.execute(
                "UPDATE transactions SET motif = ?, commentaire = ? WHERE id = ?",
                (motif, commentaire, transaction_id),
            )

    def finish_transaction(
        self,
        transaction_id: int,
        state: State,
        message: str = "",
        new_invoice_status: str = "",
        duration_s: float = 0.0,
        *,
        server_s: float = 0.0,
    ) -> None:
        if state not in FINAL_STATES:
            raise ValueError(f"état final inconnu : {state}")
        state = State(state)
        with self._tx() as db:
            db.execute(
                "UPDATE transactions SET state = ?, message = ?, new_invoice_status = ?,"
                " duration_s = duration_s + ?, server_s = server_s + ?, updated_at = ?"
                " WHERE id = ?",
                (
                    state,
                    message,
                    new_invoice_status,
                    duration_s,
                    server_s,
                    now_iso(),
                    transaction_id,
                ),
            )

    def postpone(self, transaction_id: int, message: str, duration_s: float = 0.0) -> None:
        """A system failure outlasted the retries: back to pending, for a resume."""
        with self._tx() as db:
            db.execute(
                "UPDATE transactions SET state = 'pending', worker = NULL, message = ?,"
                " duration_s = duration_s + ?, updated_at = ? WHERE id = ?",
                (message, duration_s, now_iso(), transaction_id),
            )

    def release_unfinished(self, run_id: str) -> int:
        """Put claimed transactions back to pending (after a crash or a stop)."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE transactions SET state = 'pending', worker = NULL, updated_at = ?"
                " WHERE run_id = ? AND state = 'claimed'",
                (now_iso(), run_id),
            )
            return cur.rowcount

    def transaction(self, transaction_id: int) -> TransactionRow:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM transactions WHERE id = ?", (transaction_id,)
            ).fetchone()
        return _transaction_row(row)

    def transactions(self, run_id: str) -> list[TransactionRow]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM transactions WHERE run_id = ? ORDER BY id", (run_id,)
            ).fetchall()
        return [_transaction_row(r) for r in rows]

    # -- steps ------------------------------------------------------------------------------
    def step_intent(self, transaction_id: int, step: str, before: dict[str, Any]) -> int:
        """Write ahead: record that ``step`` is about to act. Returns the step row id."""
        with self._tx() as db:
            attempt = db.execute(
                "SELECT COUNT(*) FROM steps WHERE transaction_id = ? AND step = ?",
                (transaction_id, step),
            ).fetchone()[0]
            cur = db.execute(
                "INSERT INTO steps (transaction_id, step, attempt, intent_at, before)"
                " VALUES (?, ?, ?, ?, ?)",
                (transaction_id, step, attempt + 1, now_iso(), json.dumps(before, default=str)),
            )
            return int(cur.lastrowid or 0)

    def step_result(
        self,
        step_id: int,
        outcome: str,
        message: str,
        after: dict[str, Any],
        *,
        before: dict[str, Any] | None = None,
        portal_messages: tuple[str, ...] = (),
    ) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE steps SET result_at = ?, outcome = ?, message = ?, after = ?,"
                " before = COALESCE(?, before), portal_messages = ? WHERE id = ?",
                (
                    now_iso(),
                    outcome,
                    message,
                    json.dumps(after, default=str),
                    json.dumps(before, default=str) if before is not None else None,
                    json.dumps(list(portal_messages)),
                    step_id,
                ),
            )

    def steps(self, transaction_id: int) -> list[StepRow]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM steps WHERE transaction_id = ? ORDER BY id", (transaction_id,)
            ).fetchall()
        return [
            StepRow(
                step=r["step"],
                attempt=r["attempt"],
                intent_at=r["intent_at"],
                result_at=r["result_at"],
                outcome=r["outcome"],
                message=r["message"],
                before=json.loads(r["before"]),
                after=json.loads(r["after"]),
                portal_messages=tuple(json.loads(r["portal_messages"])),
            )
            for r in rows
        ]


def _transaction_row(row: sqlite3.Row) -> TransactionRow:
    return TransactionRow(
        id=int(row["id"]),
        numero_rejete=row["numero_rejete"],
        nouveau_numero=row["nouveau_numero"],
        correction=json.loads(row["correction"]),
        state=State(row["state"]),
        message=row["message"],
        new_invoice_status=row["new_invoice_status"],
        motif=row["motif"],
        commentaire=row["commentaire"],
        duration_s=float(row["duration_s"]),
        server_s=float(row["server_s"]),
        worker=row["worker"],
    )
