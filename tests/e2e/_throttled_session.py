"""Drive a throttled WorkSession through a few screens, then print what its browser saw.

Run in its own process by test_session_throttle.py (the Sync API cannot start inside
pytest-playwright's event loop). Usage: ``_throttled_session.py URL LOGIN PASSWORD PER_MIN``;
prints, as JSON:

- ``starts_ms``: when each page load the robot triggered after the login started, by the
  browser's own clock (the first request of each main-frame navigation, redirects left out);
- ``app_js``: for each screen reached, how the page got ``app.js``: bytes transferred and
  body size (Resource Timing). Fewer bytes transferred than the body: Chromium's HTTP cache
  served it (0, or the headers of a revalidation); a routed context never uses that cache.
"""

from __future__ import annotations

import json
import sys

from playwright.sync_api import Request

from pages import Navigator
from robot.browser import BrowserSettings
from robot.browser.session import WorkSession
from robot.portal import PortalTarget
from robot.secrets import Secret

APP_JS = """() => performance.getEntriesByType("resource")
    .filter(entry => new URL(entry.name).pathname.endsWith("/app.js"))
    .map(entry => [entry.transferSize, entry.encodedBodySize])[0] || null"""

url, identifiant, password, per_minute = sys.argv[1:5]
target = PortalTarget(
    url=url, identifiant=identifiant, password=Secret(password), otp_source=None, embedded=False
)
loads: list[Request] = []
scripts = []
with WorkSession(target, BrowserSettings(), requests_per_min=int(per_minute)) as session:
    page = session.page  # logs in, then loads the home page in the work context

    def note(request: Request) -> None:
        if (
            request.is_navigation_request()
            and request.frame == page.main_frame
            and request.redirected_from is None
        ):
            loads.append(request)

    page.on("request", note)
    navigator = Navigator(page, url)
    for index in range(4):
        navigator.search() if index % 2 else navigator.synthese(rows_per_page=None)
        scripts.append(page.evaluate(APP_JS))
    starts = [request.timing["startTime"] for request in loads]
print(json.dumps({"starts_ms": starts, "app_js": scripts}))
