"""The end of a run as people and schedulers read it: a French table and ``summary.json``."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from robot.audit.rundir import RunDir
from robot.run.outcomes import RunResult
from robot.run.results import new_invoice_url
from robot.timezone import PARIS

_STYLES = {
    "done": "green",
    "would_do": "cyan",
    "ignored": "dim",
    "business_failure": "yellow",
    "not_rejected": "yellow",
    "system_failure": "red",
    "pending": "red",
}

_STEP_LABELS = {
    "done": "fait",
    "already_done": "déjà fait",
    "would_do": "à faire",
    "business_failure": "refusé",
    "system_failure": "échec technique",
}


def totals(result: RunResult) -> dict[str, int]:
    counts: dict[str, int] = {}
    for transaction in result.transactions:
        counts[transaction.state] = counts.get(transaction.state, 0) + 1
    return counts


def print_summary(console: Console, result: RunResult) -> None:
    """A table with one line per transaction, then the totals and where the output is."""
    title = "Simulation (aucune modification du portail)" if result.dry_run else "Résumé du run"
    table = Table(title=f"{title} {result.run_id}", show_lines=False)
    table.add_column("Facture")
    table.add_column("Nature")
    table.add_column("Nouveau numéro")
    table.add_column("Étapes")
    table.add_column("Résultat")
    table.add_column("Message", overflow="fold", max_width=60)
    for t in result.transactions:
        steps = "\n".join(
            f"{s.step.label} : {_STEP_LABELS.get(s.outcome.value, s.outcome.value)}"
            for s in t.steps
        )
        style = _STYLES.get(t.state, "")
        table.add_row(
            t.numero_rejete,
            t.kind.label,
            t.nouveau_numero or "—",
            steps or "—",
            f"[{style}]{t.label}[/{style}]" if style else t.label,
            t.message,
        )
    console.print(table)
    counts = totals(result)
    parts = [f"{len(result.transactions)} facture(s) dans le plan"]
    labels = {
        "done": "terminée(s)",
        "would_do": "à traiter (simulation)",
        "ignored": "ignorée(s) (action=ignorer)",
        "business_failure": "à vérifier par une personne",
        "not_rejected": "non rejetée(s)",
        "system_failure": "en échec technique",
        "pending": "à reprendre (--resume)",
    }
    parts += [f"{n} {labels.get(state, state)}" for state, n in counts.items()]
    console.print(" · ".join(parts))
    if result.error:
        console.print(f"[red]{result.error}[/red]")
    if result.stopped or counts.get("pending"):
        console.print(
            "[yellow]Run inachevé : reprenez-le avec « chorus-robot run --resume "
            f"{result.run_dir} ».[/yellow]"
        )
    console.print(f"Dossier du run : {result.run_dir}")
    results = RunDir(result.run_dir).results
    if results.is_file():
        console.print(f"Résultats pour le tableur : {results}")


def iso(moment: datetime | None) -> str | None:
    """An instant as ``summary.json`` writes it: ISO 8601 in Paris time, with its offset
    (``2026-11-30T17:03:12.345+01:00``; ``+02:00`` in summer)."""
    if moment is None:
        return None
    if moment.tzinfo is None:  # a naive instant is Paris time, as everywhere in the robot
        moment = moment.replace(tzinfo=PARIS)
    return moment.astimezone(PARIS).isoformat(timespec="milliseconds")


def summary_dict(result: RunResult) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "portal_url": result.portal_url,
        "dry_run": result.dry_run,
        "started_at": iso(result.started_at),
        "ended_at": iso(result.ended_at),
        "time_zone": PARIS.key,
        **(result.identity.as_record() if result.identity else {}),
        "exit_code": result.exit_code,
        "stopped": result.stopped,
        "error": result.error,
        "totals": totals(result),
        "transactions": [
            {
                "numero_rejete": t.numero_rejete,
                "nature": t.kind.value,
                "nouveau_numero": t.nouveau_numero,
                "state": t.state,
                "message": t.message,
                "motif": t.motif,
                "new_status": t.new_status,
                "new_invoice_url": new_invoice_url(t),
                **({"compte": t.account, "machine": t.machine} if t.account else {}),
                "duration_s": round(t.duration_s, 3),
                "server_s": round(t.server_s, 3),
                "steps": [
                    {
                        "step": s.step.value,
                        "outcome": s.outcome.value,
                        "message": s.message,
                        "portal_messages": list(s.portal_messages),
                    }
                    for s in t.steps
                ],
            }
            for t in result.transactions
        ],
    }


def write_summary_json(result: RunResult, path: Path) -> None:
    path.write_text(
        json.dumps(summary_dict(result), ensure_ascii=False, indent=2, default=str) + "\n",
        encoding="utf-8",
    )
