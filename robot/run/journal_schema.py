"""The journal's tables, created and migrated by the robot itself, on SQLite and PostgreSQL.

``schema_version`` holds one row per migration applied. Opening a journal applies, in one
transaction, the migrations it lacks: on PostgreSQL under an advisory lock, on SQLite under
the file's write lock (``BEGIN IMMEDIATE``). Two machines opening the same journal at once
take turns: the second finds the version up to date and changes nothing. Running it again is
harmless. A journal migrated by a newer robot than this one is refused (:class:`JournalError`)
rather than written with the wrong columns.

Version 1 is the journal as it was before versioning (a journal file of that time has no
``schema_version`` and gets version 1's ``CREATE TABLE IF NOT EXISTS`` as no-ops, then the
later migrations). Migrations are only ever added at the end, never edited.
"""

from __future__ import annotations

from collections.abc import Callable

from robot.run.journal_db import Backend, JournalError, statements

#: (version, script). ``{id}``: an identity primary key; ``{real}``: a float column.
MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
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
            id {id},
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
            duration_s {real} NOT NULL DEFAULT 0,
            server_s {real} NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL,
            UNIQUE (run_id, numero_rejete)
        );
        CREATE TABLE IF NOT EXISTS steps (
            id {id},
            transaction_id BIGINT NOT NULL REFERENCES transactions(id),
            step TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            intent_at TEXT NOT NULL,
            result_at TEXT,
            outcome TEXT,
            message TEXT NOT NULL DEFAULT '',
            before TEXT NOT NULL DEFAULT '{{}}',
            after TEXT NOT NULL DEFAULT '{{}}',
            portal_messages TEXT NOT NULL DEFAULT '[]'
        );
        CREATE INDEX IF NOT EXISTS steps_by_transaction ON steps (transaction_id, step);
        CREATE INDEX IF NOT EXISTS transactions_by_state ON transactions (run_id, state)
        """,
    ),
    (
        2,
        # Claims as leases: who holds a transaction (host:pid:worker) and until when (seconds
        # since the epoch); per-account session slots, leases too.
        """
        ALTER TABLE transactions ADD COLUMN machine TEXT;
        ALTER TABLE transactions ADD COLUMN lease_until {real};
        CREATE TABLE session_slots (
            account TEXT NOT NULL,
            slot INTEGER NOT NULL,
            machine TEXT NOT NULL,
            lease_until {real} NOT NULL,
            acquired_at TEXT NOT NULL,
            PRIMARY KEY (account, slot)
        )
        """,
    ),
    (
        3,
        # The journal as a queue of many runs and accounts: a run recorded without a browser
        # (``enqueue``) carries its plan as text and its folders, so that a worker on another
        # machine rebuilds it; who sealed its bundle. A transaction names its portal account
        # (casefolded identifiant; '' for the runs registered before) and counts its system
        # failures that outlasted a worker's retries. The indexes serve the enqueue's check
        # (an invoice already queued for that account) and the per-account claims.
        """
        ALTER TABLE runs ADD COLUMN plan_name TEXT NOT NULL DEFAULT '';
        ALTER TABLE runs ADD COLUMN plan_text TEXT NOT NULL DEFAULT '';
        ALTER TABLE runs ADD COLUMN plan_dir TEXT NOT NULL DEFAULT '';
        ALTER TABLE runs ADD COLUMN run_dir TEXT NOT NULL DEFAULT '';
        ALTER TABLE runs ADD COLUMN sealed_at TEXT;
        ALTER TABLE runs ADD COLUMN sealed_by TEXT;
        ALTER TABLE transactions ADD COLUMN account TEXT NOT NULL DEFAULT '';
        ALTER TABLE transactions ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX transactions_by_account ON transactions (account, numero_rejete);
        CREATE INDEX transactions_by_run_account ON transactions (run_id, account, state)
        """,
    ),
)
#: The version this robot writes.
LATEST = MIGRATIONS[-1][0]


def migrate(backend: Backend, now_iso: Callable[[], str]) -> list[int]:
    """Bring the journal's schema to :data:`LATEST`; the versions applied (none: up to date).

    Raises :class:`JournalError` when the journal was migrated by a newer robot.
    """
    applied: list[int] = []
    with backend.schema_transaction() as session:
        session.run(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        row = session.one("SELECT MAX(version) AS version FROM schema_version")
        current = int(row["version"] or 0) if row else 0
        if current > LATEST:
            raise JournalError(
                f"Le journal est au schéma {current}, plus récent que celui de ce robot "
                f"({LATEST}) : mettez le robot à jour avant de l'utiliser."
            )
        for version, script in MIGRATIONS:
            if version <= current:
                continue
            for statement in statements(backend.ddl(script)):
                session.run(statement)
            session.run(
                "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                version,
                now_iso(),
            )
            applied.append(version)
    return applied
