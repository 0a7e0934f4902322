"""The shared queue's workers (``chorus-robot worker``; ``run`` on PostgreSQL or with several
accounts): on any machine, claim and carry the transactions of open runs, one portal account
at a time, within each account's session cap across every machine.

A worker process keeps one browser. It picks a run and an account with work to claim, takes
one of the account's session slots in the journal (at most ``max_sessions`` live slots per
account, all machines together), logs in as that account, reads its work list once, then
claims and carries that account's transactions until none is left, and gives the slot back.
Every claim is a lease renewed while the worker works (:class:`~robot.run.worker.LeaseKeeper`),
and so is the slot (:class:`SlotKeeper`): a machine that dies leaves leases that expire, and
others take its work over (each step reconciles with the portal before acting).

Waiting is not failing: with every slot of an account leased, or the portal refusing a login
because the sessions of a dead machine are still open, the worker waits (up to
``CHORUS_SESSION_WAIT_S``) without spending any transaction's retries. With nothing to claim
while other machines hold leases, it waits for them to finish or expire.

The worker that finds a run complete (no live lease, nothing left to claim) ends it in the
journal — exactly one does — and seals its audit bundle in the run's folder
(``<CHORUS_OUTPUT_DIR>/<run id>``: on a folder the machines share, one bundle per run).
"""

from __future__ import annotations

import base64
import json
import multiprocessing
import random
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

from loguru import logger
from playwright.sync_api import Error as PlaywrightError

from robot.accounts import Account
from robot.audit import EventLog
from robot.audit.rundir import RunDir
from robot.audit.scan import redact_files
from robot.browser.launch import settings_for
from robot.browser.recording import Recorder, safe_name
from robot.browser.session import WorkSession
from robot.config import Config
from robot.errors import EXIT_OK, EXIT_SYSTEM, first_line
from robot.logs import configure_logging
from robot.otp import make_otp_source
from robot.plan import Plan, load_plan
from robot.portal import PortalTarget
from robot.run.bundle import seal_run
from robot.run.journal import (
    Journal,
    JournalTarget,
    RunRow,
    SessionSlot,
    TransactionRow,
    machine_id,
)
from robot.run.notify import notify
from robot.run.outcomes import exit_code_of
from robot.run.retries import with_retries
from robot.run.states import State
from robot.run.stopper import Stopper
from robot.run.worker import Worker, batch_share
from robot.secrets import Secret, register, registered
from robot.timezone import PARIS
from scenarios import BusinessError, Correction, PortalChanged, PortalError, Rejection
from scenarios.collect import collect_work
from scenarios.preflight import assert_portal_matches

#: A transaction whose system failures outlasted a worker's retries this many times is left
#: for a person (the run ends with exit 3; ``run --resume`` gives it new chances).
MAX_FAILURES = 3
#: The longest wait between two looks at the queue when there is nothing to do.
IDLE_POLL_S = 2.0


@dataclass(frozen=True)
class PortalSpec:
    """Where the portal is (picklable): the accounts come from the accounts file."""

    url: str
    embedded: bool
    maildir: Path | None = None


@dataclass(frozen=True)
class FleetJob:
    """What one worker process needs (picklable: sent to a spawned interpreter)."""

    config: Config
    journal: JournalTarget
    portal: PortalSpec
    accounts: tuple[Account, ...]
    name: str
    run_id: str | None = None
    follow: bool = False
    seed: int = 0


@dataclass
class _RunContext:
    """A run as this worker carries it: its folder, event log, recorder and plan."""

    row: RunRow
    run_dir: RunDir
    events: EventLog
    recorder: Recorder
    plan: Plan


