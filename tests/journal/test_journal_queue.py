"""The journal as a queue of many runs and accounts, on SQLite and PostgreSQL: runs recorded
with no browser (``enqueue``) and refused when an open run already holds an invoice for the
account, claims by account across runs, transactions left aside after too many system
failures, each account's work outlook, a run ended by exactly one worker and sealed once, and
a version-2 journal migrated with its data."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from journal_support import LEASE_S, FakeClock, in_threads, raw_sql
from loguru import logger

from robot.config import DatabaseUrl
from robot.errors import EXIT_LOCKED, exit_code_for
from robot.run.journal import (
    AccountWork,
    AlreadyQueued,
    Journal,
    JournalTarget,
    QueueItem,
    TransactionRow,
    machine_id,
)
from robot.run.journal_db import statements
from robot.run.journal_schema import LATEST, MIGRATIONS
from robot.run.states import State

MakeJournal = Callable[..., Journal]
MAX_FAILURES = 3


def _items(account: str, *numbers: str) -> list[QueueItem]:
    return [QueueItem(account, n, f"{n}-R", {"nature": "rejetee", "n": n}) for n in numbers]


def _enqueue(journal: Journal, run_id: str, items: list[QueueItem], tmp: Path = Path(".")) -> None:
    journal.enqueue(
        run_id,
        plan_path=tmp / "plans" / f"{run_id}.csv",
        plan_sha256="0" * 64,
        plan_text=f"Numéro;Compte\n{run_id}\n",
        portal_url="https://portail.exemple",
        dry_run=False,
        run_dir=tmp / "sorties" / run_id,
        items=items,
    )


def _exit_code(rows: list[TransactionRow]) -> int:
    """0 when every transaction is done, else 3 (the journal does not care which rule)."""
    return 0 if all(row.state is State.DONE for row in rows) else 3


def _claims(journal: Journal, worker: str, account: str) -> list[str]:
    """Everything ``worker`` can claim of ``account``'s, in order (each claim left held)."""
    taken = []
    while (row := journal.claim_next(None, worker, account=account)) is not None:
        taken.append(row.numero_rejete)
    return taken


@pytest.fixture
def warnings() -> Iterator[list[str]]:
    """The journal's warnings logged during the test."""
    seen: list[str] = []
    sink = logger.add(lambda message: seen.append(message.record["message"]), level="WARNING")
    yield seen
    logger.remove(sink)


# -- enqueue ------------------------------------------------------------------------------------
def test_enqueue_records_the_run_its_plan_and_its_transactions_in_order(
    make_journal: MakeJournal, tmp_path: Path
) -> None:
    journal = make_journal()
    items = _items("compta@exemple.fr", "F3", "F1") + _items("achats@exemple.fr", "F2")
    _enqueue(journal, "run-1", items, tmp_path)
    run = journal.run("run-1")
    assert run is not None and run.ended_at is None and run.exit_code is None
    assert (run.plan_name, run.plan_text) == ("run-1.csv", "Numéro;Compte\nrun-1\n")
    assert run.plan_dir == str(tmp_path / "plans") and run.run_dir == str(
        tmp_path / "sorties/run-1"
    )
    assert (run.sealed_at, run.sealed_by) == (None, None)
    rows = journal.transactions("run-1")
    assert [(r.numero_rejete, r.account) for r in rows] == [
        ("F3", "compta@exemple.fr"),
        ("F1", "compta@exemple.fr"),
        ("F2", "achats@exemple.fr"),
    ]
    assert rows[0].id < rows[1].id < rows[2].id
    assert {(r.run_id, r.state, r.failures, r.machine) for r in rows} == {
        ("run-1", State.PENDING, 0, None)
    }
    assert rows[1].correction == {"nature": "rejetee", "n": "F1"}
    assert [r.id for r in journal.open_runs()] == ["run-1"]


def test_enqueue_refuses_invoices_an_open_run_holds_and_writes_nothing(
    make_journal: MakeJournal, journal_target: JournalTarget
) -> None:
    holder, other = make_journal(), make_journal()
    _enqueue(holder, "run-1", _items("compta@exemple.fr", "F1", "F2", "F3"))
    with pytest.raises(AlreadyQueued) as refused:
        _enqueue(other, "run-2", _items("compta@exemple.fr", "f1", "F9", "F3"))
    error = refused.value
    assert (error.run_id, error.numbers) == ("run-1", ["f1", "F3"])
    assert exit_code_for(error) == EXIT_LOCKED == 4
    assert (
        "run-1" in str(error) and "f1, F3" in str(error) and "Rien n'a été enregistré" in str(error)
    )
    assert other.run("run-2") is None and other.transactions("run-2") == []
    assert raw_sql(journal_target, "SELECT COUNT(*) FROM transactions") == [(3,)]


