"""The journal under concurrency, on SQLite and PostgreSQL: every journal here has its own
connection, as another process or machine would. Claimers never share a transaction, an
expired lease is taken over once, the session-slot cap holds, and the schema is created once
when journals open at the same time."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from journal_support import LEASE_S, FakeClock, in_threads, raw_sql, wait_until

from robot.config import DatabaseUrl
from robot.run.journal import Journal, JournalTarget, LeaseLost, TransactionRow
from robot.run.journal_pg import SCHEMA_LOCK_KEY
from robot.run.journal_schema import MIGRATIONS

MakeJournal = Callable[..., Journal]
THREADS = 4


def _register(journal: Journal, count: int) -> list[str]:
    numbers = [f"F{i:03d}" for i in range(count)]
    journal.start_run(
        "run-1", plan_path=Path("plan.csv"), plan_sha256="0" * 64, portal_url="x", dry_run=False
    )
    for numero in numbers:
        journal.add_transaction("run-1", numero, numero + "-R", {})
    return numbers


def test_concurrent_claimers_never_get_the_same_transaction(make_journal: MakeJournal) -> None:
    numbers = _register(make_journal(), 60)
    journals = [make_journal() for _ in range(THREADS)]

    def claim_all(index: int) -> list[str]:
        taken = []
        while (row := journals[index].claim_next("run-1", f"w{index}")) is not None:
            taken.append(row.numero_rejete)
        return taken

    per_worker = in_threads(THREADS, claim_all)
    claimed = [numero for taken in per_worker for numero in taken]
    assert sorted(claimed) == numbers  # each exactly once
    owners = {row.numero_rejete: row.worker for row in journals[0].transactions("run-1")}
    for index, taken in enumerate(per_worker):
        assert {owners[numero] for numero in taken} <= {f"w{index}"}


def test_an_expired_lease_is_taken_over_by_one_claimer_only(
    make_journal: MakeJournal, clock: FakeClock
) -> None:
    first = make_journal()
    numbers = _register(first, 12)
    while first.claim_next("run-1", "mort") is not None:
        pass
    clock.advance(LEASE_S + 1)  # the worker that claimed them all died
    journals = [make_journal() for _ in range(THREADS)]

    def take_over(index: int) -> list[int]:
        taken = []
        while (row := journals[index].claim_next("run-1", f"w{index}")) is not None:
            taken.append(row.id)
        return taken

    taken = [tid for ids in in_threads(THREADS, take_over) for tid in ids]
    assert len(taken) == len(set(taken)) == len(numbers)
    assert "mort" not in {row.worker for row in first.transactions("run-1")}


def test_the_session_slot_cap_holds_under_concurrency(make_journal: MakeJournal) -> None:
    account, cap, threads = "compta@exemple.fr", 2, 6
    journals = [make_journal() for _ in range(threads)]

    # All at once: exactly the cap gets a slot.
    first = in_threads(threads, lambda i: journals[i].acquire_session_slot(account, cap, f"w{i}"))
    got = [slot for slot in first if slot is not None]
    assert sorted(slot.number for slot in got) == [1, 2]
    for slot in got:
        assert journals[0].release_session_slot(slot)

    # Then hammering: take, check, give back, many times over.
    live = 0
    most = 0
    counter_lock = threading.Lock()

    def hammer(index: int) -> int:
        nonlocal live, most
        journal, acquired = journals[index], 0
        for _ in range(25):
            slot = journal.acquire_session_slot(account, cap, f"w{index}")
            if slot is None:
                continue
            acquired += 1
            with counter_lock:
                live += 1
                most = max(most, live)
            seen = len(journal.session_slots(account))
            assert 1 <= seen <= cap
            with counter_lock:
                live -= 1
            assert journal.release_session_slot(slot)
        return acquired

    acquired = in_threads(threads, hammer)
    assert 1 <= most <= cap
    assert sum(acquired) > 0
    assert journals[0].session_slots(account) == []


def test_the_schema_is_created_once_when_journals_open_at_once(
    journal_target: JournalTarget, clock: FakeClock
) -> None:
    def open_journal(_index: int) -> list[int]:
        journal = Journal(journal_target, lease_s=LEASE_S, clock=clock)
        try:
            return journal.migrated
        finally:
            journal.close()

    applied = in_threads(THREADS, open_journal)
    everything = [version for version, _ in MIGRATIONS]
    assert sorted(applied, key=len) == [[]] * (THREADS - 1) + [everything]
    versions = raw_sql(journal_target, "SELECT version FROM schema_version ORDER BY version")
    assert [v for (v,) in versions] == everything


# -- PostgreSQL's locks -----------------------------------------------------------------------
def test_postgresql_migrations_wait_for_the_schema_lock(pg_url: str, clock: FakeClock) -> None:
    """Two robots starting while a third holds the schema lock both wait, then one migrates
    and the other finds the work done."""
    url = DatabaseUrl.parse(pg_url)
    database = url.database
    with psycopg.connect(url.reveal(), autocommit=True) as holder:
        holder.execute(f"SELECT pg_advisory_lock({SCHEMA_LOCK_KEY})")
        results: list[list[int]] = []
        errors: list[BaseException] = []

        def open_journal() -> None:
            try:
                journal = Journal(url, lease_s=LEASE_S, clock=clock)
                results.append(journal.migrated)
                journal.close()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=open_journal) for _ in range(2)]
        for thread in threads:
            thread.start()

        def waiting() -> int:
            row = holder.execute(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = %s"
                " AND wait_event_type = 'Lock' AND wait_event = 'advisory'",
                (database,),
            ).fetchone()
            return int(row[0]) if row else 0

        wait_until(lambda: waiting() == 2)
        assert results == [] and all(thread.is_alive() for thread in threads)
        holder.execute(f"SELECT pg_advisory_unlock({SCHEMA_LOCK_KEY})")
        for thread in threads:
            thread.join()
    assert errors == []
    assert sorted(results, key=len) == [[], [version for version, _ in MIGRATIONS]]


def test_postgresql_claims_skip_a_locked_transaction_without_waiting(
    pg_url: str, clock: FakeClock
) -> None:
    """A transaction another machine is claiming (its row locked) is skipped, not waited for."""
    url = DatabaseUrl.parse(pg_url)
    journal = Journal(url, lease_s=LEASE_S, clock=clock)
    try:
        _register(journal, 3)
        with psycopg.connect(url.reveal()) as other:  # a transaction left open
            other.execute("SELECT id FROM transactions ORDER BY id LIMIT 1 FOR UPDATE")
            claimed: list[TransactionRow | None] = []
            claimer = threading.Thread(
                target=lambda: claimed.append(journal.claim_next("run-1", "w1"))
            )
            claimer.start()
            claimer.join(timeout=20)  # it would wait until the rollback below if not skipping
            locked_meanwhile = claimer.is_alive()
            other.rollback()
            claimer.join()
        assert not locked_meanwhile
        assert claimed[0] is not None and claimed[0].numero_rejete == "F001"
        again = journal.claim_next("run-1", "w2")
        assert again is not None and again.numero_rejete == "F000"
        counts = Counter(row.state for row in journal.transactions("run-1"))
        assert counts == {"claimed": 2, "pending": 1}
    finally:
        journal.close()


@pytest.mark.parametrize("journal_target", ["postgresql"], indirect=True)
def test_postgresql_step_intent_waits_for_a_takeover_in_progress(
    journal_target: JournalTarget, make_journal: MakeJournal, clock: FakeClock
) -> None:
    """A loser's write-ahead that races with the takeover is decided after it: refused."""
    assert isinstance(journal_target, DatabaseUrl)
    loser = make_journal()
    _register(loser, 1)
    row = loser.claim_next("run-1", "w1")
    assert row is not None
    clock.advance(LEASE_S + 1)
    with (
        psycopg.connect(journal_target.reveal()) as winner,  # the takeover, not committed yet
        psycopg.connect(journal_target.reveal(), autocommit=True) as watcher,
    ):
        winner.execute(
            "UPDATE transactions SET machine = 'ailleurs:1:w9', lease_until = %s WHERE id = %s",
            (clock() + LEASE_S, row.id),
        )
        outcome: list[BaseException | int] = []

        def write_ahead() -> None:
            try:
                outcome.append(loser.step_intent(row.id, "acknowledge", {}))
            except BaseException as exc:
                outcome.append(exc)

        thread = threading.Thread(target=write_ahead)
        thread.start()

        def blocked() -> int:  # a fresh view each time: autocommit, outside any transaction
            row = watcher.execute(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = %s"
                " AND wait_event_type = 'Lock'",
                (journal_target.database,),
            ).fetchone()
            return int(row[0]) if row else 0

        wait_until(lambda: blocked() == 1)
        assert thread.is_alive() and outcome == []
        winner.commit()
        thread.join()
    assert len(outcome) == 1 and isinstance(outcome[0], LeaseLost)
    assert outcome[0].holder == "ailleurs:1:w9"
    assert loser.steps(row.id) == []
