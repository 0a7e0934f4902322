"""The base of every page object: the Playwright page, the pop-up handler, the preflight list.

Every public method of a page object is wrapped, once, when its class is defined, so that a
Playwright timeout inside it comes out as :class:`PortalUnavailable` (the portal did not
answer in time) — the rule of the package, without a ``try`` in each method.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Locator, Page

from pages._guard import install_popup_handler, portal_timeouts


def _translating(what: str, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with portal_timeouts(what):
            return method(*args, **kwargs)

    return wrapper


class PageObject:
    """One portal screen (or part of one) driven through a Playwright ``Page``."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, member in list(vars(cls).items()):
            if name.startswith("_") or not inspect.isfunction(member):
                continue
            setattr(cls, name, _translating(f"{cls.__name__}.{name}", member))

    def __init__(self, page: Page) -> None:
        self.page = page
        install_popup_handler(page)

    def expected_elements(self) -> dict[str, Locator]:
        """Name → locator of every element this page object depends on (for « check-portal »)."""
        raise NotImplementedError

    def missing_elements(self) -> list[str]:
        """Names of the expected elements that are not on the current page."""
        return [name for name, locator in self.expected_elements().items() if not locator.count()]
