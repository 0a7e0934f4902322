"""The end of a run's record: summary, report, secret sweep, manifest, retention.

Order matters: everything is written first, then secret values are removed from every file
(traces included) and checked gone, and only then is ``manifest.json`` written, so that the
manifest seals exactly what the auditor receives.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from loguru import logger

from robot.audit import (
    InvoiceSection,
    RunFacts,
    TimelineEntry,
    find_secrets,
    prune_runs,
    redact_tree,
    render_report,
    write_manifest,
)
from robot.audit.rundir import RunDir
from robot.config import Config
from robot.portal import PortalTarget
from robot.run.outcomes import RunResult, TransactionOutcome
from robot.run.summary import totals, write_summary_json
from robot.secrets import registered

OUTCOME_LABELS = {
    "done": "fait",
    "already_done": "déjà fait (constaté sur le portail)",
    "would_do": "à faire (simulation)",
    "business_failure": "refusé : une personne doit vérifier",
    "system_failure": "échec technique",
}


def robot_version() -> str:
    try:
        return version("chorus-robot")
    except PackageNotFoundError:
        return "inconnue"


def invoice_section(run_dir: Path, t: TransactionOutcome) -> InvoiceSection:
    """One transaction as the report shows it (the end of a run, and « suivi »)."""

    def rel(path: Path) -> str:
        return path.relative_to(run_dir).as_posix()

    return InvoiceSection(
        numero_rejete=t.numero_rejete,
        nouveau_numero=t.nouveau_numero,
        kind_label=t.kind.label,
        motif=t.motif,
        commentaire=t.commentaire,
        correction=t.correction,
        outcome_label=t.label,
        outcome_state=t.state,
        message=t.message,
        timeline=[
            TimelineEntry(
                time=moment,
                step_label=step.step.label,
                outcome_label=OUTCOME_LABELS.get(step.outcome.value, step.outcome.value),
                message=step.message,
            )
            for moment, step in t.timeline
        ],
        screenshots=[rel(p) for p in t.screenshots if p.exists()],
        # The recorder lists partial chunks first and the transaction's own trace last.
        trace=rel(t.traces[-1]) if t.traces else None,
        video=None,
    )


def finalize_bundle(
    run_dir: Path, result: RunResult, config: Config, portal: PortalTarget
) -> list[str]:
    """Write the summary, report and manifest of ``run_dir``; return secret hits (none)."""
    write_summary_json(result, RunDir(run_dir).summary)
    facts = RunFacts(
        run_id=result.run_id,
        portal_url=result.portal_url,
        account=portal.identifiant,
        started_at=result.started_at,
        ended_at=result.ended_at,
        version=robot_version(),
        dry_run=result.dry_run,
        totals=totals(result),
        exit_code=result.exit_code,
    )
    render_report(run_dir, facts, [invoice_section(run_dir, t) for t in result.transactions])
    logger.remove()  # the run log is complete; it is swept like every other file
    secrets = registered()
    redact_tree(run_dir, secrets)
    hits = find_secrets(run_dir, secrets)
    key = config.audit_key.reveal().encode() if config.audit_key else None
    write_manifest(run_dir, key=key)
    if config.keep_runs:
        prune_runs(config.output_dir, config.keep_runs, current=run_dir)
    return hits
