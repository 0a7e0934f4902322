"""Record traced transactions over several work contexts; count the driver's stack sessions.

Run in its own process by test_session_memory.py (the Sync API cannot start inside
pytest-playwright's event loop). Usage: ``_trace_sessions.py URL LOGIN PASSWORD RUN_DIR``.

Each trace chunk has a *stack session* in Playwright's driver, which keeps the stack of every
call made while it is open; it is released when the chunk is saved or discarded. The client
side of Playwright opens and releases them (``LocalUtils``, a private module: this probe
follows Playwright's internals and must be updated with them). Prints, as JSON, how many
sessions were opened and released, and the trace files kept.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from playwright._impl import local_utils

from pages import Navigator
from robot.browser import BrowserSettings
from robot.browser.recording import Recorder
from robot.browser.session import WorkSession
from robot.portal import PortalTarget
from robot.secrets import Secret

counts = {"opened": 0, "released": 0}
_started, _discarded, _zip = (
    local_utils.LocalUtils.tracing_started,
    local_utils.LocalUtils.trace_discarded,
    local_utils.LocalUtils.zip,
)


async def _count_started(self: Any, params: dict[str, Any]) -> Any:
    counts["opened"] += 1
    return await _started(self, params)


async def _count_discarded(self: Any, params: dict[str, Any]) -> None:
    counts["released"] += 1
    await _discarded(self, params)


async def _count_zip(self: Any, params: dict[str, Any]) -> None:
    counts["released"] += 1 if params.get("stacksId") else 0
    await _zip(self, params)


local_utils.LocalUtils.tracing_started = _count_started  # type: ignore[method-assign]
local_utils.LocalUtils.trace_discarded = _count_discarded  # type: ignore[method-assign]
local_utils.LocalUtils.zip = _count_zip  # type: ignore[method-assign]

CONTEXTS, PER_CONTEXT = 4, 2
url, identifiant, password, run_dir = sys.argv[1:5]
target = PortalTarget(
    url=url, identifiant=identifiant, password=Secret(password), otp_source=None, embedded=False
)
recorder = Recorder(Path(run_dir), trace="on")
kept: list[str] = []
with WorkSession(target, BrowserSettings(), recorder) as session:
    session.login()
    for context in range(CONTEXTS):
        for index in range(PER_CONTEXT):
            numero = f"T-{context}-{index}"
            recorder.begin(numero)
            navigator = Navigator(session.page, url)
            navigator.search() if index % 2 else navigator.synthese()
            kept += [path.name for path in recorder.end(numero, failed=False)]
        session.recycle()
print(json.dumps({**counts, "contexts": CONTEXTS + 1, "kept": kept}))
