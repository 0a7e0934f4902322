"""The benchmark runs end to end on a tiny plan (N = 3) and writes every field — not its speed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bench_command import run_bench

from bench.rows import REQUIRED_FIELDS


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One benchmark run: 3 rejections (enough for a median and a 95th percentile), one
    worker, no latency, audit off."""
    out = tmp_path_factory.mktemp("bench-results")
    args = ["--n", "3", "--workers", "1", "--latency", "0", "--audit", "off", "--floor-n", "2"]
    run_bench("run", *args, "--out", str(out))
    return out


def _latest(results: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((results / "latest.json").read_text(encoding="utf-8"))
    return data


def test_benchmark_row_has_every_field_of_the_issue(results: Path) -> None:
    (row,) = _latest(results)["rows"]
    assert [field for field in REQUIRED_FIELDS if field not in row] == []
    assert (row["n"], row["workers"], row["latency_ms"], row["audit"]) == (3, 1, 0, False)
    assert row["origins"] == 1  # comparable to the figures measured before the three origins
    assert row["rss_growth_pct"] is None  # only the long run measures growth


def test_benchmark_row_figures_are_consistent_with_each_other(results: Path) -> None:
    (row,) = _latest(results)["rows"]
    assert row["done"] == 3 and row["exit_code"] == 0
    assert row["invoices_per_minute"] == pytest.approx(3 / row["wall_s"] * 60, rel=0.02)
    assert 0 < row["p50_s"] <= row["p95_s"] < row["wall_s"]
    assert row["peak_rss_mb_per_worker"] >= row["peak_pss_mb_per_worker"] > 50  # a browser
    assert row["floor_requests_per_invoice"] == 11
    assert 0 < row["floor_s_per_invoice"] < row["p50_s"]
    per_invoice = row["wall_s"] / row["n"]
    assert row["ratio_to_floor"] == pytest.approx(
        per_invoice / row["floor_s_per_invoice"], rel=0.02
    )
    assert row["server_s_per_invoice"] is not None and row["server_s_per_invoice"] > 0
    # The robot's requests, login and collect included, against the floor's 11: at least the
    # floor's, one entry-form service lookup (XHR) per invoice at least.
    assert row["requests_per_invoice"] > row["floor_requests_per_invoice"]
    assert row["requests_per_invoice"] == pytest.approx(
        row["requests_documents"] + row["requests_xhr"], abs=0.02
    )
    assert row["requests_xhr"] >= 1
    assert any(kind.startswith("chromium") for kind in row["cpu_by_kind_s"])


def test_benchmark_machine_block_records_the_load(results: Path) -> None:
    machine = _latest(results)["machine"]
    assert machine["cores"] >= 1
    assert len(machine["load_average_start"]) == 3 and len(machine["load_average_end"]) == 3
    assert isinstance(machine["preliminary"], bool)
    assert machine["errors"] == []


def test_benchmark_writes_a_markdown_table_and_a_png_chart_beside_the_json(results: Path) -> None:
    table = (results / "latest.md").read_text(encoding="utf-8")
    assert "| n3-l0-w1-off | 3 | 1 | 0 | off | 3 |" in table
    assert "## Targets" in table
    assert (results / "latest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_benchmark_measures_the_portal_on_three_origins_when_asked(tmp_path: Path) -> None:
    args = ["--n", "2", "--workers", "1", "--latency", "0", "--audit", "off", "--floor-n", "1"]
    run_bench("run", *args, "--origines", "3", "--out", str(tmp_path))
    (row,) = _latest(tmp_path)["rows"]
    assert (row["origins"], row["done"], row["exit_code"]) == (3, 2, 0)
    # The floor walks the same pages, under the application's /cpp/, once logged in through
    # the shell and the identity provider.
    assert row["floor_requests_per_invoice"] == 11
    assert row["requests_per_invoice"] > row["floor_requests_per_invoice"]  # logins amortized
