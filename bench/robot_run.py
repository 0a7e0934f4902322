"""One measured run of the robot: seed the sandbox, write the plan, run ``chorus-robot run``
in its own process, sample its process tree until it ends, read its ``summary.json`` and the
requests the sandbox served meanwhile (``/_admin/stats``).

The robot is pointed at the benchmark's sandbox like at any portal (``CHORUS_PORTAL_URL``),
with the politeness throttle off (``CHORUS_MAX_REQUESTS_PER_MIN=0``, as for the embedded
sandbox) and as many sessions as workers: the benchmark measures the robot, not its
courtesy towards the real portal. It runs from an empty folder (no stray ``.env``) with
``PYTHONPATH`` on the code under test (``--robot-root``, to measure a modified copy).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.matrix import BenchConfig
from bench.measure import TreeSampler, machine_cpu_s, process_cpu_s
from sandbox.server import RunningSandbox

#: Seconds between two samples of the robot's process tree (also the poll of its end).
SAMPLE_EVERY_S = 0.5
#: A run that takes longer than this is stopped (seconds per invoice, plus start-up).
BUDGET_S_PER_INVOICE = 120.0


class RobotRunError(RuntimeError):
    """The robot could not be run or gave no summary."""


@dataclass(frozen=True)
class RobotRun:
    """What one robot run showed."""

    config: BenchConfig
    wall_s: float
    exit_code: int
    states: dict[str, int]
    durations_s: tuple[float, ...]  # per transaction, as summary.json says
    server_s: tuple[float, ...]  # per transaction (Server-Timing « app »), when reported
    sampler: TreeSampler
    cpu_s: float  # the whole tree, user + system, as sampled
    sandbox_cpu_s: float
    phases_s: dict[str, float]  # where the wall time went, from the run's events
    #: CPU the rest of the machine used meanwhile (not the robot's tree, the sandbox or the
    #: benchmark itself): what makes figures of a busy machine unreliable.
    other_cpu_s: float = 0.0
    #: The documents and XHR the portal served during the run, login and collect included
    #: (``{"documents", "xhr", "total"}``, from ``/_admin/stats``); None when not read.
    requests: dict[str, int] | None = None


def _instant(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def phases(events_file: Path, started: float, ended: float) -> dict[str, float]:
    """Start-up, login and collect, transactions, and audit bundle, in seconds.

    ``started``/``ended``: the robot process's start and exit (epoch seconds). Transactions
    start at their ``transaction_end`` event minus their ``duration_s``, or at the first event
    of their work (a step, a screenshot, a batch) when that is earlier: the transactions of a
    batch are acknowledged one after the other before the first of them ends.
    """
    run_start = run_end = None
    starts: list[float] = []
    ends: list[float] = []
    for line in events_file.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        moment = _instant(event["time"])
        if event.get("type") == "run_start" and run_start is None:
            run_start = moment
        elif event.get("type") == "run_end":
            run_end = moment
        elif event.get("type") == "transaction_end":
            ends.append(moment)
            starts.append(moment - float(event.get("duration_s", 0.0)))
        elif event.get("type") in ("step", "screenshot", "batch") and run_start is not None:
            starts.append(moment)
    if run_start is None or run_end is None or not starts:
        return {}
    return {
        "startup": round(run_start - started, 2),
        "login_collect": round(min(starts) - run_start, 2),
        "transactions": round(max(ends) - min(starts), 2),
        "bundle": round(ended - run_end, 2),
    }


def portal_requests(sandbox: RunningSandbox) -> dict[str, int] | None:
    """The sandbox's count of documents and XHR served since its last reset (``requetes``
    of ``/_admin/stats``), or None when it has none."""
    counts = sandbox.stats().get("requetes")
    if not isinstance(counts, dict):
        return None
    return {key: int(counts.get(key, 0)) for key in ("documents", "xhr", "total")}


def requests_between(
    before: dict[str, int] | None, after: dict[str, int] | None
) -> dict[str, int] | None:
    """What was served between two readings of :func:`portal_requests` (None if either is)."""
    if before is None or after is None:
        return None
    return {key: after[key] - before[key] for key in ("documents", "xhr", "total")}


def new_number(numero: str) -> str:
    """The plan's new number for a rejected one (≤ 20 characters: FAC-2026-00042-B)."""
    return f"{numero}-B"


