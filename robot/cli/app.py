"""``chorus-robot``: the command line. French for users.

Exit codes (:mod:`robot.errors`, the one place that maps errors to them): 0 every transaction
done; 1 some need a person; 2 refused before starting (usage, configuration, plan) — nothing
touched; 3 system failure, or any unexpected error; 4 another run holds the lock. Whatever
ends a command, the user reads one French line, never a traceback (it goes to ``run.log``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from loguru import logger

from robot.accounts import Accounts
from robot.audit.rundir import RunDir
from robot.cli.audit import audit_app
from robot.cli.common import console, err_console, execute_plan, run_lock
from robot.cli.french import FrenchCommand, FrenchGroup
from robot.cli.queue import (
    accounts_for,
    enqueue_plan,
    finish_queued,
    print_status,
    refuse_queued,
    run_through_queue,
    seal_by_hand,
    status_data,
    status_json,
    uses_queue,
    work_queue,
)
from robot.config import Config, ConfigError, load_config
from robot.errors import EXIT_LOCKED, EXIT_REFUSED, EXIT_SYSTEM, exit_code_for, first_line
from robot.logs import configure_logging
from robot.plan import Plan, PlanError, check_accounts, load_plan
from robot.portal import open_portal
from robot.run.journal import AlreadyQueued, journal_target, open_journal
from robot.run.lock import LockHeld
from robot.run.notify import notify

app = typer.Typer(
    cls=FrenchGroup,
    name="chorus-robot",
    help="Robot de traitement des factures rejetées sur Chorus Pro.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(audit_app, name="audit", help="Vérifier ou rejouer le dossier d'audit d'un run.")


#: Options several commands share, declared once.
WorkersOption = Annotated[
    int | None,
    typer.Option("--workers", min=1, max=16, help="Navigateurs en parallèle (CHORUS_WORKERS)."),
]
LinesOption = Annotated[
    Path | None,
    typer.Option(
        "--lignes",
        metavar="FICHIER",
        help="Lignes des nouvelles factures (CSV ou JSON), une ligne par ligne de facture.",
        show_default=False,
    ),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Tout faire sauf modifier le portail.")
]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Journal à l'écran.")]


def _refuse(title: str, problems: list[str]) -> typer.Exit:
    err_console.print(f"[bold red]{title}[/bold red] (rien n'a été envoyé au portail) :")
    for problem in problems:
        err_console.print(f"  • {problem}", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_REFUSED)


def _config() -> Config:
    try:
        config = load_config()
    except ConfigError as exc:
        raise _refuse("Configuration invalide", list(exc.problems)) from None
    if config.audit_signing_key is not None:
        # A key that cannot sign is found now, not at the end of the run.
        from robot.audit.signing import SigningKeyError, load_private_key

        try:
            load_private_key(config.audit_signing_key)
        except SigningKeyError as exc:
            raise _refuse("Configuration invalide", [f"CHORUS_AUDIT_SIGNING_KEY : {exc}"]) from None
    return config


def _plan(path: Path, base_dir: Path | None = None, lines: Path | None = None) -> Plan:
    try:
        return load_plan(path, lines=lines, base_dir=base_dir)
    except PlanError as exc:
        raise _refuse(
            f"Plan refusé : {len(exc.issues)} erreur(s)",
            [str(issue) for issue in exc.issues],
        ) from None
    except OSError as exc:
        raise _refuse("Plan illisible", [f"{path} : {exc.strerror or exc}"]) from None


@app.command(cls=FrenchCommand)
def run(
    plan: Annotated[
        Path | None,
        typer.Option("--plan", help="Plan de corrections (CSV ou JSON).", show_default=False),
    ] = None,
    lignes: LinesOption = None,
    workers: WorkersOption = None,
    dry_run: DryRunOption = False,
    resume: Annotated[
        Path | None,
        typer.Option(
            "--resume", help="Reprendre un run interrompu (son dossier).", show_default=False
        ),
    ] = None,
    verbose: VerboseOption = False,
) -> None:
    """Exécuter un plan : acquitter, traiter le rejet et réémettre chaque facture."""
    config = _config()
    if (plan is None) == (resume is None):
        raise _refuse(
            "Arguments invalides", ["indiquez soit --plan FICHIER, soit --resume DOSSIER_DU_RUN"]
        )
    if resume is None:
        assert plan is not None
        corrections = _plan(plan, lines=lignes)
        if uses_queue(config, corrections):
            raise typer.Exit(_run_queued(config, corrections, workers, dry_run, verbose))
    if resume is not None and uses_queue(config):
        raise typer.Exit(_resume_queued(config, resume, workers, verbose))
    if resume is not None:
        run_dir, corrections, dry_run = _resumable(config, resume, dry_run, lignes)
    else:
        _check_lock(config)
        run_dir = RunDir.create(config.output_dir)
    configure_logging(run_dir.log, verbose=verbose)
    console.print(f"Run {run_dir.run_id} — dossier : {run_dir.root}")
    portal = open_portal(config)
    try:
        result = execute_plan(
            config,
            portal,
            corrections,
            run_dir,
            dry_run=dry_run,
            workers=workers or config.workers,
            resume=resume is not None,
        )
    except LockHeld as exc:
        err_console.print(f"[red]{exc}[/red] Rien n'a été fait.")
        raise typer.Exit(EXIT_LOCKED) from None
    finally:
        portal.close()
    notify(config, run_dir.root)
    raise typer.Exit(result.exit_code)


def _run_queued(
    config: Config, plan: Plan, workers: int | None, dry_run: bool, verbose: bool
) -> int:
    """``run`` through the shared queue (PostgreSQL, or several accounts)."""
    try:
        accounts = accounts_for(config)
        check_accounts(plan, accounts)
    except ConfigError as exc:
        raise _refuse("Configuration invalide", list(exc.problems)) from None
    except PlanError as exc:
        raise _refuse(
            f"Plan refusé : {len(exc.issues)} erreur(s)", [str(i) for i in exc.issues]
        ) from None
    configure_logging(None, verbose=verbose)
    with run_lock(config, "file d'attente"):
        portal = open_portal(config)
        try:
            code = run_through_queue(
                config, portal, plan, workers=workers or config.workers, dry_run=dry_run
            )
        except PlanError as exc:
            raise _refuse(
                f"Plan refusé : {len(exc.issues)} erreur(s)", [str(i) for i in exc.issues]
            ) from None
        finally:
            portal.close()
    return code


def _resume_queued(config: Config, folder: Path, workers: int | None, verbose: bool) -> int:
    """``run --resume`` of a queued run: open it again (each transaction gets its retries
    back), then work it on this machine."""
    run_id = RunDir(folder.resolve()).run_id
    try:
        accounts = accounts_for(config)
    except ConfigError as exc:
        raise _refuse("Configuration invalide", list(exc.problems)) from None
    journal = open_journal(config)
    try:
        if journal.run(run_id) is None:
            raise _refuse(
                "Reprise impossible",
                [f"{folder} : run inconnu du journal {journal_target(config)}"],
            )
        journal.reopen_run(run_id)
    finally:
        journal.close()
    console.print(f"Reprise du run {run_id}", highlight=False)
    code = _work_here(config, accounts, workers, run_id, follow=False, verbose=verbose)
    return finish_queued(config, run_id, code)


def _work_here(
    config: Config,
    accounts: Accounts,
    workers: int | None,
    run_id: str | None,
    *,
    follow: bool,
    verbose: bool,
) -> int:
    """Worker processes on this machine, on the configured portal, until they end."""
    configure_logging(None, verbose=verbose)
    portal = open_portal(config)
    try:
        return work_queue(
            config,
            portal,
            accounts,
            workers=workers or config.workers,
            run_id=run_id,
            follow=follow,
            progress_run=run_id,
        )
    finally:
        portal.close()


@app.command(cls=FrenchCommand)
def enqueue(
    plan: Annotated[
        Path, typer.Option("--plan", help="Plan de corrections (CSV ou JSON).", show_default=False)
    ],
    lignes: LinesOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Mettre un plan en file d'attente dans le journal (sans navigateur) ; affiche le run."""
    config = _config()
    corrections = _plan(plan, lines=lignes)
    try:
        accounts = accounts_for(config)
        enqueued = enqueue_plan(config, corrections, accounts, dry_run=dry_run)
    except ConfigError as exc:
        raise _refuse("Configuration invalide", list(exc.problems)) from None
    except PlanError as exc:
        raise _refuse(
            f"Plan refusé : {len(exc.issues)} erreur(s)", [str(i) for i in exc.issues]
        ) from None
    except AlreadyQueued as exc:
        raise refuse_queued(exc) from None
    console.print(
        f"{len(corrections)} facture(s) en file d'attente — dossier : {enqueued.run_dir.root}",
        highlight=False,
        soft_wrap=True,
    )
    console.print(enqueued.run_id, highlight=False)
    raise typer.Exit(0)


