"""Drive a WorkSession through many portal pages, then print the renderer's DOM counters.

Run in its own process by test_session_memory.py (the Sync API cannot start inside
pytest-playwright's event loop). Usage: ``_session_memory.py URL LOGIN PASSWORD PAGES``; prints
the counters before and after ``WorkSession.release_memory()``, as JSON.
"""

from __future__ import annotations

import json
import sys

from pages import Navigator
from robot.browser import BrowserSettings
from robot.portal import PortalTarget
from robot.secrets import Secret
from robot.session import WorkSession

url, identifiant, password, pages = sys.argv[1:5]
target = PortalTarget(
    url=url, identifiant=identifiant, password=Secret(password), otp_source=None, embedded=False
)
with WorkSession(target, BrowserSettings()) as session:
    navigator = Navigator(session.page, url)
    for index in range(int(pages)):
        navigator.search() if index % 2 else navigator.synthese()
    probe = session.page.context.new_cdp_session(session.page)
    before = probe.send("Memory.getDOMCounters")
    session.release_memory()
    after = probe.send("Memory.getDOMCounters")
    print(json.dumps({"before": before, "after": after}))
