"""The queue simulation's command line (``python -m bench.queue``) runs end to end on a small
size and writes every figure, on a throwaway server it raises the connection limit of when
asked; ``python -m bench.run`` runs it with the default matrix or alone — not its speed."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
from bench_command import run_bench

from bench.queue import throwaway_database
from bench.run import parser, with_queue

FIGURES = (
    "claims_per_s",
    "claim_p50_ms",
    "claim_p99_ms",
    "wall_s",
    "takeovers",
    "died",
    "stalled_refused",
    "max_live_slots_sampled",
    "cpu_s",
)


def test_the_command_line_simulates_checks_and_writes_the_figures(tmp_path: Path) -> None:
    out = tmp_path / "queue.json"
    args = ["--transactions", "300", "--workers", "8", "--processes", "2", "--accounts", "3"]
    args += ["--dying", "1", "--stalled", "1", "--json", str(out)]
    done = run_bench("queue", *args, timeout=180)
    assert "réservations/s" in done.stdout
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert [name for name in FIGURES if figures.get(name) is None] == []
    assert figures["violations"] == [] and figures["complete"]
    assert (figures["died"], figures["stalled_refused"]) == (1, 1)
    assert figures["claims"] == 300 + figures["takeovers"]
    assert figures["max_live_slots_sampled"] <= 2
    assert figures["cpu_s"]["server"] > 0  # the throwaway server's CPU is measured


def test_a_throwaway_server_for_many_workers_accepts_as_many_connections() -> None:
    with throwaway_database(120) as (url, pid):
        assert pid > 0
        with psycopg.connect(url) as conn:
            row = conn.execute("SHOW max_connections").fetchone()
    assert row is not None and int(row[0]) >= 120


def test_the_default_benchmark_ends_with_the_queue_and_queue_runs_it_alone() -> None:
    def runs_queue(*argv: str) -> bool:
        return with_queue(parser().parse_args(list(argv)))

    assert runs_queue()
    assert runs_queue("--long")
    assert runs_queue("--queue")
    assert not runs_queue("--no-queue")
    assert not runs_queue("--quick")
    assert not runs_queue("--n", "5", "--workers", "1", "--latency", "0", "--audit", "off")
