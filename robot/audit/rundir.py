"""Run identifiers and the layout of a run's folder — the audit bundle's file names, in one
place (every module that writes or reads a bundle takes its names from here)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from robot.timezone import PARIS

LOG_NAME = "run.log"
SUMMARY_NAME = "summary.json"
EVENTS_NAME = "events.jsonl"
REPORT_NAME = "report.html"
MANIFEST_NAME = "manifest.json"
SUIVI_NAME = "suivi.csv"  # chorus-robot suivi: where the invoices a run sent stand now
RESULTS_NAME = "resultats.csv"  # the accountant's worklist: one line per invoice of the plan
TRACES_DIR = "traces"
SCREENSHOTS_DIR = "screenshots"
VIDEOS_DIR = "videos"
PLAN_STEM = "plan"  # the plan's copy: plan.csv or plan.json


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id: ``20261127-103000-a1b2``."""
    moment = (now or datetime.now(PARIS)).astimezone(PARIS)
    return f"{moment:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


@dataclass(frozen=True)
class RunDir:
    """The folder of one run and the names of what it holds."""

    root: Path

    @property
    def run_id(self) -> str:
        return self.root.name

    @property
    def log(self) -> Path:
        return self.root / LOG_NAME

    @property
    def summary(self) -> Path:
        return self.root / SUMMARY_NAME

    @property
    def events(self) -> Path:
        return self.root / EVENTS_NAME

    @property
    def results(self) -> Path:
        return self.root / RESULTS_NAME

    @property
    def suivi(self) -> Path:
        return self.root / SUIVI_NAME

    @property
    def traces(self) -> Path:
        return self.root / TRACES_DIR

    @property
    def screenshots(self) -> Path:
        return self.root / SCREENSHOTS_DIR

    @property
    def videos(self) -> Path:
        return self.root / VIDEOS_DIR

    def plan_copy(self, suffix: str) -> Path:
        """Where the run keeps its copy of the plan (``suffix``: the plan file's own)."""
        return self.root / f"{PLAN_STEM}{suffix}"

    def plan_copies(self) -> list[Path]:
        """The plan copies found in the folder (one for a run folder; none for another)."""
        return sorted(self.root.glob(f"{PLAN_STEM}.*")) if self.root.is_dir() else []

    @classmethod
    def create(cls, output_dir: Path, run_id: str | None = None) -> RunDir:
        root = output_dir / (run_id or new_run_id())
        root.mkdir(parents=True, exist_ok=False)
        return cls(root)
