"""The journal, on SQLite and on PostgreSQL alike: intent before result, atomic claims, claims
as leases (expiry, heartbeat, a loser that overwrites nothing), session slots, and a schema
the robot creates and migrates itself."""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from journal_support import LEASE_S, FakeClock, raw_sql

from robot.config import DatabaseUrl
from robot.run.journal import Journal, JournalError, JournalTarget, LeaseLost, machine_id
from robot.run.journal_schema import LATEST, MIGRATIONS
from robot.run.states import State

MakeJournal = Callable[..., Journal]


def _with_run(journal: Journal, numbers: list[str], run_id: str = "run-1") -> Journal:
    journal.start_run(
        run_id, plan_path=Path("plan.csv"), plan_sha256="0" * 64, portal_url="x", dry_run=False
    )
    for numero in numbers:
        journal.add_transaction(run_id, numero, numero + "-R", {"commentaire": "c"})
    return journal


# -- what the journal always did --------------------------------------------------------------
def test_step_intent_is_recorded_before_its_result(make_journal: MakeJournal) -> None:
    journal = _with_run(make_journal(), ["F1"])
    row = journal.claim_next("run-1", "w1")
    assert row is not None
    step_id = journal.step_intent(row.id, "acknowledge", {"acquittee": False})
    pending = journal.steps(row.id)
    assert pending[0].result_at is None and pending[0].outcome is None
    journal.step_result(step_id, "done", "ok", {"acquittee": True}, portal_messages=("Acquittée",))
    finished = journal.steps(row.id)[0]
    assert finished.outcome == "done" and finished.portal_messages == ("Acquittée",)
    assert finished.before == {"acquittee": False} and finished.after == {"acquittee": True}


def test_attempts_are_numbered_per_step(make_journal: MakeJournal) -> None:
    journal = _with_run(make_journal(), ["F1"])
    row = journal.claim_next("run-1", "w1")
    assert row is not None
    journal.step_intent(row.id, "reissue", {})
    journal.step_intent(row.id, "acknowledge", {})
    journal.step_intent(row.id, "reissue", {})
    assert [(s.step, s.attempt) for s in journal.steps(row.id)] == [
        ("reissue", 1),
        ("acknowledge", 1),
        ("reissue", 2),
    ]


def test_each_transaction_is_claimed_by_exactly_one_worker(make_journal: MakeJournal) -> None:
    numbers = [f"F{i}" for i in range(40)]
    journal = _with_run(make_journal(), numbers)
    claimed: list[str] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while (row := journal.claim_next("run-1", name)) is not None:
            with lock:
                claimed.append(row.numero_rejete)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(numbers)


def test_release_puts_claimed_transactions_back_and_state_survives_reopening(
    make_journal: MakeJournal,
) -> None:
    journal = _with_run(make_journal(), ["F1", "F2"])
    first = journal.claim_next("run-1", "w1")
    assert first is not None
    assert journal.finish_transaction(first.id, State.DONE, "ok", "En cours d'acheminement")
    journal.claim_next("run-1", "w1")
    journal.close()
    reopened = make_journal()
    assert reopened.release_unfinished("run-1") == 1
    rows = {t.numero_rejete: t for t in reopened.transactions("run-1")}
    assert {n: t.state for n, t in rows.items()} == {"F1": "done", "F2": "pending"}
    assert rows["F1"].new_invoice_status == "En cours d'acheminement"
    assert (rows["F2"].machine, rows["F2"].lease_until, rows["F2"].worker) == (None, None, None)


def test_unknown_final_state_is_refused(make_journal: MakeJournal) -> None:
    journal = _with_run(make_journal(), ["F1"])
    row = journal.claim_next("run-1", "w1")
    assert row is not None
    with pytest.raises(ValueError):
        journal.finish_transaction(row.id, "maybe")  # type: ignore[arg-type]


def test_runs_are_recorded_ended_and_reopened(make_journal: MakeJournal) -> None:
    journal = _with_run(make_journal(), [])
    journal.end_run("run-1", 3)
    ended = journal.run("run-1")
    assert ended is not None and (ended.exit_code, ended.dry_run) == (3, False)
    assert ended.ended_at == "2027-01-15T08:00:00.000+00:00"
    journal.reopen_run("run-1")
    reopened = journal.run("run-1")
    assert reopened is not None and (reopened.ended_at, reopened.exit_code) == (None, None)
    assert journal.run("run-2") is None


