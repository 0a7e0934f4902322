"""``chorus-robot`` whose browser dies (SIGKILL to Chromium and each of its processes) at a
chosen moment, the robot itself going on (resilience tests).

The moment is a click the robot witnesses, before or after it, on the Nth occurrence, as in
``_crashing_robot.py``: ``KILL_BROWSER_AT="Acquitter|après|1"``.

Killed from inside the robot rather than by the test after watching its events: the moment
is then the same on every run, however loaded the machine.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from typing import Any

from robot.browser import recording
from robot.cli import main

where, moment, nth = os.environ["KILL_BROWSER_AT"].split("|")
seen = 0


def browsers_under(pid: int) -> list[int]:
    """Every Chromium process descending from ``pid``: the browser, its helpers, and the
    shell script some distributions start it through (Debian's
    ``/usr/bin/chromium-headless-shell``, whose death alone leaves the browser running)."""
    table = subprocess.run(
        ["ps", "-eo", "pid=,ppid=,comm="], capture_output=True, text=True, check=True
    ).stdout
    parent: dict[int, int] = {}
    name: dict[int, str] = {}
    for line in table.splitlines():
        child, father, command = line.split(None, 2)
        parent[int(child)], name[int(child)] = int(father), command.strip()

    def descends(candidate: int) -> bool:
        while candidate in parent and candidate != pid:
            candidate = parent[candidate]
        return candidate == pid

    return [p for p, command in name.items() if "chrom" in command and descends(p)]


def kill_the_browser_the_nth_time() -> None:
    global seen
    seen += 1
    if seen != int(nth):
        return
    browsers = browsers_under(os.getpid())
    if not browsers:
        raise SystemExit("aucun navigateur trouvé sous le robot")
    for pid in browsers:
        with contextlib.suppress(ProcessLookupError):  # gone with its parent already
            os.kill(pid, signal.SIGKILL)


original_witness = recording.Recorder.witness


def witness(self: recording.Recorder, page: Any, what: str, when: str) -> None:
    original_witness(self, page, what, when)
    if (what, when) == (where, moment):
        kill_the_browser_the_nth_time()


recording.Recorder.witness = witness  # type: ignore[method-assign]
main()