def test_a_refusal_names_every_open_run_that_holds_an_invoice(
    make_journal: MakeJournal, clock: FakeClock
) -> None:
    journal = make_journal()
    _enqueue(journal, "run-a", _items("compta@exemple.fr", "F1"))
    clock.advance(1)
    _enqueue(journal, "run-b", _items("compta@exemple.fr", "F2"))
    with pytest.raises(AlreadyQueued) as refused:
        _enqueue(journal, "run-c", _items("compta@exemple.fr", "F2", "F1"))
    assert refused.value.run_id == "run-a"  # the oldest
    assert refused.value.held == {"run-a": ["F1"], "run-b": ["F2"]}
    assert "run-a : F1 ; run-b : F2" in str(refused.value)


def test_the_same_invoice_is_enqueued_again_under_another_account_or_once_its_run_ended(
    make_journal: MakeJournal,
) -> None:
    journal = make_journal()
    _enqueue(journal, "run-1", _items("compta@exemple.fr", "F1"))
    _enqueue(journal, "run-2", _items("achats@exemple.fr", "F1"))
    journal.end_run("run-1", 0)
    _enqueue(journal, "run-3", _items("compta@exemple.fr", "F1"))
    assert [r.id for r in journal.open_runs()] == ["run-2", "run-3"]
    with pytest.raises(AlreadyQueued) as refused:
        _enqueue(journal, "run-4", _items("compta@exemple.fr", "F1"))
    assert refused.value.run_id == "run-3"


def test_enqueue_refuses_an_invoice_twice_in_its_items(make_journal: MakeJournal) -> None:
    journal = make_journal()
    with pytest.raises(ValueError, match="facture f1 deux fois"):
        _enqueue(journal, "run-1", _items("compta@exemple.fr", "F1", "f1"))
    assert journal.run("run-1") is None


def test_concurrent_enqueues_of_the_same_invoices_record_one_run(make_journal: MakeJournal) -> None:
    journals = [make_journal() for _ in range(4)]

    def enqueue(index: int) -> str | None:
        try:
            _enqueue(journals[index], f"run-{index}", _items("compta@exemple.fr", "F1", "F2"))
        except AlreadyQueued as refused:
            return refused.run_id
        return None

    holders = in_threads(4, enqueue)
    assert holders.count(None) == 1
    winner = f"run-{holders.index(None)}"
    assert [h for h in holders if h is not None] == [winner] * 3
    assert [r.id for r in journals[0].open_runs()] == [winner]


# -- claims by account, across runs -------------------------------------------------------------
def test_a_claim_by_account_takes_only_that_accounts_transactions(
    make_journal: MakeJournal,
) -> None:
    journal = make_journal()
    items = _items("a@x.fr", "A1", "A2") + _items("b@x.fr", "B1") + _items("a@x.fr", "A3")
    _enqueue(journal, "run-1", items)
    row = journal.claim_next(None, "w1", account="b@x.fr")
    assert row is not None and (row.numero_rejete, row.account, row.run_id) == (
        "B1",
        "b@x.fr",
        "run-1",
    )
    assert journal.claim_next(None, "w1", account="b@x.fr") is None
    assert _claims(journal, "w2", "a@x.fr") == ["A1", "A2", "A3"]
    assert journal.claim_next("run-1", "w3", account="a@x.fr") is None
    assert journal.claim_next(None, "w3", account="inconnu@x.fr") is None


def test_claims_across_runs_take_the_oldest_open_run_first(
    make_journal: MakeJournal, clock: FakeClock
) -> None:
    journal = make_journal()
    _enqueue(journal, "run-b", _items("a@x.fr", "B1", "B2"))
    clock.advance(1)
    _enqueue(journal, "run-a", _items("a@x.fr", "A1"))
    clock.advance(1)
    _enqueue(journal, "run-c", _items("a@x.fr", "C1"))
    journal.end_run("run-c", 0)  # ended: its transactions are no longer claimed by any worker
    assert _claims(journal, "w1", "a@x.fr") == ["B1", "B2", "A1"]
    # A run named is claimed from even once ended (a single machine's run and resume).
    row = journal.claim_next("run-c", "w1")
    assert row is not None and row.numero_rejete == "C1"


