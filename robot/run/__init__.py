"""One run of a plan, on one machine: the journal (source of truth), the run folder, the
runner that collects and registers the transactions, the workers that carry them (one
process each when there are several), the retries, the stop signal, and the end of the run
(summary, audit bundle, notification).

    result = Runner(config, portal, run_dir, journal, workers=2).run(plan, dry_run=False)
    result.exit_code            # see robot.errors

Modules: ``journal`` (runs, transactions, steps; write-ahead; claims as leases; per-account
session slots), on SQLite (``journal_sqlite``) or PostgreSQL (``journal_pg``) through
``journal_db``, its schema and migrations in ``journal_schema``; ``states`` (a transaction's
states), ``runner``, ``worker``, ``parallel``, ``retries``, ``stopper``, ``lock`` (one run
per journal), ``outcomes`` (the result rebuilt from the journal), ``summary``, ``bundle``
(the audit bundle sealed), ``notify``. The run folder's layout is :mod:`robot.audit.rundir`.
"""

from robot.run.journal import Journal
from robot.run.lock import LockHeld, RunLock
from robot.run.outcomes import RunResult, TransactionOutcome
from robot.run.runner import Runner
from robot.run.states import State
from robot.run.stopper import Stopper

__all__ = [
    "Journal",
    "LockHeld",
    "RunLock",
    "RunResult",
    "Runner",
    "State",
    "Stopper",
    "TransactionOutcome",
]
