"""The journal's queue at scale, simulated with no browser (``bench/queue.py``): many workers
on a few accounts capped in sessions, claiming, renewing and finishing thousands of
transactions on PostgreSQL while some die holding a lease and some stall past it. No
transaction is held by two live leases at once, no account goes above its cap, every
transaction is finished exactly once, and the run is ended once all are. The speed is the
benchmark's business, not this test's.

The invariant checks are tested too, on records made by hand: an overlap of two live leases,
an account above its cap, a transaction finished twice and a run left open are each
reported."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pg_support import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # bench/ is a folder of tools at the root, not a package
    sys.path.insert(0, str(ROOT))

from bench.queue import (  # noqa: E402
    Holding,
    Lease,
    QueueConfig,
    QueueResult,
    WorkerReport,
    certainly_held,
    most_at_once,
    simulate,
    violations,
)

#: 5–10 s on two cores: 2,000 transactions, 40 workers in 2 processes, 10 accounts × 2.
SCALED = QueueConfig(
    transactions=2_000,
    workers=40,
    processes=2,
    accounts=10,
    max_sessions=2,
    dying=3,
    stalled=2,
    lease_s=2.0,
    timeout_s=120.0,
)


@pytest.fixture(scope="module")
def scaled(pg_server: PostgresServer) -> QueueResult:
    """One simulation at the test's size (the figures below all read it)."""
    return simulate(pg_server.create_database(), SCALED, say=lambda _: None)


def test_the_queue_holds_at_scale(scaled: QueueResult) -> None:
    assert violations(scaled) == []
    figures = scaled.figures()
    assert figures["complete"]
    assert sorted(scaled.final_rows) == sorted(scaled.accounts_of)
    assert {state for state, _ in scaled.final_rows.values()} == {"done"}
    assert figures["claims"] == SCALED.transactions + figures["takeovers"]
    assert figures["end_code"] == 0


def test_dead_and_stalled_workers_leases_were_taken_over(scaled: QueueResult) -> None:
    figures = scaled.figures()
    assert figures["died"] == SCALED.dying
    assert figures["stalled_refused"] == SCALED.stalled  # late heartbeat and finish refused
    # Each abandoned transaction was claimed again, and finished by the new holder.
    abandoned = {lease.transaction_id for lease in scaled.leases if lease.fate}
    assert len(abandoned) == SCALED.dying + SCALED.stalled
    assert figures["takeovers"] >= len(abandoned)
    for tid in abandoned:
        (writer,) = [x for x in scaled.leases if x.transaction_id == tid and x.finished]
        assert not writer.fate


def test_sessions_reached_their_cap_and_never_passed_it(scaled: QueueResult) -> None:
    assert scaled.slot_samples
    assert max(n for _, _, n in scaled.slot_samples) == SCALED.max_sessions
    per_account: dict[int, list[tuple[float, float]]] = {}
    for holding in scaled.holdings:
        per_account.setdefault(holding.account, []).extend(
            certainly_held(holding.renewals, holding.released_at, SCALED.lease_s)
        )
    assert len(per_account) == SCALED.accounts
    assert max(most_at_once(spans)[0] for spans in per_account.values()) == SCALED.max_sessions


# -- the checks themselves --------------------------------------------------------------------
def _result(reports: list[WorkerReport], rows: dict[int, tuple[str, str | None]]) -> QueueResult:
    config = QueueConfig(transactions=2, workers=len(reports), processes=1, dying=0, stalled=0)
    return QueueResult(
        config=config,
        prefix="t",
        reports=reports,
        wall_s=1.0,
        setup_s=0.0,
        connect_s=0.0,
        complete=True,
        slot_samples=[],
        final_rows=rows,
        accounts_of={tid: 0 for tid in rows},
        end_code=0,
    )


def _lease(tid: int, worker: str, claimed: float, finished: float | None) -> Lease:
    done = (finished, finished + 0.001) if finished is not None else None
    return Lease(tid, 0, worker, f"m:{worker}", [(claimed, claimed + 0.001)], finished=done)


def test_the_checks_pass_a_takeover_after_the_lease_expired() -> None:
    # a claims at 0 and dies; b takes over at 2.1 (lease 2 s) and finishes.
    a = WorkerReport("a", leases=[_lease(1, "a", 0.0, None)])
    b = WorkerReport("b", leases=[_lease(1, "b", 2.1, 2.2), _lease(2, "b", 2.3, 2.4)])
    assert violations(_result([a, b], {1: ("done", "m:b"), 2: ("done", "m:b")})) == []


def test_the_checks_report_two_live_leases_on_one_transaction() -> None:
    a = WorkerReport("a", leases=[_lease(1, "a", 0.0, 1.5), _lease(2, "a", 0.0, 0.1)])
    b = WorkerReport("b", leases=[_lease(1, "b", 1.0, None)])
    problems = violations(_result([a, b], {1: ("done", "m:a"), 2: ("done", "m:a")}))
    assert len(problems) == 1 and "vivants ensemble" in problems[0]


def test_the_checks_report_a_transaction_finished_twice_or_not_at_all() -> None:
    a = WorkerReport("a", leases=[_lease(1, "a", 0.0, 0.1)])
    b = WorkerReport("b", leases=[_lease(1, "b", 3.0, 3.1)])
    problems = violations(_result([a, b], {1: ("done", "m:b"), 2: ("pending", None)}))
    assert any("terminée par 2 baux" in p for p in problems)
    assert any("transaction 2 : état final attendu" in p for p in problems)
    assert any("transaction 2 : terminée par 0 baux" in p for p in problems)


def test_the_checks_report_an_account_above_its_cap() -> None:
    def held(worker: str, start: float, released: float) -> Holding:
        return Holding(0, 1, worker, [(start, start + 0.001)], released_at=released)

    reports = [
        WorkerReport("a", holdings=[held("a", 0.0, 1.0)]),
        WorkerReport("b", holdings=[held("b", 0.5, 1.5)]),
        WorkerReport("c", holdings=[held("c", 0.9, 2.0)]),  # three live at 0.9–1.0 (cap 2)
        WorkerReport("d", holdings=[held("d", 1.5, 2.0)]),  # starts as b's ends: not over
    ]
    result = _result(reports, {})
    result.slot_samples.append((0.95, 0, 3))
    problems = violations(result)
    assert any("3 sessions tenues ensemble" in p for p in problems)
    assert any("3 sessions vivantes lues" in p for p in problems)


def test_the_checks_report_a_run_not_ended() -> None:
    a = WorkerReport("a", leases=[_lease(1, "a", 0.0, 0.1)])
    result = _result([a], {1: ("done", "m:a")})
    result.end_code = None
    assert violations(result) == ["le run ne s'est pas terminé avec le code 0 (code None)"]
