"""The end of a run's record: summary, results, report, secret sweep, manifest, retention.

Order matters: everything is written first (``summary.json``, ``resultats.csv``,
``report.html``), then secret values are removed from every file (traces included) and
checked gone, and only then is ``manifest.json`` written, so that the manifest seals exactly
what the auditor receives.
"""

from __future__ import annotations

import sys
from datetime import datetime
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
from robot.audit.events import EventLog, read_events
from robot.audit.report import ShotCaption
from robot.audit.rundir import RunDir
from robot.audit.timestamp import TimestampError
from robot.config import Config
from robot.portal import PortalTarget
from robot.run.identity import RunIdentity, robot_version
from robot.run.journal import Journal
from robot.run.outcomes import RunResult, TransactionOutcome, outcomes_from_journal
from robot.run.results import (
    field_changes,
    new_invoice_amounts,
    new_invoice_url,
    result_rows,
    write_results_csv,
)
from robot.run.states import NEEDS_A_PERSON
from robot.run.summary import totals, write_summary_json
from robot.secrets import registered
from robot.timezone import PARIS

OUTCOME_LABELS = {
    "done": "fait",
    "already_done": "déjà fait (constaté sur le portail)",
    "would_do": "à faire (simulation)",
    "business_failure": "refusé : une personne doit vérifier",
    "system_failure": "échec technique",
}


__all__ = ["finalize_bundle", "invoice_section", "robot_version", "seal_run"]


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
        # Batch actions first, then the transaction's partial chunks, its own trace last.
        traces=[rel(p) for p in t.traces if p.exists()],
        video=None,
        account=t.account,
        machine=t.machine,
        changes=field_changes(t),
        new_invoice_url=new_invoice_url(t),
        amounts=new_invoice_amounts(t).shown(),
        captions={
            rel(p): ShotCaption(note.caption, note.taken_at, note.url)
            for p in t.screenshots
            if (note := t.shots.get(p.name)) is not None
        },
    )


def finalize_bundle(
    run_dir: Path, result: RunResult, config: Config, portal: PortalTarget | str
) -> list[str]:
    """Write the summary, results, report and manifest of ``run_dir``; return secret hits
    (none).

    ``portal``: the portal the run drove (its account is named in the report), or the
    accounts themselves as text (a run several accounts shared, carried by ``chorus-robot
    worker``)."""
    layout = RunDir(run_dir)
    queued = isinstance(portal, str)
    account = portal if isinstance(portal, str) else portal.identifiant
    write_summary_json(result, layout.summary)
    resume = (
        f"chorus-robot worker --run {result.run_id}"
        if queued
        else f"chorus-robot run --resume {run_dir}"
    )
    write_results_csv(
        result_rows(result, resume=resume, account="" if queued else account), layout.results
    )
    identity = result.identity
    facts = RunFacts(
        run_id=result.run_id,
        portal_url=result.portal_url,
        account=account,
        started_at=result.started_at,
        ended_at=result.ended_at,
        version=identity.robot_version if identity else robot_version(),
        dry_run=result.dry_run,
        totals=totals(result),
        exit_code=result.exit_code,
        os_user=identity.os_user if identity else "",
        host=identity.host if identity else "",
        plan_sha256=identity.plan_sha256 if identity else "",
        sandbox=identity.sandbox if identity else None,
    )
    render_report(run_dir, facts, [invoice_section(run_dir, t) for t in result.transactions])
    for t in result.transactions:
        if t.state in NEEDS_A_PERSON:  # a business failure: a person must look
            logger.warning("{} : {} — {}", t.numero_rejete, t.label, t.message)
    logger.remove()  # the run log is complete; it is swept like every other file
    secrets = registered()
    redact_tree(run_dir, secrets)
    hits = find_secrets(run_dir, secrets)
    seal_manifest(run_dir, config)
    if config.keep_runs:
        prune_runs(config.output_dir, config.keep_runs, current=run_dir)
    return hits


def seal_manifest(run_dir: Path, config: Config) -> None:
    """Write ``manifest.json``: HMAC with ``CHORUS_AUDIT_KEY``, Ed25519 with
    ``CHORUS_AUDIT_SIGNING_KEY``, timestamped by ``CHORUS_TSA_URL`` — as configured. A time
    stamp authority out of reach leaves the bundle sealed and signed, not timestamped (said on
    the console: the run's log is closed)."""
    key = config.audit_key.reveal().encode() if config.audit_key else None
    try:
        write_manifest(
            run_dir, key=key, signing_key=config.audit_signing_key, tsa_url=config.tsa_url
        )
    except TimestampError as exc:
        sink = logger.add(sys.stderr, level="WARNING", format="{message}")
        try:
            logger.warning("Dossier d'audit scellé et signé, mais non horodaté : {}", exc)
        finally:
            logger.remove(sink)


def seal_run(
    config: Config, journal: Journal, run_id: str, run_dir: Path, machine: str
) -> list[str]:
    """Seal a run of the shared queue that has ended in the journal: its ``run_end`` event,
    summary, report and manifest, written by one machine (the worker that ended the run, or
    ``chorus-robot audit seal``). Returns secret hits (none)."""
    row = journal.run(run_id)
    if row is None or row.ended_at is None or row.exit_code is None:
        raise ValueError(f"le run {run_id} n'est pas terminé dans le journal")
    rows = journal.transactions(run_id)
    accounts = sorted({r.account for r in rows if r.account})
    opening = next(
        (e for e in read_events(RunDir(run_dir).events) if e.get("type") == "run_start"), {}
    )
    identity = RunIdentity.from_event(
        {"plan_sha256": row.plan_sha256, **opening}, tuple(accounts), row.portal_url
    )
    result = RunResult(
        run_id=run_id,
        run_dir=run_dir,
        portal_url=row.portal_url,
        dry_run=row.dry_run,
        started_at=datetime.fromisoformat(row.started_at).astimezone(PARIS),
        ended_at=datetime.fromisoformat(row.ended_at).astimezone(PARIS),
        transactions=outcomes_from_journal(journal, run_id, run_dir),
        identity=identity,
    )
    if row.sealed_at is None:  # sealed again by hand: its end is already recorded
        EventLog(RunDir(run_dir).events).append(
            {
                "type": "run_end",
                "worker": machine,
                "exit_code": row.exit_code,
                "stopped": False,
                "error": "",
            }
        )
    hits = finalize_bundle(run_dir, result, config, ", ".join(accounts) or "(compte par défaut)")
    journal.mark_sealed(run_id, machine)
    return hits
