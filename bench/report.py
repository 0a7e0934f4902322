"""The benchmark's output: ``latest.json``, ``latest.md`` (a table and the targets) and
``latest.png`` (throughput against workers), side by side in the output folder."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.chart import write_chart

# The targets of the issue: (what, how it is read from the rows).
RATIO_TARGET = 1.3
THROUGHPUT_TARGET = 100.0
MEMORY_TARGET_MB = 400.0
GROWTH_TARGET_PCT = 10.0


def _rows(rows: Sequence[dict[str, Any]], **match: Any) -> list[dict[str, Any]]:
    return [r for r in rows if all(r.get(k) == v for k, v in match.items())]


def _verdict(value: float | None, ok: bool) -> str:
    if value is None:
        return "not measured"
    return "met" if ok else "NOT met"


def targets(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target of the issue with the measured value and whether it is reached."""
    found: list[dict[str, Any]] = []
    for audit in (True, False):
        hits = _rows(rows, latency_ms=300, workers=1, audit=audit, long=False)
        value = min((r["ratio_to_floor"] for r in hits), default=None)
        found.append(
            {
                "target": f"robot ÷ floor ≤ {RATIO_TARGET} at 300 ms, 1 worker, audit "
                + ("on" if audit else "off"),
                "value": value,
                "verdict": _verdict(value, value is not None and value <= RATIO_TARGET),
            }
        )
    hits = _rows(rows, latency_ms=0, workers=2, audit=True, long=False)
    value = max((r["invoices_per_minute"] for r in hits), default=None)
    found.append(
        {
            "target": f"≥ {THROUGHPUT_TARGET:.0f} invoices/min at 0 ms, 2 workers, audit on",
            "value": value,
            "verdict": _verdict(value, value is not None and value >= THROUGHPUT_TARGET),
        }
    )
    for field, name in (("peak_rss_mb_per_worker", "RSS"), ("peak_pss_mb_per_worker", "PSS")):
        value = max((r[field] for r in rows), default=None)
        found.append(
            {
                "target": f"peak memory ≤ {MEMORY_TARGET_MB:.0f} MB per worker ({name})",
                "value": value,
                "verdict": _verdict(value, value is not None and value <= MEMORY_TARGET_MB),
            }
        )
    growths = [r["rss_growth_pct"] for r in rows if r.get("rss_growth_pct") is not None]
    value = max(growths, default=None)
    found.append(
        {
            "target": f"≤ {GROWTH_TARGET_PCT:.0f} % RSS growth, transaction 100 → last",
            "value": value,
            "verdict": _verdict(value, value is not None and value <= GROWTH_TARGET_PCT),
        }
    )
    return found


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


_COLUMNS = (
    ("id", "config"),
    ("n", "N"),
    ("workers", "workers"),
    ("latency_ms", "latency ms"),
    ("audit", "audit"),
    ("done", "done"),
    ("wall_s", "wall s"),
    ("invoices_per_minute", "inv/min"),
    ("p50_s", "p50 s"),
    ("p95_s", "p95 s"),
    ("server_s_per_invoice", "server s/inv"),
    ("cpu_s_per_invoice", "CPU s/inv"),
    ("peak_rss_mb_per_worker", "RSS MB/worker"),
    ("peak_pss_mb_per_worker", "PSS MB/worker"),
    ("floor_s_per_invoice", "floor s/inv"),
    ("ratio_to_floor", "÷ floor"),
    ("tx_ratio_to_floor", "tx ÷ floor"),
    ("requests_per_invoice", "requests/inv"),
    ("floor_requests_per_invoice", "floor requests/inv"),
    ("rss_growth_pct", "RSS growth %"),
)


def markdown(machine: dict[str, Any], rows: Sequence[dict[str, Any]]) -> str:
    """The table of every row, the targets, and the machine."""
    lines = ["# chorus-robot benchmark — latest figures", ""]
    if machine.get("preliminary"):
        reasons = "; ".join(machine.get("preliminary_reasons", []))
        lines += [f"> **Preliminary** — {reasons}.", ""]
    lines += [
        f"Measured {machine.get('date')} on {machine.get('cores')} cores ({machine.get('cpu')}), "
        f"{machine.get('memory_gb')} GB, load average {machine.get('load_average_start')} at "
        f"start and {machine.get('load_average_end')} at the end; commit "
        f"`{machine.get('commit')}`; command `{machine.get('command')}` "
        f"({machine.get('duration_s')} s). Definitions: `bench/README.md`.",
        "",
        "| " + " | ".join(title for _, title in _COLUMNS) + " |",
        "|" + "---|" * len(_COLUMNS),
    ]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(key)) for key, _ in _COLUMNS) + " |")
    lines += [
        "",
        "requests/inv: the documents and XHR the portal served during the run, login and "
        "collect included, ÷ N; floor requests/inv: the same for one invoice of the floor "
        "client (login apart), the least any client makes: the reference.",
    ]
    lines += ["", "## Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    for target in targets(rows):
        lines.append(f"| {target['target']} | {_cell(target['value'])} | {target['verdict']} |")
    lines += ["", "## Where the CPU went (seconds per invoice, by process kind)", ""]
    for row in rows:
        n = row["n"]
        kinds = ", ".join(f"{k} {v / n:.2f}" for k, v in row.get("cpu_by_kind_s", {}).items())
        lines.append(f"- `{row['id']}`: {kinds}; sandbox {row.get('sandbox_cpu_s_per_invoice')}")
    lines += ["", "## Where the wall time went (seconds)", ""]
    for row in rows:
        phases = ", ".join(f"{k} {v:g}" for k, v in row.get("phases_s", {}).items())
        lines.append(f"- `{row['id']}`: {phases or '—'}")
    lines += ["", "![throughput against workers](latest.png)", ""]
    return "\n".join(lines)


def write_results(
    out_dir: Path, machine: dict[str, Any], rows: Sequence[dict[str, Any]]
) -> list[Path]:
    """Write ``latest.json``, ``latest.md`` and ``latest.png``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = {"machine": machine, "rows": list(rows), "targets": targets(rows)}
    paths = [out_dir / "latest.json", out_dir / "latest.md", out_dir / "latest.png"]
    paths[0].write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    paths[1].write_text(markdown(machine, rows), encoding="utf-8")
    write_chart(paths[2], rows, preliminary=bool(machine.get("preliminary")))
    return paths