@dataclass(frozen=True)
class StoredPlan:
    """A plan as the journal keeps it (``runs.plan_text``): the plan file's exact bytes (any
    encoding) and, when the plan came with one, its lines sheet (``--lignes``)."""

    plan: bytes
    lines: bytes | None = None
    lines_name: str = ""

    def text(self) -> str:
        return json.dumps(
            {
                "plan": _b64(self.plan),
                "lignes": _b64(self.lines) if self.lines is not None else None,
                "nom_lignes": self.lines_name,
            }
        )

    @classmethod
    def of(cls, plan: Plan) -> StoredPlan:
        lines = plan.lines_path
        return cls(
            plan.path.read_bytes(),
            lines.read_bytes() if lines is not None else None,
            lines.name if lines is not None else "",
        )

    @classmethod
    def parse(cls, text: str) -> StoredPlan:
        data = json.loads(text)
        lines = data.get("lignes")
        return cls(
            base64.b64decode(data["plan"]),
            base64.b64decode(lines) if lines is not None else None,
            str(data.get("nom_lignes") or ""),
        )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class SlotKeeper:
    """Renews a session slot's lease while its worker holds the session (every third of the
    lease, in a background thread); ``lost`` turns True when another machine took it over
    (its lease expired): the worker stops claiming and closes that session."""

    def __init__(self, journal: Journal, slot: SessionSlot) -> None:
        self.journal = journal
        self.slot = slot
        self.lost = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="creneau", daemon=True)

    def __enter__(self) -> SlotKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        try:
            self.journal.release_session_slot(self.slot)
        except Exception as exc:  # the journal is out of reach: the slot's lease expires
            logger.warning("créneau de session non rendu ({})", first_line(exc))

    def _renew(self) -> None:
        while not self._done.wait(self.journal.lease_s / 3):
            try:
                if not self.journal.renew_session_slot(self.slot):
                    self.lost = True
                    logger.error("créneau de session {} perdu", self.slot.account)
                    return
            except Exception as exc:
                logger.warning("renouvellement du créneau impossible ({})", first_line(exc))


