"""Which configurations a benchmark run measures: the default matrix, ``--quick``, ``--long``.

A configuration is one robot run: N rejections, W workers, a per-request latency, audit on or
off. Its id (``n100-l300-w1-on``) names it in ``--only``, in ``latest.json`` and in the table.

The default matrix is chosen to finish in under an hour on a quiet 2-core machine (see
:func:`estimate_s` and ``bench/README.md``): at 0 ms (where the robot's own cost shows) 1, 2
and 4 workers with audit on and 1 and 2 with audit off; at 300 ms one worker with audit on and
off (the floor-ratio target, and what the audit trace adds to it) and four workers (how far
parallelism hides latency).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class BenchConfig:
    """One measured configuration."""

    n: int
    workers: int
    latency_ms: int
    audit: bool
    long: bool = False  # the long run: memory growth from the 100th to the last transaction

    @property
    def id(self) -> str:
        return f"n{self.n}-l{self.latency_ms}-w{self.workers}-{'on' if self.audit else 'off'}"


def cross(
    n: int, workers: Sequence[int], latencies: Sequence[int], audits: Sequence[bool]
) -> list[BenchConfig]:
    """Every combination, latency first, then audit, then workers."""
    return [
        BenchConfig(n=n, workers=w, latency_ms=lat, audit=audit)
        for lat in latencies
        for audit in audits
        for w in workers
    ]


def default_matrix(n: int = 100) -> list[BenchConfig]:
    """The curated default (8 runs of ``n``), see the module docstring."""
    configs = cross(n, (1, 2, 4), (0,), (True,)) + cross(n, (1, 2), (0,), (False,))
    configs += [
        BenchConfig(n=n, workers=1, latency_ms=300, audit=True),
        BenchConfig(n=n, workers=1, latency_ms=300, audit=False),
        BenchConfig(n=n, workers=4, latency_ms=300, audit=True),
    ]
    return configs


def quick_matrix(n: int = 10) -> list[BenchConfig]:
    """A fast look (a few minutes): one and two workers at 0 ms, one worker at 300 ms."""
    return [
        BenchConfig(n=n, workers=1, latency_ms=0, audit=True),
        BenchConfig(n=n, workers=2, latency_ms=0, audit=True),
        BenchConfig(n=n, workers=1, latency_ms=300, audit=True),
    ]


def long_run(n: int = 1000, workers: int = 1) -> BenchConfig:
    """The long run: 0 ms, audit on (what a nightly run of a big backlog does)."""
    return BenchConfig(n=n, workers=workers, latency_ms=0, audit=True, long=True)


def select(configs: Iterable[BenchConfig], only: Sequence[str]) -> list[BenchConfig]:
    """The configurations whose id is in ``only`` (all when ``only`` is empty).

    Raises ValueError naming the unknown ids.
    """
    configs = list(configs)
    if not only:
        return configs
    known = {c.id for c in configs}
    unknown = [name for name in only if name not in known]
    if unknown:
        raise ValueError(
            f"configuration(s) inconnue(s) : {', '.join(unknown)} "
            f"(connues : {', '.join(sorted(known))})"
        )
    return [c for c in configs if c.id in only]


# Seconds per invoice of one worker on a quiet 2-core machine — an estimate from the CPU
# measured on a loaded one (bench/README.md); correct it after the first full run. And the
# portal requests one transaction makes (15, plus one in the collect phase).
ROBOT_S_PER_INVOICE = {True: 4.0, False: 2.5}
REQUESTS_PER_INVOICE = 15
STARTUP_S = 15.0
COLLECT_S_PER_INVOICE = 0.05
FLOOR_REQUESTS = 11
FLOOR_S_PER_REQUEST = 0.01
PARALLEL_SPEEDUP = {1: 1.0, 2: 1.6, 4: 1.7}  # CPU-bound on 2 cores


def estimate_s(config: BenchConfig) -> float:
    """A rough duration of one robot run (start-up, collect, transactions, bundle)."""
    own = ROBOT_S_PER_INVOICE[config.audit]
    waiting = REQUESTS_PER_INVOICE * config.latency_ms / 1000
    speedup = PARALLEL_SPEEDUP.get(config.workers, PARALLEL_SPEEDUP[4])
    if waiting:  # while one worker waits for the portal another can work
        speedup = min(config.workers, speedup * (own + waiting) / own)
    collect = config.n * (COLLECT_S_PER_INVOICE + config.latency_ms / 1000)
    return STARTUP_S + collect + config.n * (own + waiting) / speedup


def floor_estimate_s(n: int, latency_ms: int, floor_n: int) -> float:
    """A rough duration of one floor measurement (re-seed, then ``floor_n`` invoices)."""
    return 2.0 + min(floor_n, n) * FLOOR_REQUESTS * (FLOOR_S_PER_REQUEST + latency_ms / 1000)