def test_a_single_machines_run_is_claimed_by_any_worker_too(make_journal: MakeJournal) -> None:
    journal = make_journal()
    journal.start_run(
        "run-1", plan_path=Path("plan.csv"), plan_sha256="0" * 64, portal_url="x", dry_run=False
    )
    journal.add_transaction("run-1", "F1", "F1-R", {})
    row = journal.claim_next(None, "w1")
    assert row is not None and (row.numero_rejete, row.account, row.run_id) == ("F1", "", "run-1")
    run = journal.run("run-1")
    assert run is not None and (run.plan_text, run.run_dir, run.sealed_at) == ("", "", None)


def test_concurrent_claimers_by_account_across_runs_never_share_a_transaction(
    make_journal: MakeJournal,
) -> None:
    first = make_journal()
    numbers = {
        account: [f"{account[0].upper()}{i:02d}" for i in range(15)] for account in ("a@x", "b@x")
    }
    for run in ("run-1", "run-2"):
        _enqueue(
            first,
            run,
            [
                item
                for account, nums in numbers.items()
                for item in _items(account, *(f"{run}-{n}" for n in nums))
            ],
        )
    journals = [make_journal() for _ in range(4)]

    def claim_all(index: int) -> list[tuple[str, str]]:
        account = "a@x" if index % 2 else "b@x"
        taken = []
        while (row := journals[index].claim_next(None, f"w{index}", account=account)) is not None:
            assert row.account == account
            taken.append((row.run_id, row.numero_rejete))
        return taken

    claimed = [pair for taken in in_threads(4, claim_all) for pair in taken]
    assert len(claimed) == len(set(claimed)) == 60


def test_an_expired_lease_taken_over_is_still_reported(
    make_journal: MakeJournal, clock: FakeClock, warnings: list[str]
) -> None:
    journal = make_journal()
    _enqueue(journal, "run-1", _items("a@x.fr", "F1"))
    assert journal.claim_next(None, "w1", account="a@x.fr") is not None
    assert warnings == []
    clock.advance(LEASE_S + 1)
    taken = journal.claim_next(None, "w2", account="a@x.fr")
    assert taken is not None and taken.machine == machine_id("w2")
    assert warnings == [
        f"F1 : bail de {machine_id('w1')} expiré, transaction reprise par {machine_id('w2')}"
    ]


# -- system failures ----------------------------------------------------------------------------
def test_transactions_that_failed_too_often_are_left_aside_until_a_resume(
    make_journal: MakeJournal,
) -> None:
    journal = make_journal()
    _enqueue(journal, "run-1", _items("a@x.fr", "F1", "F2"))
    for attempt in range(1, MAX_FAILURES + 1):
        row = journal.claim_next(None, "w1", max_failures=MAX_FAILURES)
        assert row is not None and row.numero_rejete == "F1"
        assert journal.postpone(row.id, "Portail indisponible", worker="w1", failed=True)
        assert journal.transaction(row.id).failures == attempt
    row = journal.claim_next(None, "w1", max_failures=MAX_FAILURES)
    assert row is not None and row.numero_rejete == "F2"
    assert journal.postpone(row.id, "Arrêt demandé", worker="w1")  # a stop: not a failure
    assert journal.transaction(row.id).failures == 0
    assert [r.numero_rejete for r in _rows(journal, max_failures=MAX_FAILURES)] == ["F2"]
    assert journal.claim_next(None, "w1") is not None  # no limit asked: F1 again
    journal.reopen_run("run-1")
    assert {r.failures for r in journal.transactions("run-1")} == {0}


def _rows(journal: Journal, max_failures: int) -> list[TransactionRow]:
    """What can be claimed now, claimed then given back (postponed, not failed)."""
    taken: list[TransactionRow] = []
    while (row := journal.claim_next(None, "lecteur", max_failures=max_failures)) is not None:
        taken.append(row)
    for row in taken:
        journal.postpone(row.id, row.message, worker="lecteur")
    return taken