@app.command(cls=FrenchCommand)
def worker(
    run_id: Annotated[
        str | None,
        typer.Option(
            "--run",
            help="Ne traiter que ce run (sinon : tous les runs ouverts).",
            show_default=False,
        ),
    ] = None,
    workers: WorkersOption = None,
    follow: Annotated[
        bool, typer.Option("--follow", help="Attendre de nouveaux runs (arrêt propre sur SIGTERM).")
    ] = False,
    verbose: VerboseOption = False,
) -> None:
    """Traiter les factures en file d'attente, sur cette machine (autant de machines que voulu)."""
    config = _config()
    try:
        accounts = accounts_for(config)
    except ConfigError as exc:
        raise _refuse("Configuration invalide", list(exc.problems)) from None
    if run_id is not None:
        journal = open_journal(config)
        try:
            known = journal.run(run_id)
        finally:
            journal.close()
        if known is None:
            raise _refuse(
                "Run inconnu", [f"--run {run_id} : absent du journal {journal_target(config)}"]
            )
        if known.ended_at is not None:
            console.print(f"Le run {run_id} est déjà terminé (code {known.exit_code}).")
            raise typer.Exit(known.exit_code or 0)
    code = _work_here(config, accounts, workers, run_id, follow=follow, verbose=verbose)
    console.print(f"Travailleurs arrêtés (code {code}).")
    raise typer.Exit(code)


