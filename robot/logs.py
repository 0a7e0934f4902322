"""Logging: loguru, one INFO line per step, a log file per run, secrets redacted.

Every line starts with its instant in ISO 8601, in Paris time *with its offset*
(``2026-11-30T17:03:12.345+01:00``; ``+02:00`` in summer), whatever the machine's own time
zone: the convention of ``summary.json`` and the report, so an auditor lines them up without
guessing (``events.jsonl`` writes UTC, with its offset too).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from loguru import logger

from robot.secrets import install_log_redaction
from robot.timezone import PARIS

if TYPE_CHECKING:
    from loguru import Record

_LINE = "{extra[instant]} | {level: <7} | {extra[worker]} | {message}\n{exception}"


def instant(record: Record) -> str:
    """The record's time as a line shows it: Paris time, milliseconds, offset."""
    return record["time"].astimezone(PARIS).isoformat(timespec="milliseconds")


def _format(record: Record) -> str:
    # A format function rather than loguru's ``{time:…}``: that one writes the machine's own
    # zone, and the redaction patcher owns ``logger.configure(patcher=…)``.
    record["extra"]["instant"] = instant(record)
    record["extra"].setdefault("worker", "main")
    return _LINE


def configure_logging(log_file: Path | None, *, verbose: bool = False) -> None:
    """Send logs to ``log_file`` (DEBUG) and, when verbose, to stderr (INFO)."""
    logger.remove()
    logger.configure(extra={"worker": "main"})
    install_log_redaction()
    if verbose:
        logger.add(sys.stderr, level="INFO", format=_format)
    if log_file is not None:
        # Line-buffered: several processes (and machines) append to one run log, and the
        # worker that seals a run must find every line already written.
        logger.add(
            log_file, level="DEBUG", format=_format, encoding="utf-8", enqueue=False, buffering=1
        )
