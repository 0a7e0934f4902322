"""Memory and CPU of a process tree, read from ``/proc`` (Linux), and the machine's description.

The robot is a tree: the ``chorus-robot`` process, its worker processes, one Playwright
driver (node) per browser and every Chromium process (browser, zygotes, renderers, GPU,
utilities). :class:`TreeSampler` sums the tree's memory at each sample:

- RSS (resident set size) counts every page a process maps, so pages shared between
  Chromium's processes (its code, the zygote's memory) are counted once per process: an
  upper bound;
- PSS (proportional set size, ``/proc/PID/smaps_rollup``) splits each shared page between
  the processes sharing it: the tree's real share of the machine's memory.

It also keeps the CPU time of each process it has seen, by kind (robot, driver, Chromium by
``--type``), so a run says where its CPU went. No third-party package: only ``/proc``.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

PROC = Path("/proc")
PARIS = ZoneInfo("Europe/Paris")
_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICKS = os.sysconf("SC_CLK_TCK")
_MB = 1024 * 1024


@dataclass(frozen=True)
class Sample:
    """The tree at one instant: ``done`` transactions finished by then."""

    t_s: float
    done: int
    rss_mb: float
    pss_mb: float
    processes: int


@dataclass(frozen=True)
class _Stat:
    ppid: int
    start: int  # clock ticks after boot: with the pid, identifies a process
    cpu_s: float
    comm: str


def _read_stat(pid: int) -> _Stat | None:
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:  # the process ended meanwhile
        return None
    head, _, rest = text.rpartition(")")  # the command name may hold spaces or brackets
    fields = rest.split()
    # fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15, starttime 22
    return _Stat(
        ppid=int(fields[1]),
        start=int(fields[19]),
        cpu_s=(int(fields[11]) + int(fields[12])) / _TICKS,
        comm=head.partition("(")[2],
    )


def _all_stats() -> dict[int, _Stat]:
    stats: dict[int, _Stat] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            stat = _read_stat(int(entry.name))
            if stat is not None:
                stats[int(entry.name)] = stat
    return stats


def tree(root: int, stats: dict[int, _Stat] | None = None) -> list[int]:
    """``root`` and every process descending from it (those still alive)."""
    stats = _all_stats() if stats is None else stats
    children: dict[int, list[int]] = {}
    for pid, stat in stats.items():
        children.setdefault(stat.ppid, []).append(pid)
    found, todo = [], [root] if root in stats else []
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def rss_bytes(pid: int) -> int:
    try:
        return int((PROC / str(pid) / "statm").read_text().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def pss_bytes(pid: int) -> int:
    """PSS from ``smaps_rollup`` (kernel ≥ 4.14); RSS where it cannot be read."""
    try:
        for line in (PROC / str(pid) / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return rss_bytes(pid)


def process_kind(pid: int, comm: str) -> str:
    """« robot (python) », « driver (node) », « chromium renderer »…"""
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        raw = b""
    # Chromium's child processes rewrite their command line as one space-separated string.
    argv = [a.decode(errors="replace") for a in raw.replace(b"\0", b" ").split()]
    program = Path(argv[0]).name if argv else comm
    chromium_child = any(a.startswith("--type=") for a in argv)  # also when shown as « exe »
    if chromium_child or "chrom" in program or "chrom" in comm or "headless_shell" in program:
        kind = next((a[7:] for a in argv if a.startswith("--type=")), "browser")
        return f"chromium {kind}"
    if comm.startswith("python") or program.startswith("python"):
        return "robot (python)"
    if comm.startswith("node") or program == "node":
        return "driver (node)"
    return comm or program


class TreeSampler:
    """Samples the tree under ``root`` (and under each of ``more_roots``): memory at each
    call, CPU per process kind, the processes of each kind at the peak, and the Chromium
    instances seen (a « chromium browser » process whose parent is not one: Debian's
    ``chromium-headless-shell`` is a shell script running the real browser as its child)."""

    def __init__(self, root: int, more_roots: Sequence[int] = ()) -> None:
        self.root = root
        self.roots = [root, *more_roots]
        self.samples: list[Sample] = []
        self._started = time.monotonic()
        self._cpu: dict[tuple[int, int], float] = {}
        self._kinds: dict[tuple[int, int], str] = {}
        #: PSS by process kind (MB) at the sample where the tree's PSS was highest.
        self.peak_pss_by_kind: dict[str, float] = {}
        #: How many processes of each kind at that sample.
        self.peak_processes_by_kind: dict[str, int] = {}
        self.browsers: set[tuple[int, int]] = set()

    def sample(self, done: int) -> Sample:
        """Read the tree now (``done``: transactions finished so far)."""
        stats = _all_stats()
        pids = sorted({pid for root in self.roots for pid in tree(root, stats)})
        kinds: dict[int, str] = {}
        for pid in pids:
            key = (pid, stats[pid].start)
            if key not in self._kinds:
                self._kinds[key] = process_kind(pid, stats[pid].comm)
            kinds[pid] = self._kinds[key]
        rss = pss = 0
        by_kind: dict[str, float] = {}
        count: dict[str, int] = {}
        for pid in pids:
            stat = stats[pid]
            key = (pid, stat.start)
            kind = kinds[pid]
            self._cpu[key] = stat.cpu_s
            if kind == "chromium browser" and kinds.get(stat.ppid) != "chromium browser":
                self.browsers.add(key)
            rss += rss_bytes(pid)
            own = pss_bytes(pid)
            pss += own
            by_kind[kind] = by_kind.get(kind, 0.0) + own / _MB
            count[kind] = count.get(kind, 0) + 1
        sample = Sample(
            t_s=round(time.monotonic() - self._started, 3),
            done=done,
            rss_mb=round(rss / _MB, 1),
            pss_mb=round(pss / _MB, 1),
            processes=len(pids),
        )
        if sample.pss_mb > self.peak_pss_mb:
            self.peak_pss_by_kind = {k: round(v, 1) for k, v in sorted(by_kind.items())}
            self.peak_processes_by_kind = dict(sorted(count.items()))
        self.samples.append(sample)
        return sample

    @property
    def peak_rss_mb(self) -> float:
        return max((s.rss_mb for s in self.samples), default=0.0)

    @property
    def peak_pss_mb(self) -> float:
        return max((s.pss_mb for s in self.samples), default=0.0)

    @property
    def peak_processes(self) -> int:
        return max((s.processes for s in self.samples), default=0)

    def write_csv(self, path: Path) -> None:
        """Every sample, one line each (kept with the run's folder, for analysis)."""
        lines = ["t_s,done,rss_mb,pss_mb,processes"]
        lines += [f"{s.t_s},{s.done},{s.rss_mb},{s.pss_mb},{s.processes}" for s in self.samples]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def cpu_by_kind(self) -> dict[str, float]:
        """CPU seconds by process kind, as last seen (a process's last instants are missed)."""
        totals: dict[str, float] = {}
        for key, cpu in self._cpu.items():
            kind = self._kinds[key]
            totals[kind] = totals.get(kind, 0.0) + cpu
        return {k: round(v, 2) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])}


