"""What the commands share: running a plan with a progress bar and printing its summary."""

from __future__ import annotations

import multiprocessing
import shutil
import signal
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from robot.audit.rundir import RunDir
from robot.config import Config
from robot.plan import Plan
from robot.portal import PortalTarget
from robot.run.bundle import finalize_bundle
from robot.run.journal import Journal, journal_target, open_journal
from robot.run.lock import RunLock
from robot.run.outcomes import RunResult
from robot.run.runner import Runner
from robot.run.stopper import Stopper
from robot.run.summary import print_summary

# Not a terminal (cron, CI, a pipe): a wide table rather than one folded into 80 columns.
console = Console() if Console().is_terminal else Console(width=160)
err_console = Console(stderr=True)


def run_lock(config: Config, run_id: str) -> AbstractContextManager[object]:
    """One run at a time on a journal file (exit 4 otherwise); a PostgreSQL journal is made to
    be shared by several runs and machines, and needs no such lock."""
    target = journal_target(config)
    return RunLock(target, run_id) if isinstance(target, Path) else nullcontext()


@contextmanager
def stop_on_signals(stopper: Stopper) -> Iterator[None]:
    """SIGINT/SIGTERM ask for a clean stop (the current step ends and is journaled)."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        err_console.print("\nArrêt demandé : fin de l'étape en cours, puis arrêt propre.")
        stopper.request()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def execute_plan(
    config: Config,
    portal: PortalTarget,
    plan: Plan,
    run_dir: RunDir,
    *,
    dry_run: bool,
    workers: int = 1,
    resume: bool = False,
) -> RunResult:
    """Run ``plan`` with a progress bar; seal the audit bundle; print the table.

    Raises :class:`robot.run.lock.LockHeld` when another run holds the journal (exit 4).
    """
    copy = run_dir.plan_copy(plan.path.suffix)
    if not copy.exists():
        shutil.copy2(plan.path, copy)
    with run_lock(config, run_dir.run_id):
        journal = open_journal(config)
        try:
            result = _run_with_progress(
                config, portal, plan, run_dir, journal, dry_run, workers, resume
            )
        finally:
            journal.close()
    hits = finalize_bundle(run_dir.root, result, config, portal)
    if hits:
        err_console.print(
            "[red]Attention : des valeurs secrètes restent dans le dossier du run :[/red] "
            + ", ".join(hits)
        )
    print_summary(console, result)
    return result


def _run_with_progress(
    config: Config,
    portal: PortalTarget,
    plan: Plan,
    run_dir: RunDir,
    journal: Journal,
    dry_run: bool,
    workers: int,
    resume: bool,
) -> RunResult:
    stopper = Stopper(multiprocessing.get_context("spawn").Event())
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    task = progress.add_task("Factures", total=None)
    with stop_on_signals(stopper), progress:
        runner = Runner(
            config,
            portal,
            run_dir,
            journal,
            workers=workers,
            stopper=stopper,
            on_total=lambda n: progress.update(task, total=n),
            on_progress=lambda numero, state: progress.update(
                task,
                advance=1,
                description=f"Factures ({numero} : {state.label})",
            ),
        )
        return runner.run(plan, dry_run=dry_run, resume=resume)