class FleetWorker:
    """One worker process's loop over the queue."""

    def __init__(self, job: FleetJob, stopper: Stopper) -> None:
        self.job = job
        self.config = job.config
        self.stopper = stopper
        self.name = job.name
        self.machine = machine_id(job.name)
        self.journal = Journal(job.journal, lease_s=job.config.lease_s)
        self.accounts = {account.key: account for account in job.accounts}
        self.rng = random.Random(job.seed)
        self.session: WorkSession | None = None
        #: Runs this worker carried a transaction of (its exit code is theirs).
        self.worked: set[str] = set()
        #: Set when this worker gave up (the portal down after the retries, no session in
        #: time, a login refused): it stops and exits 3.
        self.gave_up = False
        self._contexts: dict[str, _RunContext] = {}
        self._preflighted = False
        self._unknown: set[str] = set()
        self._slot_wait_since: float | None = None

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> int:
        try:
            with WorkSession(
                self._portal_for(None),
                settings_for(self.config),
                requests_per_min=0
                if self.job.portal.embedded
                else self.config.max_requests_per_min,
            ) as session:
                self.session = session
                while not self.stopper.requested and not self.gave_up:
                    if not self._round():
                        break
        finally:
            self.journal.close()
        return self._exit_code()

    def _runs(self) -> list[RunRow]:
        if self.job.run_id is None:
            return self.journal.open_runs()
        row = self.journal.run(self.job.run_id)
        return [row] if row is not None and row.ended_at is None else []

    def _round(self) -> bool:
        """Work one account of one run, or wait, or finish runs; False: nothing more to do."""
        runs = self._runs()
        waiting_for_slot = False
        held = False
        next_expiry: float | None = None
        for run in runs:
            outlook = self.journal.work_outlook(run.id, max_failures=MAX_FAILURES)
            for work in sorted(outlook, key=lambda w: (-w.claimable, self.rng.random())):
                held = held or work.held > 0
                if work.next_expiry is not None:
                    next_expiry = min(next_expiry or work.next_expiry, work.next_expiry)
                if work.claimable <= 0:
                    continue
                account = self.accounts.get(work.account)
                if account is None:
                    if work.account not in self._unknown:
                        self._unknown.add(work.account)
                        logger.error(
                            "Le compte {} n'est pas dans le fichier des comptes de cette "
                            "machine (CHORUS_ACCOUNTS) : ses factures sont laissées aux autres",
                            work.account,
                        )
                    continue
                slot = self.journal.acquire_session_slot(
                    account.key, account.max_sessions, self.name
                )
                if slot is None:
                    waiting_for_slot = True
                    continue
                self._slot_wait_since = None
                self._work(run, account, slot)
                return True
        if waiting_for_slot:
            return self._wait_for_slot()
        self._slot_wait_since = None
        if not held:
            for run in runs:
                self._finish(run)
            if self.job.run_id is not None and not self._runs():
                return False  # its run is over
            if not self.job.follow:
                return False  # nothing left this machine can do
        pause = IDLE_POLL_S
        if next_expiry is not None:
            pause = max(0.05, min(pause, next_expiry - time.time()))
        return not self.stopper.pause(pause)

    def _wait_for_slot(self) -> bool:
        """Every slot of the accounts with work is leased: wait, within CHORUS_SESSION_WAIT_S."""
        now = time.monotonic()
        if self._slot_wait_since is None:
            self._slot_wait_since = now
            logger.info(
                "{} : toutes les sessions des comptes à traiter sont prises, attente", self.name
            )
        elif now - self._slot_wait_since > self.config.session_wait_s:
            logger.error(
                "{} : aucune session libre depuis {} s (CHORUS_SESSION_WAIT_S) : arrêt de ce "
                "travailleur, ses factures restent à traiter",
                self.name,
                self.config.session_wait_s,
            )
            self.gave_up = True
            return False
        return not self.stopper.pause(min(IDLE_POLL_S, max(0.05, self.journal.lease_s / 10)))

    # -- one account of one run -------------------------------------------------------------
    def _work(self, run: RunRow, account: Account, slot: SessionSlot) -> None:
        context = self._context(run)
        session = self.session
        assert session is not None
        session.rebind(self._portal_for(account), context.recorder)
        corrections = {
            c.numero_rejete.casefold(): c
            for c in context.plan.corrections
            if self._account_key(c) == account.key
        }
        configure_logging(context.run_dir.log)
        with SlotKeeper(self.journal, slot) as keeper, logger.contextualize(worker=self.name):
            try:
                rejections = self._open(session, context, account)
                worker = Worker(
                    self.config,
                    session,
                    self.journal,
                    context.events,
                    context.recorder,
                    name=self.name,
                    stopper=self.stopper,
                    on_done=lambda row: self._done(context, row),
                    rng_seed=self.rng.randrange(2**31),
                )
                worker.work(
                    run.id,
                    corrections,
                    rejections,
                    dry_run=run.dry_run,
                    account=account.key,
                    max_failures=MAX_FAILURES,
                    keep_going=lambda: not keeper.lost,
                    batch_size=self._batch_size(run, account),
                )
                if worker.halted:
                    self.gave_up = True
            except PortalChanged as exc:
                logger.error("{}", exc)
                self.gave_up = True
            except (BusinessError, PortalError, PlaywrightError) as exc:
                logger.error(
                    "{} : connexion ou lecture impossible ({})",
                    account.identifiant,
                    first_line(exc),
                )
                self.gave_up = True
            finally:
                # The run's log is written only while this worker works on the run: another
                # worker may seal the run as soon as its last invoice is finished.
                configure_logging(None)
                session.logout()
                session.detach()
        self._finish(run)

    def _open(
        self, session: WorkSession, context: _RunContext, account: Account
    ) -> dict[str, Rejection]:
        """Log in as ``account`` (waiting for a session when the portal says it has too many),
        check the portal once per process, and read the account's work list."""

        def retried(what: str, action: Callable[[], Any]) -> Any:
            return with_retries(self.config, session, self.stopper, self.rng, what, action)

        retried("connexion", lambda: session.page)
        if not self._preflighted:
            retried(
                "vérification du portail",
                lambda: assert_portal_matches(session.page, session.portal.url),
            )
            self._preflighted = True
        listed = retried(
            "collecte",
            lambda: collect_work(session.page, details=False, kinds=context.plan.kinds()),
        )
        session.release_memory()
        return {r.numero.casefold(): r for r in listed}

    def _batch_size(self, run: RunRow, account: Account) -> int:
        """``CHORUS_BATCH_SIZE``, no larger than an even share of what the account has left
        among the sessions it may hold: each of its workers gets some."""
        claimable = sum(
            work.claimable
            for work in self.journal.work_outlook(run.id, max_failures=MAX_FAILURES)
            if work.account == account.key
        )
        return batch_share(self.config.batch_size, claimable, account.max_sessions)

    def _done(self, context: _RunContext, row: TransactionRow) -> None:
        """After each transaction: this process's secrets out of its own files at once (the
        machine that seals the run does not know them)."""
        self.worked.add(context.row.id)
        stem = safe_name(row.numero_rejete)
        files = [
            *context.run_dir.traces.glob(f"{stem}*.zip"),
            *context.run_dir.videos.glob("*.webm"),
        ]
        redact_files(files, registered())

    def _finish(self, run: RunRow) -> None:
        """End ``run`` in the journal when it is complete; the one worker that ends it seals
        its bundle."""
        code = self.journal.end_run_if_complete(run.id, exit_code_of, max_failures=MAX_FAILURES)
        if code is None:
            return
        context = self._context(run)
        self._wait_for_sessions_closed(run)
        hits = seal_run(self.config, self.journal, run.id, context.run_dir.root, self.machine)
        configure_logging(None)  # sealing closed the run's log
        if hits:
            logger.error(
                "valeurs secrètes restées dans {} : {}", context.run_dir.root, ", ".join(hits)
            )
        notify(self.config, context.run_dir.root)  # webhook, e-mail: by the machine that sealed
        self._contexts.pop(run.id, None)

    def _wait_for_sessions_closed(self, run: RunRow) -> None:
        """Before sealing: the workers that carried the run's last invoices may still be
        closing their sessions (logout, the browser context's recording). Each gives its
        session slot back once done with the run's folder: wait for the slots of the run's
        accounts held by others to be given back or to expire (at most two leases)."""
        accounts = {row.account for row in self.journal.transactions(run.id) if row.account}
        deadline = time.monotonic() + 2 * self.journal.lease_s
        while time.monotonic() < deadline:
            others = [
                slot
                for account in accounts
                for slot in self.journal.session_slots(account)
                if slot.machine != self.machine
            ]
            if not others or self.stopper.pause(0.2):
                return

    # -- helpers ----------------------------------------------------------------------------
    def _context(self, run: RunRow) -> _RunContext:
        known = self._contexts.get(run.id)
        if known is not None:
            return known
        run_dir = RunDir(self.config.output_dir / run.id)
        run_dir.root.mkdir(parents=True, exist_ok=True)
        stored = StoredPlan.parse(run.plan_text)
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder) / f"plan{Path(run.plan_name).suffix or '.csv'}"
            copy.write_bytes(stored.plan)
            lines = None
            if stored.lines is not None:
                lines = Path(folder) / f"lignes{Path(stored.lines_name).suffix or '.csv'}"
                lines.write_bytes(stored.lines)
            # Read as on the day it was enqueued (its rules on dates depend on the day).
            plan = load_plan(
                copy,
                lines=lines,
                today=datetime.fromisoformat(run.started_at).astimezone(PARIS).date(),
                base_dir=Path(run.plan_dir) if run.plan_dir else None,
            )
        plan = Plan(Path(run.plan_path), plan.corrections)
        context = _RunContext(
            row=run,
            run_dir=run_dir,
            events=EventLog(run_dir.events),
            recorder=Recorder(run_dir.root, trace=self.config.trace, video=self.config.video),
            plan=plan,
        )
        self._contexts[run.id] = context
        return context

    def _account_key(self, correction: Correction) -> str:
        if correction.compte:
            return correction.compte.casefold()
        default = self.job.accounts[0] if self.job.accounts else None
        return default.key if default else ""

    def _portal_for(self, account: Account | None) -> PortalTarget:
        spec = self.job.portal
        if account is None:
            return PortalTarget(spec.url, "", Secret(""), None, spec.embedded, spec.maildir)
        register(account.password.reveal())
        return PortalTarget(
            url=spec.url,
            identifiant=account.identifiant,
            password=account.password,
            otp_source=make_otp_source(
                account.otp_source or self.config.otp_source,
                default_maildir=spec.maildir,
                imap_password=self.config.otp_imap_password,
                imap_cafile=self.config.otp_imap_cafile,
            ),
            embedded=spec.embedded,
            maildir=spec.maildir,
        )

    def _exit_code(self) -> int:
        runs = set(self.worked)
        if self.job.run_id is not None:
            runs.add(self.job.run_id)
        if not runs:
            return EXIT_SYSTEM if self.gave_up else EXIT_OK
        journal = Journal(self.job.journal, lease_s=self.config.lease_s)
        try:
            codes = []
            for run_id in runs:
                row = journal.run(run_id)
                codes.append(
                    row.exit_code if row is not None and row.exit_code is not None else EXIT_SYSTEM
                )
        finally:
            journal.close()
        return max(codes)


