"""A worker: claims transactions from the journal and carries each through its three steps.

Each step reconciles with the portal before acting, so a re-run or a resume never issues an
invoice twice. System failures are retried with exponential backoff and jitter, within a
count and a time budget (re-login on a lost session, a new browser after a crash); business
failures stop that transaction only and are never retried.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TypeVar

from loguru import logger
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from robot.audit import EventLog
from robot.audit.scan import redact_files
from robot.browser.recording import BATCH_EVENT, Recorder
from robot.browser.session import WorkSession
from robot.config import Config
from robot.errors import first_line
from robot.run.journal import Journal, LeaseLost, TransactionRow, machine_id
from robot.run.retries import with_retries
from robot.run.states import SUCCEEDED, State
from robot.run.stopper import Stopper
from robot.secrets import registered
from scenarios import (
    BusinessError,
    Correction,
    InvoiceRecord,
    Kind,
    Outcome,
    PortalError,
    Rejection,
    Step,
    StepResult,
)
from scenarios.lookup import find_work_item, fits
from scenarios.model import Action
from scenarios.reissue_content import describe_line
from scenarios.steps import (
    acknowledge,
    check_bank_account,
    check_reissue,
    complete,
    process,
    process_together,
    recycle,
    reissue,
)

T = TypeVar("T")


class LeaseKeeper:
    """Renews a claimed transaction's lease while its worker carries it (a background thread,
    every third of the lease): a step slowed by retries never lets the claim expire under a
    live worker. ``lost`` turns True when the lease went to another worker; the worker then
    stops before its next step (and the journal refuses its writes anyway)."""

    def __init__(self, journal: Journal, transaction_id: int, worker: str) -> None:
        self.journal = journal
        self.transaction_id = transaction_id
        self.worker = worker
        self.lost = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"bail-{worker}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _renew(self) -> None:
        while not self._done.wait(self.journal.lease_s / 3):
            try:
                held = self.journal.heartbeat(self.transaction_id, self.worker)
            except Exception as exc:  # the journal is out of reach: the next step will say
                logger.warning("renouvellement du bail impossible ({})", first_line(exc))
                continue
            if not held:
                self.lost = True
                logger.error(
                    "Transaction {} : bail perdu (repris par un autre travailleur)",
                    self.transaction_id,
                )
                return


def correction_text(correction: Correction) -> dict[str, str]:
    """The fields a correction changes, as text (for the journal, events and report), under
    ``nature`` the kind of work (:class:`~scenarios.model.Kind`'s value) and under ``action``
    what the row asks for (:class:`~scenarios.model.Action`'s value); ``confirmer_reemission``
    when the plan confirms a reissue."""
    text = {name: _field_text(name, value) for name, value in correction.overrides().items()}
    asked = {"nature": correction.kind.value, "action": correction.work.value}
    if correction.confirmer_reemission:
        asked["confirmer_reemission"] = "oui"
    return {**asked, **text}


#: Why a row is ignored: it says so, or it says nothing to do (robot/plan/_rules.py).
_IGNORED_WHY = {
    Kind.REJECTED: "action=ignorer, ou aucun nouveau numéro",
    Kind.SUSPENDED: "action=ignorer, ou ni pièce jointe ni commentaire",
    Kind.TO_RECYCLE: "action=ignorer, ou aucun nouveau destinataire",
}


def _lines_changed(row: TransactionRow, correction: Correction) -> bool:
    """Whether the lines the transaction was registered with are not the plan's now."""
    registered = row.correction.get("lignes", "") if row.correction else ""
    return str(registered) != correction_text(correction).get("lignes", "")


def _field_text(name: str, value: object) -> str:
    if name == "pieces_jointes" and isinstance(value, tuple):
        return " | ".join(p.name for p in value)
    if name == "lignes" and isinstance(value, tuple):
        return " ; ".join(describe_line(line) for line in value)
    return str(value)


def batch_share(batch_size: int, left: int, ways: int) -> int:
    """How many transactions a worker claims together: ``batch_size``
    (``CHORUS_BATCH_SIZE``), no larger than an even share of the ``left`` ones among ``ways``
    workers, so that each gets some; at least 1."""
    return max(1, min(batch_size, -(-left // max(1, ways))))


class _Prep:
    """A reissue's correction made ready and checked before the transaction's first click:
    the bank account as the portal names it (read once), the new invoice's content built
    from the rejected invoice as read (:func:`check_reissue`)."""

    def __init__(self, correction: Correction) -> None:
        self.correction = correction
        self._ready: Correction | None = None
        self.checked = False

    def ready(self, page: Page) -> Correction:
        if self._ready is None:
            self._ready = check_bank_account(page, self.correction)
        return self._ready

    def check(self, page: Page, record: InvoiceRecord) -> None:
        # The new invoice's content is built before the first click: a correction that
        # cannot apply, or a reissue that would bill twice unconfirmed, stops here, with
        # nothing half done on the portal.
        check_reissue(record, self.ready(page))
        self.checked = True

    def unchecked(self, page: Page, record: InvoiceRecord) -> None:
        # Acknowledged and processed before this run (nothing clicked by the steps before,
        # so nothing checked): the same check, before the reissue's own click.
        if not self.checked:
            self.check(page, record)


@dataclass
class _Front:
    """What a batch's front did for one transaction (:meth:`Worker._front`): its steps'
    results (journaled), the rejected invoice as last read, the time it took, the batch
    traces covering it."""

    prep: _Prep
    results: list[StepResult]
    record: InvoiceRecord | None = None
    duration_s: float = 0.0
    server_s: float = 0.0
    traces: list[str] = field(default_factory=list)


def _unproven(step: Step, message: str, before: Mapping[str, object] | None = None) -> StepResult:
    """A batch's step that did not prove itself for an invoice: its own step does it again."""
    return StepResult(step, Outcome.SYSTEM_FAILURE, message, before=dict(before or {}))


class Worker:
    """Carries claimed transactions through; one browser session, one recorder."""

    def __init__(
        self,
        config: Config,
        session: WorkSession,
        journal: Journal,
        events: EventLog,
        recorder: Recorder,
        *,
        name: str = "w1",
        stopper: Stopper | None = None,
        on_done: Callable[[TransactionRow], None] | None = None,
        rng_seed: int | None = None,
    ) -> None:
        self.config = config
        self.session = session
        self.journal = journal
        self.events = events
        self.recorder = recorder
        self.name = name
        self.stopper = stopper or Stopper()
        self.on_done = on_done or (lambda _row: None)
        self._rng = random.Random(rng_seed)
        self._since_recycle = 0
        #: Set when a system failure outlasted the retries: the portal is down, stop asking.
        self.halted = False
        #: The lease of the transaction being carried (renewed in the background).
        self.lease: LeaseKeeper | None = None
        #: False once the work must end (``work``'s ``keep_going``: the session's slot lost).
        self._keep_going: Callable[[], bool] = lambda: True

    def work(
        self,
        run_id: str,
        corrections: dict[str, Correction],
        rejections: dict[str, Rejection],
        *,
        dry_run: bool,
        account: str | None = None,
        max_failures: int | None = None,
        keep_going: Callable[[], bool] = lambda: True,
        batch_size: int | None = None,
    ) -> None:
        """Claim and carry transactions until none is left or a stop is requested.

        ``account``: only that account's transactions (the session is logged in as it);
        ``max_failures``: leave those whose system failures outlasted the retries that many
        times; ``keep_going`` False (the session's slot was lost): claim no more.
        ``batch_size`` (default ``CHORUS_BATCH_SIZE``): how many transactions are claimed
        together; the rejections of a batch are processed with one « Traiter le rejet »
        (:meth:`_front`), each one's other steps carried one invoice after the other.
        """
        size = max(1, batch_size or self.config.batch_size)
        while not self.stopper.requested and not self.halted and keep_going():
            batch: list[tuple[TransactionRow, LeaseKeeper]] = []
            try:
                while len(batch) < size:
                    row = self.journal.claim_next(
                        run_id, worker=self.name, account=account, max_failures=max_failures
                    )
                    if row is None:
                        break
                    keeper = LeaseKeeper(self.journal, row.id, self.name)
                    batch.append((row, keeper.__enter__()))
                if not batch:
                    return
                self._keep_going = keep_going
                self._carry_batch(batch, corrections, rejections, dry_run)
            finally:
                for _, keeper in batch:
                    keeper.__exit__()

    def _carry_batch(
        self,
        batch: list[tuple[TransactionRow, LeaseKeeper]],
        corrections: dict[str, Correction],
        rejections: dict[str, Rejection],
        dry_run: bool,
    ) -> None:
        front = self._front(batch, corrections, rejections, dry_run)
        for row, keeper in batch:
            started = row.id in front
            # A stop, or the session's slot lost: what was not started goes back to pending.
            stopping = self.stopper.requested or not self._keep_going()
            if self.halted or keeper.lost or (stopping and not started):
                # Never started (or this worker must stop): back to pending as it was
                # claimed, for a resume or another worker.
                self.journal.postpone(row.id, row.message)
                keeper.__exit__()
                continue
            self.lease = keeper
            try:
                self.carry(
                    row,
                    corrections[row.numero_rejete.casefold()],
                    rejections.get(row.numero_rejete.casefold()),
                    dry_run,
                    front=front.get(row.id),
                )
            except LeaseLost as exc:
                # Another worker holds it now: write nothing more, stop asking for work.
                logger.error("{}", exc)
                self.halted = True
                continue
            finally:
                keeper.__exit__()
                self.lease = None
            self.on_done(self.journal.transaction(row.id))
            self._since_recycle += 1
            if self.config.recycle_every and self._since_recycle >= self.config.recycle_every:
                self._since_recycle = 0
                self.session.recycle()
            else:
                self.session.release_memory()

    # -- a batch's front: acknowledge each, process together --------------------------------
    def _phased(
        self, row: TransactionRow, correction: Correction, rejection: Rejection | None
    ) -> bool:
        """Whether the transaction joins its batch's front: a rejection the collect listed,
        to reissue or only acknowledge, as the plan registered it."""
        return (
            rejection is not None
            and bool(rejection.link)
            and correction.kind is Kind.REJECTED
            and fits(rejection, Kind.REJECTED)
            and correction.work in (Action.REISSUE, Action.ACKNOWLEDGE)
            and not _lines_changed(row, correction)
        )

    def _front(
        self,
        batch: list[tuple[TransactionRow, LeaseKeeper]],
        corrections: dict[str, Correction],
        rejections: dict[str, Rejection],
        dry_run: bool,
    ) -> dict[int, _Front]:
        """The first two steps of a batch's rejections, the way a person does them: each
        one acknowledged on its consultation page (read, checked before the click, verified
        after), then all processed in « Synthèse » with one « Traiter le rejet » per page.

        Each step is journaled per invoice before its click (the batch's click: with the
        invoices it covers) and verified per invoice after; an invoice the page shown after
        « Traiter le rejet » does not prove processed is left to its own process step, which
        reconciles on its consultation page. Fewer than two such rejections: nothing here,
        each transaction goes through its steps alone. Returns, by transaction, what was done.
        """
        eligible = [
            (row, keeper)
            for row, keeper in batch
            if self._phased(
                row,
                corrections[row.numero_rejete.casefold()],
                rejections.get(row.numero_rejete.casefold()),
            )
        ]
        if dry_run or len(eligible) < 2:
            return {}
        front: dict[int, _Front] = {}
        for row, keeper in eligible:
            if self.stopper.requested or self.halted or keeper.lost or not self._keep_going():
                break
            rejection = rejections[row.numero_rejete.casefold()]
            prep = _Prep(corrections[row.numero_rejete.casefold()])
            started, server_before = time.monotonic(), self.session.server_ms
            self.lease = keeper
            self.journal.describe_transaction(row.id, rejection.motif, rejection.commentaire)
            self.recorder.begin(row.numero_rejete)
            try:
                with logger.contextualize(invoice=row.numero_rejete, worker=self.name):
                    result = self._step(row, Step.ACKNOWLEDGE, self._acknowledging(rejection, prep))
            except LeaseLost as exc:
                logger.error("{}", exc)
                self.halted = True
                break
            finally:
                self.recorder.pause(row.numero_rejete)
                self.lease = None
            with logger.contextualize(invoice=row.numero_rejete, worker=self.name):
                self._log_result(row, result)
            if not rejection.motif and result.before.get("motif"):
                # Read on the consultation page when the rejection window was not shown.
                self.journal.describe_transaction(
                    row.id, str(result.before["motif"]), str(result.before.get("commentaire", ""))
                )
            front[row.id] = _Front(
                prep,
                [result],
                record=result.record,
                duration_s=time.monotonic() - started,
                server_s=max(0.0, self.session.server_ms - server_before) / 1000,
            )
            if result.outcome is Outcome.SYSTEM_FAILURE:
                break  # the portal is failing: the transaction stops there, and the worker
        to_process = [
            (row, keeper)
            for row, keeper in eligible
            if row.id in front
            and (done := front[row.id]).results[-1].outcome in (Outcome.DONE, Outcome.ALREADY_DONE)
            and done.record is not None
            and done.record.acquittee
            and not done.record.rejet_traite
            # A reissue checked before a click of this transaction (not so when it was
            # acknowledged before: its own process step checks it before its click).
            and (done.prep.correction.work is Action.ACKNOWLEDGE or done.prep.checked)
        ]
        going = not self.stopper.requested and not self.halted and self._keep_going()
        if len(to_process) >= 2 and going:
            self._process_together(to_process, front)
        return front

    def _acknowledging(self, rejection: Rejection, prep: _Prep) -> Callable[[], StepResult]:
        def act() -> StepResult:
            page = self.session.page
            if prep.correction.work is Action.ACKNOWLEDGE:
                return acknowledge(page, rejection)
            prep.ready(page)
            return acknowledge(page, rejection, check=lambda record: prep.check(page, record))

        return act

    def _process_together(
        self, batch: list[tuple[TransactionRow, LeaseKeeper]], front: dict[int, _Front]
    ) -> None:
        """« Traiter le rejet » once for the batch's acknowledged rejections (see
        :meth:`_front`)."""
        numbers = [row.numero_rejete for row, _ in batch]
        intents: dict[int, int] = {}
        for row, keeper in batch:
            try:
                intents[row.id] = self.journal.step_intent(
                    row.id, Step.PROCESS.value, {"lot": numbers}
                )
            except LeaseLost as exc:
                logger.error("{}", exc)
                keeper.lost = True
        covered = [row for row, _ in batch if row.id in intents]
        numbers = [row.numero_rejete for row in covered]
        if len(covered) < 2:
            for row in covered:  # alone now: its own process step does it
                self._record_step(
                    row, intents[row.id], _unproven(Step.PROCESS, "Traitement groupé annulé.")
                )
            return
        started, server_before = time.monotonic(), self.session.server_ms
        name = self.recorder.begin_batch(numbers)
        said: list[str] = []
        proven: set[str] = set()
        failure = ""
        with logger.contextualize(invoice=name, worker=self.name):
            try:
                said, proven = self._with_retries(
                    "traitement groupé", lambda: process_together(self.session.page, numbers)
                )
            except (BusinessError, PortalError, PlaywrightError) as exc:
                failure = first_line(exc)
                logger.warning("Traitement groupé des rejets : {}", failure)
        traces = self.recorder.end_batch(name)
        redact_files(traces, registered())  # written now, by this worker: its secrets out
        spent = time.monotonic() - started
        server_s = max(0.0, self.session.server_ms - server_before) / 1000
        self.events.append(
            {
                "type": BATCH_EVENT,
                "worker": self.name,
                "action": "Traiter le rejet",
                "invoices": numbers,
                "traces": [p.name for p in traces],
                "portal_messages": said,
                "message": failure,
            }
        )
        for row in covered:
            done = front[row.id]
            done.duration_s += spent / len(covered)
            done.server_s += server_s / len(covered)
            done.traces.extend(p.name for p in traces)
            record = done.record
            assert record is not None
            before = {
                "statut": record.statut,
                "acquittee": record.acquittee,
                "rejet_traite": record.rejet_traite,
                "lot": numbers,
            }
            if row.numero_rejete in proven:
                result = StepResult(
                    Step.PROCESS,
                    Outcome.DONE,
                    f"Rejet traité (avec {len(covered) - 1} autre(s) facture(s) du lot).",
                    before=before,
                    after={**before, "rejet_traite": True, "synthese": "sortie de la liste"},
                    portal_messages=tuple(m for m in said if row.numero_rejete in m),
                )
                done.results.append(result)
                with logger.contextualize(invoice=row.numero_rejete, worker=self.name):
                    self._log_result(row, result)
            else:
                # Not proven by the page: the transaction's own process step reconciles on
                # the consultation page (and acts if the rejection is still open).
                result = _unproven(
                    Step.PROCESS,
                    failure
                    or "Traitement groupé non confirmé par la page affichée : vérifié sur la "
                    "page de la facture.",
                    before,
                )
            self._record_step(row, intents[row.id], result)

    # -- one transaction --------------------------------------------------------------------
    def carry(
        self,
        row: TransactionRow,
        correction: Correction,
        rejection: Rejection | None,
        dry_run: bool,
        *,
        front: _Front | None = None,
    ) -> None:
        started = time.monotonic()
        server_before = self.session.server_ms
        state, message, new_status = State.DONE, "", ""
        self.recorder.begin(row.numero_rejete)
        with logger.contextualize(invoice=row.numero_rejete, worker=self.name):
            try:
                if front is not None:
                    pass  # its batch's front read and checked it: on with its steps
                elif _lines_changed(row, correction):
                    # Registered with other lines (a resume without its --lignes, say): the
                    # plan no longer says what the run was started for.
                    state = State.BUSINESS_FAILURE
                    message = (
                        f"Les lignes de la nouvelle facture ne sont plus celles du run (ligne "
                        f"{correction.source_line} du plan) : feuille de lignes absente ou "
                        "modifiée ? Rien n'a été fait ; reprenez le run avec la même feuille "
                        "(--lignes)."
                    )
                    logger.warning(message)
                elif correction.work is Action.IGNORE:
                    # The plan asks for nothing: the portal is not even read.
                    state = State.IGNORED
                    message = (
                        f"Facture ignorée ({_IGNORED_WHY[correction.kind]}, ligne "
                        f"{correction.source_line} du plan) : rien n'a été fait sur le portail."
                    )
                    logger.info("{} : {}", row.numero_rejete, message)
                elif rejection is None:
                    rejection = self._with_retries(
                        "recherche",
                        lambda: find_work_item(
                            self.session.page, row.numero_rejete, correction.kind
                        ),
                    )
            except (PortalError, PlaywrightError) as exc:
                state, message = State.SYSTEM_FAILURE, first_line(exc)
            else:
                if state is not State.DONE:
                    pass  # decided above, without the portal
                elif rejection is None:
                    state = State.NOT_REJECTED
                    what = (
                        "une facture rejetée"
                        if correction.kind is Kind.REJECTED
                        else "une facture connue"
                    )
                    message = (
                        f"La facture {row.numero_rejete} n'est pas {what} sur le "
                        "portail : ligne du plan ignorée, rien n'a été fait."
                    )
                    logger.warning(message)
                elif not fits(rejection, correction.kind):
                    state = State.BUSINESS_FAILURE
                    message = (
                        f"La ligne {correction.source_line} du plan décrit une facture "
                        f"« {correction.kind.label} », mais le portail montre la facture "
                        f"{row.numero_rejete} « {rejection.statut} » : rien n'a été fait. "
                        "Corrigez la ligne du plan, puis relancez-le."
                    )
                    logger.warning(message)
                else:
                    if front is None:
                        self.journal.describe_transaction(
                            row.id, rejection.motif, rejection.commentaire
                        )
                    state, message, new_status = self._steps(
                        row, rejection, correction, dry_run, front
                    )
        duration = time.monotonic() - started + (front.duration_s if front else 0.0)
        server_s = max(0.0, self.session.server_ms - server_before) / 1000
        server_s += front.server_s if front else 0.0
        traces = self.recorder.end(row.numero_rejete, failed=state not in SUCCEEDED)
        self.events.append(
            {
                "type": "transaction_end",
                "worker": self.name,
                "machine": machine_id(self.name),
                "account": row.account or self.session.portal.identifiant,
                "invoice": row.numero_rejete,
                "nouveau_numero": row.nouveau_numero,
                "state": state.value,
                "message": message,
                "new_status": new_status,
                "traces": [*(front.traces if front else ()), *(p.name for p in traces)],
                "duration_s": round(duration, 3),
                "server_s": round(server_s, 3),
            }
        )
        if state is State.PENDING:  # stopped between two steps: a resume goes on from here
            self.journal.postpone(row.id, message, duration)
            return
        if state is State.SYSTEM_FAILURE:
            # Not final: the transaction waits for a resume (or another worker: the journal
            # counts the failure), and this worker stops here.
            self.journal.postpone(row.id, message, duration, failed=True)
            self.halted = True
            logger.error(
                "{} : le portail ne répond plus après les nouvelles tentatives ; arrêt propre, "
                "reprise possible avec --resume",
                row.numero_rejete,
            )
            return
        self.journal.finish_transaction(
            row.id, state, message, new_status, duration, server_s=server_s
        )

    def _steps(
        self,
        row: TransactionRow,
        rejection: Rejection,
        correction: Correction,
        dry_run: bool,
        front: _Front | None = None,
    ) -> tuple[State, str, str]:
        """The transaction's steps in order; those its batch's ``front`` carried (journaled
        there) are not run again, and what they read is handed on."""

        def page() -> Page:  # the page may be replaced by a retry: read it each time
            return self.session.page

        # What the acknowledge step last read on the consultation page, handed to the
        # process step's first attempt only: a retry reads the portal again.
        handover: list[InvoiceRecord] = []

        def shown() -> InvoiceRecord | None:
            return handover.pop() if handover else None

        # The correction as the portal names its values (its bank account), read once before
        # the first step: a value the portal does not have stops the transaction there.
        prep = front.prep if front is not None else _Prep(correction)

        def ready() -> Correction:
            return prep.ready(page())

        def check(record: InvoiceRecord) -> None:
            prep.check(page(), record)

        def unchecked(record: InvoiceRecord) -> None:
            prep.unchecked(page(), record)

        def first_acknowledge() -> StepResult:
            ready()
            return acknowledge(page(), rejection, dry_run=dry_run, check=check)

        results: list[StepResult] = list(front.results) if front is not None else []
        if front is not None and front.record is not None and rejection.invoice is None:
            # The rejected invoice as its batch's front last read it: the reissue starts
            # from it instead of opening it again.
            rejection = replace(rejection, invoice=front.record)
        reissue_tried: list[bool] = []

        def fresh() -> bool:
            # The rejection was processed by this transaction and this is the reissue's first
            # attempt: nothing can have sent the new invoice, so its number need not be
            # searched first (scenarios.reissue). A retry searches: the attempt before may
            # have sent it.
            first = not reissue_tried
            reissue_tried.append(True)
            return first and any(
                r.step is Step.PROCESS and r.outcome is Outcome.DONE for r in results
            )

        work = correction.work
        plan: list[tuple[Step, Callable[[], StepResult]]]
        if work is Action.COMPLETE:
            plan = [
                (
                    Step.ACKNOWLEDGE,
                    lambda: acknowledge(page(), rejection, dry_run=dry_run, kind=Kind.SUSPENDED),
                ),
                (Step.COMPLETE, lambda: complete(page(), rejection, correction, dry_run=dry_run)),
            ]
        elif work is Action.RECYCLE:
            plan = [
                (Step.RECYCLE, lambda: recycle(page(), rejection, correction, dry_run=dry_run)),
            ]
        elif work is Action.ACKNOWLEDGE:
            # No new invoice: nothing to build, nothing to check before the clicks.
            plan = [
                (Step.ACKNOWLEDGE, lambda: acknowledge(page(), rejection, dry_run=dry_run)),
                (
                    Step.PROCESS,
                    lambda: process(page(), rejection, dry_run=dry_run, shown=shown()),
                ),
            ]
        else:
            plan = [
                (Step.ACKNOWLEDGE, first_acknowledge),
                (
                    Step.PROCESS,
                    lambda: process(page(), rejection, dry_run=dry_run, shown=shown(), check=check),
                ),
                (
                    Step.REISSUE,
                    lambda: reissue(
                        page(),
                        rejection,
                        ready(),
                        dry_run=dry_run,
                        check=unchecked,
                        fresh=fresh(),
                    ),
                ),
            ]
        carried = {r.step for r in results if r.outcome is not Outcome.SYSTEM_FAILURE}
        for result in results:
            if result.outcome is Outcome.BUSINESS_FAILURE:
                return State.BUSINESS_FAILURE, result.message, ""
            if result.outcome is Outcome.SYSTEM_FAILURE and result.step is Step.ACKNOWLEDGE:
                return State.SYSTEM_FAILURE, result.message, ""
        # A step its batch did not prove (« Traiter le rejet » not confirmed) is run again.
        results = [r for r in results if r.outcome is not Outcome.SYSTEM_FAILURE]
        for step, action in plan:
            if step in carried:
                continue
            if self.lease is not None and self.lease.lost:
                raise LeaseLost(row.id, machine_id(self.name), None)
            if results and self.stopper.requested:
                done = ", ".join(r.step.value for r in results)
                logger.info("{} : arrêt demandé après l'étape {}", row.numero_rejete, done)
                return State.PENDING, f"Arrêt demandé après : {done}.", ""
            result = self._step(row, step, action)
            results.append(result)
            if result.record is not None:
                handover[:] = [result.record]
                if rejection.invoice is None:
                    # The rejected invoice's content, read in this transaction: the reissue
                    # starts from it instead of opening it again.
                    rejection = replace(rejection, invoice=result.record)
            if step is Step.ACKNOWLEDGE and not rejection.motif and result.before.get("motif"):
                # Read on the consultation page when the rejection window was not shown.
                self.journal.describe_transaction(
                    row.id, str(result.before["motif"]), str(result.before.get("commentaire", ""))
                )
            self._log_result(row, result)
            if result.outcome is Outcome.BUSINESS_FAILURE:
                return State.BUSINESS_FAILURE, result.message, ""
            if result.outcome is Outcome.SYSTEM_FAILURE:
                return State.SYSTEM_FAILURE, result.message, ""
        last = results[-1]
        if any(r.outcome is Outcome.WOULD_DO for r in results):
            said = " ; ".join(r.message for r in results if r.outcome is Outcome.WOULD_DO)
            return State.WOULD_DO, f"Simulation : {said}", ""
        if work is Action.ACKNOWLEDGE:
            return (
                State.DONE,
                "Rejet acquitté et traité, sans nouvelle facture (action=acquitter).",
                "",
            )
        return State.DONE, last.message, str(last.after.get("statut", ""))

    def _step(
        self, row: TransactionRow, step: Step, action: Callable[[], StepResult]
    ) -> StepResult:
        step_id = self.journal.step_intent(row.id, step.value, {})  # write ahead
        try:
            result = self._with_retries(step.value, action)
        except BusinessError as exc:
            result = StepResult(
                step, Outcome.BUSINESS_FAILURE, str(exc), portal_messages=exc.messages
            )
        except (PortalError, PlaywrightError) as exc:
            result = StepResult(step, Outcome.SYSTEM_FAILURE, first_line(exc))
        except Exception as exc:
            # A fault of the robot itself: journaled as a system failure (not final, a resume
            # reconciles with the portal), the traceback kept in run.log.
            logger.opt(exception=exc).error("{} : erreur inattendue du robot", step.value)
            result = StepResult(
                step, Outcome.SYSTEM_FAILURE, f"Erreur inattendue du robot : {first_line(exc)}"
            )
        self._record_step(row, step_id, result)
        return result

    def _record_step(self, row: TransactionRow, step_id: int, result: StepResult) -> None:
        """What a step did, in the journal (completing its intent) and in the events."""
        step = result.step
        self.journal.step_result(
            step_id,
            result.outcome.value,
            result.message,
            result.after,
            before=result.before,
            portal_messages=result.portal_messages,
        )
        self.events.append(
            {
                "type": "step",
                "worker": self.name,
                "invoice": row.numero_rejete,
                "step": step.value,
                "outcome": result.outcome.value,
                "message": result.message,
                "portal_messages": list(result.portal_messages),
                "before": result.before,
                "after": result.after,
            }
        )

    def _log_result(self, row: TransactionRow, result: StepResult) -> None:
        logger.log(
            "WARNING" if result.outcome is Outcome.BUSINESS_FAILURE else "INFO",
            "{} {} : {}{}",
            row.numero_rejete,
            result.step.value,
            result.outcome.value,
            f" — {result.message}" if result.message else "",
        )

    # -- retries ----------------------------------------------------------------------------
    def _with_retries(self, what: str, action: Callable[[], T]) -> T:
        """Run ``action``; on a system failure recover and try again, within the budget."""
        return with_retries(self.config, self.session, self.stopper, self._rng, what, action)
