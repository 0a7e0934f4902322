"""``chorus-robot`` with one fault planted, chosen by ``ROBOT_FAULT`` (error-contract tests):

- ``no-browser``: no Chromium anywhere (none of Playwright's, none of the system's);
- ``step-error``: the « Traiter le rejet » step fails with an error of the robot itself (a
  bug: neither a business nor a portal failure), once;
- ``sigterm-after:<click>``: SIGTERM arrives right after the first ``<click>`` the robot
  witnesses (« Acquitter », « Traiter le rejet »…), as a scheduler stopping it would.
"""

from __future__ import annotations

import os
import signal
import tempfile
from typing import Any

from robot.browser import find, recording
from robot.cli import main
from robot.run import worker

fault = os.environ["ROBOT_FAULT"]

if fault == "no-browser":
    os.environ["PLAYWRIGHT_BROWSERS_PATH"] = tempfile.mkdtemp()  # Playwright's own: none
    find.SYSTEM_CANDIDATES = ()
    find.SYSTEM_HEADLESS_CANDIDATES = ()
    find.PATH_CANDIDATES = ()
    find.HEADLESS_SHELL = "pas-de-navigateur-ici"
elif fault == "step-error":
    original_process = worker.process
    failed: list[bool] = []

    def process(*args: Any, **kwargs: Any) -> Any:
        if not failed:
            failed.append(True)
            raise KeyError("panne simulée du robot")
        return original_process(*args, **kwargs)

    worker.process = process
elif fault.startswith("sigterm-after:"):
    click = fault.split(":", 1)[1]
    original_witness = recording.Recorder.witness
    sent: list[bool] = []

    def witness(self: recording.Recorder, page: Any, what: str, when: str) -> None:
        original_witness(self, page, what, when)
        if (what, when) == (click, "après") and not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGTERM)

    recording.Recorder.witness = witness  # type: ignore[method-assign]
else:
    raise SystemExit(f"ROBOT_FAULT inconnu : {fault}")

main()
