"""QA, read-only: login (with its one-time code), the rejection window, every screen against
the page objects, logout. Safe on production.

On the sandbox, its admin interface also checks that the portal shows what it holds and that
nothing was changed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from _target import QaPortal, pending_rejections, sandbox_state
from playwright.sync_api import BrowserContext, Page, expect

from pages import LoginPage, Navigator, OtpPage, RejectionWindow
from scenarios.preflight import check_portal, mismatches

pytestmark = [pytest.mark.readonly, pytest.mark.e2e]


def test_login_lands_on_home_page_with_the_logout_button(qa_page: Page) -> None:
    navigator = Navigator(qa_page)
    navigator.home()
    expect(navigator.home_heading).to_be_visible()
    expect(navigator.logout_button).to_be_visible()


def test_login_asks_for_the_one_time_code_when_the_account_has_one(
    qa_portal: QaPortal, untraced_context: Callable[[], BrowserContext]
) -> None:
    if qa_portal.sandbox is not None:
        qa_portal.sandbox.reset(otp=True)
    page = untraced_context().new_page()  # the password is typed here: never recorded
    form = LoginPage(page)
    form.open(qa_portal.url)
    since = datetime.now().astimezone()
    needs_code = form.login(qa_portal.identifiant, qa_portal.password.reveal())
    if qa_portal.sandbox is not None:
        assert needs_code
    if needs_code:
        assert qa_portal.otp is not None, "CHORUS_OTP_SOURCE : le portail demande un code"
        OtpPage(page).submit(qa_portal.otp(since))
    assert form.is_logged_in()


def test_rejection_window_lists_rejected_invoices_with_their_motive(
    qa_page: Page, qa_portal: QaPortal
) -> None:
    window = RejectionWindow(qa_page)
    rows = window.rows()
    for row in rows:
        assert row.numero and row.statut in {"Rejetée", "Suspendue"}
        assert row.deposited_at is not None
        assert row.motif or row.statut != "Rejetée"
    if qa_portal.sandbox is not None:
        assert window.is_open()
        assert {row.numero for row in rows} == pending_rejections(qa_portal)


def test_every_screen_the_robot_uses_matches_its_page_objects(
    qa_page: Page, qa_portal: QaPortal, tmp_path: Path
) -> None:
    before = sandbox_state(qa_portal)
    rows = check_portal(qa_page, qa_portal.url, screenshot_dir=tmp_path)
    assert mismatches(rows) == []
    assert {row.page for row in rows} >= {
        "Accueil", "Facturation", "Synthèse", "Factures émises", "Rechercher",
        "Consultation de la facture", "Saisir une facture",
    }  # fmt: skip
    assert list(tmp_path.iterdir()) == []  # screenshots only of screens that differ
    assert sandbox_state(qa_portal) == before


def test_logout_from_a_work_screen_returns_to_the_public_page(qa_page: Page) -> None:
    navigator = Navigator(qa_page)
    navigator.synthese()
    navigator.logout()
    form = LoginPage(qa_page)
    expect(form.connect_link.or_(form.password).first).to_be_visible()
    expect(Navigator(qa_page).logout_button).to_have_count(0)
