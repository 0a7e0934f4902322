"""What a run ends with, rebuilt from the journal (the source of truth), for every worker
and across resumes: one :class:`TransactionOutcome` per plan row, and the exit code."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from robot.audit.rundir import RunDir
from robot.browser.recording import safe_name
from robot.errors import EXIT_BUSINESS, EXIT_OK, EXIT_SYSTEM
from robot.run.journal import Journal, StepRow
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

    @property
    def exit_code(self) -> int:
        states = {t.state for t in self.transactions}
        if self.error or self.stopped or states & UNFINISHED:
            return EXIT_SYSTEM
        if states & NEEDS_A_PERSON:
            return EXIT_BUSINESS
        return EXIT_OK


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


def outcomes_from_journal(journal: Journal, run_id: str, run_dir: Path) -> list[TransactionOutcome]:
    """Every plan row of ``run_id`` as the journal records it, with its files in ``run_dir``."""
    outcomes = []
    layout = RunDir(run_dir)
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
                traces=_artifacts(layout.traces, row.numero_rejete, "{stem}*.zip"),
                screenshots=_artifacts(
                    RunDir(run_dir).screenshots, row.numero_rejete, "{stem}-*.jpg"
                ),
            )
        )
    return outcomes
