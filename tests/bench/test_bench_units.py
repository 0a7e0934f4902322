"""The benchmark's parts that need no browser: statistics, matrix, sampler, floor form, report."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bench.floor import FloorResult, entry_data, measure_floor
from bench.matrix import (
    BenchConfig,
    default_matrix,
    estimate_s,
    floor_estimate_s,
    long_run,
    select,
)
from bench.measure import Sample, TreeSampler, machine_cpu_s
from bench.report import markdown, targets
from bench.robot_run import RobotRun, new_number, phases, portal_requests, requests_between
from bench.rows import growth_pct, make_row, per_invoice, percentile
from bench.run import added_to
from sandbox.server import RunningSandbox


def test_percentile_interpolates_between_the_closest_ranks() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 50) == pytest.approx(2.5)
    assert percentile(values, 95) == pytest.approx(3.85)
    assert percentile([7.0], 95) == 7.0


def _samples(early_mb: float, late_mb: float, n: int) -> list[Sample]:
    return [
        Sample(t_s=float(done), done=done, rss_mb=early_mb if done < n - 50 else late_mb,
               pss_mb=early_mb / 2, processes=10)
        for done in range(n + 1)
    ]  # fmt: skip


def test_growth_compares_transactions_100_to_149_with_the_last_fifty() -> None:
    assert growth_pct(_samples(400.0, 440.0, 1000), 1000) == pytest.approx(10.0)
    assert growth_pct(_samples(400.0, 440.0, 1000), 1000, "pss_mb") == pytest.approx(0.0)


def test_growth_is_not_reported_for_runs_too_short_to_show_it() -> None:
    assert growth_pct(_samples(400.0, 800.0, 100), 100) is None


def test_only_keeps_the_named_configurations_and_refuses_unknown_ids() -> None:
    configs = [*default_matrix(100), long_run(1000)]
    chosen = select(configs, ["n100-l300-w1-on", "n1000-l0-w1-on"])
    assert [c.id for c in chosen] == ["n100-l300-w1-on", "n1000-l0-w1-on"]
    assert chosen[1].long
    with pytest.raises(ValueError, match="n100-l0-w3-on"):
        select(configs, ["n100-l0-w3-on"])


def test_default_matrix_is_estimated_under_an_hour_on_the_reference_machine() -> None:
    configs = default_matrix(100)
    floors = {(c.n, c.latency_ms) for c in configs}
    total = sum(estimate_s(c) for c in configs) + sum(
        floor_estimate_s(n, lat, 25) for n, lat in floors
    )
    assert total < 60 * 60
    assert {(c.latency_ms, c.workers, c.audit) for c in configs} >= {
        (300, 1, True), (300, 1, False), (0, 2, True), (0, 1, False)
    }  # fmt: skip


def test_tree_sampler_counts_the_root_and_its_children() -> None:
    script = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'input()']); input()"
    parent = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, text=True)
    try:
        sampler = TreeSampler(parent.pid)
        deadline = time.monotonic() + 30
        sample = sampler.sample(done=0)
        while sample.processes < 2 and time.monotonic() < deadline:  # the grandchild is up
            with contextlib.suppress(subprocess.TimeoutExpired):
                parent.wait(timeout=0.05)  # the throttle of this loop: the parent never ends here
            sample = sampler.sample(done=0)
        assert sample.processes == 2
        assert sample.rss_mb >= sample.pss_mb > 1
        assert set(sampler.cpu_by_kind()) == {"robot (python)"}
    finally:
        assert parent.stdin is not None
        parent.stdin.write("\n\n")
        parent.stdin.close()
        parent.wait(timeout=30)


def test_floor_form_copies_the_lines_with_the_portal_rate_values() -> None:
    invoice = {
        "cadre": "A1", "siret_destinataire": "12345678901234", "code_service": "SF01",
        "type_facture": "FACTURE", "date_facture": "2026-11-02", "numero_engagement": "EJ-1",
        "numero_marche": None, "numero_facture_origine": None, "commentaire": "",
        "lignes": [
            {"reference": "R1", "designation": "Conseil", "quantite": "2.00", "unite": "jour",
             "prix_unitaire_ht": "100.50", "remise": "0.00", "taux_tva": "5.50"},
        ],
    }  # fmt: skip
    data = entry_data(invoice, "FAC-1-B", "3", "token")
    assert data["numero"] == "FAC-1-B" and data["compte_id"] == "3"
    assert data["ligne-1-taux_tva"] == "5.5"
    assert data["ligne-1-prix_unitaire_ht"] == str(Decimal("100.50"))
    assert data["numero_marche"] == "" and data["action"] == "envoyer"


def _row(**changes: object) -> dict[str, object]:
    config = BenchConfig(n=100, workers=1, latency_ms=300, audit=True)
    row: dict[str, object] = {
        "id": config.id, "n": 100, "workers": 1, "latency_ms": 300, "audit": True,
        "long": False, "invoices_per_minute": 20.0, "ratio_to_floor": 1.25,
        "peak_rss_mb_per_worker": 900.0, "peak_pss_mb_per_worker": 380.0,
        "rss_growth_pct": None, "cpu_by_kind_s": {"chromium renderer": 50.0},
    }  # fmt: skip
    row.update(changes)
    return row


def test_targets_say_which_are_met_and_which_were_not_measured() -> None:
    verdicts = {t["target"]: t["verdict"] for t in targets([_row()])}
    assert verdicts["robot ÷ floor ≤ 1.3 at 300 ms, 1 worker, audit on"] == "met"
    assert verdicts["robot ÷ floor ≤ 1.3 at 300 ms, 1 worker, audit off"] == "not measured"
    assert verdicts["peak memory ≤ 400 MB per worker (RSS)"] == "NOT met"
    assert verdicts["peak memory ≤ 400 MB per worker (PSS)"] == "met"


def test_markdown_marks_preliminary_figures_and_shows_each_row() -> None:
    machine = {"preliminary": True, "preliminary_reasons": ["--quick sample"]}
    text = markdown(machine, [_row()])
    assert "> **Preliminary** — --quick sample." in text
    assert "| n100-l300-w1-on | 100 | 1 | 300 | on |" in text
    assert "chromium renderer 0.50" in text


def _table_cells(text: str, row_id: str) -> dict[str, str]:
    """The cells of row ``row_id`` of the markdown table, by column title."""
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("| config |"))
    row = next(line for line in lines if line.startswith(f"| {row_id} |"))
    titles = [cell.strip() for cell in header.strip("|").split("|")]
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert len(titles) == len(cells)
    return dict(zip(titles, cells, strict=True))


def test_markdown_shows_the_requests_per_invoice_beside_the_floor_s() -> None:
    measured = _row(requests_per_invoice=13.42, floor_requests_per_invoice=11.0)
    cells = _table_cells(markdown({}, [measured]), str(measured["id"]))
    assert cells["requests/inv"] == "13.42"
    assert cells["floor requests/inv"] == "11"
    titles = list(cells)
    assert titles.index("floor requests/inv") == titles.index("requests/inv") + 1


def test_markdown_shows_a_dash_for_rows_measured_before_the_requests_were_counted() -> None:
    older = _row()  # a row of an earlier latest.json: no requests_per_invoice
    assert "requests_per_invoice" not in older
    cells = _table_cells(markdown({}, [older]), str(older["id"]))
    assert cells["requests/inv"] == "—" and cells["floor requests/inv"] == "—"


def test_a_row_divides_the_requests_served_by_the_invoices() -> None:
    config = BenchConfig(n=4, workers=1, latency_ms=0, audit=False)
    run = RobotRun(
        config=config,
        wall_s=40.0,
        exit_code=0,
        states={"done": 4},
        durations_s=(3.0, 3.2, 3.1, 3.3),
        server_s=(0.04,) * 4,
        sampler=TreeSampler(1),  # never sampled: no memory figures needed here
        cpu_s=10.0,
        sandbox_cpu_s=0.4,
        phases_s={},
        requests={"documents": 51, "xhr": 4, "total": 55},
    )
    floor = FloorResult(
        latency_ms=0, login_s=0.1, per_invoice_s=(1.0,), server_s=(0.03,), requests_per_invoice=11
    )
    row = make_row(run, floor)
    assert row["requests_per_invoice"] == 13.75
    assert (row["requests_documents"], row["requests_xhr"]) == (12.75, 1.0)
    assert row["floor_requests_per_invoice"] == 11
    uncounted = make_row(replace(run, requests=None), floor)
    assert uncounted["requests_per_invoice"] is None and uncounted["requests_xhr"] is None


def test_requests_per_invoice_is_rounded_to_two_decimals() -> None:
    assert per_invoice({"total": 100}, "total", 3) == 33.33
    assert per_invoice(None, "total", 3) is None
    before = {"documents": 2, "xhr": 1, "total": 3}
    after = {"documents": 9, "xhr": 2, "total": 11}
    assert requests_between(before, after) == {"documents": 7, "xhr": 1, "total": 8}
    assert requests_between(None, after) is None


def test_the_sandbox_counts_what_the_floor_client_counts(fresh_sandbox: RunningSandbox) -> None:
    """httpx sends no ``Sec-Fetch-*``: the sandbox tells its pages from ``/api/`` by path,
    and finds the floor's 11 requests per invoice plus its login (3)."""
    seeded = fresh_sandbox.reset(seed=2)
    numbers = {numero: new_number(numero) for numero in seeded["rejected"]}
    before = portal_requests(fresh_sandbox)
    assert before == {"documents": 0, "xhr": 0, "total": 0}
    floor = measure_floor(fresh_sandbox, 2, numbers, 0)
    served = requests_between(before, portal_requests(fresh_sandbox))
    assert floor.requests_per_invoice == 11
    assert served == {"documents": 3 + 2 * 10, "xhr": 2 * 1, "total": 3 + 2 * 11}


