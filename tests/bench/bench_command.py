"""Run a benchmark tool as a user does: ``python -m bench.<tool> ARGS`` from the project's
root, without the caller's ``CHORUS_*`` variables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_bench(tool: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m bench.<tool> ARGS``; the test fails with its output unless it exits 0."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHORUS_")}
    completed = subprocess.run(
        [sys.executable, "-m", f"bench.{tool}", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed
