"""One run of a plan: collect the rejections, register the transactions, let workers carry
them, and rebuild the result from the journal.

With one worker everything happens in this process and one browser. With ``--workers N``
(capped by ``CHORUS_MAX_SESSIONS`` on a real portal) N processes each start their own
browser, log in once and claim transactions from the journal until none is left.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import random
from collections.abc import Callable, Sequence
from datetime import datetime

from loguru import logger
from playwright.sync_api import Error as PlaywrightError

from robot.audit import EventLog
from robot.audit.rundir import RunDir
from robot.browser.launch import settings_for
from robot.browser.recording import Recorder
from robot.browser.session import WorkSession
from robot.config import Config
from robot.errors import BrowserNotFound, OtpError, first_line
from robot.plan import Plan
from robot.portal import PortalTarget
from robot.run.identity import RunIdentity
from robot.run.journal import Journal
from robot.run.outcomes import RunResult, outcomes_from_journal
from robot.run.parallel import run_workers
from robot.run.retries import with_retries
from robot.run.states import State
from robot.run.stopper import Stopper
from robot.run.worker import Worker, correction_text
from robot.timezone import PARIS
from scenarios import BusinessError, Correction, PortalChanged, PortalError, Rejection
from scenarios.collect import collect_work
from scenarios.preflight import assert_portal_matches

Progress = Callable[[str, State], None]  # (invoice number, final state)


def describe_failure(exc: BaseException) -> str:
    """What ended a run early, in French, on one line (the traceback goes to ``run.log``)."""
    if isinstance(exc, PortalChanged):
        return str(exc)
    if isinstance(exc, (PortalError, PlaywrightError)):
        return f"Le portail ne répond pas comme attendu : {first_line(exc)}"
    if isinstance(exc, BusinessError):  # login refused: the account, not the portal, is wrong
        return f"Connexion refusée par le portail : {first_line(exc)}"
    if isinstance(exc, OtpError):
        return f"Code de vérification impossible à obtenir : {first_line(exc)}"
    if isinstance(exc, BrowserNotFound):
        return first_line(exc)
    return f"Erreur inattendue du robot : {first_line(exc)} (détail dans run.log)"


class Runner:
    """Executes a plan against a portal, in one run folder, recorded in the journal."""

    def __init__(
        self,
        config: Config,
        portal: PortalTarget,
        run_dir: RunDir,
        journal: Journal,
        *,
        workers: int = 1,
        stopper: Stopper | None = None,
        on_progress: Progress | None = None,
        on_total: Callable[[int], None] | None = None,
    ) -> None:
        self.config = config
        self.portal = portal
        self.run_dir = run_dir
        self.journal = journal
        self.workers = workers
        self.stopper = stopper or Stopper(multiprocessing.get_context("spawn").Event())
        self.on_progress = on_progress or (lambda _n, _s: None)
        self.on_total = on_total or (lambda _n: None)
        self.events = EventLog(run_dir.events)

    def run(self, plan: Plan, *, dry_run: bool, resume: bool = False) -> RunResult:
        run_id = self.run_dir.run_id
        started = datetime.now(PARIS)
        plan_sha = hashlib.sha256(plan.path.read_bytes()).hexdigest()
        identity = RunIdentity.here(
            (self.portal.identifiant,), plan_sha, self.portal.url, embedded=self.portal.embedded
        )
        # The retries' jitter is drawn from this seed, written down so a run can be replayed.
        seed = self.config.retry_seed
        if seed is None:
            seed = random.SystemRandom().randrange(2**31)
        logger.info("Graine du hasard des nouvelles tentatives : {} (CHORUS_RETRY_SEED)", seed)
        if resume:
            self.journal.reopen_run(run_id)
            self.journal.release_unfinished(run_id)
        else:
            self.journal.start_run(
                run_id,
                plan_path=plan.path,
                plan_sha256=plan_sha,
                portal_url=self.portal.url,
                dry_run=dry_run,
            )
        self.events.append(
            {
                "type": "run_resume" if resume else "run_start",
                "worker": "main",
                "run_id": run_id,
                "portal": self.portal.url,
                "dry_run": dry_run,
                "plan": plan.path.name,
                "workers": self.workers,
                "retry_seed": seed,
                # The event's own ``time`` is UTC; this is the same instant as people read it.
                "started_at": started.isoformat(timespec="milliseconds"),
                **identity.as_record(),  # accounts, OS user, host, version, plan SHA-256
            }
        )
        error = ""
        try:
            self._run(plan, dry_run=dry_run, seed=seed)
        except Exception as exc:  # every failure ends the run in the journal, with its bundle
            error = describe_failure(exc)
            logger.opt(exception=exc).error(error)
        # Whatever ended the run, nothing stays claimed by it: a resume takes them again.
        self.journal.release_unfinished(run_id)
        result = RunResult(
            run_id=run_id,
            run_dir=self.run_dir.root,
            portal_url=self.portal.url,
            dry_run=dry_run,
            started_at=started,
            ended_at=datetime.now(PARIS),
            transactions=outcomes_from_journal(self.journal, run_id, self.run_dir.root),
            stopped=self.stopper.requested,
            error=error,
            identity=identity,
        )
        self.journal.end_run(run_id, result.exit_code)
        self.events.append(
            {
                "type": "run_end",
                "worker": "main",
                "exit_code": result.exit_code,
                "stopped": result.stopped,
                "error": error,
            }
        )
        return result

    # -- collect, register, carry -----------------------------------------------------------
    def _run(self, plan: Plan, *, dry_run: bool, seed: int) -> None:
        run_id = self.run_dir.run_id
        rng = random.Random(seed)
        recorder = Recorder(self.run_dir.root, trace=self.config.trace, video=self.config.video)
        rpm = self.portal.requests_per_min(self.config)
        with WorkSession(
            self.portal, settings_for(self.config), recorder, requests_per_min=rpm
        ) as session:
            try:
                # Preflight: refuse to act on a portal that no longer matches (exit 3).
                with_retries(
                    self.config,
                    session,
                    self.stopper,
                    rng,
                    "vérification du portail",
                    lambda: assert_portal_matches(session.page, self.portal.url),
                )
                rejections = with_retries(
                    self.config,
                    session,
                    self.stopper,
                    rng,
                    "collecte",
                    # Details are read by each transaction's steps: the collect stays short,
                    # so it completes even when sessions expire every few requests.
                    lambda: collect_work(session.page, details=False, kinds=plan.kinds()),
                )
                logger.info("{} facture(s) à traiter sur le portail", len(rejections))
                by_number = {r.numero.casefold(): r for r in rejections}
                corrections = self._register(plan, rejections)
                session.release_memory()  # the pages read by the preflight and the collect
                workers = self._worker_count()
                if workers == 1:
                    worker = Worker(
                        self.config,
                        session,
                        self.journal,
                        self.events,
                        recorder,
                        name="w1",
                        stopper=self.stopper,
                        on_done=lambda row: self.on_progress(row.numero_rejete, row.state),
                        rng_seed=seed,
                    )
                    worker.work(run_id, corrections, by_number, dry_run=dry_run)
            finally:
                session.logout()
        if workers > 1:
            run_workers(
                self.config,
                self.portal,
                self.run_dir,
                self.journal,
                self.stopper,
                corrections,
                by_number,
                dry_run=dry_run,
                count=workers,
                seed=seed,
                on_progress=self.on_progress,
            )

    def _register(self, plan: Plan, rejections: list[Rejection]) -> dict[str, Correction]:
        """Journal the plan's transactions, newest deposit first (see :func:`work_order`)."""
        run_id = self.run_dir.run_id
        for correction in work_order(plan.corrections, rejections):
            self.journal.add_transaction(
                run_id,
                correction.numero_rejete,
                correction.nouveau_numero,
                correction_text(correction),
            )
        rows = self.journal.transactions(run_id)
        self.on_total(len(rows))
        for row in rows:  # finished in an earlier attempt (resume)
            if row.state.final:
                self.on_progress(row.numero_rejete, row.state)
        return {c.numero_rejete.casefold(): c for c in plan.corrections}

    def _worker_count(self) -> int:
        pending = sum(
            1 for r in self.journal.transactions(self.run_dir.run_id) if r.state is State.PENDING
        )
        limit = (
            self.workers if self.portal.embedded else min(self.workers, self.config.max_sessions)
        )
        return max(1, min(limit, pending))


def work_order(
    corrections: Sequence[Correction], rejections: Sequence[Rejection]
) -> list[Correction]:
    """The order the transactions are carried in: newest deposit first.

    « Synthèse » lists the newest first, so the invoice to tick is then on its first page
    whatever the size of the backlog (oldest first, each « Traiter le rejet » would page
    through the whole list: 20 pages for 1,000 rejections). ``rejections`` is the collected
    list, oldest first; corrections for invoices not in it keep the plan's order, at the end.
    """
    rank = {r.numero.casefold(): index for index, r in enumerate(rejections)}
    listed = [c for c in corrections if c.numero_rejete.casefold() in rank]
    others = [c for c in corrections if c.numero_rejete.casefold() not in rank]
    listed.sort(key=lambda c: rank[c.numero_rejete.casefold()], reverse=True)
    return listed + others
