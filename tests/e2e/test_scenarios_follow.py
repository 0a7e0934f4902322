"""follow_invoices: several invoices read from one « Exporter », the same findings as a search
each, fewer pages loaded; only an invoice sent back is searched and opened (its motive)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Download, Page
from portal_support import log_in

from sandbox.server import RunningSandbox
from scenarios.follow import Verdict, follow_invoice, follow_invoices

pytestmark = pytest.mark.e2e


def test_several_invoices_are_followed_from_one_export_with_the_same_findings(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    rejected = fresh_sandbox.invoices(status="REJETEE")[0]["numero"]
    delivered = [i["numero"] for i in fresh_sandbox.invoices(status="MISE_A_DISPOSITION")[:3]]
    numeros = [rejected, *delivered, "AUCUNE-FACTURE-9"]
    loads: list[str] = []
    files: list[Download] = []
    page.on("request", lambda r: loads.append(r.url) if r.is_navigation_request() else None)
    page.on("download", lambda download: files.append(download))

    one_by_one = [follow_invoice(page, numero) for numero in numeros]
    loads_one_by_one, loads[:] = len(loads), []
    together = follow_invoices(page, numeros)

    assert together == one_by_one
    assert len(delivered) == 2
    assert [seen.verdict for seen in together] == [
        Verdict.SENT_BACK, Verdict.RECEIVED, Verdict.RECEIVED, Verdict.TO_CHECK
    ]  # fmt: skip
    assert together[0].motif  # read on the rejected invoice's consultation page
    assert len(files) == 1
    assert len(loads) < loads_one_by_one