def test_registering_a_transaction_twice_keeps_one(make_journal: MakeJournal) -> None:
    journal = _with_run(make_journal(), ["F1"])
    again = journal.add_transaction("run-1", "F1", "F1-R", {"commentaire": "c"})
    assert [t.id for t in journal.transactions("run-1")] == [again]


# -- claims as leases -------------------------------------------------------------------------
def test_a_claim_records_its_machine_and_its_lease(
    make_journal: MakeJournal, clock: FakeClock
) -> None:
    journal = _with_run(make_journal(), ["F1"])
    row = journal.claim_next("run-1", "w1")
    assert row is not None
    assert row.state is State.CLAIMED and row.worker == "w1"
    assert row.machine == f"{socket.gethostname()}:{os.getpid()}:w1" == machine_id("w1")
    assert row.lease_until == clock() + LEASE_S


def test_a_live_lease_is_not_claimed_again_and_an_expired_one_is(
    make_journal: MakeJournal, clock: FakeClock
) -> None:
    first, second = make_journal(), make_journal()
    _with_run(first, ["F1"])
    row = first.claim_next("run-1", "w1")
    assert row is not None
    clock.advance(LEASE_S - 1)
    assert second.claim_next("run-1", "w2") is None
    clock.advance(2)
    taken = second.claim_next("run-1", "w2")
    assert taken is not None and taken.id == row.id
    assert taken.machine == machine_id("w2") and taken.lease_until == clock() + LEASE_S
    assert second.claim_next("run-1", "w3") is None


def test_a_heartbeat_keeps_the_lease(make_journal: MakeJournal, clock: FakeClock) -> None:
    holder, other = make_journal(), make_journal()
    _with_run(holder, ["F1"])
    row = holder.claim_next("run-1", "w1")
    assert row is not None
    clock.advance(40)
    assert holder.heartbeat(row.id, "w1")
    clock.advance(40)  # 80 s after the claim, 40 s after the heartbeat
    assert other.claim_next("run-1", "w2") is None
    clock.advance(21)
    assert other.claim_next("run-1", "w2") is not None


def test_a_step_intent_renews_the_lease(make_journal: MakeJournal, clock: FakeClock) -> None:
    holder, other = make_journal(), make_journal()
    _with_run(holder, ["F1"])
    row = holder.claim_next("run-1", "w1")
    assert row is not None
    clock.advance(50)
    holder.step_intent(row.id, "acknowledge", {})
    clock.advance(50)
    assert other.claim_next("run-1", "w2") is None
    assert holder.transaction(row.id).lease_until == clock() - 50 + LEASE_S


def test_the_loser_of_a_lease_stops_and_overwrites_nothing(
    make_journal: MakeJournal, clock: FakeClock
) -> None:
    loser, winner = make_journal(), make_journal()
    _with_run(loser, ["F1"])
    row = loser.claim_next("run-1", "w1")
    assert row is not None
    clicked = loser.step_intent(row.id, "acknowledge", {"acquittee": False})
    clock.advance(LEASE_S + 1)  # w1 hangs: its lease expires, w2 takes the transaction over
    taken = winner.claim_next("run-1", "w2")
    assert taken is not None and taken.id == row.id
    winner.step_intent(row.id, "acknowledge", {"acquittee": True})

    assert loser.heartbeat(row.id, "w1") is False
    with pytest.raises(LeaseLost) as lost:
        loser.step_intent(row.id, "process", {})
    assert lost.value.holder == machine_id("w2") and "w1" in str(lost.value)
    # The loser's click happened: its own step row gets its result all the same.
    loser.step_result(clicked, "done", "Acquittée par w1", {"acquittee": True})
    assert loser.describe_transaction(row.id, "motif de w1", "") is False
    assert loser.finish_transaction(row.id, State.DONE, "fini par w1") is False
    assert loser.postpone(row.id, "reporté par w1") is False
    assert loser.finish_transaction(row.id, State.DONE, "w1 encore", worker="w1") is False

    current = winner.transaction(row.id)
    assert (current.state, current.machine, current.message) == (
        State.CLAIMED,
        machine_id("w2"),
        "",
    )
    assert winner.describe_transaction(row.id, "motif lu par w2", "commentaire")
    assert winner.finish_transaction(row.id, State.DONE, "fini par w2", "Mise à disposition")
    done = winner.transaction(row.id)
    assert (done.state, done.message, done.motif) == (State.DONE, "fini par w2", "motif lu par w2")
    assert [(s.step, s.attempt, s.outcome) for s in winner.steps(row.id)] == [
        ("acknowledge", 1, "done"),
        ("acknowledge", 2, None),
    ]
    assert loser.finish_transaction(row.id, State.BUSINESS_FAILURE, "trop tard") is False
    assert winner.transaction(row.id).state is State.DONE


