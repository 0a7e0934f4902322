"""The QA suite: the robot's page objects and scenarios, run as tests against a portal.

Target: the local sandbox by default (``fresh_sandbox`` of tests/conftest.py, reset before
each test), or the portal given with ``--base-url`` — its account from ``CHORUS_LOGIN``,
``CHORUS_PASSWORD`` and ``CHORUS_OTP_SOURCE``.

Every test is marked ``readonly`` (safe on production) or ``mutating`` (acknowledges,
processes, issues invoices). A mutating test against a portal that is not on this machine
fails at setup unless ``--qa-allow-mutating`` is given. pytest-playwright's ``--tracing``,
``--video`` and ``--screenshot`` apply to the page of each test; the password and the
one-time code are typed in a separate, never-recorded context, whose cookies the test's page
then uses (as the robot does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _target import ALLOW_MUTATING, QaPortal, marker_refusal, mutating_refusal
from playwright.sync_api import Browser, BrowserContext, Page
from playwright.sync_api import Error as PlaywrightError

from pages import Navigator, PageError, RejectionWindow
from scenarios import login

#: Playwright's wait for one element or page, in the QA suite (ms).
QA_TIMEOUT_MS = 10_000


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        ALLOW_MUTATING,
        action="store_true",
        default=False,
        help="Autoriser les tests « mutating » sur un portail qui n'est pas local "
        "(ils acquittent, traitent des rejets et émettent des factures).",
    )


@pytest.fixture(autouse=True)
def qa_guard(request: pytest.FixtureRequest, base_url: str | None) -> None:
    """Refuse, at setup, an unmarked test, and a mutating one aimed at a remote portal."""
    markers = {marker.name for marker in request.node.iter_markers()}
    refusal = marker_refusal(markers)
    if refusal is None and "mutating" in markers:
        allowed = bool(request.config.getoption(ALLOW_MUTATING, default=False))
        refusal = mutating_refusal(base_url, allowed=allowed)
    if refusal is not None:
        pytest.fail(refusal, pytrace=False)


@pytest.fixture
def qa_portal(qa_guard: None, request: pytest.FixtureRequest, base_url: str | None) -> QaPortal:
    """The portal under test (the sandbox, fresh, unless ``--base-url`` names another)."""
    if base_url:
        try:
            return QaPortal.from_environment(base_url)
        except ValueError as exc:
            pytest.fail(str(exc), pytrace=False)
    return QaPortal.from_sandbox(request.getfixturevalue("fresh_sandbox"))


@pytest.fixture
def untraced_context(
    browser: Browser, browser_context_args: dict[str, Any]
) -> Iterator[Callable[[], BrowserContext]]:
    """Contexts for typing secrets: no trace, no video (closed after the test)."""
    contexts: list[BrowserContext] = []

    def make() -> BrowserContext:
        args = {k: v for k, v in browser_context_args.items() if k != "record_video_dir"}
        context = browser.new_context(**args, locale="fr-FR", timezone_id="Europe/Paris")
        context.set_default_timeout(QA_TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def qa_page(
    qa_portal: QaPortal,
    untraced_context: Callable[[], BrowserContext],
    new_context: Callable[..., BrowserContext],
    pytestconfig: pytest.Config,
) -> Iterator[Page]:
    """A page logged in to the portal under test, on its home page (« Accueil »).

    The login happens in an untraced context; the test's own context (traced, filmed,
    screenshotted by pytest-playwright when asked) receives its cookies. On a real portal,
    or when traces are kept, the test ends with « Se déconnecter »: the session cookie a
    trace holds is then dead, and the portal's session is freed.
    """
    login_context = untraced_context()
    page = login_context.new_page()
    login(
        page,
        base_url=qa_portal.url,
        identifiant=qa_portal.identifiant,
        password=qa_portal.password.reveal(),
        otp=qa_portal.otp,
    )
    state, home = login_context.storage_state(), page.url
    login_context.close()
    context = new_context(storage_state=state, locale="fr-FR", timezone_id="Europe/Paris")
    context.set_default_timeout(QA_TIMEOUT_MS)
    work = context.new_page()
    work.goto(home)
    yield work
    if qa_portal.sandbox is None or pytestconfig.getoption("--tracing", "off") != "off":
        _logout_quietly(work, qa_portal.url)


def _logout_quietly(page: Page, url: str) -> None:
    navigator = Navigator(page, url)
    try:
        if page.is_closed() or not navigator.logout_button.count():
            return  # the test logged out itself
        if RejectionWindow(page).is_open():
            navigator.domain()  # the window covers the button: leave home first
        navigator.logout()
    except (PageError, PlaywrightError):
        return  # the test's own outcome matters more than the logout
