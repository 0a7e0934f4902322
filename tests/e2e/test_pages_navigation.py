"""The navigator: screens reached by clicking links, then straight through remembered URLs."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from pages import Navigator
from pages.navigation import forget_urls
from sandbox.server import RunningSandbox
from scenarios import login

pytestmark = pytest.mark.e2e


def _login(page: Page, sandbox: RunningSandbox) -> None:
    login(
        page,
        base_url=sandbox.url,
        identifiant=sandbox.options.user,
        password=sandbox.options.password,
        otp=None,
    )


def test_every_screen_is_reached_by_clicking_when_no_url_is_known(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    _login(page, fresh_sandbox)
    forget_urls()
    visited: list[str] = []
    page.on("framenavigated", lambda frame: visited.append(frame.url))
    navigator = Navigator(page)
    navigator.synthese()
    expect(page.get_by_role("table", name="Synthèse")).to_be_visible()
    navigator.search()
    expect(page.get_by_role("search")).to_be_visible()
    navigator.entry_form()
    expect(page.get_by_role("button", name="Valider et envoyer")).to_be_visible()
    navigator.home()
    expect(page.get_by_role("heading", name="Accueil", exact=True)).to_be_visible()
    assert any(url.endswith("/facturation") for url in visited)  # went through the domain


def test_a_blank_tab_of_the_session_reaches_synthese_from_the_portal_address(
    page: Page, context: BrowserContext, fresh_sandbox: RunningSandbox
) -> None:
    _login(page, fresh_sandbox)
    forget_urls()
    tab = context.new_page()
    Navigator(tab, fresh_sandbox.url).synthese()
    expect(tab.get_by_role("table", name="Synthèse")).to_be_visible()


def test_a_remembered_screen_is_opened_directly_without_the_domain_page(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    _login(page, fresh_sandbox)
    Navigator(page).search()  # learns the way
    Navigator(page).home()
    visited: list[str] = []
    page.on("framenavigated", lambda frame: visited.append(frame.url))
    Navigator(page).search()
    expect(page.get_by_role("search")).to_be_visible()
    assert len(visited) == 1
