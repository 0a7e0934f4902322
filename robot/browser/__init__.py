"""The browser: which Chromium, how it is launched, the logged-in session a worker drives,
and what is recorded of it.

    with WorkSession(portal, settings_for(config), recorder) as session:
        session.page            # logged in (again, after a lost session or a crash)

Modules: ``find`` (which Chromium), ``launch`` (launch flags, contexts, Playwright's
driver), ``session`` (login untraced, work traced, recovery, politeness), ``recording``
(traces, screenshots around clicks, videos).
"""

from robot.browser.find import QUIET_FLAGS, find_chromium
from robot.browser.launch import BrowserSettings, launch, new_context, settings_for
from robot.browser.recording import Recorder
from robot.browser.session import WorkSession

__all__ = [
    "QUIET_FLAGS",
    "BrowserSettings",
    "Recorder",
    "WorkSession",
    "find_chromium",
    "launch",
    "new_context",
    "settings_for",
]
