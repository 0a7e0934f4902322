"""An optional notification at the end of a run, for schedulers: the summary, POSTed as JSON
to ``CHORUS_NOTIFY_URL``. Off by default; a failure to notify never changes the exit code."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from loguru import logger

from robot.audit.rundir import RunDir
from robot.config import Config


def notify(config: Config, run_dir: Path) -> bool:
    """POST ``summary.json`` to the configured URL; True when it was accepted."""
    if not config.notify_url:
        return False
    summary = RunDir(run_dir).summary
    try:
        payload = json.loads(summary.read_text(encoding="utf-8"))
        response = httpx.post(config.notify_url, json=payload, timeout=15.0)
        response.raise_for_status()
    except (OSError, ValueError, httpx.HTTPError) as exc:
        logger.warning("Notification de fin de run impossible : {}", exc.__class__.__name__)
        return False
    return True
