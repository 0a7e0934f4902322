"""The journal: the durable record of runs, transactions and steps, in a SQLite file (the
default) or on a PostgreSQL server shared by many machines (``CHORUS_JOURNAL=postgresql://…``).

It is the source of truth for resume and idempotency. A step's *intent* is written before
the click that performs it and its *result* after (docs/architecture.md, rule 3), so that
after a crash a resume knows which steps must be reconciled with the portal before anything
else.

One class, :class:`Journal`, holds the logic and the SQL for both databases; what differs
between them (connection, row locks, advisory locks, column types, the clock) is the
backend's (:mod:`robot.run.journal_db`, :mod:`robot.run.journal_sqlite`,
:mod:`robot.run.journal_pg`). The schema is created and migrated by the journal itself
(:mod:`robot.run.journal_schema`).

**Claims are leases.** A claim records who holds the transaction — its *machine*,
``host:pid:worker`` — and until when: :attr:`Journal.lease_s` seconds (``CHORUS_LEASE_S``)
from the claim, renewed by :meth:`Journal.heartbeat` and by each :meth:`Journal.step_intent`.
:meth:`Journal.claim_next` takes a pending transaction, or a claimed one whose lease has
expired (its holder died or lost the server): the newest holder wins. A worker that lost its
lease must stop before its next portal action, and nothing it writes afterwards replaces the
new holder's work:

- :meth:`Journal.heartbeat`, :meth:`Journal.finish_transaction`, :meth:`Journal.postpone` and
  :meth:`Journal.describe_transaction` return False and write nothing;
- :meth:`Journal.step_intent` raises :class:`LeaseLost`: it is the write-ahead of a click,
  and the click must not happen;
- :meth:`Journal.step_result` always records: it completes the loser's own step row, and what
  a click did on the portal is a fact the audit keeps (the new holder reconciles with the
  portal before acting, rule 2).

A lease that expired but that nobody took over is still its holder's: its writes go through.
Whose lease a write is checked against: the ``worker`` the caller names, else the worker this
:class:`Journal` object claimed the transaction for, else nobody (no check: a single machine).

**Session slots** (:meth:`Journal.acquire_session_slot`) are leases too: at most
``max_sessions`` live slots per portal account across every machine.

:meth:`Journal.release_unfinished` keeps its single-machine meaning: every claimed transaction
of the run goes back to pending, lease or not (at a run's end, and at a resume).

**A queue of many runs and accounts.** :meth:`Journal.enqueue` records a run and its
transactions with no browser (the plan's text and folders in the run, so that any machine can
rebuild it), refusing, with :class:`AlreadyQueued` (exit 4), invoices an open run already
holds for the same account. Workers on any machine then claim one account's transactions at
a time across every open run (``claim_next(None, worker, account=…)``), choose that account
from :meth:`Journal.work_outlook`, leave aside the transactions whose system failures
outlasted the retries ``max_failures`` times (``postpone(…, failed=True)`` counts them), and
the one that sees a run's work over ends it (:meth:`Journal.end_run_if_complete`: exactly one
caller does) and seals its bundle (:meth:`Journal.mark_sealed`: once).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loguru import logger

from robot.config import Config, DatabaseUrl, is_database_url
from robot.errors import EXIT_LOCKED, RobotError
from robot.run.journal_db import Backend, JournalError, Row, Session
from robot.run.journal_schema import migrate
from robot.run.journal_sqlite import SqliteBackend
from robot.run.states import State

__all__ = [
    "DEFAULT_LEASE_S",
    "FINAL_STATES",
    "AccountWork",
    "AlreadyQueued",
    "Journal",
    "JournalError",
    "JournalTarget",
    "LeaseLost",
    "QueueItem",
    "RunRow",
    "SessionSlot",
    "StepRow",
    "TransactionRow",
    "journal_target",
    "machine_id",
    "now_iso",
    "open_journal",
]

#: Transaction states. ``pending`` and ``claimed`` are unfinished; the others are final.
FINAL_STATES = frozenset(state for state in State if state.final)
#: A claim's or a session slot's lifetime without a heartbeat (``CHORUS_LEASE_S``).
DEFAULT_LEASE_S = 60.0
#: How many invoices :class:`AlreadyQueued` names per run before it only counts them.
_NAMED_MAX = 10

#: Where a journal lives: a SQLite file, or a PostgreSQL server.
JournalTarget = Path | DatabaseUrl


def now_iso() -> str:
    return _iso(time.time())


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


def machine_id(worker: str) -> str:
    """Who holds a claim: this host, this process and the worker's name (``host:pid:w1``)."""
    return f"{socket.gethostname()}:{os.getpid()}:{worker}"


