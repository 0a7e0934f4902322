"""A worker's browser and logged-in session: login untraced, work traced, recover on failure.

The password and the one-time code are typed in a throw-away *login context* that is never
traced nor recorded; its cookies are then handed to the *work context*, where tracing and
videos may run (docs/architecture.md, rule 5).
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

from loguru import logger
from playwright.sync_api import (
    Browser,
    BrowserContext,
    CDPSession,
    Page,
    Playwright,
    Response,
)

from pages import observe, pace_page_loads
from robot.browser.launch import BrowserSettings, launch, new_context, start_playwright
from robot.browser.recording import Recorder
from robot.portal import PortalTarget
from robot.secrets import register
from scenarios.session import login as login_scenario


class WorkSession:
    """One browser, one logged-in work context and its page; rebuilt on demand."""

    def __init__(
        self,
        portal: PortalTarget,
        settings: BrowserSettings,
        recorder: Recorder | None = None,
        *,
        requests_per_min: int = 0,
    ) -> None:
        self.portal = portal
        self.settings = settings
        self.recorder = recorder
        self._throttle = _Throttle(requests_per_min) if requests_per_min > 0 else None
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._context: BrowserContext | None = None
        self._page: Page | None = None
        self._cdp: CDPSession | None = None
        self._crashed = False
        #: The cookies the last login ended with, and whose they were ((portal, account)): the
        #: next login of the same account starts from them, as a person's browser does.
        self._last_login: tuple[tuple[str, str], Any] | None = None
        #: Server time the portal reported (``Server-Timing: app;dur=…``), in milliseconds.
        self.server_ms = 0.0

    # -- lifecycle --------------------------------------------------------------------------
    def __enter__(self) -> WorkSession:
        self._playwright = start_playwright()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._close_context()
        if self._browser is not None:
            _quietly(self._browser.close)
            self._browser = None
        if self._playwright is not None:
            _quietly(self._playwright.stop)
            self._playwright = None

    @property
    def browser(self) -> Browser:
        if self._browser is None or not self._browser.is_connected():
            assert self._playwright is not None, "WorkSession used outside its with-block"
            self._browser = launch(self._playwright, self.settings)
        return self._browser

    def browser_alive(self) -> bool:
        """Asked of the browser itself: still connected, and the work page's renderer alive.

        True before the first launch (nothing is dead: the next use launches a browser).
        """
        if self._browser is None:
            return True
        return self._browser.is_connected() and not self._crashed

    @property
    def page(self) -> Page:
        if self._page is None or self._page.is_closed():
            self.login()
        assert self._page is not None
        return self._page

    # -- login ------------------------------------------------------------------------------
    def login(self) -> None:
        """Log in in an untraced context and open a work context with its cookies."""
        self._close_context()
        state, home_url = self._login_state()
        for cookie in state.get("cookies", []):
            value = cookie.get("value")
            if isinstance(value, str) and len(value) >= 8:
                register(value)  # session cookies never appear in any artifact
        self._open_work_context(state, home_url)
        logger.info("Connecté au portail {}", self.portal.url)

    def _open_work_context(self, state: Any, url: str) -> None:
        video_dir = self.recorder.video_dir if self.recorder else None
        self._context = new_context(
            self.browser, self.settings, storage_state=state, video_dir=video_dir
        )
        if self.recorder is not None:
            self.recorder.attach(self._context)
        self._page = self._context.new_page()
        if self._throttle is not None:
            pace_page_loads(self._page, self._throttle.wait_turn)
        self._crashed = False
        self._page.on("crash", self._on_crash)
        self._page.on("response", self._count_server_time)
        if self.recorder is not None:
            observe(self._page, self.recorder.witness)
        # Back to the page the portal showed (its URL is learnt, not assumed).
        if self._throttle is not None:
            self._throttle.wait_turn()
        self._page.goto(url)

    def _on_crash(self, _page: Page) -> None:
        self._crashed = True

    def _count_server_time(self, response: Response) -> None:
        self.server_ms += server_time_ms(response.headers.get("server-timing", ""))

    def recycle(self) -> None:
        """A fresh work context with the same session cookies: memory stays flat on long runs."""
        if self._context is None or self._page is None or self._page.is_closed():
            return
        try:
            state, url = self._context.storage_state(), self._page.url
        except Exception:
            self._close_context()
            return
        self._close_context()
        self._open_work_context(state, url)
        logger.debug("Contexte du navigateur renouvelé")

    def release_memory(self) -> None:
        """Have the page's renderer collect its garbage now, between two transactions.

        Chromium keeps every page the robot left (documents, DOM, scripts) until memory gets
        scarce, which on a large machine means hundreds of megabytes per worker. A collection
        costs ~15 ms; measured over 20 invoices the renderer stays near 120 MB instead of
        growing past 700 MB (bench/README.md). Chromium only (CDP); never fails the run.
        """
        if self._context is None or self._page is None or self._page.is_closed():
            return
        try:
            if self._cdp is None:
                self._cdp = self._context.new_cdp_session(self._page)
            self._cdp.send("HeapProfiler.collectGarbage")
        except Exception:  # another browser, or a crashed one: the next step will tell
            self._cdp = None

    def _login_state(self) -> tuple[Any, str]:
        """Log in in an untraced context; its cookies and the page reached.

        A new login of the same account starts from the cookies the last one ended with:
        while the identity provider still knows the browser (single sign-on), « Se
        connecter » comes straight back to « Accueil » and neither the password nor a code
        is asked, as for a person whose application session ended. Otherwise the portal
        shows its login form and the whole login is done. A login that fails starts the next
        one afresh.
        """
        key = (self.portal.url, self.portal.identifiant)
        carried = self._last_login[1] if self._last_login and self._last_login[0] == key else None
        self._last_login = None
        context = new_context(self.browser, self.settings, storage_state=carried)
        try:
            page = context.new_page()
            login_scenario(
                page,
                base_url=self.portal.url,
                identifiant=self.portal.identifiant,
                password=self.portal.password.reveal(),
                otp=self.portal.otp_callback(),
            )
            state = context.storage_state()
            self._last_login = (key, state)
            return state, page.url
        finally:
            _quietly(context.close)

    def rebind(self, portal: PortalTarget, recorder: Recorder | None) -> None:
        """Work for another account (or another run's recorder) in the same browser: the
        current work context is closed, and the next use of :attr:`page` logs in as
        ``portal``'s account."""
        self._close_context()
        self.portal = portal
        self.recorder = recorder

    def detach(self) -> None:
        """Close the work context (its recording is saved); the browser stays."""
        self._close_context()

    def restart_browser(self) -> None:
        """After a crash: drop the browser and everything in it; the next use logs in again."""
        self._close_context()
        if self._browser is not None:
            _quietly(self._browser.close)
            self._browser = None
        self._crashed = False

    def logout(self) -> None:
        self._last_login = None  # the portal ends the identity provider's session too
        if self._page is None or self._page.is_closed():
            return
        from pages.navigation import Navigator

        _quietly(lambda: Navigator(self._page, self.portal.url).logout())  # type: ignore[arg-type]

    def _close_context(self) -> None:
        if self._context is not None:
            videos = []
            if self.recorder is not None:
                videos = [page.video for page in self._context.pages if page.video]
                self.recorder.detach(self._context)
            _quietly(self._context.close)
            if self.recorder is not None:
                self.recorder.context_closed([Path(p) for p in map(_video_path, videos) if p])
        self._context = None
        self._page = None
        self._cdp = None


_APP_TIMING = re.compile(r"(?:^|,)\s*app\s*;[^,]*?dur=([0-9.]+)")


def server_time_ms(header: str) -> float:
    """The ``app`` duration of a ``Server-Timing`` header (0 when absent)."""
    match = _APP_TIMING.search(header)
    return float(match.group(1)) if match else 0.0


class _Throttle:
    """Politeness towards the real portal: at most N page loads a minute, paced by the robot.

    :meth:`wait_turn` is the pacer the page objects call right before each page load they
    trigger (a ``goto``, a click that follows a link or submits a form): only those count,
    never what the portal's own scripts fetch nor the static files. No request is routed, so
    Chromium's HTTP cache stays on and Playwright's dispatcher is never blocked. The wait is
    for a time slot, not for the page: the portal is simply asked less often.
    """

    def __init__(self, per_minute: int) -> None:
        self.interval = 60.0 / per_minute
        self._next = 0.0
        self._lock = threading.Lock()
        self._clock = threading.Event()  # never set: waiting on it is a sleep that wakes on time

    def wait_turn(self) -> None:
        """Return at this load's time slot (at once when the last one is an interval ago)."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        while (left := slot - time.monotonic()) > 0:
            self._clock.wait(left)


def _video_path(video: Any) -> str:
    try:
        return str(video.path())
    except Exception:
        return ""


def _quietly(action: Any) -> None:
    # Closing what has already crashed raises; nothing is left to save at that point.
    try:
        action()
    except Exception:
        return
