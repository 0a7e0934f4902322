"""The navigator: screens reached by clicking links, then straight through remembered URLs."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from portal_support import log_in

from pages import Navigator
from pages.navigation import forget_urls
from sandbox.server import RunningSandbox

pytestmark = pytest.mark.e2e


def test_every_screen_is_reached_by_clicking_when_no_url_is_known(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
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
    log_in(page, fresh_sandbox)
    forget_urls()
    tab = context.new_page()
    Navigator(tab, fresh_sandbox.url).synthese()
    expect(tab.get_by_role("table", name="Synthèse")).to_be_visible()


def test_a_remembered_screen_is_opened_directly_without_the_domain_page(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    Navigator(page).search()  # learns the way
    Navigator(page).home()
    visited: list[str] = []
    page.on("framenavigated", lambda frame: visited.append(frame.url))
    Navigator(page).search()
    expect(page.get_by_role("search")).to_be_visible()
    assert len(visited) == 1


def test_synthese_is_shown_fifty_rows_a_page_and_reopened_so_in_one_page_load(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    fresh_sandbox.reset(seed=35)
    log_in(page, fresh_sandbox)
    forget_urls()
    Navigator(page).synthese()
    expect(page.get_by_role("combobox", name="Lignes par page")).to_have_text("50")
    expect(page.get_by_text("Page 1 sur 1")).to_be_visible()
    Navigator(page).home()
    loads: list[str] = []
    page.on("framenavigated", lambda frame: loads.append(frame.url))
    Navigator(page).synthese()
    expect(page.get_by_role("combobox", name="Lignes par page")).to_have_text("50")
    expect(page.get_by_text("Page 1 sur 1")).to_be_visible()
    assert len(loads) == 1


def test_synthese_can_be_opened_at_the_portals_own_page_size(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    fresh_sandbox.reset(seed=35)
    log_in(page, fresh_sandbox)
    forget_urls()
    Navigator(page).synthese(rows_per_page=None)
    expect(page.get_by_role("combobox", name="Lignes par page")).to_have_text("10")
    expect(page.get_by_text(re.compile(r"Page 1 sur [2-9]"))).to_be_visible()
