"""Memory per worker (issue 6): the renderer drops the pages left behind between
transactions, and Playwright's driver runs with a small young generation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sandbox.server import RunningSandbox

HERE = Path(__file__).parent
PAGES = 24


def _drive(script: str, sandbox: RunningSandbox, last: str) -> dict[str, Any]:
    """Run a driver script against the sandbox (its own process, no NODE_OPTIONS set)."""
    done = subprocess.run(
        [
            sys.executable,
            str(HERE / script),
            sandbox.url,
            sandbox.options.user,
            sandbox.options.password,
            last,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={name: value for name, value in os.environ.items() if name != "NODE_OPTIONS"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_release_memory_frees_the_pages_left_behind(fresh_sandbox: RunningSandbox) -> None:
    # The fresh sandbox, not the worker's as the last test left it: with one-time codes on
    # (test_audit_bundle's run leaves them on), the driver script could not log in.
    counters = _drive("_session_memory.py", fresh_sandbox, str(PAGES))
    # Chromium collects when it likes: often dozens of documents are still alive here.
    assert counters["before"]["documents"] >= counters["after"]["documents"]
    assert counters["after"]["documents"] <= 3  # the page shown, and at most a frame or two
    assert counters["after"]["nodes"] < 2_000
    # Playwright's driver runs with a small young generation (~75 MB less per worker).
    assert counters["driver_node_options"] == ["--max-semi-space-size=2"]


def test_traced_transactions_leave_no_stack_record_behind_in_the_driver(
    fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """Every trace chunk's record of call stacks in Playwright's driver is released: one left
    open per work context made the driver grow by ~0.4 MB per invoice (bench/README.md)."""
    result = _drive("_trace_sessions.py", fresh_sandbox, str(tmp_path))
    assert result["kept"] == [f"T-{c}-{i}.zip" for c in range(4) for i in range(2)]
    assert result["opened"] >= result["contexts"] + len(result["kept"])
    assert result["released"] == result["opened"]
