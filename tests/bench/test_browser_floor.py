"""The browser's floor runs and reports what Chromium alone costs per invoice — not its speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.browser_floor import pages_of

ROOT = Path(__file__).resolve().parents[2]


def test_browser_floor_loads_the_pages_of_a_transaction_with_audit_off_and_on() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHORUS_")}
    completed = subprocess.run(
        [sys.executable, "-m", "bench.browser_floor", "--n", "2", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    rows = json.loads(completed.stdout.strip().splitlines()[-1])
    assert [row["audit"] for row in rows] == [False, True]
    for row in rows:
        assert row["n"] == 2 and row["pages_per_invoice"] == 8
        assert row["cpu_s_per_invoice"] > 0 and row["wall_s_per_invoice"] > 0


def test_the_pages_are_those_a_transaction_loads() -> None:
    pages = pages_of({"id": 7, "numero": "FAC-7"})
    assert pages.count("/factures-emises/factures/7") == 3
    assert "/factures-emises/rechercher?numero=FAC-7-B" in pages