def write_plan(path: Path, numbers: list[str]) -> Path:
    """A minimal plan: every rejection reissued as it is under a new number (confirmed: the
    robot refuses an identical reissue without ``confirmer_reemission=oui``)."""
    lines = ["numero_rejete;nouveau_numero;confirmer_reemission"] + [
        f"{n};{new_number(n)};oui" for n in numbers
    ]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def robot_env(
    sandbox: RunningSandbox,
    config: BenchConfig,
    out_dir: Path,
    robot_root: Path,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """The robot's environment: the sandbox as its portal, audit on or off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHORUS_")}
    env.update(
        {
            "CHORUS_PORTAL_URL": sandbox.url,
            "CHORUS_LOGIN": sandbox.options.user,
            "CHORUS_PASSWORD": sandbox.options.password,
            "CHORUS_OTP_SOURCE": f"maildir:{sandbox.maildir}",
            "CHORUS_OUTPUT_DIR": str(out_dir),
            "CHORUS_TRACE": "on" if config.audit else "off",
            "CHORUS_VIDEO": "off",
            "CHORUS_MAX_REQUESTS_PER_MIN": "0",
            "CHORUS_MAX_SESSIONS": str(max(config.workers, 1)),
            "PYTHONPATH": str(robot_root),
        }
    )
    env.update(extra or {})  # the operator's own settings (--set, --browser) win
    return env


class _EventCounter:
    """Counts the finished transactions in the run's ``events.jsonl`` as it grows."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.done = 0
        self._file: Path | None = None
        self._offset = 0

    def count(self) -> int:
        if self._file is None:
            found = sorted(self.out_dir.glob("*/events.jsonl"))
            if not found:
                return self.done
            self._file = found[-1]
        try:
            with self._file.open("rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
        except OSError:
            return self.done
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line being written waits
        self._offset += len(complete)
        self.done += complete.count(b'"transaction_end"')
        return self.done


def _run_file(out_dir: Path, name: str) -> Path:
    found = sorted(out_dir.glob(f"*/{name}"))
    if not found:
        raise RobotRunError(f"Le robot n'a pas écrit de {name} dans {out_dir}.")
    return found[-1]


def _summary(out_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_run_file(out_dir, "summary.json").read_text("utf-8"))
    return data


def run_robot(
    sandbox: RunningSandbox,
    config: BenchConfig,
    work_dir: Path,
    robot_root: Path,
    extra: dict[str, str] | None = None,
) -> RobotRun:
    """Seed ``config.n`` rejections, run the robot on them, measure it."""
    sandbox.set_faults(latency_ms=config.latency_ms)
    seeded = sandbox.reset(seed=config.n)
    requests_before = portal_requests(sandbox)  # zero after the reset: read, not assumed
    work_dir.mkdir(parents=True, exist_ok=True)
    plan = write_plan(work_dir / "plan.csv", list(seeded["rejected"]))
    out_dir = work_dir / "runs"
    command = [sys.executable, "-m", "robot.cli", "run", "--plan", str(plan)]
    command += ["--workers", str(config.workers)]
    events = _EventCounter(out_dir)
    assert sandbox.process is not None, "the benchmark's sandbox runs in its own process"
    sandbox_cpu = process_cpu_s(sandbox.process.pid)
    machine_cpu, own_cpu = machine_cpu_s(), process_cpu_s(os.getpid())
    deadline = time.monotonic() + 60 + BUDGET_S_PER_INVOICE * config.n
    with (work_dir / "robot-output.txt").open("wb") as log:
        started = time.monotonic()
        started_at = time.time()
        process = subprocess.Popen(
            command,
            cwd=work_dir,
            env=robot_env(sandbox, config, out_dir, robot_root, extra),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        sampler = TreeSampler(process.pid)
        while True:
            sampler.sample(events.count())
            try:
                process.wait(timeout=SAMPLE_EVERY_S)  # the end of the run, or the next sample
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    process.terminate()
                    process.wait(timeout=60)
                    raise RobotRunError(f"{config.id} : délai dépassé, run arrêté.") from None
        wall = time.monotonic() - started
        ended_at = time.time()
    requests = requests_between(requests_before, portal_requests(sandbox))
    tree_cpu = sum(sampler.cpu_by_kind().values())
    sandbox_spent = process_cpu_s(sandbox.process.pid) - sandbox_cpu
    own_spent = process_cpu_s(os.getpid()) - own_cpu
    other = machine_cpu_s() - machine_cpu - tree_cpu - sandbox_spent - own_spent
    sampler.write_csv(work_dir / "samples.csv")
    summary = _summary(out_dir)
    transactions = summary.get("transactions", [])
    return RobotRun(
        config=config,
        wall_s=round(wall, 3),
        exit_code=process.returncode,
        states=dict(summary.get("totals", {})),
        durations_s=tuple(float(t["duration_s"]) for t in transactions),
        server_s=tuple(float(t["server_s"]) for t in transactions if "server_s" in t),
        sampler=sampler,
        cpu_s=round(tree_cpu, 2),
        sandbox_cpu_s=round(sandbox_spent, 2),
        phases_s=phases(_run_file(out_dir, "events.jsonl"), started_at, ended_at),
        other_cpu_s=round(max(0.0, other), 2),
        requests=requests,
    )
