"""Login page objects against the sandbox: password, one-time code by e-mail, refusals."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from pages import FormRejected, LoginPage, OtpPage
from sandbox.server import RunningSandbox

pytestmark = pytest.mark.e2e

CODE = re.compile(r"Votre code de vérification est : (\d{6})")


def _codes_since(maildir: Path, to: str, since: datetime) -> list[str]:
    """The one-time codes mailed to ``to`` after ``since`` (parsed from the Maildir .eml)."""
    found: list[tuple[datetime, str]] = []
    for path in (maildir / "new").iterdir():
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        sent = message["Date"].datetime
        if message["To"].addresses[0].addr_spec != to or sent < since.replace(microsecond=0):
            continue
        assert message["From"].addresses[0].addr_spec == "ne-pas-repondre@chorus-pro.gouv.fr"
        assert message["Subject"] == "Chorus Pro - Code de vérification"
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        match = CODE.search(body.get_content())
        if match:
            found.append((sent, match.group(1)))
    return [code for _, code in sorted(found)]


def test_right_password_leads_to_home_without_code_step(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    form = LoginPage(page)
    form.open(fresh_sandbox.url)
    needs_code = form.login(fresh_sandbox.options.user, fresh_sandbox.options.password)
    assert needs_code is False
    expect(page.get_by_role("heading", name="Accueil", exact=True)).to_be_visible()


def test_wrong_password_is_refused_with_the_portals_message(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    form = LoginPage(page)
    form.open(fresh_sandbox.url)
    with pytest.raises(FormRejected) as refused:
        form.login(fresh_sandbox.options.user, "mauvais-mot-de-passe")
    assert refused.value.messages == ("Identifiant ou mot de passe incorrect.",)
    assert "mauvais-mot-de-passe" not in str(refused.value)


def test_one_time_code_read_from_the_maildir_completes_the_login(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    fresh_sandbox.reset(otp=True)
    form = LoginPage(page)
    form.open(fresh_sandbox.url)
    since = datetime.now(UTC)
    assert form.login(fresh_sandbox.options.user, fresh_sandbox.options.password) is True
    codes = _codes_since(fresh_sandbox.maildir, fresh_sandbox.options.user, since)
    assert len(codes) >= 1
    OtpPage(page).submit(codes[-1])
    expect(page.get_by_role("heading", name="Accueil", exact=True)).to_be_visible()


def test_wrong_one_time_code_is_refused_with_the_portals_message(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    fresh_sandbox.reset(otp=True)
    form = LoginPage(page)
    form.open(fresh_sandbox.url)
    since = datetime.now(UTC)
    assert form.login(fresh_sandbox.options.user, fresh_sandbox.options.password)
    real = _codes_since(fresh_sandbox.maildir, fresh_sandbox.options.user, since)[-1]
    wrong = f"{(int(real) + 1) % 1_000_000:06d}"
    with pytest.raises(FormRejected) as refused:
        OtpPage(page).submit(wrong)
    assert refused.value.messages == ("Code de vérification incorrect.",)
    expect(OtpPage(page).code).to_be_visible()


def test_login_page_lists_the_elements_it_depends_on(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    form = LoginPage(page)
    form.open(fresh_sandbox.url)
    assert form.missing_elements() == []
    for locator in form.expected_elements().values():
        expect(locator).to_be_visible()
