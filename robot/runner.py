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
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from loguru import logger
from playwright.sync_api import Error as PlaywrightError

from robot.audit import EventLog
from robot.browser import settings_for
from robot.config import Config
from robot.journal import Journal
from robot.outcomes import (
    EXIT_BUSINESS,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_SYSTEM,
    RunResult,
    TransactionOutcome,
    outcomes_from_journal,
)
from robot.plan import Plan
from robot.portal import PortalTarget
from robot.preflight import assert_portal_matches
from robot.recording import Recorder
from robot.rundir import PARIS, RunDir
from robot.session import WorkSession
from robot.worker import Stopper, Worker, correction_text, with_retries
from scenarios import BusinessError, Correction, PortalError, Rejection
from scenarios.collect import collect_rejections

__all__ = [
    "EXIT_BUSINESS",
    "EXIT_LOCKED",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_SYSTEM",
    "RunResult",
    "Runner",
    "Stopper",
    "TransactionOutcome",
]

Progress = Callable[[str, str], None]  # (invoice number, final state)


def requests_per_min(config: Config, portal: PortalTarget) -> int:
    """Politeness applies to the real portal, not to the embedded sandbox."""
    return 0 if portal.embedded else config.max_requests_per_min


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
        self.events = EventLog(run_dir.root / "events.jsonl")

    def run(self, plan: Plan, *, dry_run: bool, resume: bool = False) -> RunResult:
        run_id = self.run_dir.run_id
        started = datetime.now(PARIS)
        plan_sha = hashlib.sha256(plan.path.read_bytes()).hexdigest()
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
                "plan_sha256": plan_sha,
                "workers": self.workers,
            }
        )
        error = ""
        try:
            self._run(plan, dry_run=dry_run)
        except (PortalError, PlaywrightError) as exc:
            error = f"Le portail ne répond pas comme attendu : {_first_line(exc)}"
        except BusinessError as exc:  # login refused: the account, not the portal, is wrong
            error = f"Connexion refusée par le portail : {exc}"
        if error:
            logger.error(error)
        if self.stopper.requested:
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
    def _run(self, plan: Plan, *, dry_run: bool) -> None:
        run_id = self.run_dir.run_id
        recorder = Recorder(self.run_dir.root, trace=self.config.trace, video=self.config.video)
        rpm = requests_per_min(self.config, self.portal)
        with WorkSession(
            self.portal, settings_for(self.config), recorder, requests_per_min=rpm
        ) as session:
            try:
                # Preflight: refuse to act on a portal that no longer matches (exit 3).
                with_retries(
                    self.config,
                    session,
                    self.stopper,
                    random.Random(),
                    "vérification du portail",
                    lambda: assert_portal_matches(session.page, self.portal.url),
                )
                rejections = with_retries(
                    self.config,
                    session,
                    self.stopper,
                    random.Random(),
                    "collecte",
                    # Details are read by each transaction's steps: the collect stays short,
                    # so it completes even when sessions expire every few requests.
                    lambda: collect_rejections(session.page, details=False),
                )
                logger.info("{} facture(s) rejetée(s) à traiter sur le portail", len(rejections))
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
                    )
                    worker.work(run_id, corrections, by_number, dry_run=dry_run)
            finally:
                session.logout()
        if workers > 1:
            from robot.parallel import run_workers

            run_workers(
                self,
                corrections,
                by_number,
                dry_run=dry_run,
                count=workers,
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
            if row.state not in {"pending", "claimed"}:
                self.on_progress(row.numero_rejete, row.state)
        return {c.numero_rejete.casefold(): c for c in plan.corrections}

    def _worker_count(self) -> int:
        pending = sum(
            1 for r in self.journal.transactions(self.run_dir.run_id) if r.state == "pending"
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


@dataclass(frozen=True)
class WorkerJob:
    """What a worker process needs (picklable)."""

    config: Config
    portal: dict[str, Any]
    run_dir: Path
    journal: Path
    run_id: str
    name: str
    corrections: dict[str, Correction]
    rejections: dict[str, Rejection]
    dry_run: bool


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else exc.__class__.__name__