# -- processes -------------------------------------------------------------------------------
@dataclass
class Fleet:
    """Worker processes started on this machine (``spawn``: Playwright must not be forked)."""

    processes: list[Any] = field(default_factory=list)
    results: Any = None

    def alive(self) -> bool:
        return any(p.is_alive() for p in self.processes)

    def join(self, timeout: float) -> None:
        for process in self.processes:
            process.join(timeout=timeout / max(1, len(self.processes)))

    def exit_code(self) -> int:
        codes: dict[str, int] = {}
        while True:
            try:
                name, code = self.results.get_nowait()
            except Exception:
                break
            codes[name] = code
        worst = EXIT_OK
        for process in self.processes:
            code = codes.get(process.name)
            if code is None:  # died without a word
                logger.error(
                    "Le processus {} s'est arrêté anormalement ({})", process.name, process.exitcode
                )
                code = EXIT_SYSTEM
            worst = max(worst, code)
        return worst


def start_fleet(
    config: Config,
    journal: JournalTarget,
    portal: PortalSpec,
    accounts: tuple[Account, ...],
    stopper: Stopper,
    *,
    count: int,
    run_id: str | None = None,
    follow: bool = False,
    seed: int | None = None,
) -> Fleet:
    """Start ``count`` worker processes on this machine; :meth:`Fleet.exit_code` once they end."""
    ctx = multiprocessing.get_context("spawn")
    fleet = Fleet(results=ctx.Queue())
    base = random.SystemRandom().randrange(2**31) if seed is None else seed
    for index in range(count):
        job = FleetJob(
            config=config,
            journal=journal,
            portal=portal,
            accounts=accounts,
            name=f"w{index + 1}",
            run_id=run_id,
            follow=follow,
            seed=base + index,
        )
        process = ctx.Process(
            target=fleet_main, args=(job, stopper.event, fleet.results), name=job.name
        )
        process.start()
        fleet.processes.append(process)
    return fleet


def fleet_main(job: FleetJob, stop_event: Any, results: Any) -> None:
    """Entry point of a worker process."""
    stopper = Stopper(stop_event)

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stopper.request()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    configure_logging(None)
    for account in job.accounts:
        register(account.password.reveal())
    code = EXIT_SYSTEM
    try:
        code = FleetWorker(job, stopper).run()
    except Exception as exc:  # its claims expire: other workers take them over
        logger.opt(exception=exc).error("{} : arrêt ({})", job.name, first_line(exc))
    finally:
        results.put((job.name, code))


def progress_states(journal: Journal, run_id: str) -> dict[str, State]:
    """Invoice → final state, for a progress display."""
    return {row.numero_rejete: row.state for row in journal.transactions(run_id) if row.state.final}
