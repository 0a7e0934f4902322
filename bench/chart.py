"""``latest.png``: invoices per minute against workers, one line per latency and audit mode.

Drawn with matplotlib (the ``Agg`` backend: no display needed).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

THROUGHPUT_TARGET = 100.0


def write_chart(path: Path, rows: Sequence[dict[str, Any]], *, preliminary: bool) -> None:
    """Plot the rows of the default size (the long run is left out: it is about memory)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: dict[tuple[int, bool], list[tuple[int, float]]] = {}
    for row in rows:
        if row.get("long"):
            continue
        key = (int(row["latency_ms"]), bool(row["audit"]))
        series.setdefault(key, []).append((int(row["workers"]), float(row["invoices_per_minute"])))
    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=100)
    for (latency, audit), points in sorted(series.items()):
        points.sort()
        axes.plot(
            [w for w, _ in points],
            [v for _, v in points],
            marker="o",
            linestyle="-" if audit else "--",
            label=f"{latency} ms, audit {'on' if audit else 'off'}",
        )
    axes.axhline(THROUGHPUT_TARGET, color="grey", linewidth=0.8, linestyle=":")
    axes.annotate(
        "target at 0 ms, 2 workers",
        (1, THROUGHPUT_TARGET),
        textcoords="offset points",
        xytext=(2, 3),
        fontsize=8,
        color="grey",
    )
    workers = sorted({int(r["workers"]) for r in rows if not r.get("long")}) or [1]
    axes.set_xticks(workers)
    axes.set_xlabel("workers (browsers in parallel)")
    axes.set_ylabel("invoices per minute")
    sizes = sorted({int(r["n"]) for r in rows if not r.get("long")})
    title = f"chorus-robot throughput (N = {', '.join(map(str, sizes)) or '—'})"
    axes.set_title(title + (" — PRELIMINARY" if preliminary else ""), fontsize=10)
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    if series:
        axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