def process_cpu_s(pid: int) -> float:
    """CPU seconds used so far by one process (0 when it is gone)."""
    stat = _read_stat(pid)
    return stat.cpu_s if stat is not None else 0.0


def machine_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy since boot (every core, ``/proc/stat``)."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = stat.readline().split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in fields[:7])
    return (user + nice + system + irq + softirq) / _TICKS


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return 0.0


def _package(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


def _chromium_version(browser: str | None) -> str:
    from playwright.sync_api import sync_playwright

    from robot.browser.find import find_chromium  # the browser the robot will launch

    if browser is None:
        with sync_playwright() as playwright:
            browser = find_chromium(playwright)
    executable = browser
    if executable is None:
        return "Chromium de Playwright"
    try:
        out = subprocess.run(
            [executable, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return executable
    return out.stdout.strip() or executable


def _git_commit(root: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "inconnu"
    return out.stdout.strip() or "inconnu"


def machine_info(root: Path, browser: str | None = None) -> dict[str, Any]:
    """What the figures were measured on (the « machine » block of ``latest.json``)."""
    return {
        "date": datetime.now(PARIS).isoformat(timespec="seconds"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count() or 0,
        "memory_gb": _memory_gb(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "playwright": _package("playwright"),
        "chromium": _chromium_version(browser),
        "commit": _git_commit(root),
        "load_average_start": load_average(),
    }
