"""``python -m bench.queue``: the journal's queue at a scale no browser fleet here can reach.

Workers with no browser share one PostgreSQL journal. A worker takes a session slot of an
account that has work left (``Journal.acquire_session_slot``: at most ``max_sessions`` live
per account; it reads the account's live slots first, a read that locks and writes nothing,
and asks only when one is free; with none, it waits a random time that doubles up to
``backoff_max_s``), claims that account's transactions one after another
(``claim_next(run_id, worker, account=…)``), renews the lease once (``heartbeat``), finishes
the transaction (``finish_transaction``), renews the slot once a third of its lease has gone
by (``renew_session_slot``), and gives the slot back after ``session_span`` transactions or as
soon as the account has nothing left to claim. The work is these journal calls and nothing
else: what is measured is the queue itself.

- **One run, many accounts.** The transactions are recorded as ``chorus-robot enqueue``
  records a plan: one run (``<prefix>-run``), each transaction under its account
  (``<prefix>-compte-NN``, dealt in turn), in one call (``Journal.enqueue``). A worker holding
  a slot of account NN claims that account's transactions only, as ``chorus-robot worker``
  does. Once every transaction is finished the coordinator ends the run
  (``Journal.end_run_if_complete``), as the last worker of a fleet does.
- **Dying workers.** The first worker to claim one of ``dying`` transactions drawn at random
  (in the first half of the plan) dies: it closes its connection without finishing,
  postponing or releasing anything. Its lease and its session slot expire after ``lease_s``
  and another worker takes the transaction over.
- **Stalled workers.** The first claimer of ``stalled`` others stops renewing and waits until
  its transaction was taken over (a state it reads in the journal), then tries to renew and to
  finish, as a worker slowed past its lease would: the journal must refuse both.
- **Processes and threads.** ``workers`` threads spread over ``processes`` OS processes (1:
  every worker a thread of this process); each worker has its own
  :class:`~robot.run.journal.Journal`, so its own connection, as each worker process of the
  robot has.

Every worker records, with this machine's clock, when each call that took or renewed a lease
or a slot started and returned; meanwhile the coordinator reads every account's live slots
(``Journal.session_slots``) again and again. :func:`violations` then checks:

1. every transaction is final in the journal, written by exactly one lease (one successful
   ``finish_transaction``), the one the journal names;
2. no two leases of one transaction were live at once. A lease is *certainly* live from the
   return of each successful claim or heartbeat until that call's start + ``lease_s`` (and
   until its finish starts): no other claim can take it before. Two such intervals of two
   leases that overlap prove two live holders;
3. no account had more than ``max_sessions`` live slots: neither in any sample, nor in the
   slots' certainly-held intervals (built the same way, until the release starts);
4. each stalled worker's late heartbeat and finish were refused;
5. the run ended, with exit code 0, at the first ``end_run_if_complete`` after the last
   finish.

Figures: successful claims per second, over the wall time from the start signal to the last
finish, and the latency of ``claim_next`` calls that returned a transaction (p50/p99), with the
other calls' for comparison. See ``bench/README.md`` « The queue at scale ».

    python -m bench.queue                          # 10,000 transactions, 200 workers, 50 × 2
    python -m bench.queue --processes 1            # the same, every worker a thread
    python -m bench.queue --url postgresql://…     # an existing server (else a throwaway one)
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import queue
import random
import secrets
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from multiprocessing.sharedctypes import Synchronized, SynchronizedArray
from pathlib import Path
from typing import Any, Protocol

from bench.measure import machine_cpu_s
from robot.run.journal import Journal, QueueItem, SessionSlot, TransactionRow, machine_id
from robot.run.states import State

ROOT = Path(__file__).resolve().parent.parent
_TICKS = os.sysconf("SC_CLK_TCK")
#: How much a certainly-live interval is shortened by: this machine's clock (the records) and
#: the journal's (the server's, whose offset each connection estimates within half a round
#: trip) may differ by that much.
CLOCK_SLACK_S = 0.01
#: A worker with no slot waits a random time up to this, doubling at each failure up to
#: :attr:`QueueConfig.backoff_max_s`.
BACKOFF_FIRST_S = 0.005
#: How long a worker leaves an account alone after finding nothing to claim there, in leases
#: (its remaining work is in others' hands; an expired lease will come back).
REST_LEASES = 0.125
#: A stalled worker reads its transaction's holder every this many leases…
STALL_POLL_LEASES = 0.05
#: … and gives up after this many (an error: nobody took the transaction over).
STALL_TIMEOUT_LEASES = 30.0
#: How long the coordinator waits for every worker to be connected.
CONNECT_TIMEOUT_S = 180.0
#: Connections a simulation opens besides one per worker (coordinator, sampler, setup).
EXTRA_CONNECTIONS = 8
#: As ``bench/run.py``: a busier machine at start, or other programs taking more of it during
#: the run, mark the figures preliminary.
BUSY_LOAD_PER_CORE = 0.25
OTHER_CPU_PCT_MAX = 5.0


@dataclass(frozen=True)
class QueueConfig:
    """One simulation's size and behaviour."""

    transactions: int = 10_000
    workers: int = 200
    accounts: int = 50
    max_sessions: int = 2
    #: Workers that die holding a lease (their lease and slot expire).
    dying: int = 5
    #: Workers that stall past their lease, then try to renew and finish (refused).
    stalled: int = 2
    lease_s: float = 2.0
    #: OS processes the workers are spread over (1: threads of this process).
    processes: int = 8
    #: Transactions a worker carries on one slot before giving it back.
    session_span: int = 10
    #: The longest a worker with no slot waits before trying again.
    backoff_max_s: float = 0.5
    #: Read an account's live slots before trying to take one (and not try when all are).
    peek: bool = True
    #: The browser's time per transaction, simulated by waiting between the heartbeat and the
    #: finish (0: none, the queue at full speed).
    work_s: float = 0.0
    #: How often the coordinator reads every account's live slots.
    sample_every_s: float = 0.5
    seed: int = 1
    #: The run's limit, start signal to last finish (then it stops: incomplete).
    timeout_s: float = 600.0

    def __post_init__(self) -> None:
        if min(self.transactions, self.workers, self.accounts, self.max_sessions) < 1:
            raise ValueError("transactions, travailleurs, comptes, sessions : au moins 1")
        if not 1 <= self.processes <= self.workers:
            raise ValueError(f"processus : entre 1 et {self.workers} (un par travailleur)")
        if self.dying + self.stalled > self.transactions // 2:
            raise ValueError("trop de travailleurs qui meurent ou s'arrêtent pour si peu")
        if self.lease_s <= 0 or self.session_span < 1:
            raise ValueError("bail et transactions par session : positifs")
        if not 0 <= self.work_s < self.lease_s / 2:  # no keeper renews the lease meanwhile
            raise ValueError("le travail simulé doit durer moins d'un demi-bail")


