"""What the commands share: running a plan with a progress bar and printing its summary."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from robot.config import Config
from robot.journal import Journal
from robot.lock import RunLock
from robot.plan import Plan
from robot.portal import PortalTarget
from robot.rundir import RunDir
from robot.runner import Runner, RunResult, Stopper
from robot.bundle import finalize_bundle
from robot.summary import print_summary

# Not a terminal (cron, CI, a pipe): a wide table rather than one folded into 80 columns.
console = Console() if Console().is_terminal else Console(width=160)
err_console = Console(stderr=True)


def _install_signals(stopper: Stopper) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        err_console.print("\nArrêt demandé : fin de l'étape en cours, puis arrêt propre.")
        stopper.request()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def execute_plan(
    config: Config, portal: PortalTarget, plan: Plan, run_dir: RunDir, *, dry_run: bool
) -> RunResult:
    """Run ``plan`` with a progress bar; write ``summary.json``; print the table."""
    if plan.path.resolve().parent != run_dir.root.resolve():
        shutil.copy2(plan.path, run_dir.root / f"plan{plan.path.suffix}")
    journal_path = config.journal or config.output_dir / "journal.sqlite"
    with RunLock(journal_path, run_dir.run_id):  # LockHeld: the caller exits 4
        return _execute_locked(config, portal, plan, run_dir, journal_path, dry_run=dry_run)


def _execute_locked(
    config: Config,
    portal: PortalTarget,
    plan: Plan,
    run_dir: RunDir,
    journal_path: Path,
    *,
    dry_run: bool,
) -> RunResult:
    journal = Journal(journal_path)
    stopper = Stopper()
    _install_signals(stopper)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    task = progress.add_task("Factures", total=None)
    try:
        with progress:
            runner = Runner(
                config,
                portal,
                run_dir,
                journal,
                stopper=stopper,
                on_total=lambda n: progress.update(task, total=n),
                on_progress=lambda t: progress.update(
                    task, advance=1, description=f"Factures ({t.numero_rejete} : {t.label})"
                ),
            )
            result = runner.run(plan, dry_run=dry_run)
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


