"""Which Chromium the robot launches: the search order the README documents.

1. ``CHORUS_BROWSER`` when set;
2. Playwright's own Chromium when installed, asked of the running Playwright
   (``playwright.chromium.executable_path``: starting a second Playwright inside the running
   one raises);
3. a system Chromium (``/usr/bin/chromium`` on Debian, or ``chromium``/``google-chrome`` on
   the ``PATH``); for headless runs its headless shell (Debian's ``chromium-headless-shell``,
   the build Playwright itself uses headless) when installed: about a fifth less CPU and a
   third less memory per worker (bench/README.md);
4. otherwise :class:`~robot.errors.BrowserNotFound` (exit 3), saying what to install.

Installing one is the set-up's job (:mod:`robot.setup.chromium`), never a run's.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from playwright.sync_api import Playwright

from robot.errors import BrowserNotFound

#: Flags that keep Chromium quiet on a closed network: without them Chromium keeps trying to
#: reach Google's services (updates, sync, field trials), each attempt refused or timing out.
QUIET_FLAGS: tuple[str, ...] = (
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
)

SYSTEM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
PATH_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
HEADLESS_SHELL = "chromium-headless-shell"
SYSTEM_HEADLESS_CANDIDATES = ("/usr/bin/chromium-headless-shell",)


def playwright_chromium(playwright: Playwright) -> str | None:
    """Path of Playwright's own Chromium if it is installed, asked of a running Playwright."""
    path = playwright.chromium.executable_path
    return path if path and Path(path).is_file() else None


def installed_playwright_chromium() -> str | None:
    """The same, from outside a running Playwright (the set-up): starts one to ask it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        return playwright_chromium(playwright)


def system_chromium() -> str | None:
    for candidate in SYSTEM_CANDIDATES:
        if Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    for name in PATH_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def system_headless_shell() -> str | None:
    for candidate in SYSTEM_HEADLESS_CANDIDATES:
        if Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which(HEADLESS_SHELL)


def find_chromium(playwright: Playwright, *, headless: bool = True) -> str | None:
    """The Chromium executable to launch, or None to let Playwright use its own.

    Returns a path for ``executable_path``; ``None`` means Playwright's bundled browser is
    installed and should be used as is (Playwright picks its own headless shell for headless
    runs). A system Chromium's headless shell is preferred for headless runs.
    """
    configured = os.environ.get("CHORUS_BROWSER", "").strip()
    if configured:
        return configured
    if playwright_chromium(playwright):
        return None
    system = system_chromium()
    if headless:
        system = system_headless_shell() or system
    if system:
        return system
    raise BrowserNotFound(
        "Aucun navigateur Chromium trouvé. Lancez « make setup », installez Chromium "
        "(« apt-get install chromium » sous Debian) ou indiquez son chemin dans CHORUS_BROWSER."
    )