@app.command(cls=FrenchCommand)
def status(
    run_id: Annotated[
        str | None,
        typer.Argument(help="Identifiant du run (sinon : les runs ouverts).", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Sortie JSON.")] = False,
) -> None:
    """Avancement des runs d'après le journal : par état et par compte, qui travaille sur quoi."""
    config = _config()
    journal = open_journal(config)
    try:
        data = status_data(journal, run_id)
    finally:
        journal.close()
    if run_id is not None and not data["runs"]:
        raise _refuse("Run inconnu", [f"{run_id} : absent du journal {journal_target(config)}"])
    if as_json:
        typer.echo(status_json(data))
    else:
        print_status(data)
    raise typer.Exit(0)


@audit_app.command("seal", cls=FrenchCommand)
def audit_seal(
    run_dir: Annotated[
        Path,
        typer.Argument(help="Dossier du run (ex. runs/20261127-103000-a1b2).", show_default=False),
    ],
) -> None:
    """Sceller à la main le dossier d'un run terminé (rapport, manifeste)."""
    config = _config()
    if not run_dir.is_dir():
        raise _refuse("Dossier introuvable", [str(run_dir)])
    raise typer.Exit(seal_by_hand(config, run_dir))


def _check_lock(config: Config) -> None:
    """Refuse at once (exit 4) when another run holds the journal, before anything else."""
    try:
        with run_lock(config, "vérification"):
            pass
    except LockHeld as exc:
        err_console.print(f"[red]{exc}[/red] Rien n'a été fait.")
        raise typer.Exit(EXIT_LOCKED) from None


def _resumable(
    config: Config, folder: Path, dry_run: bool, lines: Path | None = None
) -> tuple[RunDir, Plan, bool]:
    """The run folder to resume, its plan and its mode, or a refusal (exit 2)."""
    run_dir = RunDir(folder.resolve())
    plans = run_dir.plan_copies()
    if not plans:
        raise _refuse(
            "Reprise impossible", [f"{folder} : ce n'est pas le dossier d'un run (plan absent)"]
        )
    journal = open_journal(config)
    try:
        recorded = journal.run(run_dir.run_id)
    finally:
        journal.close()
    if recorded is None:
        raise _refuse(
            "Reprise impossible",
            [f"{folder} : run inconnu du journal {journal_target(config)}"],
        )
    _check_lock(config)
    # The copy is read with the original plan's folder: its attachments are named from there.
    plan = _plan(plans[0], Path(recorded.plan_path).parent, lines)
    return run_dir, plan, recorded.dry_run or dry_run


@app.command("synthese", cls=FrenchCommand)
def synthese(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Écrire un modèle de plan à compléter (CSV ou JSON)."),
    ] = None,
    verbose: VerboseOption = False,
) -> None:
    """Lister les factures à traiter (rejetées, suspendues, à recycler) et écrire un plan."""
    from robot.cli.listing import list_rejections

    config = _config()
    if out is not None and out.suffix.lower() not in {".csv", ".json"}:
        raise _refuse("Argument invalide", [f"--out {out} : extension .csv ou .json attendue"])
    configure_logging(None, verbose=verbose)
    portal = open_portal(config)
    try:
        code = list_rejections(config, portal, console, out)
    finally:
        portal.close()
    raise typer.Exit(code)


# The command's first name, kept working for scripts written before « synthese ».
app.command("rejections", cls=FrenchCommand, hidden=True)(synthese)


@app.command(cls=FrenchCommand)
def demo(
    count: Annotated[
        int, typer.Option("--factures", min=1, max=200, help="Nombre de factures rejetées.")
    ] = 8,
    verbose: VerboseOption = False,
) -> None:
    """Démonstration complète sur le bac à sable intégré."""
    from robot.cli.demo import run_demo

    config = _config()
    raise typer.Exit(run_demo(config, console, count=count, verbose=verbose))


@app.command("check-portal", cls=FrenchCommand)
def check_portal(
    verbose: VerboseOption = False,
) -> None:
    """Vérifier, sans rien modifier, que chaque écran du portail est celui que le robot connaît."""
    from datetime import datetime

    from playwright.sync_api import Error as PlaywrightError

    from robot.browser.launch import settings_for
    from robot.browser.session import WorkSession
    from robot.cli.check import check_session, render_table
    from robot.timezone import PARIS
    from scenarios.preflight import mismatches

    config = _config()
    configure_logging(None, verbose=verbose)
    folder = config.output_dir / f"check-portal-{datetime.now(PARIS):%Y%m%d-%H%M%S}"
    portal = open_portal(config)
    origins: list[str] = []
    try:
        with WorkSession(portal, settings_for(config)) as session:
            rows = check_session(session, screenshot_dir=folder, origins=origins)
    except PlaywrightError as exc:
        reason = (str(exc).strip().splitlines() or ["erreur du navigateur"])[0]
        err_console.print(f"[red]Vérification impossible : {reason}[/red]", highlight=False)
        raise typer.Exit(EXIT_SYSTEM) from None
    finally:
        portal.close()
    console.print(render_table(rows))
    console.print(
        f"Origines visitées ({len(origins)}) : {', '.join(origins)}", markup=False, highlight=False
    )
    problems = mismatches(rows)
    if problems:
        err_console.print(f"[bold red]Le portail a changé : {len(problems)} écart(s)[/bold red]")
        for problem in problems:
            err_console.print(f"  • {problem}", markup=False, highlight=False, soft_wrap=True)
        err_console.print(
            f"Captures d'écran : {folder}", markup=False, highlight=False, soft_wrap=True
        )
        raise typer.Exit(EXIT_SYSTEM)
    console.print(f"Le portail {portal.url} correspond aux écrans connus du robot.")
    raise typer.Exit(0)


@app.command(
    "suivi",
    cls=FrenchCommand,
    help=(
        "Suivre, sans rien modifier sur le portail, les factures envoyées par un run.\n\n"
        "Pour chaque facture terminée du run (la nouvelle facture d'une facture rejetée, la "
        "même facture pour une facture suspendue ou à recycler) : son statut actuel, et le "
        "motif si elle a de nouveau été renvoyée. Écrit suivi.csv dans le dossier du run, "
        "ajoute la section « Suivi » au rapport et scelle de nouveau le dossier d'audit.\n\n"
        "Code de sortie : 0 si chaque facture est au moins « Mise à disposition du "
        "destinataire » (ou un statut suivant) ou « Complétée », ou encore en cours "
        "(« Déposée », « En cours d'acheminement » : ce n'est pas un échec, relancez le suivi "
        "plus tard) ; 1 si une facture est de nouveau « Rejetée », « Suspendue » ou « À "
        "recycler », ou introuvable ; 2 si le dossier n'est pas celui d'un run terminé et "
        "intact ; 3 si le portail a échoué."
    ),
)
def suivi(
    run_dir: Annotated[
        Path,
        typer.Argument(help="Dossier du run (ex. runs/20261127-103000-a1b2).", show_default=False),
    ],
    verbose: VerboseOption = False,
) -> None:
    """Suivre les factures envoyées par un run (lecture seule sur le portail)."""
    from robot.cli.suivi import follow_run

    config = _config()
    raise typer.Exit(follow_run(config, run_dir, verbose=verbose))


def main() -> None:
    """Console-script entry point: the error contract's last line of defence."""
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("Interrompu.")
        sys.exit(EXIT_SYSTEM)
    except Exception as exc:
        # Whatever a command let through: one French line here, the traceback in the log
        # (run.log when the command has a run folder).
        logger.opt(exception=exc).error("Arrêt sur erreur : {}", first_line(exc))
        err_console.print(
            f"[bold red]Arrêt du robot :[/bold red] {first_line(exc)}", highlight=False
        )
        sys.exit(exit_code_for(exc))
    finally:
        logger.remove()