# -- the work outlook ---------------------------------------------------------------------------
def test_the_work_outlook_counts_claimable_and_held_transactions_per_account(
    make_journal: MakeJournal, clock: FakeClock
) -> None:
    journal = make_journal()
    _enqueue(journal, "run-1", _items("a@x.fr", "A1", "A2", "A3") + _items("b@x.fr", "B1", "B2"))
    _enqueue(journal, "run-2", _items("c@x.fr", "C1"))
    first = journal.claim_next(None, "w1", account="a@x.fr")
    held_b = journal.claim_next(None, "w2", account="b@x.fr")
    assert first is not None and held_b is not None
    clock.advance(LEASE_S / 2)
    second = journal.claim_next(None, "w3", account="a@x.fr")
    assert second is not None
    c1 = journal.claim_next(None, "w4", account="c@x.fr")
    assert c1 is not None and journal.finish_transaction(c1.id, State.DONE, worker="w4")
    start = clock() - LEASE_S / 2
    assert journal.work_outlook() == [  # c@x.fr has nothing left: not listed
        AccountWork("a@x.fr", claimable=1, held=2, next_expiry=start + LEASE_S),
        AccountWork("b@x.fr", claimable=1, held=1, next_expiry=start + LEASE_S),
    ]
    clock.advance(LEASE_S / 2 + 1)  # the first two leases expired: claimable again
    assert journal.work_outlook() == [
        AccountWork("a@x.fr", claimable=2, held=1, next_expiry=clock() - 1 + LEASE_S / 2),
        AccountWork("b@x.fr", claimable=2, held=0, next_expiry=None),
    ]
    assert journal.work_outlook("run-2") == []
    assert [w.account for w in journal.work_outlook("run-1")] == ["a@x.fr", "b@x.fr"]


def test_the_work_outlook_leaves_out_failed_transactions_and_ended_runs(
    make_journal: MakeJournal,
) -> None:
    journal = make_journal()
    _enqueue(journal, "run-1", _items("a@x.fr", "A1", "A2"))
    _enqueue(journal, "run-2", _items("b@x.fr", "B1"))
    row = journal.claim_next(None, "w1", account="a@x.fr")
    assert row is not None
    journal.postpone(row.id, "Échec", worker="w1", failed=True)
    assert journal.work_outlook(max_failures=1) == [
        AccountWork("a@x.fr", claimable=1, held=0, next_expiry=None),
        AccountWork("b@x.fr", claimable=1, held=0, next_expiry=None),
    ]
    assert journal.work_outlook()[0].claimable == 2  # no limit asked
    journal.end_run("run-2", 0)
    assert [w.account for w in journal.work_outlook()] == ["a@x.fr"]
    assert [w.account for w in journal.work_outlook("run-2")] == ["b@x.fr"]  # named: ended or not


# -- the end of a run, its seal -----------------------------------------------------------------
def test_a_run_ends_once_no_lease_is_live_and_nothing_is_left_to_claim(
    make_journal: MakeJournal, clock: FakeClock
) -> None:
    journal = make_journal()
    _enqueue(journal, "run-1", _items("a@x.fr", "F1", "F2", "F3"))
    end = lambda: journal.end_run_if_complete("run-1", _exit_code, max_failures=MAX_FAILURES)  # noqa: E731
    assert end() is None  # all pending
    f1 = journal.claim_next(None, "w1")
    f2 = journal.claim_next(None, "w2")
    f3 = journal.claim_next(None, "w3")
    assert f1 is not None and f2 is not None and f3 is not None
    journal.finish_transaction(f1.id, State.DONE, worker="w1")
    for _ in range(MAX_FAILURES):  # F2: its system failures outlasted the retries, 3 times
        journal.postpone(f2.id, "Portail indisponible", worker="w2", failed=True)
        journal.claim_next(None, "w2")
    assert journal.transaction(f2.id).state is State.CLAIMED
    clock.advance(LEASE_S + 1)  # F2's and F3's leases expired: F3 is work left, as if pending
    assert end() is None
    taken = journal.claim_next(None, "w4", max_failures=MAX_FAILURES)
    assert taken is not None and taken.id == f3.id
    assert end() is None  # a live lease
    journal.finish_transaction(f3.id, State.DONE, worker="w4")
    seen: list[list[TransactionRow]] = []
    assert (
        journal.end_run_if_complete("run-1", lambda rows: seen.append(rows) or 3, max_failures=3)
        == 3
    )
    (rows,) = seen
    assert [(r.numero_rejete, r.state) for r in rows] == [
        ("F1", State.DONE),
        ("F2", State.PENDING),  # the expired claim released as the run ends
        ("F3", State.DONE),
    ]
    run = journal.run("run-1")
    assert run is not None and run.exit_code == 3 and run.ended_at is not None
    assert journal.open_runs() == []
    assert end() is None  # already ended
    assert journal.end_run_if_complete("inconnu", _exit_code, max_failures=3) is None


def test_exactly_one_of_concurrent_callers_ends_the_run(make_journal: MakeJournal) -> None:
    first = make_journal()
    _enqueue(first, "run-1", _items("a@x.fr", "F1", "F2"))
    for worker in ("w1", "w2"):
        row = first.claim_next(None, worker)
        assert row is not None and first.finish_transaction(row.id, State.DONE, worker=worker)
    journals = [make_journal() for _ in range(6)]
    codes = in_threads(
        6, lambda i: journals[i].end_run_if_complete("run-1", _exit_code, max_failures=MAX_FAILURES)
    )
    assert sorted(codes, key=lambda c: c is None) == [0] + [None] * 5
    run = first.run("run-1")
    assert run is not None and run.exit_code == 0


