"""Politeness towards the real portal (``CHORUS_MAX_REQUESTS_PER_MIN``): the robot spaces the
page loads it triggers from its own side, without routing any request — so Chromium's HTTP
cache stays on (a routed context has it off)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from sandbox.server import RunningSandbox

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent
PER_MINUTE = 120  # one page load every 500 ms
INTERVAL_MS = 60_000 / PER_MINUTE
#: How late a page load may reach the browser after its time slot: clicking waits for the
#: element to be ready first (measured: a few tens of ms; unthrottled loads come ~200 ms apart).
LATE_MS = 250


def _drive(sandbox: RunningSandbox) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            str(HERE / "_throttled_session.py"),
            sandbox.url,
            sandbox.options.user,
            sandbox.options.password,
            str(PER_MINUTE),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_throttled_session_spaces_its_page_loads_and_keeps_the_http_cache(
    fresh_sandbox: RunningSandbox,
) -> None:
    seen = _drive(fresh_sandbox)

    starts = seen["starts_ms"]
    assert len(starts) >= 5  # home → domain → « Factures émises » → tabs, back and forth
    gaps = [later - earlier for earlier, later in pairwise(starts)]
    # Each load starts at its slot or later, an interval after the previous one's slot; the
    # previous load may have reached the browser a little after its own slot (LATE_MS).
    assert min(gaps) >= INTERVAL_MS - LATE_MS, gaps
    # Over the whole walk only the first load's lateness counts.
    assert starts[-1] - starts[0] >= (len(starts) - 1) * INTERVAL_MS - LATE_MS, gaps
    # No request is routed: app.js comes from Chromium's cache on every later screen.
    first, *later = seen["app_js"]
    assert first is not None and len(later) == 3
    assert all(entry and entry[0] < entry[1] for entry in later), seen["app_js"]
