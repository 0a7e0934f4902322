"""Fixtures shared by the whole test suite.

- ``browser_type_launch_args``: pytest-playwright launches the Chromium the project found
  (``robot.browser_setup``), with the quiet flags.
- ``sandbox`` (session): one sandbox per test process (each xdist worker has its own), in a
  thread, on a free 127.0.0.1 port, data in a temporary folder, admin interface on.
- ``fresh_sandbox`` (function): the same sandbox reset to its seed, every fault knob off.
  A test that needs N rejections calls ``fresh_sandbox.reset(seed=N)``.

URLs are passed explicitly (``fresh_sandbox.url``): no global ``base_url``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from robot.browser_setup import QUIET_FLAGS, find_chromium
from sandbox.server import RunningSandbox, start_sandbox
from sandbox.settings import SandboxOptions

SANDBOX_SEED = 5


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    args = dict(browser_type_launch_args)
    executable = find_chromium()
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