def test_an_expired_lease_nobody_took_is_still_its_holders(
    make_journal: MakeJournal, clock: FakeClock
) -> None:
    journal = _with_run(make_journal(), ["F1"])
    row = journal.claim_next("run-1", "w1")
    assert row is not None
    clock.advance(LEASE_S * 3)
    assert journal.heartbeat(row.id, "w1")
    journal.step_intent(row.id, "process", {})
    assert journal.finish_transaction(row.id, State.BUSINESS_FAILURE, "À vérifier")
    assert journal.heartbeat(row.id, "w1") is False  # finished: nothing left to hold


def test_a_postponed_transaction_is_claimed_again(make_journal: MakeJournal) -> None:
    journal = _with_run(make_journal(), ["F1"])
    row = journal.claim_next("run-1", "w1")
    assert row is not None
    assert journal.postpone(row.id, "Portail indisponible", 2.5, worker="w1")
    assert journal.heartbeat(row.id, "w1") is False
    again = journal.claim_next("run-1", "w2")
    assert again is not None and again.id == row.id
    assert (again.message, again.duration_s, again.worker) == ("Portail indisponible", 2.5, "w2")


def test_release_of_expired_claims_only_leaves_live_ones(
    make_journal: MakeJournal, clock: FakeClock
) -> None:
    journal = _with_run(make_journal(), ["F1", "F2"])
    stale = journal.claim_next("run-1", "w1")
    clock.advance(LEASE_S / 2)
    live = journal.claim_next("run-1", "w2")
    assert stale is not None and live is not None
    clock.advance(LEASE_S / 2 + 1)
    assert journal.release_unfinished("run-1", expired_only=True) == 1
    states = {t.id: t.state for t in journal.transactions("run-1")}
    assert states == {stale.id: State.PENDING, live.id: State.CLAIMED}
    assert journal.release_unfinished("run-1") == 1  # a single machine's run end: all of them
    assert {t.state for t in journal.transactions("run-1")} == {State.PENDING}


# -- session slots ----------------------------------------------------------------------------
def test_session_slots_are_capped_per_account_and_expire(
    make_journal: MakeJournal, clock: FakeClock
) -> None:
    here, there = make_journal(), make_journal()
    first = here.acquire_session_slot("compta@exemple.fr", 2, "w1")
    second = there.acquire_session_slot("compta@exemple.fr", 2, "w2")
    assert first is not None and second is not None
    assert (first.number, second.number) == (1, 2)
    assert here.acquire_session_slot("compta@exemple.fr", 2, "w3") is None
    other_account = here.acquire_session_slot("autre@exemple.fr", 2, "w3")
    assert other_account is not None and other_account.number == 1

    assert here.release_session_slot(first)
    third = there.acquire_session_slot("compta@exemple.fr", 2, "w3")
    assert third is not None and third.number == 1
    assert here.release_session_slot(first) is False  # already given back

    clock.advance(LEASE_S / 2)
    assert there.renew_session_slot(second)
    clock.advance(LEASE_S / 2 + 1)  # third expired, second renewed
    assert [s.number for s in here.session_slots("compta@exemple.fr")] == [2]
    fourth = here.acquire_session_slot("compta@exemple.fr", 2, "w4")
    assert fourth is not None and fourth.number == 1
    assert there.renew_session_slot(third) is False  # expired and taken: close that session
    assert there.release_session_slot(third) is False
    assert [(s.number, s.machine) for s in there.session_slots("compta@exemple.fr")] == [
        (1, machine_id("w4")),
        (2, machine_id("w2")),
    ]


