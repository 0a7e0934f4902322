"""``chorus-robot audit``: check a bundle's integrity, open its traces.

``verify RUN_DIR`` exits 0 when the bundle is intact, 1 when anything is missing, extra or
altered, 2 when the folder does not exist. ``show RUN_DIR [--invoice NUMBER]`` opens the
Playwright trace viewer, or prints the command when there is no display.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from robot.audit.manifest import is_signed, verify_bundle
from robot.audit.rundir import RunDir
from robot.cli.french import FrenchCommand, FrenchGroup

EXIT_INTACT = 0
EXIT_ALTERED = 1
EXIT_USAGE = 2
KEY_VARIABLE = "CHORUS_AUDIT_KEY"

audit_app = typer.Typer(
    cls=FrenchGroup,
    name="audit",
    help="Vérifier un dossier d'audit et rejouer ses traces.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

RunDirArgument = Annotated[
    Path, typer.Argument(help="Dossier du run (ex. runs/20261127-103000-a1b2).", show_default=False)
]


def _require_dir(run_dir: Path) -> None:
    if not run_dir.is_dir():
        typer.echo(f"Dossier de run introuvable : {run_dir}", err=True)
        raise typer.Exit(EXIT_USAGE)


def _key() -> bytes | None:
    value = os.environ.get(KEY_VARIABLE, "")
    return value.encode("utf-8") if value else None


@audit_app.command(cls=FrenchCommand)
def verify(run_dir: RunDirArgument) -> None:
    """Recalculer les empreintes et la chaîne d'événements ; 0 seulement si tout est intact."""
    _require_dir(run_dir)
    key = _key()
    problems = verify_bundle(run_dir, key=key)
    if problems:
        typer.echo(f"Bundle altéré : {len(problems)} problème(s) dans {run_dir}")
        for problem in problems:
            typer.echo(f"  • {problem}")
        raise typer.Exit(EXIT_ALTERED)
    typer.echo(f"Bundle intact : {run_dir}")
    if key:
        typer.echo("Signature vérifiée avec la clé CHORUS_AUDIT_KEY.")
    elif is_signed(run_dir):
        typer.echo(f"Signature présente mais non vérifiée ({KEY_VARIABLE} non défini).")


def _traces(run_dir: Path) -> dict[str, Path]:
    """Invoice number → trace file (``traces/<numero_rejete>.zip``)."""
    folder = RunDir(run_dir).traces
    if not folder.is_dir():
        return {}
    return {path.stem: path for path in sorted(folder.glob("*.zip")) if path.is_file()}


def _command(trace: Path) -> list[str]:
    return ["playwright", "show-trace", str(trace)]


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


@audit_app.command(cls=FrenchCommand)
def show(
    run_dir: RunDirArgument,
    invoice: Annotated[
        str | None,
        typer.Option("--invoice", help="Numéro de la facture rejetée.", show_default=False),
    ] = None,
) -> None:
    """Ouvrir la trace Playwright d'une facture (ou afficher la commande sans écran)."""
    _require_dir(run_dir)
    traces = _traces(run_dir)
    if not traces:
        typer.echo(f"Aucune trace dans {run_dir / 'traces'}", err=True)
        raise typer.Exit(EXIT_USAGE)
    if invoice is not None:
        if invoice not in traces:
            typer.echo(
                f"Pas de trace pour la facture « {invoice} ». Traces disponibles :", err=True
            )
            for number in traces:
                typer.echo(f"  • {number}", err=True)
            raise typer.Exit(EXIT_USAGE)
        chosen = [traces[invoice]]
    else:
        chosen = list(traces.values())
    if len(chosen) == 1 and _has_display():
        trace = chosen[0]
        typer.echo(f"Ouverture de la trace {trace}…")
        result = subprocess.run(
            [sys.executable, "-m", "playwright", "show-trace", str(trace)], check=False
        )
        raise typer.Exit(result.returncode)
    if len(chosen) > 1:
        typer.echo(f"{len(chosen)} traces ; choisissez une facture avec --invoice NUMERO :")
    elif not _has_display():
        typer.echo("Pas d'écran disponible : ouvrez la trace sur un poste avec écran avec :")
    for trace in chosen:
        typer.echo(shlex.join(_command(trace)))
