"""The accounts' scaling (``python -m bench.run --scaling``) runs end to end at a tiny size —
one account, two invoices, no latency — on PostgreSQL and on SQLite, and writes a row per run
with every invoice issued; not its speed. And how its goals are judged."""

from __future__ import annotations

import json
from typing import Any

import pytest
from bench_command import run_bench

from bench.run import parser, with_scaling
from bench.scaling import goals

ROW_FIELDS = (
    "accounts",
    "journal",
    "workers",
    "sessions_per_account",
    "latency_ms",
    "n",
    "done",
    "issued",
    "wall_s",
    "invoices_per_minute",
    "cpu_s_per_invoice",
    "cpu_s_per_invoice_with_journal",
    "cpu_ceiling_invoices_per_minute",
    "peak_pss_mb",
    "peak_sessions_by_account",
    "machine_busy_pct",
    "other_cpu_pct",
)


@pytest.fixture(scope="module")
def scaling(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("scaling")
    args = ["--scaling", "--scaling-accounts", "1", "--scaling-invoices", "2"]
    run_bench("run", *args, "--scaling-latency", "0", "--out", str(out))
    data: dict[str, Any] = json.loads((out / "scaling.json").read_text(encoding="utf-8"))
    return data


def test_one_account_is_measured_on_postgresql_then_on_sqlite(scaling: dict[str, Any]) -> None:
    rows = scaling["rows"]
    assert [row["id"] for row in rows] == ["a1-postgresql", "a1-sqlite"]
    for row in rows:
        assert [name for name in ROW_FIELDS if row.get(name) is None] == []
        assert (row["accounts"], row["workers"], row["latency_ms"], row["n"]) == (1, 2, 0, 2)
    assert rows[0]["journal_server_cpu_s_per_invoice"] > 0  # PostgreSQL's own CPU
    assert rows[1]["journal_server_cpu_s_per_invoice"] is None
    assert scaling["errors"] == []


def test_every_invoice_was_issued_within_the_sessions_cap(scaling: dict[str, Any]) -> None:
    for row in scaling["rows"]:
        assert (row["done"], row["issued"], row["exit_code"]) == (2, 2, 0), row["states"]
        assert 1 <= max(row["peak_sessions_by_account"].values()) <= 2


def test_the_figures_agree_with_each_other(scaling: dict[str, Any]) -> None:
    for row in scaling["rows"]:
        assert row["invoices_per_minute"] == pytest.approx(2 / row["wall_s"] * 60, rel=0.05)
        assert row["cpu_s_per_invoice_with_journal"] >= row["cpu_s_per_invoice"] > 0
        assert row["peak_pss_mb"] > 100  # two browsers
        assert any(kind.startswith("chromium") for kind in row["cpu_by_kind_s"])
    cost = scaling["goals"]["postgresql_cost_vs_sqlite"]
    assert 0 < cost["server_cpu_pct"] < 100  # both runs complete: compared
    assert scaling["goals"]["proportional_until_cpu_bound"]["met"] is None  # one account only


def _row(
    accounts: int, per_minute: float, busy: float, journal: str = "postgresql", other: float = 1.0
) -> dict[str, Any]:
    return {
        "accounts": accounts,
        "journal": journal,
        "n": 10 * accounts,
        "issued": 10 * accounts,
        "invoices_per_minute": per_minute,
        "cpu_s_per_invoice_with_journal": 5.0,
        "journal_server_cpu_s_per_invoice": 0.05 if journal == "postgresql" else None,
        "machine_busy_pct": busy,
        "own_cpu_pct": busy - other,
        "other_cpu_pct": other,
    }


def test_throughput_short_of_proportional_is_met_only_where_the_cpu_was_the_bound() -> None:
    bound = goals([_row(1, 10.0, 50.0), _row(2, 19.0, 80.0), _row(4, 22.0, 97.0)])
    assert bound["proportional_until_cpu_bound"]["met"] is True
    short = goals([_row(1, 10.0, 50.0), _row(2, 14.0, 60.0)])
    assert short["proportional_until_cpu_bound"]["met"] is False


def test_a_machine_kept_busy_by_other_programs_leaves_the_goals_undecided() -> None:
    busy = goals([_row(1, 6.0, 99.0, other=50.0), _row(2, 6.3, 99.0, other=45.0)])
    assert busy["proportional_until_cpu_bound"]["met"] is None
    assert busy["proportional_until_cpu_bound"]["steps"][1]["cpu_bound"] is False
    cost = goals([_row(1, 9.0, 99.0, other=50.0), _row(1, 10.0, 99.0, "sqlite")])
    assert cost["postgresql_cost_vs_sqlite"]["met"] is None
    assert cost["postgresql_cost_vs_sqlite"]["server_cpu_pct"] == pytest.approx(1.0)


def test_postgresql_is_judged_on_throughput_and_cpu_against_sqlite() -> None:
    close = goals([_row(1, 9.7, 50.0), _row(1, 10.0, 50.0, "sqlite")])
    assert close["postgresql_cost_vs_sqlite"]["met"] is True
    slow = goals([_row(1, 9.0, 50.0), _row(1, 10.0, 50.0, "sqlite")])
    assert slow["postgresql_cost_vs_sqlite"]["throughput_loss_pct"] == pytest.approx(10.0)
    assert slow["postgresql_cost_vs_sqlite"]["met"] is False


def test_the_default_benchmark_includes_the_scaling_and_scaling_runs_it_alone() -> None:
    def runs_scaling(*argv: str) -> bool:
        return with_scaling(parser().parse_args(list(argv)))

    assert runs_scaling()
    assert runs_scaling("--scaling")
    assert not runs_scaling("--no-scaling")
    assert not runs_scaling("--quick")
    assert not runs_scaling("--n", "5", "--workers", "1", "--latency", "0", "--audit", "off")