# -- the schema -------------------------------------------------------------------------------
def test_the_schema_is_created_once_and_reopening_changes_nothing(
    make_journal: MakeJournal, journal_target: JournalTarget
) -> None:
    first = make_journal()
    assert first.migrated == [version for version, _ in MIGRATIONS]
    assert first.schema_version() == LATEST
    _with_run(first, ["F1"])
    first.close()
    second = make_journal()
    assert second.migrated == []
    assert [t.numero_rejete for t in second.transactions("run-1")] == ["F1"]
    versions = raw_sql(journal_target, "SELECT version FROM schema_version ORDER BY version")
    assert [v for (v,) in versions] == list(range(1, LATEST + 1))


def test_a_journal_from_a_newer_robot_is_refused(
    make_journal: MakeJournal, journal_target: JournalTarget
) -> None:
    make_journal().close()
    raw_sql(
        journal_target,
        "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
        LATEST + 7,
        "2030-01-01T00:00:00.000+00:00",
    )
    with pytest.raises(JournalError, match=f"schéma {LATEST + 7}, plus récent"):
        make_journal()


#: The journal file as the robot wrote it before the schema had versions.
_UNVERSIONED = MIGRATIONS[0][1].format(id="INTEGER PRIMARY KEY", real="REAL")


def test_a_journal_file_from_before_versioning_is_migrated(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "ancien.sqlite"
    old = sqlite3.connect(path)
    old.executescript(_UNVERSIONED)
    old.execute(
        "INSERT INTO runs VALUES ('run-0', 'plan.csv', 'abc', 'x', 0, '2026-01-01', NULL, NULL,"
        " 1, 'h')"
    )
    old.execute(
        "INSERT INTO transactions (run_id, numero_rejete, nouveau_numero, correction, state,"
        " worker, updated_at) VALUES ('run-0', 'F9', 'F9-R', '{}', 'claimed', 'w1', 'x')"
    )
    old.commit()
    old.close()

    journal = Journal(path, lease_s=LEASE_S, clock=clock)
    try:
        # Version 1 finds its tables there (no-ops, rows kept); version 2 adds the leases,
        # version 3 the queue's columns.
        assert journal.migrated == [1, 2, 3] and journal.schema_version() == LATEST
        (row,) = journal.transactions("run-0")
        assert (row.state, row.machine, row.lease_until) == (State.CLAIMED, None, None)
        assert journal.claim_next("run-0", "w2") is None  # an old claim has no lease to expire
        assert journal.release_unfinished("run-0") == 1  # a resume releases it
        assert journal.claim_next("run-0", "w2") is not None
    finally:
        journal.close()


def test_a_journal_names_its_backend(make_journal: MakeJournal) -> None:
    journal = make_journal()
    if isinstance(journal.target, DatabaseUrl):
        assert journal.backend == "postgresql"
        assert "********" in repr(journal)
        with pytest.raises(TypeError):
            journal.path  # noqa: B018
    else:
        assert journal.backend == "sqlite" and journal.path == journal.target


def test_without_a_clock_leases_follow_the_databases_clock(
    journal_target: JournalTarget,
) -> None:
    """By default a lease is measured with this machine's clock (SQLite) or the server's
    (PostgreSQL: every machine then agrees); the address may also be given as text."""
    as_text = (
        journal_target.reveal() if isinstance(journal_target, DatabaseUrl) else str(journal_target)
    )
    journal = Journal(as_text, lease_s=LEASE_S)
    try:
        assert journal.target == journal_target
        _with_run(journal, ["F1"])
        row = journal.claim_next("run-1", "w1")
        if isinstance(journal_target, DatabaseUrl):
            ((now,),) = raw_sql(journal_target, "SELECT EXTRACT(EPOCH FROM clock_timestamp())")
        else:
            now = time.time()
        assert row is not None and row.lease_until is not None
        assert abs(row.lease_until - (float(now) + LEASE_S)) < 5
    finally:
        journal.close()
