"""The browser's floor: what Chromium alone costs to show the pages of one invoice.

``python -m bench.browser_floor`` loads, in the robot's browser (same executable, same flags,
same context settings), the documents the robot's transaction loads — consultation page
twice, « Synthèse » twice, « Rechercher » and its results, the entry form, the new
invoice's page: 8 page loads, **no click, no fill, no reading** — and reports the CPU of the
browser and Playwright's driver per invoice, with the audit trace on and off. Nothing the robot
could do in its own code makes a transaction cheaper than this: it bounds the throughput
on a given machine (CPU-seconds a minute ÷ this figure).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext

from bench.floor import CRITERION, pending_rejections
from bench.measure import process_cpu_s, tree
from robot.browser.launch import BrowserSettings, launch, new_context, start_playwright
from sandbox.server import RunningSandbox, start_sandbox
from sandbox.settings import SandboxOptions
from scenarios import login

SYNTHESE = "/factures-emises/synthese?taille=50"
SEARCH = "/factures-emises/rechercher"
FORM = "/factures-emises/saisir"


def pages_of(invoice: dict[str, Any]) -> list[str]:
    """The documents one transaction of the robot loads, in order (8)."""
    own = f"/factures-emises/factures/{invoice['id']}"
    return [
        own,  # acknowledge: read it
        own,  # … shown again after « Acquitter »
        SYNTHESE,  # process: tick it
        SYNTHESE,  # … shown again after « Traiter le rejet »
        SEARCH,  # reissue: is the new number free?
        f"{SEARCH}?{CRITERION}numero={invoice['numero']}-B",
        FORM,
        own,  # the new invoice's page (the same template)
    ]


def _children_cpu_s() -> float:
    me = os.getpid()
    return sum(process_cpu_s(pid) for pid in tree(me) if pid != me)


def _logged_in_state(context: BrowserContext, sandbox: RunningSandbox) -> Any:
    page = context.new_page()
    login(
        page,
        base_url=sandbox.url,
        identifiant=sandbox.options.user,
        password=sandbox.options.password,
        otp=None,
    )
    return context.storage_state()


def measure(sandbox: RunningSandbox, n: int, audit: bool, trace_dir: Path) -> dict[str, Any]:
    """Load the pages of ``n`` invoices; CPU and wall time per invoice."""
    invoices = pending_rejections(sandbox)[:n]
    settings = BrowserSettings()
    playwright = start_playwright()
    try:
        browser = launch(playwright, settings)
        login_context = new_context(browser, settings)
        state = _logged_in_state(login_context, sandbox)
        login_context.close()
        context = new_context(browser, settings, storage_state=state)
        if audit:
            context.tracing.start(screenshots=True, snapshots=True)
            context.tracing.stop_chunk()  # as the robot does (robot/browser/recording.py)
        page = context.new_page()
        cpu_start, wall_start = _children_cpu_s(), time.monotonic()
        for index, invoice in enumerate(invoices):
            if audit:
                context.tracing.start_chunk()
            for path in pages_of(invoice):
                page.goto(sandbox.url + path, wait_until="domcontentloaded")
            if audit:
                context.tracing.stop_chunk(path=trace_dir / f"{index}.zip")
        cpu_s, wall_s = _children_cpu_s() - cpu_start, time.monotonic() - wall_start
        browser.close()
    finally:
        playwright.stop()
    count = max(1, len(invoices))
    return {
        "audit": audit,
        "n": len(invoices),
        "pages_per_invoice": len(pages_of(invoices[0])) if invoices else 0,
        "cpu_s_per_invoice": round(cpu_s / count, 3),
        "wall_s_per_invoice": round(wall_s / count, 3),
    }


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.browser_floor",
        description="Coût du navigateur seul pour afficher les pages d'une facture.",
    )
    p.add_argument("--n", type=int, default=30, help="factures (défaut 30)")
    p.add_argument("--json", action="store_true", help="résultat en JSON")
    args = p.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="chorus-browser-floor-") as work:
        options = SandboxOptions(data_dir=Path(work) / "sandbox", seed=max(args.n, 1))
        with start_sandbox(options, mode="process") as sandbox:
            for audit in (False, True):
                rows.append(measure(sandbox, args.n, audit, Path(work)))
    if args.json:
        print(json.dumps(rows))
    else:
        for row in rows:
            print(
                f"audit {'on ' if row['audit'] else 'off'} : {row['pages_per_invoice']} pages, "
                f"{row['cpu_s_per_invoice']} s CPU et {row['wall_s_per_invoice']} s par facture "
                f"(N = {row['n']})"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
