"""The browser's floor runs and reports what Chromium alone costs per invoice — not its speed."""

from __future__ import annotations

import json

from bench_command import run_bench

from bench.browser_floor import pages_of


def test_browser_floor_loads_the_pages_of_a_transaction_with_audit_off_and_on() -> None:
    completed = run_bench("browser_floor", "--n", "2", "--json", timeout=180)
    rows = json.loads(completed.stdout.strip().splitlines()[-1])
    assert [row["audit"] for row in rows] == [False, True]
    for row in rows:
        assert row["n"] == 2 and row["pages_per_invoice"] == 8
        assert row["cpu_s_per_invoice"] > 0 and row["wall_s_per_invoice"] > 0


def test_the_pages_are_those_a_transaction_loads() -> None:
    pages = pages_of({"id": 7, "numero": "FAC-7"})
    assert pages.count("/factures-emises/factures/7") == 3
    assert "/factures-emises/rechercher?listeResultats.critere.numero=FAC-7-B" in pages
