"""Fixtures shared by the whole test suite.

- ``browser_type_launch_args``: pytest-playwright launches the Chromium the project found
  (``robot.setup.chromium``), with the quiet flags.
- ``sandbox`` (session): one sandbox per test process (each xdist worker has its own), in a
  thread, on a free 127.0.0.1 port, data in a temporary folder, admin interface on.
- ``fresh_sandbox`` (function): the same sandbox reset to its seed, every fault knob off.
  A test that needs N rejections calls ``fresh_sandbox.reset(seed=N)``.

URLs are passed explicitly (``fresh_sandbox.url``): no global ``base_url``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import CliResult, RobotCli
from playwright.sync_api import Playwright

from robot.browser.find import QUIET_FLAGS, find_chromium
from sandbox.server import RunningSandbox, start_sandbox
from sandbox.settings import SandboxOptions

SANDBOX_SEED = 5


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slowest tests first (stable sort): the two workers of `make test` end together."""
    items.sort(key=lambda item: 0 if item.get_closest_marker("slow") else 1)


@pytest.fixture(scope="session")
def browser_type_launch_args(
    browser_type_launch_args: dict[str, Any], pytestconfig: pytest.Config, playwright: Playwright
) -> dict[str, Any]:
    args = dict(browser_type_launch_args)
    executable = find_chromium(playwright, headless=not pytestconfig.getoption("--headed"))
    if executable is not None:
        args["executable_path"] = executable
    args["args"] = [*args.get("args", []), *QUIET_FLAGS]
    return args


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    data_dir: Path = tmp_path_factory.mktemp("sandbox-data")
    options = SandboxOptions(
        data_dir=data_dir,
        seed=SANDBOX_SEED,
        admin_token="test-admin-token-0123456789",
        acheminement_s=0.5,
    )
    running = start_sandbox(options, mode="thread")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def fresh_sandbox(sandbox: RunningSandbox) -> RunningSandbox:
    sandbox.set_faults()
    sandbox.reset()
    return sandbox


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
        # The test sandbox is not the real portal: no politeness delay between pages.
        "CHORUS_MAX_REQUESTS_PER_MIN": "0",
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