def journal_target(config: Config) -> JournalTarget:
    """The journal ``config`` names: ``CHORUS_JOURNAL`` (a server or a file), else
    ``<CHORUS_OUTPUT_DIR>/journal.sqlite``."""
    if config.journal_url is not None:
        return config.journal_url
    return config.journal or config.output_dir / "journal.sqlite"


def open_journal(config: Config) -> Journal:
    """The journal ``config`` names, with its lease (``CHORUS_LEASE_S``)."""
    return Journal(journal_target(config), lease_s=config.lease_s)


class LeaseLost(RobotError):
    """This worker's claim on a transaction was taken over after its lease expired: it must
    stop before its next action on the portal (exit 3 if it escapes the run)."""

    def __init__(self, transaction_id: int, owner: str, holder: str | None) -> None:
        now = f"elle est à {holder}" if holder else "elle n'est plus réservée"
        super().__init__(
            f"Transaction {transaction_id} : le bail de {owner} a expiré et {now} ; "
            "ce travailleur s'arrête avant toute nouvelle action sur le portail."
        )
        self.transaction_id = transaction_id
        self.owner = owner
        self.holder = holder


class AlreadyQueued(RobotError):
    """Invoices of a plan to enqueue are already transactions of an open run, for the same
    account: nothing was recorded (exit 4, as when another run holds the lock).

    ``run_id``: the (oldest) run holding them; ``numbers``: every such invoice, as the plan
    spells them; ``held``: run → its invoices, oldest run first.
    """

    exit_code = EXIT_LOCKED

    def __init__(self, held: dict[str, list[str]]) -> None:
        if not held:
            raise ValueError("aucune facture déjà en file")
        self.held = held
        self.run_id = next(iter(held))
        self.numbers = [numero for numbers in held.values() for numero in numbers]
        if len(held) == 1:
            where = f"dans le run ouvert {self.run_id} : {_named(self.numbers)}"
            wait = "attendez la fin de ce run"
        else:
            runs = " ; ".join(f"{run} : {_named(numbers)}" for run, numbers in held.items())
            where = f"dans des runs ouverts ({runs})"
            wait = "attendez la fin de ces runs"
        super().__init__(
            f"Factures déjà en file {where}. Rien n'a été enregistré : {wait}, "
            "ou retirez ces factures du plan."
        )


def _named(numbers: list[str]) -> str:
    shown = ", ".join(numbers[:_NAMED_MAX])
    return shown if len(numbers) <= _NAMED_MAX else f"{shown}… ({len(numbers)} en tout)"


@dataclass(frozen=True)
class QueueItem:
    """One transaction to enqueue: the portal account it is worked under (its identifiant,
    casefolded by the caller), the invoice and its correction."""

    account: str
    numero_rejete: str
    nouveau_numero: str
    correction: dict[str, Any]


@dataclass(frozen=True)
class AccountWork:
    """An account's work in the open runs (or one run), as :meth:`Journal.work_outlook`
    reads it: what a worker chooses an account by, and decides to wait or to stop by."""

    account: str
    #: Transactions that can be claimed now: pending, or claimed with an expired lease (and
    #: fewer system failures than the limit asked).
    claimable: int
    #: Transactions held by a live lease (they may come back if their holder dies).
    held: int
    #: When the earliest live lease ends without a heartbeat (seconds since the epoch);
    #: None when none is live.
    next_expiry: float | None


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
    #: Who holds the claim (``host:pid:worker``); for a final state, who finished it; None
    #: when pending.
    machine: str | None = None
    #: When the claim ends without a heartbeat (seconds since the epoch).
    lease_until: float | None = None
    #: The run it belongs to.
    run_id: str = ""
    #: The portal account it is worked under (casefolded identifiant; '' when registered by
    #: a single machine's run, which works under its one account).
    account: str = ""
    #: System failures that outlasted a worker's retries (``postpone(…, failed=True)``).
    failures: int = 0


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
    #: The plan file's name, its content as text and its folder (attachments): what a worker
    #: on another machine rebuilds the plan from ('' for a run started on one machine).
    plan_name: str = ""
    plan_text: str = ""
    plan_dir: str = ""
    #: The run's folder ('' for a run started on one machine: it knows its own).
    run_dir: str = ""
    #: When the run's bundle was sealed, and by which machine (None: not yet).
    sealed_at: str | None = None
    sealed_by: str | None = None


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


