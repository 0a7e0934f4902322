"""Drive a WorkSession through many portal pages, then print the renderer's DOM counters.

Run in its own process by test_session_memory.py (the Sync API cannot start inside
pytest-playwright's event loop). Usage: ``_session_memory.py URL LOGIN PASSWORD PAGES``; prints
the counters before and after ``WorkSession.release_memory()`` and the ``NODE_OPTIONS`` of
Playwright's driver (a child node process), as JSON.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from pages import Navigator
from robot.browser import BrowserSettings
from robot.browser.session import WorkSession
from robot.portal import PortalTarget
from robot.secrets import Secret


def driver_node_options() -> list[str]:
    """NODE_OPTIONS of every node process started by this one."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            status = (proc / "status").read_text()
            ppid = int(status.split("PPid:")[1].split()[0])
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            environ = (proc / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and b"node" in cmdline[0]:
            options = [e for e in environ if e.startswith(b"NODE_OPTIONS=")]
            found.append(options[0].decode().split("=", 1)[1] if options else "")
    return found


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
    node = driver_node_options()
    print(json.dumps({"before": before, "after": after, "driver_node_options": node}))
