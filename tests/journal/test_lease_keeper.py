"""A worker keeps its claim while it carries a transaction (robot/run/worker.py
``LeaseKeeper``), on both backends; a claim taken over is seen, so the worker stops before
its next step."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from journal_support import LEASE_S, FakeClock

from robot.run.journal import Journal
from robot.run.worker import LeaseKeeper

MakeJournal = Callable[..., Journal]


def _claimed(journal: Journal) -> int:
    journal.start_run(
        "run-1", plan_path=Path("plan.csv"), plan_sha256="0" * 64, portal_url="x", dry_run=False
    )
    journal.add_transaction("run-1", "F1", "F1-R", {})
    row = journal.claim_next("run-1", "w1")
    assert row is not None
    return row.id


def _until(predicate: Callable[[], bool], what: str) -> None:
    pause = threading.Event()
    for _ in range(200):  # 200 × 0.05 s: 10 s at most
        if predicate():
            return
        pause.wait(0.05)
    raise AssertionError(f"attente trop longue : {what}")


def test_the_keeper_renews_the_lease_while_the_worker_works(
    make_journal: MakeJournal, clock: FakeClock
) -> None:
    # A short real-time lease (its renewals every 0.1 s), on a fake clock for the journal.
    holder, other = make_journal(lease_s=0.3), make_journal(lease_s=0.3)
    transaction_id = _claimed(holder)
    start = holder.transaction(transaction_id).lease_until

    with LeaseKeeper(holder, transaction_id, "w1") as lease:
        clock.advance(10)
        _until(
            lambda: holder.transaction(transaction_id).lease_until != start,
            "un renouvellement du bail",
        )
        assert other.claim_next("run-1", "w2") is None  # renewed from the advanced clock
        assert not lease.lost


def test_the_keeper_sees_a_lease_taken_over(make_journal: MakeJournal, clock: FakeClock) -> None:
    holder, other = make_journal(lease_s=0.3), make_journal(lease_s=LEASE_S)
    transaction_id = _claimed(holder)
    clock.advance(1)  # the 0.3 s lease expired: another worker takes the transaction
    taken = other.claim_next("run-1", "w2")
    assert taken is not None and taken.id == transaction_id

    with LeaseKeeper(holder, transaction_id, "w1") as lease:
        _until(lambda: lease.lost, "le bail perdu constaté")

    assert not holder.heartbeat(transaction_id, "w1")
