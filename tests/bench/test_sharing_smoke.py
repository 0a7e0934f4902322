"""The sharing benchmark measures the three layouts and tells their Chromium instances apart."""

from __future__ import annotations

import json
from pathlib import Path

from bench_command import run_bench


def test_sharing_measures_separate_contexts_and_cdp(tmp_path: Path) -> None:
    out = tmp_path / "sharing.json"
    completed = run_bench(
        "sharing", "--workers", "2", "--pages", "2", "--json", str(out), timeout=180
    )
    assert "disposition" in completed.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    rows = {row["layout"]: row for row in result["layouts"]}
    assert list(rows) == ["separate", "contexts", "cdp"]
    for row in rows.values():
        assert row["workers"] == 2 and row["pages_per_worker"] == 2
        assert row["peak_pss_mb_per_worker"] > 0
        kinds = row["peak_pss_mb_per_worker_by_kind"]
        assert {"robot (python)", "driver (node)", "chromium browser"} <= set(kinds)
        assert all(mb >= 0 for mb in kinds.values())
        assert row["cpu_s"] > 0 and row["worker_exit_codes"] in ([0], [0, 0])
    assert rows["separate"]["chromium_browsers"] == 2
    assert rows["contexts"]["chromium_browsers"] == 1
    assert rows["cdp"]["chromium_browsers"] == 1
    assert rows["separate"]["processes_by_kind"]["driver (node)"] == 2
    assert rows["contexts"]["processes_by_kind"]["driver (node)"] == 1
    assert rows["cdp"]["processes_by_kind"]["driver (node)"] == 2
