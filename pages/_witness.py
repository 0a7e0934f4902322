"""Witnesses of the clicks that change the portal (an audit hook, no business knowledge).

The page objects call :func:`witness` right before and right after each click that changes
data on the portal (« Acquitter », « Traiter le rejet », « Confirmer et envoyer »…). Whoever
drives the page may :func:`observe` it, e.g. to take a screenshot; by default nothing happens.
"""

from __future__ import annotations

from collections.abc import Callable
from weakref import WeakKeyDictionary

from playwright.sync_api import Page

#: (page, action label as on the portal, "avant" | "après") → None
Observer = Callable[[Page, str, str], None]

_observers: WeakKeyDictionary[Page, Observer] = WeakKeyDictionary()


def observe(page: Page, observer: Observer | None) -> None:
    """Call ``observer`` around every portal-changing click on ``page`` (None: stop)."""
    if observer is None:
        _observers.pop(page, None)
    else:
        _observers[page] = observer


def witness(page: Page, action: str, moment: str) -> None:
    observer = _observers.get(page)
    if observer is not None:
        observer(page, action, moment)
