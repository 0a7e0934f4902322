"""``chorus-robot`` that kills itself with SIGKILL at a chosen point (resilience tests).

The point is a click the robot witnesses (« Acquitter », « Traiter le rejet », « Confirmer et
envoyer »), before or after it, on the Nth occurrence: ``CRASH_AT="Confirmer et envoyer|après|1"``.
After « Confirmer et envoyer »/« après » the invoice exists on the portal but the journal has
not recorded it yet: the hardest moment for a resume.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from robot.browser import recording
from robot.cli import main

action, moment, nth = os.environ["CRASH_AT"].split("|")
seen = 0
original = recording.Recorder.witness


def witness(self: recording.Recorder, page: Any, what: str, when: str) -> None:
    global seen
    original(self, page, what, when)
    if (what, when) == (action, moment):
        seen += 1
        if seen == int(nth):
            os.kill(os.getpid(), signal.SIGKILL)


recording.Recorder.witness = witness  # type: ignore[method-assign]
main()
