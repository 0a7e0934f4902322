"""Optional notifications at the end of a run, both off by default:

- for schedulers, the summary POSTed as JSON to ``CHORUS_NOTIFY_URL``;
- for people, an e-mail to ``CHORUS_NOTIFY_EMAIL`` (:mod:`robot.run.mail`): a French summary,
  ``resultats.csv`` attached.

A failure to notify is logged (on the console: the run's log is sealed by then) and never
changes the run's exit code.
"""

from __future__ import annotations

import json
import smtplib
import sys
from pathlib import Path
from typing import Any

import httpx
from loguru import logger

from robot.audit.rundir import RunDir
from robot.config import Config
from robot.errors import first_line
from robot.run.mail import build_message, send


def notify(config: Config, run_dir: Path) -> bool:
    """Send every notification configured; True when there was at least one and each was
    accepted."""
    if not config.notify_url and not config.notify_email:
        return False
    # The run's log is closed and sealed: a failure is said on the console instead.
    sink = logger.add(sys.stderr, level="WARNING", format="{message}")
    try:
        summary = _summary(run_dir)
        sent = [
            *([_post(config.notify_url, summary)] if config.notify_url else []),
            *([_mail(config, summary, run_dir)] if config.notify_email else []),
        ]
    finally:
        logger.remove(sink)
    return all(sent)


def _summary(run_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(RunDir(run_dir).summary.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        logger.warning("Résumé du run illisible pour la notification : {}", exc.__class__.__name__)
        return None
    return data if isinstance(data, dict) else None


def _post(url: str, summary: dict[str, Any] | None) -> bool:
    """POST ``summary.json`` to ``url``; True when it was accepted."""
    if summary is None:
        return False
    try:
        response = httpx.post(url, json=summary, timeout=15.0)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        logger.warning("Notification de fin de run impossible : {}", exc.__class__.__name__)
        return False
    return True


def _mail(config: Config, summary: dict[str, Any] | None, run_dir: Path) -> bool:
    """E-mail the summary and ``resultats.csv``; True when the server accepted it."""
    if summary is None:
        return False
    try:
        send(config, build_message(config, summary, run_dir))
    except (OSError, smtplib.SMTPException, ValueError) as exc:
        logger.warning(
            "Courriel de fin de run impossible ({}) : {}", exc.__class__.__name__, first_line(exc)
        )
        return False
    logger.debug("Courriel de fin de run envoyé à {}", config.notify_email)
    return True