@dataclass
class Lease:
    """One lease a worker held on a transaction."""

    transaction_id: int
    account: int
    worker: str
    machine: str
    #: (start, end) of the claim and of each successful heartbeat, this machine's clock.
    renewals: list[tuple[float, float]]
    #: (start, end) of the ``finish_transaction`` that wrote; None when none did.
    finished: tuple[float, float] | None = None
    #: Its place in the plan (``F00042``: 42).
    index: int = -1
    #: ``died``, ``stalled`` or ``""`` (an ordinary worker).
    fate: str = ""
    #: A stalled worker's late heartbeat and finish: written or not (they must not be).
    late_heartbeat: bool | None = None
    late_finish: bool | None = None


@dataclass
class Holding:
    """One session slot a worker held."""

    account: int
    number: int
    worker: str
    #: (start, end) of the acquisition and of each successful renewal.
    renewals: list[tuple[float, float]]
    #: Start of the release that deleted it; None when it was not released (died, lost).
    released_at: float | None = None
    #: A renewal found it gone (expired and taken by another).
    lost: bool = False


@dataclass
class WorkerReport:
    worker: str
    leases: list[Lease] = field(default_factory=list)
    holdings: list[Holding] = field(default_factory=list)
    #: Seconds of each ``claim_next`` that returned a transaction, and of those that did not.
    claim_s: list[float] = field(default_factory=list)
    empty_claim_s: list[float] = field(default_factory=list)
    #: Seconds of each ``acquire_session_slot`` and each ``finish_transaction``.
    acquire_s: list[float] = field(default_factory=list)
    #: Seconds of each ``session_slots`` read before an acquisition.
    peek_s: list[float] = field(default_factory=list)
    finish_s: list[float] = field(default_factory=list)
    died: bool = False
    error: str = ""


