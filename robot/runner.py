"""One run: match the plan to the portal's rejections and carry each transaction through.

For every transaction the runner calls the three steps in order; each step reconciles with
the portal before acting, so a re-run of the same plan issues nothing twice. System failures
are retried with backoff (re-login on a lost session, a new browser after a crash);
business failures stop that transaction only.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from loguru import logger
from playwright.sync_api import Error as PlaywrightError

from robot.browser import BrowserSettings
from robot.config import Config
from robot.journal import Journal, TransactionRow
from robot.plan import Plan
from robot.audit import EventLog
from robot.portal import PortalTarget
from robot.recording import Recorder
from robot.rundir import PARIS, RunDir
from robot.session import WorkSession
from scenarios import (
    BusinessError,
    Correction,
    Outcome,
    PortalError,
    Rejection,
    SessionLost,
    Step,
    StepResult,
)
from scenarios.collect import collect_rejections
from scenarios.lookup import find_rejection
from scenarios.steps import acknowledge, process, reissue

T = TypeVar("T")

EXIT_OK, EXIT_BUSINESS, EXIT_REFUSED, EXIT_SYSTEM, EXIT_LOCKED = 0, 1, 2, 3, 4

STATE_LABELS = {
    "done": "Terminée",
    "would_do": "À faire (simulation)",
    "business_failure": "À vérifier",
    "not_rejected": "Non rejetée",
    "system_failure": "Échec technique",
    "pending": "Non traitée",
}


class Stopper:
    """Asks the run to stop between steps (SIGINT/SIGTERM); also the backoff's waiting room."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def request(self) -> None:
        self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def pause(self, seconds: float) -> bool:
        """Wait ``seconds`` unless a stop is requested first; True when stopped."""
        return self._event.wait(seconds)


@dataclass
class TransactionOutcome:
    numero_rejete: str
    nouveau_numero: str
    state: str
    message: str = ""
    motif: str = ""
    commentaire: str = ""
    steps: list[StepResult] = field(default_factory=list)
    duration_s: float = 0.0
    new_status: str = ""
    correction: dict[str, str] = field(default_factory=dict)
    timeline: list[tuple[datetime, StepResult]] = field(default_factory=list)
    traces: list[Path] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)

    @property
    def label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    portal_url: str
    dry_run: bool
    started_at: datetime
    ended_at: datetime | None = None
    transactions: list[TransactionOutcome] = field(default_factory=list)
    stopped: bool = False
    error: str = ""

    @property
    def exit_code(self) -> int:
        states = {t.state for t in self.transactions}
        if self.error or "system_failure" in states or "pending" in states or self.stopped:
            return EXIT_SYSTEM
        if states & {"business_failure", "not_rejected"}:
            return EXIT_BUSINESS
        return EXIT_OK


