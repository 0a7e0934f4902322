"""Pacing of the page loads the robot triggers (a politeness hook, no business knowledge).

The page objects call :func:`pace` right before each action of theirs that loads a page: a
``goto``, a click that follows a link or submits a form, the reload of a page the portal
answered with an error (all of them go through :mod:`pages._guard`). Whoever drives the
page may :func:`pace_page_loads` it, e.g. with a throttle that waits for its next time slot;
by default nothing waits. What the portal's own scripts load (lists, « Code service ») and the
static files are not paced: the robot did not ask for them.
"""

from __future__ import annotations

from collections.abc import Callable
from weakref import WeakKeyDictionary

from playwright.sync_api import Page

#: Called before each page load the robot triggers; returns when the load may start.
Pacer = Callable[[], None]

_pacers: WeakKeyDictionary[Page, Pacer] = WeakKeyDictionary()


def pace_page_loads(page: Page, pacer: Pacer | None) -> None:
    """Call ``pacer`` before every page load the page objects trigger on ``page`` (None: stop)."""
    if pacer is None:
        _pacers.pop(page, None)
    else:
        _pacers[page] = pacer


def pace(page: Page) -> None:
    """Wait for the pacer of ``page``, if any (right before a page load)."""
    pacer = _pacers.get(page)
    if pacer is not None:
        pacer()