@dataclass
class QueueResult:
    config: QueueConfig
    prefix: str
    reports: list[WorkerReport]
    #: Start signal to the last successful finish.
    wall_s: float
    #: Enqueuing the run and its transactions, then connecting every worker.
    setup_s: float
    connect_s: float
    complete: bool
    #: Every account's live slots as read during the run: (time, account, how many).
    slot_samples: list[tuple[float, int, int]]
    #: The journal's rows at the end: transaction id → (state, machine).
    final_rows: dict[int, tuple[str, str | None]]
    #: Transaction id → account, as registered.
    accounts_of: dict[int, int]
    #: What ``end_run_if_complete`` returned after the run (None: it did not end the run).
    end_code: int | None = None
    #: CPU seconds from the start signal to the end: ``machine`` (every process),
    #: ``workers`` (the workers' processes), ``server`` (PostgreSQL, when on this machine),
    #: ``other`` (the rest).
    cpu_s: dict[str, float | None] = field(default_factory=dict)

    @property
    def leases(self) -> list[Lease]:
        return [lease for report in self.reports for lease in report.leases]

    @property
    def holdings(self) -> list[Holding]:
        return [holding for report in self.reports for holding in report.holdings]

    def figures(self) -> dict[str, Any]:
        """What the README reports: the configuration, speed, latency, what happened."""
        claims = [s for r in self.reports for s in r.claim_s]
        empty = [s for r in self.reports for s in r.empty_claim_s]
        acquire = [s for r in self.reports for s in r.acquire_s]
        peek = [s for r in self.reports for s in r.peek_s]
        finish = [s for r in self.reports for s in r.finish_s]
        leases = self.leases
        other, cores = self.cpu_s.get("other"), os.cpu_count() or 1
        per_transaction: defaultdict[int, int] = defaultdict(int)
        for lease in leases:
            per_transaction[lease.transaction_id] += 1
        c = self.config
        return {
            "transactions": c.transactions,
            "workers": c.workers,
            "processes": c.processes,
            "accounts": c.accounts,
            "max_sessions": c.max_sessions,
            "lease_s": c.lease_s,
            "dying": c.dying,
            "stalled": c.stalled,
            "session_span": c.session_span,
            "backoff_max_s": c.backoff_max_s,
            "peek": c.peek,
            "work_ms": round(c.work_s * 1000, 1),
            "complete": self.complete,
            "wall_s": round(self.wall_s, 2),
            "setup_s": round(self.setup_s, 1),
            "connect_s": round(self.connect_s, 1),
            "claims": len(claims),
            "claims_per_s": round(len(claims) / self.wall_s, 1) if self.wall_s > 0 else None,
            "claim_p50_ms": _ms(claims, 50),
            "claim_p99_ms": _ms(claims, 99),
            "claim_max_ms": _ms(claims, 100),
            "empty_claims": len(empty),
            "empty_claim_p50_ms": _ms(empty, 50),
            "empty_claim_p99_ms": _ms(empty, 99),
            "acquire_slot_calls": len(acquire),
            "acquire_slot_p50_ms": _ms(acquire, 50),
            "acquire_slot_p99_ms": _ms(acquire, 99),
            "peek_calls": len(peek),
            "peek_p99_ms": _ms(peek, 99),
            "finish_p50_ms": _ms(finish, 50),
            "finish_p99_ms": _ms(finish, 99),
            "slots_taken": len(self.holdings),
            "takeovers": sum(n - 1 for n in per_transaction.values()),
            "died": sum(report.died for report in self.reports),
            "end_code": self.end_code,
            "stalled_refused": sum(
                lease.fate == "stalled" and lease.late_finish is False for lease in leases
            ),
            "cpu_s": self.cpu_s,
            # What other programs took of the machine meanwhile (> 5 %: figures preliminary).
            "other_cpu_pct": round(other / (self.wall_s * cores) * 100, 1)
            if other is not None and self.wall_s > 0
            else None,
            "slot_samples": len(self.slot_samples),
            "max_live_slots_sampled": max((n for _, _, n in self.slot_samples), default=0),
            # Sessions at work at once, on average over the samples (at most accounts × cap).
            "mean_live_slots": round(
                sum(n for _, _, n in self.slot_samples) / len(self.slot_samples) * c.accounts, 1
            )
            if self.slot_samples
            else None,
        }


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100), linear between closest ranks."""
    if not values:
        raise ValueError("no value")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _ms(values: Sequence[float], q: float) -> float | None:
    return round(percentile(values, q) * 1000, 2) if values else None


def account_name(prefix: str, account: int) -> str:
    return f"{prefix}-compte-{account:02d}"


def run_id(prefix: str) -> str:
    """The simulation's run (every account's transactions: see the module's text)."""
    return f"{prefix}-run"


# -- what the workers share -----------------------------------------------------------------
class _Event(Protocol):
    def is_set(self) -> bool: ...
    def set(self) -> None: ...
    def wait(self, timeout: float | None = None) -> bool: ...


@dataclass
class _Shared:
    """Shared across processes: the start and stop signals, the work left per account (a
    worker asks for slots of accounts with work only) and in all, the fates and whether each
    was met, and how many workers are connected."""

    start: _Event
    stop: _Event
    remaining: SynchronizedArray[int]
    left: Synchronized[int]
    ready: Synchronized[int]
    #: Transaction index (its place in the plan) → (fate number, ``died`` or ``stalled``).
    fates: dict[int, tuple[int, str]]
    #: By fate number: 1 once a worker met it.
    fates_met: SynchronizedArray[int]


