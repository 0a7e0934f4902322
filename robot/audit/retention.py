"""Retention of run folders (``CHORUS_KEEP_RUNS``): the last N runs, or the last N days.

Only direct children of the output folder named like a run id (``20261127-103000-a1b2``) are
candidates; the current run, symbolic links and anything else are never touched.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from robot.timezone import PARIS

RUN_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]{4}")
_KEEP = re.compile(r"(\d+)\s*([jd]?)", re.IGNORECASE)


@dataclass(frozen=True)
class KeepPolicy:
    """Keep the last ``count`` runs (``days`` False) or the runs of the last ``count`` days."""

    count: int
    days: bool


def parse_keep(keep: str) -> KeepPolicy:
    """« 30 » → the last 30 runs; « 14j » or « 14d » → the last 14 days. ValueError in French."""
    match = _KEEP.fullmatch(keep.strip()) if isinstance(keep, str) else None
    if match is None or int(match.group(1)) == 0:
        raise ValueError(
            f"CHORUS_KEEP_RUNS : « {keep} » invalide (un nombre de runs à garder, ex. « 30 », "
            "ou un nombre de jours, ex. « 14j », supérieur à zéro)"
        )
    return KeepPolicy(count=int(match.group(1)), days=bool(match.group(2)))


def run_started_at(name: str) -> datetime | None:
    """When a run started, read from its id (Paris time); None if the id is no date."""
    try:
        return datetime.strptime(name[:15], "%Y%m%d-%H%M%S").replace(tzinfo=PARIS)
    except ValueError:
        return None


def _run_folders(output_dir: Path) -> list[Path]:
    if not output_dir.is_dir():
        return []
    return sorted(
        (
            child
            for child in output_dir.iterdir()
            if RUN_ID.fullmatch(child.name) and child.is_dir() and not child.is_symlink()
        ),
        key=lambda child: child.name,
    )


def _expired(folders: list[Path], policy: KeepPolicy, now: datetime) -> list[Path]:
    if not policy.days:
        return folders[: max(0, len(folders) - policy.count)]
    limit = now - timedelta(days=policy.count)
    expired: list[Path] = []
    for folder in folders:
        started = run_started_at(folder.name)
        if started is None:
            started = datetime.fromtimestamp(folder.stat().st_mtime, PARIS)
        if started < limit:
            expired.append(folder)
    return expired


def prune_runs(
    output_dir: Path, keep: str, *, current: Path, now: datetime | None = None
) -> list[Path]:
    """Delete the run folders ``keep`` does not retain, never ``current``; return them."""
    policy = parse_keep(keep)
    moment = now if now is not None else datetime.now(PARIS)
    current_resolved = current.resolve()
    removed: list[Path] = []
    for folder in _expired(_run_folders(output_dir), policy, moment):
        if folder.resolve() == current_resolved:
            continue
        shutil.rmtree(folder)
        removed.append(folder)
    return removed
