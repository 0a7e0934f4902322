"""The audit bundle of a run: event log, manifest, secret scan, report, retention.

A run folder holds ``events.jsonl`` (hash-chained events), ``traces/<numero_rejete>.zip``
(a transaction's Playwright trace; ``-partN`` chunks before it, ``lot-…`` for a batch action
covering several), screenshots, optional videos, ``report.html`` and,
written last, ``manifest.json`` (SHA-256 of every file, Ed25519-signed with
``CHORUS_AUDIT_SIGNING_KEY`` — :mod:`robot.audit.signing` — and optionally timestamped by an
RFC 3161 authority into ``manifest.tsr`` — :mod:`robot.audit.timestamp`). Before the
manifest is written, :func:`redact_tree` removes secret values and :func:`find_secrets`
checks none is left. :func:`check_bundle` checks the seal, :func:`completeness_problems`
that the bundle holds the whole run. :class:`RunDir` names every file of the folder (the one
place the names are written); ``chorus-robot audit verify|keygen|show`` is in
:mod:`robot.cli.audit`.
"""

from robot.audit.completeness import completeness_problems
from robot.audit.events import EventLog, read_events, verify_chain
from robot.audit.manifest import BundleCheck, check_bundle, verify_bundle, write_manifest
from robot.audit.report import InvoiceSection, RunFacts, TimelineEntry, render_report
from robot.audit.retention import parse_keep, prune_runs
from robot.audit.rundir import RunDir, new_run_id
from robot.audit.scan import find_secrets, redact_tree
from robot.audit.signing import (
    SigningKeyError,
    generate_key_pair,
    load_private_key,
    load_public_key,
)
from robot.audit.timestamp import TimestampError

__all__ = [
    "BundleCheck",
    "EventLog",
    "InvoiceSection",
    "RunDir",
    "RunFacts",
    "SigningKeyError",
    "TimelineEntry",
    "TimestampError",
    "check_bundle",
    "completeness_problems",
    "find_secrets",
    "generate_key_pair",
    "load_private_key",
    "load_public_key",
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
