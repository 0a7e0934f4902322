"""The shared queue's commands: ``enqueue``, ``worker``, ``status``, ``audit seal``, and the
way ``run`` goes through the queue on PostgreSQL or with several accounts.

``enqueue`` records a run and its transactions in the journal (no browser: any machine can do
it); ``worker``, on as many machines as needed, claims and carries them
(:mod:`robot.run.fleet`); ``status`` reads the journal. The run's folder is
``<CHORUS_OUTPUT_DIR>/<run id>`` on every machine: on a shared folder, one bundle per run,
sealed by the worker that ends the run (or by ``audit seal``).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import shutil
import socket
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from robot.accounts import Account, Accounts, load_accounts
from robot.audit import EventLog
from robot.audit.rundir import RunDir, new_run_id
from robot.cli.common import console, err_console, stop_on_signals
from robot.config import Config
from robot.errors import EXIT_LOCKED, EXIT_REFUSED, EXIT_SYSTEM
from robot.plan import Plan, PlanError, PlanIssue, check_accounts
from robot.portal import PortalTarget
from robot.run.bundle import seal_run
from robot.run.fleet import MAX_FAILURES, PortalSpec, StoredPlan, start_fleet
from robot.run.identity import RunIdentity
from robot.run.journal import AlreadyQueued, Journal, QueueItem, machine_id, open_journal
from robot.run.outcomes import RunResult, exit_code_of, outcomes_from_journal
from robot.run.states import State
from robot.run.stopper import Stopper
from robot.run.summary import print_summary
from robot.run.worker import correction_text
from robot.timezone import PARIS

#: What the journal records as the portal of a run enqueued for the embedded sandbox.
EMBEDDED_PORTAL = "bac à sable intégré"


def uses_queue(config: Config, plan: Plan | None = None) -> bool:
    """Whether ``run`` goes through the shared queue: a PostgreSQL journal, an accounts file,
    or a plan naming accounts. Otherwise a run stays the single-machine one (collect, then
    carry, in this process), with its lock on the journal file."""
    named = plan is not None and any(c.compte for c in plan.corrections)
    return config.journal_url is not None or config.accounts_file is not None or named


def default_account(config: Config, portal: PortalTarget | None = None) -> Account | None:
    """``CHORUS_LOGIN``'s account, or the embedded sandbox's own (known without starting it)."""
    if portal is not None:
        return Account(portal.identifiant, portal.password, None, config.max_sessions)
    if config.login is not None and config.password is not None:
        return Account(config.login, config.password, None, config.max_sessions)
    if config.portal_url is None:
        from robot.secrets import Secret
        from sandbox.settings import SandboxOptions  # the robot's embedded default only

        options = SandboxOptions.from_env()
        return Account(options.user, Secret(options.password), None, config.max_sessions)
    return None


def accounts_for(config: Config, portal: PortalTarget | None = None) -> Accounts:
    """Every account this machine knows (raises ConfigError: exit 2)."""
    return load_accounts(config, default=default_account(config, portal))


@dataclass(frozen=True)
class Enqueued:
    run_id: str
    run_dir: RunDir


def enqueue_plan(config: Config, plan: Plan, accounts: Accounts, *, dry_run: bool) -> Enqueued:
    """Record ``plan`` as a new run in the journal, with its folder.

    Raises PlanError (a row's account unknown, or one number under two accounts: exit 2) and
    AlreadyQueued (an invoice already in an open run: exit 4), before anything is written.
    """
    check_accounts(plan, accounts)
    _check_numbers(plan)
    run_id = new_run_id()
    data = plan.path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    items = []
    for correction in plan.corrections:
        account = accounts.get(correction.compte)
        assert account is not None  # checked above
        items.append(
            QueueItem(
                account.key,
                correction.numero_rejete,
                correction.nouveau_numero,
                correction_text(correction),
            )
        )
    run_dir = RunDir(config.output_dir / run_id)
    journal = open_journal(config)
    try:
        journal.enqueue(
            run_id,
            plan_path=plan.path.resolve(),
            plan_sha256=sha,
            plan_text=StoredPlan.of(plan).text(),
            portal_url=config.portal_url or EMBEDDED_PORTAL,
            dry_run=dry_run,
            run_dir=run_dir.root.resolve(),
            items=items,
        )
    finally:
        journal.close()
    run_dir.root.mkdir(parents=True, exist_ok=True)
    copy = run_dir.plan_copy(plan.path.suffix)
    if not copy.exists():
        shutil.copy2(plan.path, copy)
    EventLog(run_dir.events).append(
        {
            "type": "run_start",
            "worker": "enqueue",
            "machine": machine_id("enqueue"),
            "run_id": run_id,
            "portal": config.portal_url or EMBEDDED_PORTAL,
            "dry_run": dry_run,
            "plan": plan.path.name,
            "plan_sha256": sha,
            "comptes": sorted({item.account for item in items}),
            "transactions": len(items),
            **RunIdentity.here(
                tuple(sorted({item.account for item in items})),
                sha,
                config.portal_url or "",
                embedded=config.portal_url is None,
            ).as_record(),
        }
    )
    return Enqueued(run_id, run_dir)


def _check_numbers(plan: Plan) -> None:
    """One invoice number per plan: the run's files are named after the numbers."""
    first: dict[str, int] = {}
    issues = []
    for correction in plan.corrections:
        key = correction.numero_rejete.casefold()
        if key in first:
            issues.append(
                PlanIssue(
                    str(plan.path),
                    correction.source_line,
                    "numero_rejete",
                    f"le numéro {correction.numero_rejete} figure déjà ligne {first[key]} "
                    "(pour un autre compte) : un plan par compte quand deux comptes ont les "
                    "mêmes numéros",
                )
            )
        else:
            first[key] = correction.source_line
    if issues:
        raise PlanError(issues)


def refuse_queued(exc: AlreadyQueued) -> typer.Exit:
    err_console.print(f"[red]{exc}[/red] Rien n'a été fait.", highlight=False)
    return typer.Exit(EXIT_LOCKED)


# -- working the queue -----------------------------------------------------------------------
def work_queue(
    config: Config,
    portal: PortalTarget,
    accounts: Accounts,
    *,
    workers: int,
    run_id: str | None,
    follow: bool,
    progress_run: str | None = None,
) -> int:
    """Start ``workers`` worker processes on this machine and wait for them; their exit code
    (0 the runs they worked are done, 1 some need a person, 3 a system failure or a stop)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    stopper = Stopper(multiprocessing.get_context("spawn").Event())  # shared with the workers
    spec = PortalSpec(portal.url, portal.embedded, portal.maildir)
    journal = open_journal(config)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
        disable=progress_run is None,
    )
    try:
        with stop_on_signals(stopper), progress:
            task = progress.add_task("Factures", total=None)
            fleet = start_fleet(
                config,
                journal.target,
                spec,
                tuple(accounts),
                stopper,
                count=workers,
                run_id=run_id,
                follow=follow,
                seed=config.retry_seed,
            )
            console.print(
                f"{workers} travailleur(s) sur {socket.gethostname()} "
                f"({'run ' + run_id if run_id else 'tous les runs ouverts'})",
                highlight=False,
            )
            while fleet.alive():
                fleet.join(0.5)  # wait for a state: a worker ending
                if progress_run is not None:
                    rows = journal.transactions(progress_run)
                    progress.update(
                        task, total=len(rows), completed=sum(1 for r in rows if r.state.final)
                    )
            return fleet.exit_code()
    finally:
        journal.close()


def queued_result(config: Config, run_id: str) -> RunResult | None:
    """A queued run as it stands in the journal, for the summary table."""
    from datetime import datetime

    journal = open_journal(config)
    try:
        row = journal.run(run_id)
        if row is None:
            return None
        run_dir = config.output_dir / run_id
        return RunResult(
            run_id=run_id,
            run_dir=run_dir,
            portal_url=row.portal_url,
            dry_run=row.dry_run,
            started_at=datetime.fromisoformat(row.started_at).astimezone(PARIS),
            ended_at=(
                datetime.fromisoformat(row.ended_at).astimezone(PARIS) if row.ended_at else None
            ),
            transactions=outcomes_from_journal(journal, run_id, run_dir),
            stopped=row.ended_at is None,
        )
    finally:
        journal.close()


def run_through_queue(
    config: Config, portal: PortalTarget, plan: Plan, *, workers: int, dry_run: bool
) -> int:
    """``run`` on the shared queue: enqueue the plan, carry it on this machine, print it."""
    accounts = accounts_for(config, portal)
    try:
        enqueued = enqueue_plan(config, plan, accounts, dry_run=dry_run)
    except AlreadyQueued as exc:
        raise refuse_queued(exc) from None
    console.print(f"Run {enqueued.run_id} — dossier : {enqueued.run_dir.root}", highlight=False)
    code = work_queue(
        config,
        portal,
        accounts,
        workers=workers,
        run_id=enqueued.run_id,
        follow=False,
        progress_run=enqueued.run_id,
    )
    return finish_queued(config, enqueued.run_id, code)


def finish_queued(config: Config, run_id: str, workers_code: int) -> int:
    """After this machine's workers stopped: the run's table, its notifications when it
    ended, and its exit code (3 when it has not ended: stopped, or left unfinished)."""
    result = queued_result(config, run_id)
    if result is None:
        return max(workers_code, EXIT_SYSTEM)
    print_summary(console, result)
    if result.ended_at is None:
        return max(workers_code, EXIT_SYSTEM)
    return result.exit_code


# -- status ---------------------------------------------------------------------------------
def status_data(journal: Journal, run_id: str | None) -> dict[str, Any]:
    """What ``status`` shows, as plain data (``--json``)."""
    now = time.time()
    if run_id is not None:
        found = journal.run(run_id)
        runs = [found] if found is not None else []
    else:
        runs = journal.open_runs()
    shown = []
    for run in runs:
        rows = journal.transactions(run.id)
        by_state = Counter(row.state.value for row in rows)
        by_account: dict[str, Counter[str]] = {}
        for row in rows:
            by_account.setdefault(row.account or "(compte par défaut)", Counter())[
                row.state.value
            ] += 1
        working = [
            {
                "facture": row.numero_rejete,
                "compte": row.account,
                "machine": row.machine,
                "bail_restant_s": round(row.lease_until - now, 1),
                "expire_bientot": row.lease_until - now < journal.lease_s / 3,
            }
            for row in rows
            if row.state is State.CLAIMED and row.lease_until is not None
        ]
        shown.append(
            {
                "run_id": run.id,
                "ouvert": run.ended_at is None,
                "debut": run.started_at,
                "fin": run.ended_at,
                "code_de_sortie": run.exit_code,
                "scelle": getattr(run, "sealed_at", None),
                "transactions": len(rows),
                "par_etat": dict(sorted(by_state.items())),
                "par_compte": {
                    account: dict(sorted(counts.items()))
                    for account, counts in sorted(by_account.items())
                },
                "en_cours": working,
                "abandonnees": sum(
                    1
                    for row in rows
                    if row.state is State.PENDING and getattr(row, "failures", 0) >= MAX_FAILURES
                ),
            }
        )
    slots = [
        {
            "compte": slot.account,
            "creneau": slot.number,
            "machine": slot.machine,
            "bail_restant_s": round(slot.lease_until - now, 1),
        }
        for slot in journal.all_session_slots()
    ]
    return {"journal": journal.backend, "runs": shown, "sessions": slots}


def print_status(data: dict[str, Any]) -> None:
    if not data["runs"]:
        console.print("Aucun run ouvert dans le journal.")
    for run in data["runs"]:
        state = "ouvert" if run["ouvert"] else f"terminé (code {run['code_de_sortie']})"
        console.print(
            f"[bold]Run {run['run_id']}[/bold] — {state} — {run['transactions']} facture(s)",
            highlight=False,
        )
        table = Table("Compte", *(s.label for s in State))
        for account, counts in run["par_compte"].items():
            table.add_row(account, *(str(counts.get(s.value, 0)) for s in State))
        console.print(table)
        for work in run["en_cours"]:
            warn = " [red](expire bientôt)[/red]" if work["expire_bientot"] else ""
            console.print(
                f"  {work['facture']} ({work['compte']}) : {work['machine']}, bail "
                f"{work['bail_restant_s']} s{warn}",
                highlight=False,
            )
        if run["abandonnees"]:
            console.print(
                f"  {run['abandonnees']} facture(s) laissée(s) après {MAX_FAILURES} échecs "
                "techniques : reprise avec « run --resume »",
                highlight=False,
            )
    if data["sessions"]:
        console.print("Sessions ouvertes sur le portail :")
        for slot in data["sessions"]:
            console.print(
                f"  {slot['compte']} n°{slot['creneau']} : {slot['machine']} "
                f"(bail {slot['bail_restant_s']} s)",
                highlight=False,
            )


def status_json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


# -- audit seal ------------------------------------------------------------------------------
def seal_by_hand(config: Config, folder: Path) -> int:
    """``audit seal RUN_DIR``: end the run in the journal if it is complete, and seal it."""
    run_dir = RunDir(folder.resolve())
    journal = open_journal(config)
    try:
        row = journal.run(run_dir.run_id)
        if row is None:
            err_console.print(f"{folder} : run inconnu du journal.", highlight=False)
            return EXIT_REFUSED
        if row.ended_at is None:
            code = journal.end_run_if_complete(row.id, exit_code_of, max_failures=MAX_FAILURES)
            if code is None:
                err_console.print(
                    f"Le run {row.id} n'est pas terminé : des factures sont encore en cours ou "
                    "à traiter (chorus-robot status). Rien n'a été scellé.",
                    highlight=False,
                )
                return EXIT_REFUSED
        hits = seal_run(config, journal, row.id, run_dir.root, machine_id("audit-seal"))
    finally:
        journal.close()
    if hits:
        err_console.print(f"[red]Valeurs secrètes restées : {', '.join(hits)}[/red]")
        return EXIT_SYSTEM
    console.print(f"Dossier d'audit scellé : {run_dir.root}", highlight=False)
    return 0
