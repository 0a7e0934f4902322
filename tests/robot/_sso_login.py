"""Log a WorkSession in, let the test end sessions on the sandbox, log in again; print how.

Run in its own process by test_three_origins.py (the Sync API cannot start inside
pytest-playwright's event loop). Usage: ``_sso_login.py URL LOGIN PASSWORD MAILDIR``. Prints
« connecté » once logged in and waits for a line on its standard input (the test ends the
sessions meanwhile), logs in again, opens « Synthèse » and prints, as JSON, how many one-time
codes each login asked for and the address « Synthèse » was reached at.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime

from pages import Navigator
from robot.browser import BrowserSettings
from robot.browser.session import WorkSession
from robot.otp import make_otp_source
from robot.portal import PortalTarget
from robot.secrets import Secret

url, identifiant, password, maildir = sys.argv[1:5]
source = make_otp_source(f"maildir:{maildir}", default_maildir=None)
assert source is not None
asked: list[datetime] = []


class Counting(PortalTarget):
    def otp_callback(self) -> Callable[[datetime], str] | None:
        callback = super().otp_callback()
        assert callback is not None

        def counted(since: datetime) -> str:
            asked.append(since)
            return callback(since)

        return counted


target = Counting(
    url=url, identifiant=identifiant, password=Secret(password), otp_source=source, embedded=False
)
with WorkSession(target, BrowserSettings()) as session:
    session.login()
    first = len(asked)
    print("connecté", flush=True)
    sys.stdin.readline()
    session.login()
    page = session.page
    Navigator(page, url).synthese()
    print(json.dumps({"first": first, "again": len(asked) - first, "synthese": page.url}))
