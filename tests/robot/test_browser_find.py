"""Which Chromium the robot finds, on machines where only Playwright's own is installed, and
where none is.

Each case runs in a child process: ``PLAYWRIGHT_BROWSERS_PATH`` (where Playwright keeps its
browsers) is read when Playwright's driver starts, and the Sync API cannot start a second
time inside pytest-playwright's event loop. There, the system's Chromium is hidden from
:mod:`robot.browser.find` (its candidate lists emptied) and ``CHORUS_BROWSER`` is unset.

"Playwright's own Chromium" is laid out where Playwright says it looks for it (asked of
Playwright itself, never guessed): a small wrapper at each of those paths notes that it ran,
then runs the system's Chromium.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from robot.browser.find import system_chromium
from robot.errors import EXIT_SYSTEM, BrowserNotFound, RobotError

#: Run as ``python -c SCRIPT MODE``; prints one JSON line.
SCRIPT = r"""
import json, re, sys
from playwright.sync_api import Error, sync_playwright
from robot.browser import find
from robot.browser.launch import BrowserSettings, launch
from robot.errors import BrowserNotFound

find.SYSTEM_CANDIDATES = ()
find.SYSTEM_HEADLESS_CANDIDATES = ()
find.PATH_CANDIDATES = ()
find.HEADLESS_SHELL = "no-headless-shell-here"

mode = sys.argv[1]
with sync_playwright() as playwright:
    if mode == "where":
        # Headless, Playwright runs its headless shell: launching with nothing installed
        # says where it expects that one.
        try:
            playwright.chromium.launch().close()
            missing = None
        except Error as exc:
            found = re.search(r"Executable doesn't exist at (\S+)", exc.message)
            missing = found.group(1) if found else exc.message
        print(json.dumps({"chromium": playwright.chromium.executable_path, "headless": missing}))
    elif mode == "find":
        outcome = {}
        for headless in (True, False):
            try:
                found = find.find_chromium(playwright, headless=headless)
                outcome[str(headless)] = {"found": found}
            except BrowserNotFound as exc:
                outcome[str(headless)] = {
                    "error": type(exc).__name__, "exit_code": exc.exit_code, "message": str(exc)
                }
        print(json.dumps(outcome))
    elif mode == "launch":
        found = find.find_chromium(playwright, headless=True)
        browser = launch(playwright, BrowserSettings())
        try:
            page = browser.new_page()
            page.goto("data:text/html,<title>Chorus</title><h1>Facture rendue</h1>")
            shown = {"title": page.title(), "heading": page.inner_text("h1")}
        finally:
            browser.close()
        print(json.dumps({"found": found, **shown}))
"""


def _run(mode: str, browsers: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHORUS_")}
    env["PLAYWRIGHT_BROWSERS_PATH"] = str(browsers)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _install_wrapper(path: Path, target: str, log: Path) -> None:
    """``path`` runs ``target`` with the same arguments, after noting its own path in ``log``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\necho "$0" >> "{log}"\nexec "{target}" "$@"\n', encoding="utf-8")
    path.chmod(0o755)


def test_only_playwrights_own_chromium_is_found_and_launched(tmp_path: Path) -> None:
    stand_in = system_chromium()
    if stand_in is None:
        pytest.fail("No system Chromium to stand in for Playwright's: run « make setup ».")
    browsers = tmp_path / "ms-playwright"
    browsers.mkdir()
    where = _run("where", browsers)
    chromium, headless = Path(where["chromium"]), Path(where["headless"])
    assert chromium.is_relative_to(browsers), where
    assert headless.is_relative_to(browsers), where  # an error's text would not be a path here
    log = tmp_path / "launched.log"
    for path in (chromium, headless):
        _install_wrapper(path, stand_in, log)

    shown = _run("launch", browsers)

    assert shown == {"found": None, "title": "Chorus", "heading": "Facture rendue"}
    # Playwright ran its own headless Chromium: the file it was asked about, nothing else.
    assert log.read_text(encoding="utf-8").splitlines() == [str(headless)]


def test_with_no_chromium_anywhere_find_chromium_raises_browser_not_found(
    tmp_path: Path,
) -> None:
    browsers = tmp_path / "ms-playwright"
    browsers.mkdir()

    outcome = _run("find", browsers)

    assert set(outcome) == {"True", "False"}  # headless and headed alike
    for case in outcome.values():
        assert case["error"] == "BrowserNotFound", case
        assert case["exit_code"] == EXIT_SYSTEM == 3
        assert "make setup" in case["message"] and "CHORUS_BROWSER" in case["message"]
    assert issubclass(BrowserNotFound, RobotError)
    assert list(browsers.iterdir()) == []  # and nothing was installed on the way
