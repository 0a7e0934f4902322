"""The audit bundle of a run: event log, manifest, secret scan, report, retention.

A run folder holds ``events.jsonl`` (hash-chained events), ``traces/<numero_rejete>.zip``
(one Playwright trace per transaction), screenshots, optional videos, ``report.html`` and,
written last, ``manifest.json`` (SHA-256 of every file, optionally HMAC-signed). Before the
manifest is written, :func:`redact_tree` removes secret values and :func:`find_secrets`
checks none is left. :class:`RunDir` names every file of the folder (the one place the
names are written); ``chorus-robot audit verify|show`` is in :mod:`robot.cli.audit`.
"""

from robot.audit.events import EventLog, read_events, verify_chain
from robot.audit.manifest import verify_bundle, write_manifest
from robot.audit.report import InvoiceSection, RunFacts, TimelineEntry, render_report
from robot.audit.retention import parse_keep, prune_runs
from robot.audit.rundir import RunDir, new_run_id
from robot.audit.scan import find_secrets, redact_tree

__all__ = [
    "EventLog",
    "InvoiceSection",
    "RunDir",
    "RunFacts",
    "TimelineEntry",
    "find_secrets",
    "new_run_id",
    "parse_keep",
    "prune_runs",
    "read_events",
    "redact_tree",
    "render_report",
    "verify_bundle",
    "verify_chain",
    "write_manifest",
]
