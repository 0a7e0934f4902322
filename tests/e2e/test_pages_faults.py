"""Page objects facing the portal's bad days: pop-up, layout drift, 503, maintenance, expiry."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from portal_support import log_in

from pages import (
    InvoicePage,
    LoginRequired,
    Navigator,
    PortalUnavailable,
    RejectionWindow,
)
from sandbox.server import RunningSandbox

pytestmark = pytest.mark.e2e


def _pending(sandbox: RunningSandbox) -> list[str]:
    return [i["numero"] for i in sandbox.invoices(status="REJETEE") if not i["acquittee"]]


def test_information_popup_on_every_page_is_dismissed_and_work_goes_on(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    fresh_sandbox.set_faults(popup_rate=1.0)
    log_in(page, fresh_sandbox)
    numero = _pending(fresh_sandbox)[0]
    invoice = Navigator(page).search().open(numero, statut="Rejetée")
    invoice.acknowledge()
    assert fresh_sandbox.invoice(numero)["acquittee"] is True
    expect(page.get_by_role("dialog", name="Information")).to_have_count(0)


def test_layout_drift_changes_nothing_for_the_page_objects(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    fresh_sandbox.set_faults(layout_drift=True)
    log_in(page, fresh_sandbox)
    window = RejectionWindow(page)
    assert {row.numero for row in window.rows()} == set(_pending(fresh_sandbox))
    window.acknowledge([_pending(fresh_sandbox)[0]])
    rows = Navigator(page).synthese().rows()
    assert {row.numero for row in rows} >= set(_pending(fresh_sandbox))
    assert InvoicePage(page).goto(rows[0].href).read().numero == rows[0].numero
    form = Navigator(page).entry_form()
    assert form.missing_elements() == []


def test_service_unavailable_page_raises_portal_unavailable(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    fresh_sandbox.set_faults(error_rate=1.0)
    with pytest.raises(PortalUnavailable, match="Service indisponible"):
        Navigator(page).synthese()


def test_maintenance_page_raises_portal_unavailable(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    url = Navigator(page).search().search(numero=_pending(fresh_sandbox)[0])[0].href
    fresh_sandbox.set_faults(maintenance=True)
    with pytest.raises(PortalUnavailable, match="Maintenance en cours"):
        InvoicePage(page).goto(url)


def test_expired_session_raises_login_required(page: Page, fresh_sandbox: RunningSandbox) -> None:
    log_in(page, fresh_sandbox)
    fresh_sandbox.set_faults(session_idle_s=0.001)
    with pytest.raises(LoginRequired, match="session expirée"):
        Navigator(page).synthese()
    expect(page.get_by_role("alert")).to_contain_text("Votre session a expiré.")


def test_refused_request_page_raises_portal_unavailable(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    invoice = Navigator(page).search().open(_pending(fresh_sandbox)[0], statut="Rejetée")
    # a stale form: its anti-forgery token no longer matches the session
    page.evaluate("document.querySelectorAll('input[name=csrf]').forEach(i => i.value = 'x')")
    with pytest.raises(PortalUnavailable, match="Requête refusée"):
        invoice.acknowledge()


def test_portal_too_slow_to_answer_raises_portal_unavailable(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    fresh_sandbox.set_faults(latency_ms=3000)
    page.set_default_navigation_timeout(500)
    page.set_default_timeout(500)
    with pytest.raises(PortalUnavailable, match="à temps"):
        Navigator(page).synthese()


def test_after_logout_the_portal_asks_to_log_in_again(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    url = Navigator(page).search().search(numero=_pending(fresh_sandbox)[0])[0].href
    Navigator(page).logout()
    expect(page.get_by_role("link", name="Se connecter")).to_be_visible()
    with pytest.raises(LoginRequired):
        InvoicePage(page).goto(url)
