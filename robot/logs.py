"""Logging: loguru, one INFO line per step, a log file per run, secrets redacted."""

from __future__ import annotations

import sys
from pathlib import Path

from loguru import logger

from robot.secrets import install_log_redaction

_FORMAT = "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <7} | {extra[worker]} | {message}"


def configure_logging(log_file: Path | None, *, verbose: bool = False) -> None:
    """Send logs to ``log_file`` (DEBUG) and, when verbose, to stderr (INFO)."""
    logger.remove()
    logger.configure(extra={"worker": "main"})
    install_log_redaction()
    if verbose:
        logger.add(sys.stderr, level="INFO", format=_FORMAT)
    if log_file is not None:
        logger.add(log_file, level="DEBUG", format=_FORMAT, encoding="utf-8", enqueue=False)
