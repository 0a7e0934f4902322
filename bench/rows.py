"""One row of ``latest.json`` per measured configuration, from a robot run and its floor.

Definitions (``bench/README.md`` repeats them for readers):

- ``wall_s``: from starting ``chorus-robot run`` to its exit (start-up, login, collect, the
  transactions, the audit bundle). ``invoices_per_minute`` = transactions done ÷ wall × 60.
- ``p50_s``/``p95_s``: per-transaction ``duration_s`` of ``summary.json`` (the three steps).
- ``peak_rss_mb_per_worker``: the highest RSS of the whole process tree ÷ workers (shared
  pages counted in every process: an upper bound); ``peak_pss_mb_per_worker`` the same in PSS.
- ``requests_per_invoice``: the documents and XHR the sandbox served during the run (login
  and collect included, static files and the admin interface left out) ÷ N;
  ``requests_documents`` / ``requests_xhr``: the same split, per invoice.
- ``floor_s_per_invoice``: the floor client's mean time per invoice at the same latency.
- ``ratio_to_floor``: the robot's worker-seconds per invoice (wall × workers ÷ N), everything
  included, ÷ the floor; ``tx_ratio_to_floor``: the mean transaction alone ÷ the floor.
- ``rss_growth_pct`` (long run): mean tree RSS while transactions 100 to 149 were finishing
  vs while the last 50 were, in percent (50 = the robot's context recycling period).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from bench.floor import FloorResult
from bench.measure import Sample, load_average
from bench.robot_run import RobotRun

GROWTH_FROM = 100
GROWTH_WINDOW = 50


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100), linear between closest ranks."""
    if not values:
        raise ValueError("no value")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def growth_pct(samples: Sequence[Sample], n: int, field: str = "rss_mb") -> float | None:
    """Memory growth from the 100th transaction to the last ones (None when too few)."""
    if n < GROWTH_FROM + 2 * GROWTH_WINDOW:
        return None
    early = [
        getattr(s, field) for s in samples if GROWTH_FROM <= s.done < GROWTH_FROM + GROWTH_WINDOW
    ]
    late = [getattr(s, field) for s in samples if n - GROWTH_WINDOW <= s.done < n]
    early_mean, late_mean = _mean(early), _mean(late)
    if early_mean is None or late_mean is None or early_mean <= 0:
        return None
    return round((late_mean - early_mean) / early_mean * 100, 1)


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def per_invoice(requests: dict[str, int] | None, key: str, n: int) -> float | None:
    """``requests[key] ÷ n`` to 2 decimals (None when the requests were not counted)."""
    if requests is None or key not in requests or n <= 0:
        return None
    return round(requests[key] / n, 2)


def make_row(run: RobotRun, floor: FloorResult) -> dict[str, Any]:
    """The row of one configuration (see the module docstring for each field)."""
    config = run.config
    durations = run.durations_s
    done = run.states.get("done", 0)
    workers = config.workers
    sampler = run.sampler
    robot_per_invoice = run.wall_s * workers / config.n
    mean_tx = _mean(durations)
    return {
        "id": config.id,
        "n": config.n,
        "workers": workers,
        "latency_ms": config.latency_ms,
        "audit": config.audit,
        "long": config.long,
        "done": done,
        "states": run.states,
        "exit_code": run.exit_code,
        "wall_s": round(run.wall_s, 2),
        "invoices_per_minute": round(done / run.wall_s * 60, 1) if run.wall_s else 0.0,
        "p50_s": _r(percentile(durations, 50)) if durations else None,
        "p95_s": _r(percentile(durations, 95)) if durations else None,
        "mean_s": _r(mean_tx),
        "phases_s": run.phases_s,
        "server_s_per_invoice": _r(_mean(run.server_s)),
        "peak_rss_mb_per_worker": round(sampler.peak_rss_mb / workers, 1),
        "peak_pss_mb_per_worker": round(sampler.peak_pss_mb / workers, 1),
        "peak_rss_mb": sampler.peak_rss_mb,
        "peak_pss_mb": sampler.peak_pss_mb,
        "peak_processes": sampler.peak_processes,
        "peak_pss_mb_by_kind": sampler.peak_pss_by_kind,
        "cpu_s_per_invoice": round(run.cpu_s / config.n, 3),
        "cpu_by_kind_s": sampler.cpu_by_kind(),
        "sandbox_cpu_s_per_invoice": round(run.sandbox_cpu_s / config.n, 3),
        "requests_per_invoice": per_invoice(run.requests, "total", config.n),
        "requests_documents": per_invoice(run.requests, "documents", config.n),
        "requests_xhr": per_invoice(run.requests, "xhr", config.n),
        "floor_s_per_invoice": _r(floor.mean_s, 4),
        "floor_server_s_per_invoice": _r(floor.mean_server_s, 4),
        "floor_requests_per_invoice": floor.requests_per_invoice,
        "floor_login_s": floor.login_s,
        "floor_n": len(floor.per_invoice_s),
        "ratio_to_floor": _r(robot_per_invoice / floor.mean_s, 2),
        "tx_ratio_to_floor": _r(mean_tx / floor.mean_s, 2) if mean_tx is not None else None,
        "rss_growth_pct": growth_pct(sampler.samples, config.n) if config.long else None,
        "pss_growth_pct": growth_pct(sampler.samples, config.n, "pss_mb") if config.long else None,
        "load_average_end": load_average(),
        "other_cpu_pct": round(run.other_cpu_s / (run.wall_s * _cores()) * 100, 1)
        if run.wall_s
        else 0.0,
    }


def _cores() -> int:
    return os.cpu_count() or 1


REQUIRED_FIELDS = (
    "n",
    "workers",
    "latency_ms",
    "audit",
    "wall_s",
    "invoices_per_minute",
    "p50_s",
    "p95_s",
    "peak_rss_mb_per_worker",
    "floor_s_per_invoice",
    "ratio_to_floor",
    "rss_growth_pct",
)