class Runner:
    """Executes a plan against a portal; one worker, one browser."""

    def __init__(
        self,
        config: Config,
        portal: PortalTarget,
        run_dir: RunDir,
        journal: Journal,
        *,
        stopper: Stopper | None = None,
        on_progress: Callable[[TransactionOutcome], None] | None = None,
        on_total: Callable[[int], None] | None = None,
        worker: str = "w1",
    ) -> None:
        self.config = config
        self.portal = portal
        self.run_dir = run_dir
        self.journal = journal
        self.stopper = stopper or Stopper()
        self.on_progress = on_progress or (lambda _t: None)
        self.on_total = on_total or (lambda _n: None)
        self.settings = BrowserSettings(
            executable=config.browser,
            headless=config.headless,
            timeout_ms=config.timeout_ms,
            slow_mo_ms=config.slow_mo_ms,
        )
        self._rng = random.Random()
        self.worker = worker
        self.recorder = Recorder(run_dir.root, trace=config.trace, video=config.video)
        self.events = EventLog(run_dir.root / "events.jsonl")

    # -- the run ----------------------------------------------------------------------------
    def run(self, plan: Plan, *, dry_run: bool) -> RunResult:
        result = RunResult(
            run_id=self.run_dir.run_id,
            run_dir=self.run_dir.root,
            portal_url=self.portal.url,
            dry_run=dry_run,
            started_at=datetime.now(PARIS),
        )
        self.journal.start_run(
            result.run_id,
            plan_path=plan.path,
            plan_sha256=hashlib.sha256(plan.path.read_bytes()).hexdigest(),
            portal_url=self.portal.url,
            dry_run=dry_run,
        )
        self.events.append(
            {
                "type": "run_start",
                "worker": self.worker,
                "run_id": result.run_id,
                "portal": self.portal.url,
                "dry_run": dry_run,
                "plan": plan.path.name,
                "plan_sha256": hashlib.sha256(plan.path.read_bytes()).hexdigest(),
            }
        )
        try:
            with WorkSession(self.portal, self.settings, self.recorder) as session:
                try:
                    self._run_in(session, plan, dry_run, result)
                finally:
                    session.logout()
        except (PortalError, PlaywrightError) as exc:
            result.error = f"Le portail ne répond pas comme attendu : {exc}"
            logger.error(result.error)
        except BusinessError as exc:  # login refused: the account, not the portal, is wrong
            result.error = f"Connexion refusée par le portail : {exc}"
            logger.error(result.error)
        result.ended_at = datetime.now(PARIS)
        self.journal.end_run(result.run_id, result.exit_code)
        self.events.append(
            {
                "type": "run_end",
                "worker": self.worker,
                "exit_code": result.exit_code,
                "stopped": result.stopped,
                "error": result.error,
            }
        )
        return result

    def _run_in(self, session: WorkSession, plan: Plan, dry_run: bool, result: RunResult) -> None:
        rejections = self._with_retries(
            session, "collecte", lambda: collect_rejections(session.page, details=True)
        )
        by_number = {r.numero.casefold(): r for r in rejections}
        logger.info("{} facture(s) rejetée(s) à traiter sur le portail", len(rejections))
        corrections = {c.numero_rejete.casefold(): c for c in plan.corrections}
        for correction in plan.corrections:
            self.journal.add_transaction(
                result.run_id,
                correction.numero_rejete,
                correction.nouveau_numero,
                correction_text(correction),
            )
        self.on_total(len(plan.corrections))
        while not self.stopper.requested:
            row = self.journal.claim_next(result.run_id, worker=self.worker)
            if row is None:
                break
            correction = corrections[row.numero_rejete.casefold()]
            outcome = self._carry(session, row, correction, by_number, dry_run)
            result.transactions.append(outcome)
            self.on_progress(outcome)
        if self.stopper.requested:
            result.stopped = True
            self.journal.release_unfinished(result.run_id)
            for row in self.journal.transactions(result.run_id):
                if row.state == "pending":
                    result.transactions.append(
                        TransactionOutcome(row.numero_rejete, row.nouveau_numero, "pending")
                    )

    # -- one transaction --------------------------------------------------------------------
    def _carry(
        self,
        session: WorkSession,
        row: TransactionRow,
        correction: Correction,
        by_number: dict[str, Rejection],
        dry_run: bool,
    ) -> TransactionOutcome:
        started = time.monotonic()
        outcome = TransactionOutcome(
            row.numero_rejete, row.nouveau_numero, state="done", correction=correction_text(correction)
        )
        self.recorder.begin(row.numero_rejete)
        with logger.contextualize(invoice=row.numero_rejete):
            rejection = by_number.get(row.numero_rejete.casefold())
            if rejection is None:
                found = self._with_retries(
                    session, "recherche", lambda: find_rejection(session.page, row.numero_rejete)
                )
                rejection = found
            if rejection is None:
                outcome.state = "not_rejected"
                outcome.message = (
                    f"La facture {row.numero_rejete} n'est pas une facture rejetée sur le portail"
                    " : ligne du plan ignorée."
                )
                logger.warning(outcome.message)
            else:
                outcome.motif, outcome.commentaire = rejection.motif, rejection.commentaire
                self._steps(session, row, rejection, correction, dry_run, outcome)
        outcome.duration_s = time.monotonic() - started
        failed = outcome.state not in {"done", "would_do"}
        outcome.traces = self.recorder.end(row.numero_rejete, failed=failed)
        outcome.screenshots = self.recorder.screenshots_of(row.numero_rejete)
        self.events.append(
            {
                "type": "transaction_end",
                "worker": self.worker,
                "invoice": row.numero_rejete,
                "nouveau_numero": row.nouveau_numero,
                "state": outcome.state,
                "message": outcome.message,
                "new_status": outcome.new_status,
                "traces": [str(p.relative_to(self.run_dir.root)) for p in outcome.traces],
            }
        )
        self.journal.finish_transaction(
            row.id,
            _final(outcome.state),
            outcome.message,
            outcome.new_status,
        )
        return outcome

    def _steps(
        self,
        session: WorkSession,
        row: TransactionRow,
        rejection: Rejection,
        correction: Correction,
        dry_run: bool,
        outcome: TransactionOutcome,
    ) -> None:
        plan: list[tuple[Step, Callable[[], StepResult]]] = [
            (Step.ACKNOWLEDGE, lambda: acknowledge(session.page, rejection, dry_run=dry_run)),
            (Step.PROCESS, lambda: process(session.page, rejection, dry_run=dry_run)),
            (
                Step.REISSUE,
                lambda: reissue(session.page, rejection, correction, dry_run=dry_run),
            ),
        ]
        for step, action in plan:
            result = self._step(session, row, step, action)
            outcome.steps.append(result)
            outcome.timeline.append((datetime.now(PARIS), result))
            logger.info(
                "{} {} : {}{}",
                row.numero_rejete,
                step.value,
                result.outcome.value,
                f" — {result.message}" if result.message else "",
            )
            if result.outcome is Outcome.BUSINESS_FAILURE:
                outcome.state, outcome.message = "business_failure", result.message
                return
            if result.outcome is Outcome.SYSTEM_FAILURE:
                outcome.state, outcome.message = "system_failure", result.message
                return
            if result.outcome is Outcome.WOULD_DO:
                outcome.state = "would_do"
        last = outcome.steps[-1]
        outcome.new_status = str(last.after.get("statut", ""))
        if outcome.state == "would_do":
            outcome.message = "Simulation : " + " ; ".join(
                s.message for s in outcome.steps if s.outcome is Outcome.WOULD_DO
            )
        else:
            outcome.message = last.message

    def _step(
        self,
        session: WorkSession,
        row: TransactionRow,
        step: Step,
        action: Callable[[], StepResult],
    ) -> StepResult:
        step_id = self.journal.step_intent(row.id, step.value, {})
        try:
            result = self._with_retries(session, step.value, action)
        except BusinessError as exc:
            result = StepResult(
                step, Outcome.BUSINESS_FAILURE, str(exc), portal_messages=exc.messages
            )
        except (PortalError, PlaywrightError) as exc:
            result = StepResult(step, Outcome.SYSTEM_FAILURE, _short(exc))
        self.journal.step_result(step_id, result.outcome.value, result.message, result.after)
        self.events.append(
            {
                "type": "step",
                "worker": self.worker,
                "invoice": row.numero_rejete,
                "step": step.value,
                "outcome": result.outcome.value,
                "message": result.message,
                "portal_messages": list(result.portal_messages),
                "before": result.before,
                "after": result.after,
            }
        )
        return result

    # -- retries ----------------------------------------------------------------------------
    def _with_retries(self, session: WorkSession, what: str, action: Callable[[], T]) -> T:
        """Run ``action``; on a system failure recover and try again, within the budget."""
        deadline = time.monotonic() + self.config.retry_budget_s
        attempt = 0
        while True:
            try:
                return action()
            except BusinessError:
                raise
            except SessionLost:
                logger.warning("{} : session expirée, reconnexion", what)
                failure: Exception | None = None
            except (PortalError, PlaywrightError) as exc:
                failure = exc
                logger.warning("{} : échec technique ({}), nouvel essai", what, _short(exc))
            attempt += 1
            if attempt > self.config.max_retries or time.monotonic() >= deadline:
                if failure is None:
                    raise PortalError(f"{what} : session perdue à chaque essai")
                raise failure
            if failure is None:
                self._relogin(session)
                continue
            # Exponential backoff with jitter, interrupted by a stop request.
            delay = min(30.0, 0.5 * 2 ** (attempt - 1)) * (0.5 + self._rng.random())
            if self.stopper.pause(delay):
                raise failure
            if _browser_gone(failure):
                session.restart_browser()  # the next use of session.page logs in again

    def _relogin(self, session: WorkSession) -> None:
        try:
            session.login()
        except BusinessError:
            raise
        except (PortalError, PlaywrightError) as exc:
            # The next attempt's use of session.page logs in again.
            logger.warning("reconnexion impossible pour l'instant ({})", _short(exc))
            session.restart_browser()


def correction_text(correction: Correction) -> dict[str, str]:
    """The fields a correction changes, as text (for the journal, events and report)."""
    return {name: str(value) for name, value in correction.overrides().items()}


def _final(state: str) -> str:
    return "done" if state == "would_do" else state


def _browser_gone(exc: Exception) -> bool:
    text = str(exc).lower()
    return "closed" in text or "crash" in text or "disconnected" in text


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else exc.__class__.__name__
