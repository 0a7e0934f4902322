"""The login scenario: password, one-time code through a provider, refusals, no secret leaked."""

from __future__ import annotations

import email
import re
from datetime import datetime
from email import policy

import pytest
from playwright.sync_api import Page, expect

from pages import RejectionWindow
from sandbox.server import RunningSandbox
from scenarios import BusinessError, PortalError, login

pytestmark = pytest.mark.e2e


def _mailed_code(sandbox: RunningSandbox, since: datetime) -> str:
    """The newest code in the Maildir sent after ``since`` (what a real provider would do)."""
    codes = []
    for path in (sandbox.maildir / "new").iterdir():
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        sent = message["Date"].datetime
        if sent >= since.replace(microsecond=0):
            body = message.get_body(preferencelist=("plain",))
            assert body is not None
            match = re.search(r"Votre code de vérification est : (\d{6})", body.get_content())
            assert match is not None
            codes.append((sent, path.stat().st_mtime_ns, match.group(1)))
    return sorted(codes)[-1][2]


def test_login_leaves_the_page_on_home_with_the_rejection_window(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    login(
        page,
        base_url=fresh_sandbox.url,
        identifiant=fresh_sandbox.options.user,
        password=fresh_sandbox.options.password,
        otp=None,
    )
    expect(page.get_by_role("heading", name="Accueil", exact=True)).to_be_visible()
    assert RejectionWindow(page).is_open()


def test_login_asks_the_provider_for_the_code_sent_after_the_password(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    fresh_sandbox.reset(otp=True)
    asked: list[datetime] = []

    def provider(since: datetime) -> str:
        asked.append(since)
        return _mailed_code(fresh_sandbox, since)

    login(
        page,
        base_url=fresh_sandbox.url,
        identifiant=fresh_sandbox.options.user,
        password=fresh_sandbox.options.password,
        otp=provider,
    )
    assert len(asked) == 1 and asked[0].tzinfo is not None
    expect(page.get_by_role("heading", name="Accueil", exact=True)).to_be_visible()


def test_code_step_without_a_code_source_is_a_business_error_naming_the_setting(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    fresh_sandbox.reset(otp=True)
    # Not retried: the configuration, not the portal, must change.
    with pytest.raises(BusinessError, match="CHORUS_OTP_SOURCE"):
        login(
            page,
            base_url=fresh_sandbox.url,
            identifiant=fresh_sandbox.options.user,
            password=fresh_sandbox.options.password,
            otp=None,
        )


def test_wrong_password_is_a_business_error_that_does_not_quote_the_password(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    secret = "Secret-Faux-2026!"
    with pytest.raises(BusinessError) as refused:
        login(
            page,
            base_url=fresh_sandbox.url,
            identifiant=fresh_sandbox.options.user,
            password=secret,
            otp=None,
        )
    assert refused.value.messages == ("Identifiant ou mot de passe incorrect.",)
    assert secret not in str(refused.value) and secret not in repr(refused.value)
    assert refused.value.__cause__ is None and refused.value.__suppress_context__


def test_unavailable_portal_at_login_is_a_portal_error(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    fresh_sandbox.set_faults(maintenance=True)
    with pytest.raises(PortalError, match="Maintenance en cours"):
        login(
            page,
            base_url=fresh_sandbox.url,
            identifiant=fresh_sandbox.options.user,
            password=fresh_sandbox.options.password,
            otp=None,
        )


def test_a_refused_code_is_a_business_failure_never_retried_towards_the_lockout(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    fresh_sandbox.reset(otp=True)
    with pytest.raises(BusinessError) as refused:
        login(
            page,
            base_url=fresh_sandbox.url,
            identifiant=fresh_sandbox.options.user,
            password=fresh_sandbox.options.password,
            otp=lambda _since: "000000",
        )
    assert "Code de vérification incorrect" in str(refused.value)
    assert "000000" not in str(refused.value)
