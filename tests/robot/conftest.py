"""Helpers for driving the ``chorus-robot`` command line against the test sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import CliResult, RobotCli

from sandbox.server import RunningSandbox


@pytest.fixture
def robot_env(
    fresh_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """Environment of a robot pointed at the test sandbox, outputs in ``tmp_path/runs``."""
    for name in list(os.environ):
        if name.startswith("CHORUS_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env
    yield {
        "CHORUS_PORTAL_URL": fresh_sandbox.url,
        "CHORUS_LOGIN": fresh_sandbox.options.user,
        "CHORUS_PASSWORD": fresh_sandbox.options.password,
        "CHORUS_OTP_SOURCE": f"maildir:{fresh_sandbox.maildir}",
        "CHORUS_OUTPUT_DIR": str(tmp_path / "runs"),
        "CHORUS_TIMEOUT_MS": "10000",
    }


@pytest.fixture
def robot_cli(robot_env: dict[str, str], tmp_path: Path) -> RobotCli:
    """Run ``chorus-robot ARGS`` as a user would: its own process, ``robot_env`` (plus
    overrides) as environment, from ``tmp_path``. (A separate process also keeps the robot's
    Playwright apart from pytest-playwright's event loop.)"""

    def invoke(*args: str, **env: str) -> CliResult:
        merged = {**os.environ, **robot_env, **env}
        completed = subprocess.run(
            [sys.executable, "-m", "robot.cli", *args],
            env=merged,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        out_dir = Path(merged["CHORUS_OUTPUT_DIR"])
        out_dir.mkdir(parents=True, exist_ok=True)
        return CliResult(completed.returncode, completed.stdout + completed.stderr, out_dir)

    return invoke