def _figures(path: Path, commit: str, ids: list[str]) -> Path:
    machine = {"commit": commit, "command": "python -m bench.run", "duration_s": 100}
    rows = [{"id": name, "wall_s": 1.0} for name in ids]
    path.write_text(json.dumps({"machine": machine, "rows": rows}), encoding="utf-8")
    return path


def test_add_keeps_the_previous_rows_and_replaces_a_re_measured_one(tmp_path: Path) -> None:
    previous = _figures(tmp_path / "latest.json", "abc", ["n100-l0-w1-on", "n100-l0-w2-on"])
    machine = {"commit": "abc", "command": "python -m bench.run --only x", "duration_s": 20}
    new_rows = [{"id": "n100-l0-w2-on", "wall_s": 2.0}, {"id": "n100-l300-w1-off"}]

    combined, rows = added_to(previous, machine, new_rows)

    assert [row["id"] for row in rows] == ["n100-l0-w1-on", "n100-l0-w2-on", "n100-l300-w1-off"]
    assert rows[1]["wall_s"] == 2.0
    assert combined["duration_s"] == 120 and " ; " in combined["command"]


def test_add_refuses_figures_of_another_commit_or_none(tmp_path: Path) -> None:
    previous = _figures(tmp_path / "latest.json", "abc", ["n100-l0-w1-on"])
    with pytest.raises(ValueError, match="commit"):
        added_to(previous, {"commit": "def"}, [])
    with pytest.raises(ValueError, match="aucun résultat"):
        added_to(tmp_path / "absent.json", {"commit": "abc"}, [])


def test_machine_cpu_counts_what_this_process_spends() -> None:
    before = machine_cpu_s()
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:  # burn 0.3 s of CPU
        pass
    assert machine_cpu_s() - before >= 0.25


def test_phases_start_the_transactions_at_the_first_work_of_a_batch(tmp_path: Path) -> None:
    # Two transactions of one batch: both acknowledged (steps at 10 and 11 s), then each
    # reissued; the first ends at 14 s after 2 s of its own.
    events = [
        {"type": "run_start", "time": "2026-11-30T10:00:02+00:00"},
        {"type": "step", "time": "2026-11-30T10:00:10+00:00"},
        {"type": "step", "time": "2026-11-30T10:00:11+00:00"},
        {"type": "transaction_end", "time": "2026-11-30T10:00:14+00:00", "duration_s": 2.0},
        {"type": "transaction_end", "time": "2026-11-30T10:00:16+00:00", "duration_s": 2.5},
        {"type": "run_end", "time": "2026-11-30T10:00:17+00:00"},
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    started = datetime.fromisoformat("2026-11-30T10:00:01+00:00").timestamp()
    found = phases(path, started, started + 17)
    assert found == {"startup": 1.0, "login_collect": 8.0, "transactions": 6.0, "bundle": 1.0}
