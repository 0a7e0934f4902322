"""What a run ends with, rebuilt from the journal (the source of truth), for every worker
and across resumes: one :class:`TransactionOutcome` per plan row, and the exit code."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from robot.audit.rundir import RunDir
from robot.browser.recording import (
    ScreenshotNote,
    read_batch_traces,
    read_screenshot_notes,
    safe_name,
)
from robot.errors import EXIT_BUSINESS, EXIT_OK, EXIT_SYSTEM
from robot.run.identity import RunIdentity
from robot.run.journal import Journal, StepRow, TransactionRow
from robot.run.states import NEEDS_A_PERSON, UNFINISHED, State
from scenarios import Kind, Outcome, Step, StepResult


@dataclass
class TransactionOutcome:
    numero_rejete: str
    nouveau_numero: str
    state: State
    kind: Kind = Kind.REJECTED
    message: str = ""
    motif: str = ""
    commentaire: str = ""
    steps: list[StepResult] = field(default_factory=list)
    duration_s: float = 0.0
    server_s: float = 0.0
    new_status: str = ""
    correction: dict[str, str] = field(default_factory=dict)
    timeline: list[tuple[datetime, StepResult]] = field(default_factory=list)
    traces: list[Path] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)
    #: What each screenshot shows (when, which click, which address), by file name.
    shots: dict[str, ScreenshotNote] = field(default_factory=dict)
    #: The portal account (empty: the run's one account) and who finished the transaction.
    account: str = ""
    machine: str = ""

    @property
    def label(self) -> str:
        return self.state.label


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
    #: Who ran it and with what (None: not known, e.g. a result rebuilt for a test).
    identity: RunIdentity | None = None

    @property
    def exit_code(self) -> int:
        if self.error or self.stopped:
            return EXIT_SYSTEM
        return _code({t.state for t in self.transactions})


def _code(states: set[State]) -> int:
    if states & UNFINISHED:
        return EXIT_SYSTEM
    if states & NEEDS_A_PERSON:
        return EXIT_BUSINESS
    return EXIT_OK


def exit_code_of(rows: list[TransactionRow]) -> int:
    """A run's exit code from its transactions as the journal holds them."""
    return _code({row.state for row in rows})


def _step_result(row: StepRow) -> StepResult:
    return StepResult(
        Step(row.step),
        Outcome(row.outcome) if row.outcome else Outcome.SYSTEM_FAILURE,
        row.message if row.outcome else "Étape interrompue avant son résultat.",
        before=row.before,
        after=row.after,
        portal_messages=tuple(row.portal_messages),
    )


def _artifacts(folder: Path, numero: str, pattern: str) -> list[Path]:
    stem = safe_name(numero)
    found = (
        [p for p in folder.glob(pattern.format(stem=stem)) if p.is_file()]
        if folder.is_dir()
        else []
    )
    # The transaction's own trace (``<stem>.zip``) last, after its partial chunks.
    return sorted(found, key=lambda p: (p.stem == stem, p.name))


def _screenshots(layout: RunDir, numero: str, notes: dict[str, ScreenshotNote]) -> list[Path]:
    """The transaction's screenshots, in order: those its events name (an invoice whose
    number begins another's does not take the other's), else those its file names match."""
    mine = [n for n in notes.values() if n.shows(numero)]
    if mine:
        mine.sort(key=lambda n: (n.taken_at.timestamp() if n.taken_at else float("inf"), n.file))
        return [layout.root / n.file for n in mine if (layout.root / n.file).is_file()]
    return _artifacts(layout.screenshots, numero, "{stem}-*.jpg")


def outcomes_from_journal(journal: Journal, run_id: str, run_dir: Path) -> list[TransactionOutcome]:
    """Every plan row of ``run_id`` as the journal records it, with its files in ``run_dir``."""
    outcomes = []
    layout = RunDir(run_dir)
    notes = read_screenshot_notes(run_dir)
    batches = read_batch_traces(run_dir)
    for row in journal.transactions(run_id):
        steps = [s for s in journal.steps(row.id) if s.outcome or s.result_at is None]
        # Keep the last attempt of each step (earlier ones were retried).
        last: dict[str, StepRow] = {}
        for step in steps:
            last[step.step] = step
        results = [_step_result(s) for s in last.values()]
        timeline = [
            (datetime.fromisoformat(s.result_at or s.intent_at), _step_result(s)) for s in steps
        ]
        outcomes.append(
            TransactionOutcome(
                numero_rejete=row.numero_rejete,
                nouveau_numero=row.nouveau_numero,
                state=row.state,
                kind=Kind(row.correction.get("nature", Kind.REJECTED.value)),
                message=row.message,
                motif=row.motif,
                commentaire=row.commentaire,
                steps=results,
                duration_s=row.duration_s,
                server_s=row.server_s,
                new_status=row.new_invoice_status,
                correction={k: str(v) for k, v in row.correction.items()},
                timeline=timeline,
                traces=[
                    *(
                        layout.traces / name
                        for name in batches.get(row.numero_rejete, ())
                        if (layout.traces / name).is_file()
                    ),
                    *_artifacts(layout.traces, row.numero_rejete, "{stem}*.zip"),
                ],
                screenshots=_screenshots(layout, row.numero_rejete, notes),
                shots={Path(n.file).name: n for n in notes.values() if n.shows(row.numero_rejete)},
                account=row.account,
                machine=(row.machine or "") if row.account else "",
            )
        )
    return outcomes