@dataclass(frozen=True)
class SessionSlot:
    """One of the ``max_sessions`` sessions an account may have open on the portal."""

    account: str
    number: int
    #: Who holds it (``host:pid:worker``).
    machine: str
    #: When it ends without a renewal, as of when it was read (seconds since the epoch).
    lease_until: float


class Journal:
    """A journal; safe to share between threads, and between processes and machines.

    ``target`` is a SQLite file or a PostgreSQL server. ``clock`` (seconds since the epoch)
    replaces the backend's: the tests move time forward with it; by default SQLite uses this
    machine's clock and PostgreSQL the server's.
    """

    def __init__(
        self,
        target: JournalTarget | str,
        *,
        lease_s: float = DEFAULT_LEASE_S,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if lease_s <= 0:
            raise ValueError(f"durée de bail invalide : {lease_s}")
        if isinstance(target, str):
            target = DatabaseUrl.parse(target) if is_database_url(target) else Path(target)
        self.target: JournalTarget = target
        self.lease_s = float(lease_s)
        self._db: Backend
        if isinstance(target, DatabaseUrl):
            from robot.run.journal_pg import PostgresBackend  # psycopg only when asked for

            self._db = PostgresBackend(target)
        else:
            self._db = SqliteBackend(target)
        self._clock = clock or self._db.now
        #: Transaction id → who this object last claimed it for: the lease its writes check
        #: (kept after a finish or a loss: a later write must still be checked, never blind).
        self._owners: dict[int, str] = {}
        self._owners_lock = threading.Lock()
        try:
            #: The schema versions this opening applied (none: the journal was up to date).
            self.migrated = migrate(self._db, self._now_iso)
        except BaseException:
            self._db.close()
            raise

    def __repr__(self) -> str:
        return f"Journal({self.target!r})"

    @property
    def path(self) -> Path:
        """The SQLite file (a PostgreSQL journal has none: use :attr:`target`)."""
        if isinstance(self.target, DatabaseUrl):
            raise TypeError(f"le journal {self.target.masked()} n'est pas un fichier")
        return self.target

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._db.name

    def schema_version(self) -> int:
        with self._db.read() as db:
            row = db.one("SELECT MAX(version) AS version FROM schema_version")
        return int(row["version"]) if row and row["version"] is not None else 0

    def close(self) -> None:
        self._db.close()

    def _now(self) -> float:
        return self._clock()

    def _now_iso(self) -> str:
        return _iso(self._now())

    def _owner(self, transaction_id: int, worker: str | None) -> str | None:
        if worker is not None:
            return machine_id(worker)
        with self._owners_lock:
            return self._owners.get(transaction_id)

    # -- runs -------------------------------------------------------------------------------
    def start_run(
        self, run_id: str, *, plan_path: Path, plan_sha256: str, portal_url: str, dry_run: bool
    ) -> None:
        with self._db.transaction() as db:
            db.run(
                "INSERT INTO runs (id, plan_path, plan_sha256, portal_url, dry_run, started_at,"
                " pid, host) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                run_id,
                str(plan_path),
                plan_sha256,
                portal_url,
                int(dry_run),
                self._now_iso(),
                os.getpid(),
                socket.gethostname(),
            )

    def end_run(self, run_id: str, exit_code: int) -> None:
        with self._db.transaction() as db:
            db.run(
                "UPDATE runs SET ended_at = ?, exit_code = ? WHERE id = ?",
                self._now_iso(),
                exit_code,
                run_id,
            )

    def run(self, run_id: str) -> RunRow | None:
        with self._db.read() as db:
            row = db.one("SELECT * FROM runs WHERE id = ?", run_id)
        return _run_row(row) if row is not None else None

    def open_runs(self) -> list[RunRow]:
        """The runs not ended, oldest first."""
        with self._db.read() as db:
            rows = db.all("SELECT * FROM runs WHERE ended_at IS NULL ORDER BY started_at, id")
        return [_run_row(row) for row in rows]

    def reopen_run(self, run_id: str) -> None:
        """A resumed run is running again: clear its end, and its transactions' count of
        system failures (a resume gives each one its retries again)."""
        with self._db.transaction() as db:
            db.run(
                "UPDATE runs SET ended_at = NULL, exit_code = NULL, sealed_at = NULL,"
                " sealed_by = NULL, pid = ? WHERE id = ?",
                os.getpid(),
                run_id,
            )
            db.run(
                "UPDATE transactions SET failures = 0 WHERE run_id = ? AND failures <> 0", run_id
            )

    def enqueue(
        self,
        run_id: str,
        *,
        plan_path: Path,
        plan_sha256: str,
        plan_text: str,
        portal_url: str,
        dry_run: bool,
        run_dir: Path,
        items: Sequence[QueueItem],
    ) -> None:
        """Record a run and its transactions (in ``items`` order) for workers on any
        machine, in one database transaction; enqueues take turns across machines.

        Raises :class:`AlreadyQueued` (nothing written) when an open run already holds one
        of the invoices for the same account (invoice numbers compared case-insensitively).
        The same number under another account, or held by an ended run, is no conflict.
        """
        seen: dict[tuple[str, str], str] = {}
        numbers: set[str] = set()
        for item in items:
            key = (item.account, item.numero_rejete.casefold())
            if key in seen or item.numero_rejete in numbers:
                raise ValueError(f"facture {item.numero_rejete} deux fois dans la file")
            seen[key] = item.numero_rejete
            numbers.add(item.numero_rejete)
        with self._db.transaction() as db:
            self._db.lock(db, "enqueue")
            held = self._already_queued(db, items)
            if held:
                raise AlreadyQueued(held)  # inside the transaction: rolled back
            now = self._now_iso()
            db.run(
                "INSERT INTO runs (id, plan_path, plan_sha256, portal_url, dry_run, started_at,"
                " pid, host, plan_name, plan_text, plan_dir, run_dir)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                run_id,
                str(plan_path),
                plan_sha256,
                portal_url,
                int(dry_run),
                now,
                os.getpid(),
                socket.gethostname(),
                plan_path.name,
                plan_text,
                str(plan_path.absolute().parent),
                str(run_dir.absolute()),
            )
            db.many(
                "INSERT INTO transactions (run_id, numero_rejete, nouveau_numero, correction,"
                " account, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        run_id,
                        item.numero_rejete,
                        item.nouveau_numero,
                        json.dumps(item.correction, default=str),
                        item.account,
                        now,
                    )
                    for item in items
                ],
            )

    def _already_queued(self, db: Session, items: Sequence[QueueItem]) -> dict[str, list[str]]:
        """Open run → the ``items`` it already holds for the same account, oldest run first."""
        accounts = sorted({item.account for item in items})
        if not accounts:
            return {}
        # Every invoice of the open runs under these accounts (index by account), matched
        # here: numbers compare casefolded, which no index of both dialects serves alike.
        rows = db.all(
            "SELECT t.run_id, t.account, t.numero_rejete FROM transactions t"
            " JOIN runs r ON r.id = t.run_id WHERE r.ended_at IS NULL"
            f" AND t.account IN ({', '.join('?' * len(accounts))})"
            " ORDER BY r.started_at, r.id",
            *accounts,
        )
        order: dict[str, int] = {}
        holder: dict[tuple[str, str], str] = {}
        for row in rows:
            order.setdefault(row["run_id"], len(order))
            holder.setdefault((row["account"], row["numero_rejete"].casefold()), row["run_id"])
        held: dict[str, list[str]] = {}
        for item in items:
            run = holder.get((item.account, item.numero_rejete.casefold()))
            if run is not None:
                held.setdefault(run, []).append(item.numero_rejete)
        return {run: held[run] for run in sorted(held, key=order.__getitem__)}

    def end_run_if_complete(
        self,
        run_id: str,
        exit_code: Callable[[list[TransactionRow]], int],
        *,
        max_failures: int,
    ) -> int | None:
        """End the run if its work is over, and return its exit code; else None.

        Over: no transaction is claimed with a live lease, and none is left to claim
        (pending, or claimed with an expired lease, with fewer than ``max_failures`` system
        failures). The expired claims left are released to pending, then the code is
        ``exit_code(rows)`` of the run's transactions as read in that same database
        transaction. Among callers at once exactly one gets the code; None also when the run
        was already ended (or is unknown).
        """
        with self._db.transaction() as db:
            self._db.lock(db, f"run-end:{run_id}")
            run = db.one(f"SELECT ended_at FROM runs WHERE id = ?{self._db.for_update}", run_id)
            if run is None or run["ended_at"] is not None:
                return None
            now = self._now()
            busy = db.one(
                "SELECT COUNT(*) AS n FROM transactions WHERE run_id = ?"
                " AND state IN ('pending', 'claimed')"
                # a live lease (an old claim with no lease never expires: held too)…
                " AND ((state = 'claimed' AND (lease_until IS NULL OR lease_until >= ?))"
                # … or work left to claim
                " OR ((state = 'pending' OR lease_until < ?) AND failures < ?))",
                run_id,
                now,
                now,
                max_failures,
            )
            if busy is not None and int(busy["n"]) > 0:
                return None
            db.run(
                "UPDATE transactions SET state = 'pending', worker = NULL, machine = NULL,"
                " lease_until = NULL, updated_at = ? WHERE run_id = ? AND state = 'claimed'",
                _iso(now),
                run_id,
            )
            rows = db.all("SELECT * FROM transactions WHERE run_id = ? ORDER BY id", run_id)
            code = exit_code([_transaction_row(row) for row in rows])
            db.run(
                "UPDATE runs SET ended_at = ?, exit_code = ? WHERE id = ?",
                _iso(now),
                code,
                run_id,
            )
        return code

    def mark_sealed(self, run_id: str, machine: str) -> bool:
        """Record that ``machine`` sealed the run's bundle; True for the first caller only
        (a later one, or an unknown run: False, nothing written)."""
        with self._db.single() as db:
            sealed = db.run(
                "UPDATE runs SET sealed_at = ?, sealed_by = ? WHERE id = ? AND sealed_at IS NULL",
                self._now_iso(),
                machine,
                run_id,
            )
        return sealed == 1

    # -- transactions -----------------------------------------------------------------------
    def add_transaction(
        self, run_id: str, numero_rejete: str, nouveau_numero: str, correction: dict[str, Any]
    ) -> int:
        with self._db.transaction() as db:
            row = db.one(
                "INSERT INTO transactions (run_id, numero_rejete, nouveau_numero, correction,"
                " updated_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (run_id, numero_rejete)"
                " DO UPDATE SET updated_at = excluded.updated_at"
                " RETURNING id",
                run_id,
                numero_rejete,
                nouveau_numero,
                json.dumps(correction, default=str),
                self._now_iso(),
            )
        assert row is not None
        return int(row["id"])

    def claim_next(
        self,
        run_id: str | None,
        worker: str,
        *,
        account: str | None = None,
        max_failures: int | None = None,
    ) -> TransactionRow | None:
        """Atomically take, for ``worker``, the next pending transaction, or a claimed one
        whose lease has expired; None when there is none.

        ``run_id``: that run's (ended or not, as a single machine's run and resume ask);
        None: any open run's, oldest run first. ``account``: only that account's.
        ``max_failures``: not those whose system failures reached it. The claim lasts
        :attr:`lease_s` seconds unless renewed (:meth:`heartbeat`).

        On PostgreSQL the pick (``FOR UPDATE SKIP LOCKED``) and the take are one statement,
        one round trip, that also returns what the row was before (the takeover warning).
        """
        owner = machine_id(worker)
        take = "SET state = 'claimed', worker = ?, machine = ?, lease_until = ?, updated_at = ?"
        if self._db.returning_joined:
            with self._db.single() as db:
                now = self._now()
                pick, params = self._pick(run_id, account, max_failures, now)
                row = db.one(
                    f"WITH picked AS ({pick}) UPDATE transactions {take} FROM picked"
                    " WHERE transactions.id = picked.id"
                    " RETURNING transactions.*, picked.previous_state, picked.previous_machine",
                    *params,
                    worker,
                    owner,
                    now + self.lease_s,
                    _iso(now),
                )
            previous = row
        else:
            with self._db.transaction() as db:
                now = self._now()
                pick, params = self._pick(run_id, account, max_failures, now)
                previous = db.one(pick, *params)
                row = (
                    db.one(
                        f"UPDATE transactions {take} WHERE id = ? RETURNING *",
                        worker,
                        owner,
                        now + self.lease_s,
                        _iso(now),
                        previous["id"],
                    )
                    if previous is not None
                    else None
                )
        if row is None or previous is None:
            return None
        claimed = _transaction_row(row)
        with self._owners_lock:
            self._owners[claimed.id] = owner
        if previous["previous_state"] == State.CLAIMED:
            logger.warning(
                "{} : bail de {} expiré, transaction reprise par {}",
                claimed.numero_rejete,
                previous["previous_machine"],
                owner,
            )
        return claimed

    def _pick(
        self, run_id: str | None, account: str | None, max_failures: int | None, now: float
    ) -> tuple[str, list[Any]]:
        """The ``SELECT`` of the transaction a claim takes (row-locked, skipping those others
        hold), and its parameters."""
        params: list[Any] = []
        if run_id is None or account is not None:
            # Joined with the runs, oldest first. An account's transactions are then taken
            # from the (run_id, account, state) index and sorted, a few hundred at most: not
            # by a scan of the run's in id order, which passes every other account's rows.
            sql = (
                "SELECT t.id, t.state AS previous_state, t.machine AS previous_machine"
                " FROM transactions t JOIN runs r ON r.id = t.run_id"
            )
            if run_id is None:
                sql += " WHERE r.ended_at IS NULL"
            else:
                sql += " WHERE t.run_id = ?"
                params.append(run_id)
            order = "r.started_at, r.id, t.id"
        else:
            sql = (
                "SELECT t.id, t.state AS previous_state, t.machine AS previous_machine"
                " FROM transactions t WHERE t.run_id = ?"
            )
            params.append(run_id)
            order = "t.id"
        if account is not None:
            sql += " AND t.account = ?"
            params.append(account)
        if max_failures is not None:
            sql += " AND t.failures < ?"
            params.append(max_failures)
        sql += (
            " AND t.state IN ('pending', 'claimed') AND (t.state = 'pending' OR t.lease_until < ?)"
            f" ORDER BY {order} LIMIT 1{self._db.skip_locked_of('t')}"
        )
        params.append(now)
        return sql, params

    def work_outlook(
        self, run_id: str | None = None, *, max_failures: int | None = None
    ) -> list[AccountWork]:
        """Per account with work in the open runs (or in ``run_id``): how many transactions
        can be claimed now, how many live leases hold, and when the earliest of those ends;
        by account. An account whose transactions are all final, or left aside for their
        system failures, is not listed. One read: the figures are consistent together.

        A claimed transaction with no lease at all (a journal from before leases) counts as
        held and never expires: a resume releases it.
        """
        failures = " AND t.failures < ?" if max_failures is not None else ""
        if run_id is None:
            scope, scope_params = " JOIN runs r ON r.id = t.run_id WHERE r.ended_at IS NULL", []
        else:
            scope, scope_params = " WHERE t.run_id = ?", [run_id]
        with self._db.read() as db:
            now = self._now()
            rows = db.all(
                "SELECT t.account,"
                " SUM(CASE WHEN (t.state = 'pending' OR t.lease_until < ?)"
                f"{failures} THEN 1 ELSE 0 END) AS claimable,"
                " SUM(CASE WHEN t.state = 'claimed'"
                " AND (t.lease_until IS NULL OR t.lease_until >= ?) THEN 1 ELSE 0 END) AS held,"
                " MIN(CASE WHEN t.state = 'claimed' AND t.lease_until >= ?"
                " THEN t.lease_until END) AS next_expiry"
                f" FROM transactions t{scope} AND t.state IN ('pending', 'claimed')"
                " GROUP BY t.account ORDER BY t.account",
                now,
                *([max_failures] if max_failures is not None else []),
                now,
                now,
                *scope_params,
            )
        work = [
            AccountWork(
                account=row["account"],
                claimable=int(row["claimable"]),
                held=int(row["held"]),
                next_expiry=float(row["next_expiry"]) if row["next_expiry"] is not None else None,
            )
            for row in rows
        ]
        return [w for w in work if w.claimable or w.held]

    def heartbeat(self, transaction_id: int, worker: str) -> bool:
        """Renew ``worker``'s lease on the transaction; False when it no longer holds it
        (taken over after its lease expired, released, or finished): stop before the next
        action on the portal."""
        with self._db.single() as db:
            renewed = db.run(
                "UPDATE transactions SET lease_until = ?"
                " WHERE id = ? AND state = 'claimed' AND machine = ?",
                self._now() + self.lease_s,
                transaction_id,
                machine_id(worker),
            )
        return renewed == 1

    def _held_by(self, owner: str | None) -> tuple[str, tuple[str, ...]]:
        """The condition (and its parameter) that the transaction is still ``owner``'s."""
        if owner is None:
            return "", ()
        return " AND state = 'claimed' AND machine = ?", (owner,)

    def describe_transaction(
        self, transaction_id: int, motif: str, commentaire: str, *, worker: str | None = None
    ) -> bool:
        """Record the rejection's motive and comment as read on the portal; False (nothing
        written) when the lease was lost."""
        held, owner = self._held_by(self._owner(transaction_id, worker))
        with self._db.single() as db:
            written = db.run(
                f"UPDATE transactions SET motif = ?, commentaire = ? WHERE id = ?{held}",
                motif,
                commentaire,
                transaction_id,
                *owner,
            )
        return written == 1

    def finish_transaction(
        self,
        transaction_id: int,
        state: State,
        message: str = "",
        new_invoice_status: str = "",
        duration_s: float = 0.0,
        *,
        server_s: float = 0.0,
        worker: str | None = None,
    ) -> bool:
        """Store a final state; False (nothing written) when the lease was lost."""
        if state not in FINAL_STATES:
            raise ValueError(f"état final inconnu : {state}")
        state = State(state)
        held, owner = self._held_by(self._owner(transaction_id, worker))
        with self._db.single() as db:
            written = db.run(
                "UPDATE transactions SET state = ?, message = ?, new_invoice_status = ?,"
                " duration_s = duration_s + ?, server_s = server_s + ?, updated_at = ?,"
                f" lease_until = NULL WHERE id = ?{held}",
                state.value,
                message,
                new_invoice_status,
                duration_s,
                server_s,
                self._now_iso(),
                transaction_id,
                *owner,
            )
        return written == 1

    def postpone(
        self,
        transaction_id: int,
        message: str,
        duration_s: float = 0.0,
        *,
        worker: str | None = None,
        failed: bool = False,
    ) -> bool:
        """Back to pending, for a resume or another worker (a stop, or a system failure that
        outlasted the retries: ``failed``, counted in ``failures``); False (nothing written)
        when the lease was lost."""
        held, owner = self._held_by(self._owner(transaction_id, worker))
        with self._db.single() as db:
            written = db.run(
                "UPDATE transactions SET state = 'pending', worker = NULL, machine = NULL,"
                " lease_until = NULL, message = ?, duration_s = duration_s + ?, updated_at = ?,"
                f" failures = failures + ? WHERE id = ?{held}",
                message,
                duration_s,
                self._now_iso(),
                int(failed),
                transaction_id,
                *owner,
            )
        return written == 1

    def release_unfinished(self, run_id: str, *, expired_only: bool = False) -> int:
        """Put claimed transactions back to pending (after a crash or a stop); how many.

        Every claim of the run by default, live lease or not: a single machine's run end or
        resume. ``expired_only``: only those whose lease has expired (others may be working).
        """
        expired = " AND lease_until < ?" if expired_only else ""
        with self._db.transaction() as db:
            now = self._now()
            released = db.run(
                "UPDATE transactions SET state = 'pending', worker = NULL, machine = NULL,"
                f" lease_until = NULL, updated_at = ? WHERE run_id = ? AND state = 'claimed'"
                f"{expired}",
                _iso(now),
                run_id,
                *((now,) if expired_only else ()),
            )
        return released

    def transaction(self, transaction_id: int) -> TransactionRow:
        with self._db.read() as db:
            row = db.one("SELECT * FROM transactions WHERE id = ?", transaction_id)
        if row is None:
            raise KeyError(transaction_id)
        return _transaction_row(row)

    def transactions(self, run_id: str) -> list[TransactionRow]:
        with self._db.read() as db:
            rows = db.all("SELECT * FROM transactions WHERE run_id = ? ORDER BY id", run_id)
        return [_transaction_row(r) for r in rows]

    # -- steps ------------------------------------------------------------------------------
    def step_intent(
        self,
        transaction_id: int,
        step: str,
        before: dict[str, Any],
        *,
        worker: str | None = None,
    ) -> int:
        """Write ahead: record that ``step`` is about to act. Returns the step row id.

        Renews the lease. Raises :class:`LeaseLost` (nothing written) when the lease was
        lost: the action must not happen.
        """
        owner = self._owner(transaction_id, worker)
        with self._db.transaction() as db:
            now = self._now()
            if owner is not None:
                holder = db.one(
                    f"SELECT state, machine FROM transactions WHERE id = ?{self._db.for_update}",
                    transaction_id,
                )
                if holder is None or holder["state"] != State.CLAIMED or holder["machine"] != owner:
                    # Raised inside the transaction: it is rolled back, nothing was written.
                    raise LeaseLost(transaction_id, owner, holder["machine"] if holder else None)
                db.run(
                    "UPDATE transactions SET lease_until = ? WHERE id = ?",
                    now + self.lease_s,
                    transaction_id,
                )
            counted = db.one(
                "SELECT COUNT(*) AS n FROM steps WHERE transaction_id = ? AND step = ?",
                transaction_id,
                step,
            )
            attempt = int(counted["n"]) if counted else 0
            row = db.one(
                "INSERT INTO steps (transaction_id, step, attempt, intent_at, before)"
                " VALUES (?, ?, ?, ?, ?) RETURNING id",
                transaction_id,
                step,
                attempt + 1,
                _iso(now),
                json.dumps(before, default=str),
            )
        assert row is not None
        return int(row["id"])

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
        """Record what a step did. Always written, lease or not: it completes this worker's
        own step row with what happened on the portal."""
        with self._db.transaction() as db:
            db.run(
                "UPDATE steps SET result_at = ?, outcome = ?, message = ?, after = ?,"
                " before = COALESCE(?, before), portal_messages = ? WHERE id = ?",
                self._now_iso(),
                outcome,
                message,
                json.dumps(after, default=str),
                json.dumps(before, default=str) if before is not None else None,
                json.dumps(list(portal_messages)),
                step_id,
            )

    def steps(self, transaction_id: int) -> list[StepRow]:
        with self._db.read() as db:
            rows = db.all(
                "SELECT * FROM steps WHERE transaction_id = ? ORDER BY id", transaction_id
            )
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

    # -- session slots ----------------------------------------------------------------------
    def acquire_session_slot(
        self, account: str, max_sessions: int, worker: str
    ) -> SessionSlot | None:
        """Take one of ``account``'s ``max_sessions`` session slots for ``worker``, for
        :attr:`lease_s` seconds; None when that many are live (on any machine).

        Expired slots are free again. The slots are numbered 1 to ``max_sessions`` and each
        number is tried, in order, with one statement that inserts it or takes it over if its
        lease expired, atomically on any database (an upsert on the slot's key): the cap
        holds across every connection and machine with no lock held between statements (the
        same ``max_sessions`` everywhere is assumed: the cap holds for the caller's value).
        """
        if max_sessions < 1:
            raise ValueError(f"nombre de sessions invalide : {max_sessions}")
        owner = machine_id(worker)
        for number in range(1, max_sessions + 1):
            with self._db.single() as db:
                now = self._now()
                taken = db.one(
                    "INSERT INTO session_slots (account, slot, machine, lease_until, acquired_at)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (account, slot) DO UPDATE SET"
                    " machine = excluded.machine, lease_until = excluded.lease_until,"
                    " acquired_at = excluded.acquired_at WHERE session_slots.lease_until < ?"
                    " RETURNING slot",
                    account,
                    number,
                    owner,
                    now + self.lease_s,
                    _iso(now),
                    now,
                )
            if taken is not None:
                return SessionSlot(account, number, owner, now + self.lease_s)
        return None

    def renew_session_slot(self, slot: SessionSlot) -> bool:
        """Extend ``slot``'s lease by :attr:`lease_s` from now; False when its holder lost it
        (expired and taken by another, or released): close that session."""
        with self._db.single() as db:
            renewed = db.run(
                "UPDATE session_slots SET lease_until = ?"
                " WHERE account = ? AND slot = ? AND machine = ?",
                self._now() + self.lease_s,
                slot.account,
                slot.number,
                slot.machine,
            )
        return renewed == 1

    def release_session_slot(self, slot: SessionSlot) -> bool:
        """Give ``slot`` back; False when its holder had already lost it."""
        with self._db.single() as db:
            released = db.run(
                "DELETE FROM session_slots WHERE account = ? AND slot = ? AND machine = ?",
                slot.account,
                slot.number,
                slot.machine,
            )
        return released == 1

    def session_slots(self, account: str) -> list[SessionSlot]:
        """``account``'s live slots, by number."""
        with self._db.read() as db:
            rows = db.all(
                "SELECT * FROM session_slots WHERE account = ? AND lease_until >= ? ORDER BY slot",
                account,
                self._now(),
            )
        return [_slot(r) for r in rows]

    def all_session_slots(self) -> list[SessionSlot]:
        """Every account's live slots, by account then number."""
        with self._db.read() as db:
            rows = db.all(
                "SELECT * FROM session_slots WHERE lease_until >= ? ORDER BY account, slot",
                self._now(),
            )
        return [_slot(r) for r in rows]


def _slot(row: Row) -> SessionSlot:
    return SessionSlot(row["account"], int(row["slot"]), row["machine"], float(row["lease_until"]))


def _run_row(row: Row) -> RunRow:
    return RunRow(
        id=row["id"],
        plan_path=row["plan_path"],
        plan_sha256=row["plan_sha256"],
        portal_url=row["portal_url"],
        dry_run=bool(row["dry_run"]),
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        exit_code=row["exit_code"],
        plan_name=row["plan_name"],
        plan_text=row["plan_text"],
        plan_dir=row["plan_dir"],
        run_dir=row["run_dir"],
        sealed_at=row["sealed_at"],
        sealed_by=row["sealed_by"],
    )


def _transaction_row(row: Row) -> TransactionRow:
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
        machine=row["machine"],
        lease_until=float(row["lease_until"]) if row["lease_until"] is not None else None,
        run_id=row["run_id"],
        account=row["account"],
        failures=int(row["failures"]),
    )
