"""Run identifiers and the layout of a run's folder."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from robot.timezone import PARIS


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
        return self.root / "run.log"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def plan_copy(self) -> Path:
        return self.root / "plan"

    @property
    def traces(self) -> Path:
        return self.root / "traces"

    @property
    def screenshots(self) -> Path:
        return self.root / "screenshots"

    @classmethod
    def create(cls, output_dir: Path, run_id: str | None = None) -> RunDir:
        root = output_dir / (run_id or new_run_id())
        root.mkdir(parents=True, exist_ok=False)
        return cls(root)