def _plan_fates(config: QueueConfig) -> dict[int, tuple[int, str]]:
    """The transactions whose first claimer dies or stalls, drawn in the first half of the
    plan (so that others still work when the leases expire): index → (number, fate)."""
    rng = random.Random(config.seed)
    picks = rng.sample(range(config.transactions // 2), config.dying + config.stalled)
    return {
        index: (number, "died" if number < config.dying else "stalled")
        for number, index in enumerate(picks)
    }


def plan_index(numero: str) -> int:
    """A transaction's place in the plan, from its number (``<prefix>-F00042`` → 42)."""
    return int(numero.rsplit("-F", 1)[1])


# -- a worker -------------------------------------------------------------------------------
class _Died(Exception):
    """This worker dies here: nothing finished, postponed or released."""


class _Worker:
    def __init__(
        self, index: int, url: str, prefix: str, config: QueueConfig, shared: _Shared
    ) -> None:
        self.name = f"q{index:03d}"
        self.machine = machine_id(self.name)
        self.config = config
        self.prefix = prefix
        self.shared = shared
        self.rng = random.Random(config.seed * 1_000_003 + index)
        self.report = WorkerReport(self.name)
        self.journal = Journal(url, lease_s=config.lease_s)
        #: Account → until when this worker leaves it alone (it found nothing to claim).
        self.resting: dict[int, float] = {}

    def run(self) -> WorkerReport:
        shared = self.shared
        with shared.ready.get_lock():
            shared.ready.value += 1
        shared.start.wait()
        idle = 0
        try:
            while not shared.stop.is_set():
                account = self._pick_account()
                taken = self._acquire(account) if account is not None else None
                if taken is None:
                    # No account to try, or no slot free on it: wait, longer and longer.
                    idle += 1
                    pause = min(self.config.backoff_max_s, BACKOFF_FIRST_S * 2**idle)
                    shared.stop.wait(self.rng.uniform(0, pause))
                    continue
                idle = 0
                self._session(*taken)
        except _Died:
            self.report.died = True
        except Exception as exc:  # reported, and a violation
            self.report.error = f"{type(exc).__name__}: {exc}"
            shared.stop.set()
        finally:
            self.journal.close()  # a dying worker's connection goes with it
        return self.report

    def _pick_account(self) -> int | None:
        now = time.time()
        remaining = self.shared.remaining[:]  # one lock, one copy
        candidates = [
            account
            for account in range(self.config.accounts)
            if remaining[account] > 0 and self.resting.get(account, 0.0) <= now
        ]
        return self.rng.choice(candidates) if candidates else None

    def _acquire(self, account: int) -> tuple[SessionSlot, Holding] | None:
        """One of the account's slots, or None when all are live (read first, when the
        config says so: a read takes no lock and writes nothing)."""
        if self.config.peek:
            started = time.perf_counter()
            live = self.journal.session_slots(account_name(self.prefix, account))
            self.report.peek_s.append(time.perf_counter() - started)
            if len(live) >= self.config.max_sessions:
                return None
        started, c0 = time.perf_counter(), time.time()
        slot = self.journal.acquire_session_slot(
            account_name(self.prefix, account), self.config.max_sessions, self.name
        )
        c1 = time.time()
        self.report.acquire_s.append(time.perf_counter() - started)
        if slot is None:
            return None
        holding = Holding(account, slot.number, self.name, [(c0, c1)])
        self.report.holdings.append(holding)
        return slot, holding

    def _session(self, slot: SessionSlot, holding: Holding) -> None:
        account = holding.account
        for _ in range(self.config.session_span):
            if self.shared.stop.is_set():
                break
            lease = self._claim(account)
            if lease is None:
                self.resting[account] = time.time() + REST_LEASES * self.config.lease_s
                break
            lease.fate = self._fate(lease)
            if lease.fate == "died":
                raise _Died
            if lease.fate == "stalled":
                self._stall(lease)
            else:
                self._carry(account, lease)
            # Renewed as a keeper thread would: once a third of its lease has gone by.
            due = holding.renewals[-1][0] + self.config.lease_s / 3
            if time.time() >= due and not self._renew_slot(slot, holding):
                return  # the slot expired and went to another: not ours to release
        released = time.time()
        if self.journal.release_session_slot(slot):
            holding.released_at = released
        else:
            holding.lost = True

    def _claim(self, account: int) -> Lease | None:
        started, c0 = time.perf_counter(), time.time()
        row = self.journal.claim_next(
            run_id(self.prefix), self.name, account=account_name(self.prefix, account)
        )
        c1 = time.time()
        elapsed = time.perf_counter() - started
        if row is None:
            self.report.empty_claim_s.append(elapsed)
            return None
        self.report.claim_s.append(elapsed)
        lease = Lease(row.id, account, self.name, self.machine, [(c0, c1)])
        lease.index = plan_index(row.numero_rejete)
        self.report.leases.append(lease)
        return lease

    def _fate(self, lease: Lease) -> str:
        """``died`` or ``stalled`` when this is the first claim of a transaction drawn for
        it (a takeover of it is an ordinary claim); else ``""``."""
        fate = self.shared.fates.get(lease.index)
        if fate is None:
            return ""
        number, what = fate
        with self.shared.fates_met.get_lock():
            if self.shared.fates_met[number]:
                return ""
            self.shared.fates_met[number] = 1
        return what

    def _carry(self, account: int, lease: Lease) -> None:
        """The work: renew the lease once, finish the transaction."""
        h0 = time.time()
        if not self.journal.heartbeat(lease.transaction_id, self.name):
            return
        lease.renewals.append((h0, time.time()))
        if self.config.work_s > 0:
            self.shared.stop.wait(self.config.work_s)
        started, f0 = time.perf_counter(), time.time()
        written = self.journal.finish_transaction(
            lease.transaction_id, State.DONE, "simulée", worker=self.name
        )
        f1 = time.time()
        self.report.finish_s.append(time.perf_counter() - started)
        if written:
            lease.finished = (f0, f1)
            self._count_finish(account)

    def _renew_slot(self, slot: SessionSlot, holding: Holding) -> bool:
        s0 = time.time()
        if self.journal.renew_session_slot(slot):
            holding.renewals.append((s0, time.time()))
            return True
        holding.lost = True
        return False

    def _count_finish(self, account: int) -> None:
        shared = self.shared
        with shared.remaining.get_lock():
            shared.remaining[account] -= 1  # its lock is reentrant
        with shared.left.get_lock():
            shared.left.value -= 1
            if shared.left.value == 0:
                shared.stop.set()

    def _stall(self, lease: Lease) -> None:
        """Stop renewing until another worker holds the transaction, then try to renew and
        to finish it."""
        poll = STALL_POLL_LEASES * self.config.lease_s
        deadline = time.monotonic() + STALL_TIMEOUT_LEASES * self.config.lease_s
        while self.journal.transaction(lease.transaction_id).machine == self.machine:
            if self.shared.stop.wait(poll):
                # The last transaction may be this one, finished by its new holder; else the
                # run was stopped by an error elsewhere.
                if self.journal.transaction(lease.transaction_id).machine == self.machine:
                    return
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"transaction {lease.transaction_id} jamais reprise")
        lease.late_heartbeat = self.journal.heartbeat(lease.transaction_id, self.name)
        lease.late_finish = self.journal.finish_transaction(
            lease.transaction_id, State.DONE, "en retard", worker=self.name
        )


def _run_workers(
    indexes: Sequence[int], url: str, prefix: str, config: QueueConfig, shared: _Shared
) -> tuple[list[WorkerReport], float]:
    """Workers ``indexes`` as threads of this process, until the run stops; their reports,
    and the CPU seconds this process used from the start signal to the end."""
    reports: list[WorkerReport] = []
    lock = threading.Lock()

    def one(index: int) -> None:
        try:
            worker = _Worker(index, url, prefix, config, shared)
        except Exception as exc:  # could not connect
            report = WorkerReport(f"q{index:03d}", error=f"{type(exc).__name__}: {exc}")
            shared.stop.set()
            with shared.ready.get_lock():
                shared.ready.value += 1
        else:
            report = worker.run()
        with lock:
            reports.append(report)

    threads = [threading.Thread(target=one, args=(i,), name=f"q{i:03d}") for i in indexes]
    for thread in threads:
        thread.start()
    shared.start.wait()
    cpu_s = time.process_time()
    for thread in threads:
        thread.join()
    return reports, time.process_time() - cpu_s


def _process_main(
    indexes: Sequence[int],
    url: str,
    prefix: str,
    config: QueueConfig,
    shared: _Shared,
    out: Any,
) -> None:
    """A worker process: its workers as threads; their reports on ``out``."""
    out.put(_run_workers(indexes, url, prefix, config, shared))


# -- the simulation -------------------------------------------------------------------------
def _register(url: str, prefix: str, config: QueueConfig) -> dict[int, int]:
    """The run and its transactions, dealt to the accounts in turn, in one ``enqueue``;
    transaction id → account."""
    items = [
        QueueItem(
            account_name(prefix, i % config.accounts),
            f"{prefix}-F{i:05d}",
            f"{prefix}-F{i:05d}-B",
            {"nature": "rejetee"},
        )
        for i in range(config.transactions)
    ]
    journal = Journal(url, lease_s=config.lease_s)
    try:
        journal.enqueue(
            run_id(prefix),
            plan_path=Path("queue.csv"),
            plan_sha256="0" * 64,
            plan_text="",
            portal_url="simulation://queue",
            dry_run=False,
            run_dir=Path("queue"),
            items=items,
        )
        return {
            row.id: plan_index(row.numero_rejete) % config.accounts
            for row in journal.transactions(run_id(prefix))
        }
    finally:
        journal.close()


def _exit_code(rows: list[TransactionRow]) -> int:
    """0 when every transaction is done (all the simulation ever finishes them with)."""
    return 0 if all(row.state is State.DONE for row in rows) else 3


def _sample_slots(
    url: str, prefix: str, config: QueueConfig, stop: _Event, samples: list[tuple[float, int, int]]
) -> None:
    """Read every account's live slots until ``stop``."""
    journal = Journal(url, lease_s=config.lease_s)
    try:
        while not stop.is_set():
            for account in range(config.accounts):
                live = journal.session_slots(account_name(prefix, account))
                samples.append((time.time(), account, len(live)))
            stop.wait(config.sample_every_s)
    finally:
        journal.close()


def simulate(
    url: str,
    config: QueueConfig,
    *,
    say: Callable[[str], None] = print,
    server_pid: int | None = None,
) -> QueueResult:
    """Run the simulation on the PostgreSQL journal at ``url`` (runs and accounts of a fresh
    random prefix: any journal will do, even one used before). ``server_pid``: the server's
    postmaster on this machine, whose CPU is then measured."""
    prefix = f"q{secrets.token_hex(3)}"
    began = time.monotonic()
    accounts_of = _register(url, prefix, config)
    setup_s = time.monotonic() - began
    say(f"{config.transactions} transactions enregistrées en {setup_s:.1f} s ({prefix}).")
    ctx = multiprocessing.get_context("spawn")
    per_account = [0] * config.accounts
    for account in accounts_of.values():
        per_account[account] += 1
    fates = _plan_fates(config)
    shared = _Shared(
        start=ctx.Event(),
        stop=ctx.Event(),
        remaining=ctx.Array("i", per_account),
        left=ctx.Value("i", config.transactions),
        ready=ctx.Value("i", 0),
        fates=fates,
        fates_met=ctx.Array("i", max(len(fates), 1)),
    )
    groups = [list(range(p, config.workers, config.processes)) for p in range(config.processes)]
    out: Any = ctx.Queue()
    processes: list[Any] = []
    local: list[tuple[list[WorkerReport], float]] = []
    if config.processes == 1:
        runner = threading.Thread(
            target=lambda: local.append(_run_workers(groups[0], url, prefix, config, shared))
        )
        runner.start()
    else:
        for group in groups:
            process = ctx.Process(
                target=_process_main, args=(group, url, prefix, config, shared, out), daemon=True
            )
            process.start()
            processes.append(process)
    connect_began = time.monotonic()
    while shared.ready.value < config.workers and not shared.stop.is_set():
        if time.monotonic() - connect_began > CONNECT_TIMEOUT_S:
            shared.stop.set()
            break
        shared.stop.wait(0.05)
    connect_s = time.monotonic() - connect_began
    say(f"{config.workers} travailleurs connectés en {connect_s:.1f} s ; départ.")
    samples: list[tuple[float, int, int]] = []
    sampler = threading.Thread(
        target=_sample_slots, args=(url, prefix, config, shared.stop, samples)
    )
    sampler.start()
    cpu_began = _cpu_now(server_pid)
    started = time.time()
    shared.start.set()
    shared.stop.wait(config.timeout_s)
    cpu_ended = _cpu_now(server_pid)
    complete = shared.left.value == 0
    shared.stop.set()
    parts: list[tuple[list[WorkerReport], float]] = []
    if config.processes == 1:
        runner.join()
        parts = local
    else:
        for _ in processes:
            try:
                parts.append(out.get(timeout=CONNECT_TIMEOUT_S))
            except queue.Empty:
                break
        for process in processes:
            process.join(timeout=30)
    sampler.join()
    reports = [report for part, _ in parts for report in part]
    finishes = [lease.finished[1] for r in reports for lease in r.leases if lease.finished]
    wall_s = (max(finishes) if finishes else time.time()) - started
    journal = Journal(url, lease_s=config.lease_s)
    try:
        # As the last worker of a fleet does; the stalled and dead workers' leases were all
        # taken over and finished, so none is live.
        end_code = (
            journal.end_run_if_complete(run_id(prefix), _exit_code, max_failures=1)
            if complete
            else None
        )
        final_rows = {
            row.id: (row.state.value, row.machine) for row in journal.transactions(run_id(prefix))
        }
    finally:
        journal.close()
    return QueueResult(
        config=config,
        prefix=prefix,
        reports=reports,
        wall_s=wall_s,
        setup_s=setup_s,
        connect_s=connect_s,
        complete=complete,
        slot_samples=samples,
        final_rows=final_rows,
        accounts_of=accounts_of,
        end_code=end_code,
        cpu_s=_cpu_spent(cpu_began, cpu_ended, sum(cpu for _, cpu in parts)),
    )


def _cpu_now(server_pid: int | None) -> tuple[float, float | None]:
    """The machine's busy CPU seconds so far, and the PostgreSQL server's (None: unknown)."""
    return machine_cpu_s(), server_cpu_s(server_pid) if server_pid is not None else None


def _cpu_spent(
    began: tuple[float, float | None], ended: tuple[float, float | None], clients: float
) -> dict[str, float | None]:
    """CPU seconds during the run: the whole machine's, the workers' processes', the
    server's, and the rest (other programs on the machine)."""
    machine = ended[0] - began[0]
    server = ended[1] - began[1] if ended[1] is not None and began[1] is not None else None
    other = machine - clients - server if server is not None else None
    return {
        "machine": round(machine, 2),
        "workers": round(clients, 2),
        "server": round(server, 2) if server is not None else None,
        "other": round(other, 2) if other is not None else None,
    }


def server_cpu_s(postmaster: int) -> float:
    """CPU seconds a PostgreSQL server has used: the postmaster, the backends it has reaped
    and those alive."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            _, _, rest = (entry / "stat").read_text().rpartition(")")
        except OSError:  # ended meanwhile
            continue
        fields = rest.split()  # fields[0] is the state (field 3); see proc(5)
        pid, ppid = int(entry.name), int(fields[1])
        if pid == postmaster:
            total += sum(int(x) for x in fields[11:15]) / _TICKS  # utime stime cutime cstime
        elif ppid == postmaster:
            total += (int(fields[11]) + int(fields[12])) / _TICKS
    return total


# -- the invariants -------------------------------------------------------------------------
Interval = tuple[float, float]


def certainly_held(
    renewals: Sequence[Interval], until: float | None, lease_s: float
) -> list[Interval]:
    """When a lease (or slot) was certainly live: from the return of each call that took or
    renewed it to that call's start + ``lease_s`` (less the clock slack), cut at ``until``
    (the start of the call that ended it); merged."""
    cut = until if until is not None else float("inf")
    spans = sorted(
        (end, min(start + lease_s - CLOCK_SLACK_S, cut))
        for start, end in renewals
        if min(start + lease_s - CLOCK_SLACK_S, cut) > end
    )
    merged: list[Interval] = []
    for low, high in spans:
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _overlap(a: Sequence[Interval], b: Sequence[Interval]) -> Interval | None:
    for a_low, a_high in a:
        for b_low, b_high in b:
            if a_low < b_high and b_low < a_high:
                return max(a_low, b_low), min(a_high, b_high)
    return None


def most_at_once(intervals: Sequence[Interval]) -> tuple[int, float]:
    """The most intervals open at one instant, and the first such instant."""
    events = sorted([(low, 1) for low, _ in intervals] + [(high, -1) for _, high in intervals])
    current, most, when = 0, 0, 0.0
    for instant, step in events:  # at a tie the end (-1) sorts first: touching is not overlap
        current += step
        if current > most:
            most, when = current, instant
    return most, when


def violations(result: QueueResult) -> list[str]:
    """Every broken invariant, in French (none: the queue held)."""
    config = result.config
    problems = [f"{r.worker} : {r.error}" for r in result.reports if r.error]
    if not result.complete:
        problems.append("la simulation n'a pas fini toutes les transactions à temps")
    if len(result.reports) != config.workers:
        problems.append(f"{len(result.reports)} rapports de travailleurs sur {config.workers}")
    by_transaction: dict[int, list[Lease]] = defaultdict(list)
    for lease in result.leases:
        by_transaction[lease.transaction_id].append(lease)
    # 1. Every transaction final, written by exactly one lease: the one the journal names.
    if set(result.final_rows) != set(result.accounts_of):
        problems.append("les transactions du journal ne sont pas celles enregistrées")
    for tid, (state, machine) in sorted(result.final_rows.items()):
        writers = [lease for lease in by_transaction[tid] if lease.finished]
        if state != State.DONE:
            problems.append(f"transaction {tid} : état final attendu, trouvé « {state} »")
        if len(writers) != 1:
            problems.append(f"transaction {tid} : terminée par {len(writers)} baux au lieu d'un")
        elif writers[0].machine != machine:
            problems.append(
                f"transaction {tid} : terminée par {writers[0].machine}, le journal nomme {machine}"
            )
    # 2. No two leases of one transaction live at once.
    for tid, leases in sorted(by_transaction.items()):
        spans = [
            certainly_held(
                lease.renewals, lease.finished[0] if lease.finished else None, config.lease_s
            )
            for lease in leases
        ]
        for i in range(len(leases)):
            for j in range(i + 1, len(leases)):
                both = _overlap(spans[i], spans[j])
                if both is not None:
                    problems.append(
                        f"transaction {tid} : baux de {leases[i].worker} et {leases[j].worker} "
                        f"vivants ensemble pendant {both[1] - both[0]:.3f} s"
                    )
    # 3. No account above its cap: in the samples, and in the slots' held intervals.
    for when, account, count in result.slot_samples:
        if count > config.max_sessions:
            problems.append(f"compte {account} : {count} sessions vivantes lues à {when:.3f}")
    by_account: dict[int, list[Interval]] = defaultdict(list)
    for holding in result.holdings:
        by_account[holding.account] += certainly_held(
            holding.renewals, holding.released_at, config.lease_s
        )
    for account, intervals in sorted(by_account.items()):
        most, when = most_at_once(intervals)
        if most > config.max_sessions:
            problems.append(f"compte {account} : {most} sessions tenues ensemble à {when:.3f}")
    # 4. A stalled worker's late writes refused.
    for lease in result.leases:
        late_writes = (lease.late_heartbeat, lease.late_finish) != (False, False)
        if lease.fate == "stalled" and result.complete and late_writes:
            problems.append(
                f"transaction {lease.transaction_id} : le travailleur en retard "
                f"{lease.worker} a pu écrire (bail {lease.late_heartbeat}, "
                f"fin {lease.late_finish})"
            )
    # 5. The run ended, with every transaction done.
    if result.complete and result.end_code != 0:
        problems.append(f"le run ne s'est pas terminé avec le code 0 (code {result.end_code})")
    return problems


# -- a throwaway server and the command line ------------------------------------------------
@contextmanager
def throwaway_database(connections: int) -> Iterator[tuple[str, int]]:
    """A fresh database on a throwaway PostgreSQL cluster (``tests/pg_support.py``) that
    accepts ``connections`` at once: its address and the server's pid. The cluster is
    removed afterwards."""
    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    from pg_support import SERVER_USER, start_postgres  # type: ignore[import-not-found]

    server = start_postgres()
    try:
        if connections > 90:  # PostgreSQL's default is 100: a restart raises it
            with server.admin() as admin:
                admin.execute(f"ALTER SYSTEM SET max_connections = {int(connections) + 10}")
            pg_ctl = [str(server.bin_dir / "pg_ctl"), "-D", str(server.data_dir)]
            # Its log in a file: a pipe would stay open in the server, and this wait with it.
            log = ["-l", str(server.root / "server.log")]
            command = [*pg_ctl, *log, "-m", "fast", "-w", "restart"]
            if os.geteuid() == 0:
                command = ["runuser", "-u", SERVER_USER, "--", *command]
            subprocess.run(command, capture_output=True, timeout=120, check=True)
        pid = int((server.data_dir / "postmaster.pid").read_text().split()[0])
        yield server.create_database(), pid
    finally:
        server.stop()


def parser() -> argparse.ArgumentParser:
    d = QueueConfig()
    p = argparse.ArgumentParser(
        prog="python -m bench.queue",
        description="Simule la file du journal PostgreSQL à grande échelle, sans navigateur.",
    )
    p.add_argument("--url", help="journal PostgreSQL (défaut : un serveur jetable)")
    p.add_argument("--transactions", type=int, default=d.transactions)
    p.add_argument("--workers", type=int, default=d.workers, help="travailleurs")
    p.add_argument("--processes", type=int, default=d.processes, help="processus (1 : threads)")
    p.add_argument("--accounts", type=int, default=d.accounts, help="comptes")
    p.add_argument("--max-sessions", type=int, default=d.max_sessions, help="sessions par compte")
    p.add_argument("--dying", type=int, default=d.dying, help="travailleurs qui meurent")
    p.add_argument("--stalled", type=int, default=d.stalled, help="travailleurs en retard")
    p.add_argument("--lease", type=float, default=d.lease_s, help="bail en secondes")
    p.add_argument(
        "--session-span", type=int, default=d.session_span, help="transactions par session"
    )
    p.add_argument(
        "--backoff-max", type=float, default=d.backoff_max_s, help="attente max sans session (s)"
    )
    p.add_argument(
        "--no-peek",
        dest="peek",
        action="store_false",
        help="demander une session sans lire d'abord celles qui sont prises",
    )
    p.add_argument(
        "--work-ms", type=float, default=0.0, help="travail simulé par transaction (ms ; défaut 0)"
    )
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--json", type=Path, default=None, help="écrire les chiffres dans ce fichier")
    return p


def config_from(args: argparse.Namespace) -> QueueConfig:
    return QueueConfig(
        transactions=args.transactions,
        workers=args.workers,
        processes=args.processes,
        accounts=args.accounts,
        max_sessions=args.max_sessions,
        dying=args.dying,
        stalled=args.stalled,
        lease_s=args.lease,
        session_span=args.session_span,
        backoff_max_s=args.backoff_max,
        peek=args.peek,
        work_s=args.work_ms / 1000,
        seed=args.seed,
    )


def run_and_check(url: str | None, config: QueueConfig) -> tuple[dict[str, Any], list[str]]:
    """One simulation (on a throwaway server when ``url`` is None): its figures, and the
    invariants it broke."""
    if url is None:
        with throwaway_database(config.workers + EXTRA_CONNECTIONS) as (fresh, pid):
            result = simulate(fresh, config, server_pid=pid)
    else:
        result = simulate(url, config)
    figures = result.figures()
    figures["machine_cores"] = os.cpu_count()
    figures["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    return figures, violations(result)


def measure_queue(out: Path, command: str, config: QueueConfig | None = None) -> list[str]:
    """``python -m bench.run``'s part: the full-size simulation on a throwaway server,
    written to ``out/queue.json``; what went wrong (a broken invariant, no PostgreSQL)."""
    from bench.measure import machine_info

    config = config or QueueConfig()
    machine = machine_info(ROOT)
    try:
        figures, problems = run_and_check(None, config)
    except Exception as exc:  # no PostgreSQL here, or it failed to start
        return [f"file du journal : {exc}"]
    print(summary(figures), flush=True)
    out.mkdir(parents=True, exist_ok=True)
    cores = machine["cores"] or 1
    reasons = []
    if machine["load_average_start"][0] > BUSY_LOAD_PER_CORE * cores:
        reasons.append(f"machine busy at start (load average {machine['load_average_start'][0]})")
    if (figures["other_cpu_pct"] or 0.0) > OTHER_CPU_PCT_MAX:
        reasons.append(f"other processes used {figures['other_cpu_pct']} % of the machine")
    payload = {
        "machine": {key: machine[key] for key in ("date", "cpu", "cores", "commit")},
        "command": command,
        "load_average_start": machine["load_average_start"],
        "preliminary": bool(reasons),
        "preliminary_reasons": reasons,
        **figures,
        "violations": problems,
        "config": asdict(config),
    }
    path = out / "queue.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"Écrit : {path}")
    return [f"file du journal : invariant violé : {problem}" for problem in problems]


def summary(figures: dict[str, Any]) -> str:
    """The figures in one French paragraph."""
    f = figures
    return (
        f"{f['transactions']} transactions, {f['workers']} travailleurs en {f['processes']} "
        f"processus, {f['accounts']} comptes × {f['max_sessions']} sessions : "
        f"{f['wall_s']} s, {f['claims_per_s']} réservations/s ; réservation p50 "
        f"{f['claim_p50_ms']} ms, p99 {f['claim_p99_ms']} ms (max {f['claim_max_ms']} ms) ; "
        f"{f['takeovers']} reprises de baux expirés, {f['died']} morts, "
        f"{f['stalled_refused']} retardataires refusés, {f['slots_taken']} sessions prises, "
        f"au plus {f['max_live_slots_sampled']} vivantes par compte "
        f"({f['slot_samples']} relevés)."
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        config = config_from(args)
    except ValueError as exc:
        print(f"Option invalide : {exc}", file=sys.stderr)
        return 2
    figures, problems = run_and_check(args.url, config)
    print(summary(figures))
    if args.json is not None:
        payload = {**figures, "violations": problems, "config": asdict(config)}
        args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
        print(f"Écrit : {args.json}")
    for problem in problems:
        print(f"Invariant violé : {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    from bench.queue import main as _main  # the same classes in the worker processes

    sys.exit(_main())