def test_a_run_is_sealed_once(make_journal: MakeJournal) -> None:
    journals = [make_journal() for _ in range(4)]
    _enqueue(journals[0], "run-1", _items("a@x.fr", "F1"))
    sealed = in_threads(4, lambda i: journals[i].mark_sealed("run-1", f"machine-{i}"))
    assert sealed.count(True) == 1
    run = journals[0].run("run-1")
    assert run is not None and run.sealed_at == "2027-01-15T08:00:00.000+00:00"
    assert run.sealed_by == f"machine-{sealed.index(True)}"
    assert journals[0].mark_sealed("run-1", "encore") is False
    assert journals[0].mark_sealed("inconnu", "m") is False


def test_every_live_session_slot_is_listed_by_account_then_number(
    make_journal: MakeJournal, clock: FakeClock
) -> None:
    journal = make_journal()
    for account, worker in (("b@x.fr", "w1"), ("a@x.fr", "w2"), ("b@x.fr", "w3")):
        assert journal.acquire_session_slot(account, 2, worker) is not None
    clock.advance(LEASE_S / 2)
    late = journal.acquire_session_slot("a@x.fr", 2, "w4")
    assert late is not None
    assert [(s.account, s.number) for s in journal.all_session_slots()] == [
        ("a@x.fr", 1),
        ("a@x.fr", 2),
        ("b@x.fr", 1),
        ("b@x.fr", 2),
    ]
    clock.advance(LEASE_S / 2 + 1)
    assert journal.all_session_slots() == [late]


# -- migration ----------------------------------------------------------------------------------
def test_a_version_2_journal_is_migrated_with_its_data(
    journal_target: JournalTarget, clock: FakeClock, make_journal: MakeJournal
) -> None:
    postgres = isinstance(journal_target, DatabaseUrl)
    types = (
        {"id": "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "real": "DOUBLE PRECISION"}
        if postgres
        else {"id": "INTEGER PRIMARY KEY", "real": "REAL"}
    )
    raw_sql(
        journal_target,
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
    )
    for version, script in MIGRATIONS[:2]:
        for statement in statements(script.format(**types)):
            raw_sql(journal_target, statement)
        raw_sql(journal_target, "INSERT INTO schema_version VALUES (?, '2026-06-01')", version)
    raw_sql(
        journal_target,
        "INSERT INTO runs VALUES ('run-0', 'plan.csv', 'abc', 'x', 0, '2026-06-01', NULL, NULL,"
        " 1, 'h')",
    )
    for numero, state, machine, lease in (
        ("F1", "done", "h:1:w1", None),
        ("F2", "claimed", "h:1:w2", clock() + LEASE_S),
        ("F3", "pending", None, None),
    ):
        raw_sql(
            journal_target,
            "INSERT INTO transactions (run_id, numero_rejete, nouveau_numero, correction, state,"
            " machine, lease_until, updated_at) VALUES ('run-0', ?, ?, '{}', ?, ?, ?, 'x')",
            numero,
            numero + "-R",
            state,
            machine,
            lease,
        )
    raw_sql(
        journal_target,
        "INSERT INTO session_slots VALUES ('a@x.fr', 1, 'h:1:w2', ?, 'x')",
        clock() + LEASE_S,
    )

    journal = make_journal()
    assert journal.migrated == [3] and journal.schema_version() == LATEST
    rows = journal.transactions("run-0")
    assert [(r.numero_rejete, r.state, r.machine, r.account, r.failures) for r in rows] == [
        ("F1", State.DONE, "h:1:w1", "", 0),
        ("F2", State.CLAIMED, "h:1:w2", "", 0),
        ("F3", State.PENDING, None, "", 0),
    ]
    assert rows[1].lease_until == clock() + LEASE_S
    run = journal.run("run-0")
    assert run is not None and (run.plan_sha256, run.plan_name, run.run_dir, run.sealed_by) == (
        "abc",
        "",
        "",
        None,
    )
    assert [s.machine for s in journal.all_session_slots()] == ["h:1:w2"]
    assert journal.work_outlook() == [
        AccountWork("", claimable=1, held=1, next_expiry=clock() + LEASE_S)
    ]
    row = journal.claim_next(None, "w3", account="")
    assert row is not None and row.numero_rejete == "F3"
    with pytest.raises(AlreadyQueued):  # the old run is open: its invoices are held
        _enqueue(journal, "run-1", _items("", "F1"))
