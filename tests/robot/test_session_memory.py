"""Between transactions the robot has the renderer drop the pages it left (issue 6, memory)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sandbox.server import RunningSandbox

DRIVER = Path(__file__).with_name("_session_memory.py")
PAGES = 24


def test_release_memory_frees_the_pages_left_behind(sandbox: RunningSandbox) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(DRIVER),
            sandbox.url,
            sandbox.options.user,
            sandbox.options.password,
            str(PAGES),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    counters = json.loads(done.stdout.strip().splitlines()[-1])
    # Chromium collects when it likes: often dozens of documents are still alive here.
    assert counters["before"]["documents"] >= counters["after"]["documents"]
    assert counters["after"]["documents"] <= 3  # the page shown, and at most a frame or two
    assert counters["after"]["nodes"] < 2_000
