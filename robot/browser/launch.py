"""The one owner of the browser lifecycle: launch, contexts, and closing them always.

The password is typed in an *untraced* login context; the session is handed to the traced
work context as cookies (``storage_state``), so traces never see the login form filled in.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright

from robot.browser.find import QUIET_FLAGS, find_chromium
from robot.config import Config


@dataclass(frozen=True)
class BrowserSettings:
    """What the robot needs to launch and configure a browser."""

    executable: str | None = None  # None: CHORUS_BROWSER / Playwright's own / system Chromium
    headless: bool = True
    timeout_ms: int = 15_000
    slow_mo_ms: int = 0


def settings_for(config: Config) -> BrowserSettings:
    """The browser settings a configuration asks for."""
    return BrowserSettings(
        executable=config.browser,
        headless=config.headless,
        timeout_ms=config.timeout_ms,
        slow_mo_ms=config.slow_mo_ms,
    )


#: Headless only, each measured with the benchmark (bench/README.md): headless Chromium
#: emulates a GPU in software, about a CPU-second per invoice, and nothing the robot does
#: needs one; the compositor then runs in the browser process instead of a process of its
#: own; the robot never goes back, so pages kept for « Précédent » only hold memory; and the
#: pages' JavaScript engine trades a little speed for a smaller heap (with the collection
#: between transactions, WorkSession.release_memory, the renderer stays near 140 MB).
HEADLESS_FLAGS: tuple[str, ...] = (
    "--disable-gpu",
    "--in-process-gpu",
    "--disable-back-forward-cache",
    "--js-flags=--optimize-for-size",
)


def launch(playwright: Playwright, settings: BrowserSettings) -> Browser:
    """Launch Chromium with the flags that keep a closed network quiet."""
    executable = settings.executable or find_chromium(playwright, headless=settings.headless)
    kwargs: dict[str, Any] = {
        "headless": settings.headless,
        "args": [*QUIET_FLAGS, *(HEADLESS_FLAGS if settings.headless else ())],
        "slow_mo": settings.slow_mo_ms or None,
    }
    if executable:
        kwargs["executable_path"] = executable
    return playwright.chromium.launch(**{k: v for k, v in kwargs.items() if v is not None})


#: Node options of Playwright's driver (one node process per worker): a young generation of
#: 2 MB instead of node's 16 MB semi-spaces takes ~75 MB off each worker for ~3 % more
#: driver CPU (bench/README.md). Never overrides the operator's own setting.
DRIVER_NODE_OPTIONS = "--max-semi-space-size=2"


def start_playwright() -> Playwright:
    """Start Playwright's driver with :data:`DRIVER_NODE_OPTIONS` (``stop()`` it after use)."""
    current = os.environ.get("NODE_OPTIONS", "")
    if "--max-semi-space-size" not in current:
        os.environ["NODE_OPTIONS"] = f"{current} {DRIVER_NODE_OPTIONS}".strip()
    return sync_playwright().start()


def new_context(
    browser: Browser,
    settings: BrowserSettings,
    *,
    storage_state: Any = None,
    video_dir: Path | None = None,
) -> BrowserContext:
    """A fresh context in French, Paris time, with the configured timeouts."""
    context = browser.new_context(
        locale="fr-FR",
        timezone_id="Europe/Paris",
        viewport={"width": 1280, "height": 900},
        storage_state=storage_state,
        record_video_dir=str(video_dir) if video_dir else None,
        accept_downloads=True,  # « Exporter » (the follow-up reads its file)
    )
    context.set_default_timeout(settings.timeout_ms)
    context.set_default_navigation_timeout(settings.timeout_ms)
    return context
