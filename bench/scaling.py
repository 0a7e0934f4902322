"""Many accounts on PostgreSQL: invoices per minute for 1, 2 and 4 accounts, and what the
PostgreSQL journal costs against SQLite for one account.

The figure a firm with many Chorus Pro accounts needs (issue 12): at 300 ms of portal latency,
A accounts of 2 sessions each, worked by 2·A workers on one PostgreSQL journal, a fixed number
of invoices per account. Each configuration is one ``chorus-robot run --plan PLAN --workers
2·A`` whose plan names every account (``compte``) — the sandbox seeds the same numbers in
every account, so account k takes the k-th slice of them and the plan's numbers differ. With
``CHORUS_JOURNAL=postgresql://…`` and ``CHORUS_ACCOUNTS`` the run goes through the queue
(``robot/run/fleet.py``); for one account the same plan is also run on the SQLite journal
(``CHORUS_JOURNAL`` unset, the single-machine path) to compare.

Every configuration sees the same portal: the sandbox (its own process) is re-seeded with
``invoices_per_account × max(accounts)`` rejections in each of A accounts, its latency and its
cap of sessions per account (``max_sessions_per_account``) set by the fault knobs. Measured:
wall time, invoices per minute, the CPU of the robot's whole process tree, of the PostgreSQL
server and of the sandbox, the tree's peak PSS, the most sessions each account held
(``/_admin/stats``), and how busy the machine was (ours and the rest). Results go to
``scaling.json``; ``bench/README.md`` (« Many accounts on PostgreSQL ») has the table.

The goals (:func:`goals`): each step's speed-up against one account is at least 90 % of the
number of accounts, or the robot's own work kept the machine ≥ 90 % busy; PostgreSQL's
throughput and CPU per invoice within 5 % of SQLite's. A verdict is left undecided (null) when
other programs took more than 5 % of the machine during a compared run, and the whole file is
marked preliminary then, or when the load average was high at the start, as ``bench/run.py``
does.

    python -m bench.run --scaling                  # 1, 2, 4 accounts × 10 invoices, 300 ms
    python -m bench.run --scaling --scaling-accounts 1 --scaling-invoices 2 --scaling-latency 0
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from bench.matrix import BenchConfig
from bench.measure import TreeSampler, load_average, machine_cpu_s, machine_info, process_cpu_s
from bench.queue import server_cpu_s
from bench.robot_run import new_number, phases, robot_env
from bench.rows import percentile
from sandbox.server import RunningSandbox, start_sandbox
from sandbox.settings import SandboxOptions

ROOT = Path(__file__).resolve().parent.parent
ACCOUNTS = (1, 2, 4)
SESSIONS_PER_ACCOUNT = 2
LATENCY_MS = 300
INVOICES_PER_ACCOUNT = 10
SAMPLE_EVERY_S = 0.5
#: A run longer than this is stopped: start-up, plus a generous time per invoice.
BUDGET_S = 180.0
BUDGET_S_PER_INVOICE = 60.0
#: Busy-machine thresholds, as ``bench/run.py``'s (load per core at start; others' share).
BUSY_LOAD_PER_CORE = 0.25
OTHER_CPU_PCT_MAX = 5.0
#: Goals: throughput in proportion to accounts (speed-up ≥ 90 % of A) until the machine's CPU
#: is the bound (busy ≥ 90 % of its cores); PostgreSQL within 5 % of SQLite for one account.
PROPORTIONAL_MIN = 0.9
CPU_BOUND_PCT = 90.0
JOURNAL_COST_MAX_PCT = 5.0
# Rough durations for ``--list``: start-up and bundle, one worker's pace at 0 ms and the
# requests of one invoice (audit on), and the most a 2-core machine carries a minute.
_STARTUP_S = 25.0
_OWN_S_PER_INVOICE = 4.0
_REQUESTS_PER_INVOICE = 13
_CPU_BOUND_PER_MIN = 22.0


class JournalKind(StrEnum):
    POSTGRESQL = "postgresql"
    SQLITE = "sqlite"


@dataclass(frozen=True)
class ScalingConfig:
    """One measured run: ``accounts`` accounts of ``sessions`` sessions, 2·A workers."""

    accounts: int
    journal: JournalKind
    invoices_per_account: int
    latency_ms: int
    sessions: int = SESSIONS_PER_ACCOUNT

    @property
    def workers(self) -> int:
        return self.accounts * self.sessions

    @property
    def n(self) -> int:
        return self.accounts * self.invoices_per_account

    @property
    def id(self) -> str:
        return f"a{self.accounts}-{self.journal.value}"


@dataclass(frozen=True)
class ScalingOptions:
    """What ``bench.run`` asks for, and how the robot runs (as for the matrix)."""

    accounts: tuple[int, ...] = ACCOUNTS
    invoices_per_account: int = INVOICES_PER_ACCOUNT
    latency_ms: int = LATENCY_MS
    sessions: int = SESSIONS_PER_ACCOUNT
    robot_root: Path = ROOT
    extra: dict[str, str] = field(default_factory=dict)  # CHORUS_* settings, --browser
    work_dir: Path | None = None
    keep_runs: bool = False
    preliminary: bool = False


def configurations(options: ScalingOptions) -> list[ScalingConfig]:
    """PostgreSQL for each number of accounts, SQLite for one account right after PostgreSQL's
    (the two compared runs close in time)."""
    configs = []
    for accounts in sorted(set(options.accounts)):
        for journal in (JournalKind.POSTGRESQL, JournalKind.SQLITE):
            if journal is JournalKind.POSTGRESQL or accounts == 1:
                configs.append(
                    ScalingConfig(
                        accounts,
                        journal,
                        options.invoices_per_account,
                        options.latency_ms,
                        options.sessions,
                    )
                )
    return configs


def estimate_s(config: ScalingConfig) -> float:
    """A rough duration of one run on a quiet 2-core machine."""
    per_worker = 60 / (_OWN_S_PER_INVOICE + _REQUESTS_PER_INVOICE * config.latency_ms / 1000)
    per_min = min(config.workers * per_worker, _CPU_BOUND_PER_MIN)
    return _STARTUP_S + config.n / per_min * 60


# -- one run ---------------------------------------------------------------------------------
def write_accounts(path: Path, sandbox: RunningSandbox, accounts: int, sessions: int) -> Path:
    """The TOML accounts file (mode 0600, as the robot requires of a file with passwords)."""
    blocks = [
        f'[[compte]]\nidentifiant = "{sandbox.account(k)}"\n'
        f'mot_de_passe = "{sandbox.options.password}"\nmax_sessions = {sessions}\n'
        for k in range(1, accounts + 1)
    ]
    path.write_text("\n".join(blocks), encoding="utf-8")
    path.chmod(0o600)
    return path


def write_plan(path: Path, work: dict[str, list[str]], named: bool) -> Path:
    """Every rejection reissued as it is under a new number, which is why each row confirms
    the reissue; ``named``: each row names its account (``compte``)."""
    lines = ["compte;numero_rejete;nouveau_numero;confirmer_reemission"]
    for account, numbers in work.items():
        lines += [f"{account if named else ''};{n};{new_number(n)};oui" for n in numbers]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def slices(seeded: dict[str, Any], accounts: int, per_account: int) -> dict[str, list[str]]:
    """Account k's share of the seeded numbers: the k-th slice (every account has them all)."""
    comptes = seeded["comptes"][:accounts]
    return {
        c["compte"]: list(c["rejected"][k * per_account : (k + 1) * per_account])
        for k, c in enumerate(comptes)
    }


@dataclass(frozen=True)
class _Postgres:
    server: Any  # tests/pg_support.PostgresServer: a fresh database per run
    pid: int  # the postmaster's: its CPU and its backends'


@contextmanager
def throwaway_postgres() -> Iterator[_Postgres]:
    """A throwaway cluster (``tests/pg_support.py``), removed afterwards."""
    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    from pg_support import start_postgres  # type: ignore[import-not-found]

    server = start_postgres()
    try:
        pid = int((server.data_dir / "postmaster.pid").read_text().split()[0])
        yield _Postgres(server, pid)
    finally:
        server.stop()


class ScalingRunError(RuntimeError):
    """The robot could not be run, or ran too long."""


def _summaries(out_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text("utf-8")) for p in sorted(out_dir.glob("*/summary.json"))]


def measure_run(
    sandbox: RunningSandbox,
    postgres: _Postgres | None,
    config: ScalingConfig,
    work_dir: Path,
    options: ScalingOptions,
) -> dict[str, Any]:
    """Seed the sandbox, run the robot on ``config``, return its row."""
    seeded = sandbox.reset(
        seed=options.invoices_per_account * max(options.accounts), accounts=config.accounts
    )
    sandbox.set_faults(latency_ms=config.latency_ms, max_sessions_per_account=config.sessions)
    work = slices(seeded, config.accounts, config.invoices_per_account)
    work_dir.mkdir(parents=True, exist_ok=True)
    queued = config.journal is JournalKind.POSTGRESQL
    plan = write_plan(work_dir / "plan.csv", work, named=queued)
    out_dir = work_dir / "runs"
    bench = BenchConfig(config.n, config.workers, config.latency_ms, audit=True)
    env = robot_env(sandbox, bench, out_dir, options.robot_root.resolve())
    env["CHORUS_MAX_SESSIONS"] = str(config.sessions)
    if queued:
        assert postgres is not None
        env["CHORUS_JOURNAL"] = postgres.server.create_database(password="bench")
        env["CHORUS_ACCOUNTS"] = str(
            write_accounts(work_dir / "comptes.toml", sandbox, config.accounts, config.sessions)
        )
    env.update(options.extra)
    command = [sys.executable, "-m", "robot.cli", "run", "--plan", str(plan)]
    command += ["--workers", str(config.workers)]
    assert sandbox.process is not None, "the sandbox runs in its own process"
    sandbox_pid = sandbox.process.pid

    def cpu_now() -> tuple[float, float, float, float]:
        return (
            machine_cpu_s(),
            process_cpu_s(sandbox_pid),
            server_cpu_s(postgres.pid) if postgres else 0.0,
            process_cpu_s(os.getpid()),
        )

    load_start = load_average()
    before = cpu_now()
    deadline = time.monotonic() + BUDGET_S + BUDGET_S_PER_INVOICE * config.n
    with (work_dir / "robot-output.txt").open("wb") as log:
        started, started_at = time.monotonic(), time.time()
        process = subprocess.Popen(
            command,
            cwd=work_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        sampler = TreeSampler(process.pid)
        while True:
            sampler.sample(0)
            try:
                process.wait(timeout=SAMPLE_EVERY_S)
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    process.terminate()
                    process.wait(timeout=120)
                    raise ScalingRunError(f"{config.id} : délai dépassé, run arrêté.") from None
        wall = time.monotonic() - started
        ended_at = time.time()
    after = cpu_now()
    machine, sandbox_cpu, server_cpu, own = (b - a for a, b in zip(before, after, strict=True))
    tree_cpu = sum(sampler.cpu_by_kind().values())
    if options.keep_runs:
        sampler.write_csv(work_dir / "samples.csv")
    return _row(
        config,
        wall=wall,
        exit_code=process.returncode,
        out_dir=out_dir,
        work=work,
        sandbox=sandbox,
        sampler=sampler,
        cpu={
            "tree": tree_cpu,
            "journal_server": server_cpu,
            "sandbox": sandbox_cpu,
            "machine": machine,
            "other": max(0.0, machine - tree_cpu - server_cpu - sandbox_cpu - own),
        },
        times=(started_at, ended_at),
        load_start=load_start,
    )


def _row(
    config: ScalingConfig,
    *,
    wall: float,
    exit_code: int,
    out_dir: Path,
    work: dict[str, list[str]],
    sandbox: RunningSandbox,
    sampler: TreeSampler,
    cpu: dict[str, float],
    times: tuple[float, float],
    load_start: list[float],
) -> dict[str, Any]:
    """The row of one run (fields in ``bench/README.md``, « Many accounts on PostgreSQL »)."""
    summaries = _summaries(out_dir)
    states: dict[str, int] = {}
    durations: list[float] = []
    for summary in summaries:
        for state, count in summary.get("totals", {}).items():
            states[state] = states.get(state, 0) + int(count)
        durations += [float(t["duration_s"]) for t in summary.get("transactions", [])]
    issued = 0
    for account, numbers in work.items():
        present = {inv["numero"] for inv in sandbox.invoices(compte=account)}
        issued += sum(1 for n in numbers if new_number(n) in present)
    peaks = {name: c["pic_sessions"] for name, c in sandbox.stats()["comptes"].items()}
    events = sorted(out_dir.glob("*/events.jsonl"))
    split = phases(events[-1], *times) if events else {}
    done = states.get("done", 0)
    cores = os.cpu_count() or 1
    n = config.n
    journal_cpu = cpu["journal_server"] if config.journal is JournalKind.POSTGRESQL else None
    ours = cpu["tree"] + cpu["journal_server"] + cpu["sandbox"]
    with_journal = cpu["tree"] + (journal_cpu or 0.0)
    transactions_s = split.get("transactions")
    return {
        "id": config.id,
        "accounts": config.accounts,
        "journal": config.journal.value,
        "sessions_per_account": config.sessions,
        "workers": config.workers,
        "latency_ms": config.latency_ms,
        "audit": True,
        "n": n,
        "done": done,
        "issued": issued,
        "states": states,
        "exit_code": exit_code,
        "wall_s": round(wall, 2),
        "invoices_per_minute": round(done / wall * 60, 1) if wall else 0.0,
        "phases_s": split,
        "transactions_invoices_per_minute": round(done / transactions_s * 60, 1)
        if transactions_s
        else None,
        "p50_s": round(percentile(durations, 50), 3) if durations else None,
        "cpu_s_per_invoice": round(cpu["tree"] / n, 3),
        "journal_server_cpu_s_per_invoice": round(journal_cpu / n, 3)
        if journal_cpu is not None
        else None,
        "cpu_s_per_invoice_with_journal": round(with_journal / n, 3),
        # The most the machine's cores could carry a minute at that cost (the sandbox apart:
        # it stands for the portal, elsewhere in real use).
        "cpu_ceiling_invoices_per_minute": round(cores * 60 * n / with_journal, 1)
        if with_journal
        else None,
        "sandbox_cpu_s_per_invoice": round(cpu["sandbox"] / n, 3),
        "cpu_by_kind_s": sampler.cpu_by_kind(),
        "peak_pss_mb": sampler.peak_pss_mb,
        "peak_pss_mb_per_worker": round(sampler.peak_pss_mb / config.workers, 1),
        "peak_rss_mb": sampler.peak_rss_mb,
        "peak_pss_mb_by_kind": sampler.peak_pss_by_kind,
        "peak_processes": sampler.peak_processes,
        "peak_sessions_by_account": peaks,
        "own_cpu_pct": round(ours / (wall * cores) * 100, 1) if wall else 0.0,
        "machine_busy_pct": round(cpu["machine"] / (wall * cores) * 100, 1) if wall else 0.0,
        "other_cpu_pct": round(cpu["other"] / (wall * cores) * 100, 1) if wall else 0.0,
        "load_average_start": load_start,
        "load_average_end": load_average(),
    }


# -- the goals -------------------------------------------------------------------------------
def _disturbed(*rows: dict[str, Any]) -> bool:
    """Whether other programs took more than their allowance of the machine during a run."""
    return any(row["other_cpu_pct"] > OTHER_CPU_PCT_MAX for row in rows)


def _all(verdicts: Sequence[bool | None]) -> bool | None:
    """False when one is False, None (not judged) when one is None, else True."""
    if False in verdicts:
        return False
    return None if None in verdicts else True


def goals(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Whether throughput grows with accounts until the CPU bounds it, and what PostgreSQL
    costs against SQLite for one account. A verdict is None where a run is missing or
    incomplete, or where other programs took more than 5 % of the machine during a compared
    run: a machine they keep busy is bound by its CPU whatever the robot does."""
    complete = [r for r in rows if r["n"] and r["issued"] == r["n"]]
    pg = {r["accounts"]: r for r in complete if r["journal"] == JournalKind.POSTGRESQL}
    sqlite = next((r for r in complete if r["journal"] == JournalKind.SQLITE), None)
    base = pg.get(1)
    steps = []
    if base is not None and base["invoices_per_minute"]:
        for accounts, row in sorted(pg.items()):
            speedup = row["invoices_per_minute"] / base["invoices_per_minute"]
            proportional = speedup / accounts >= PROPORTIONAL_MIN
            disturbed = _disturbed(base, row)
            cpu_bound = row["machine_busy_pct"] >= CPU_BOUND_PCT and not disturbed
            steps.append(
                {
                    "accounts": accounts,
                    "speedup": round(speedup, 2),
                    "efficiency": round(speedup / accounts, 2),
                    "machine_busy_pct": row["machine_busy_pct"],
                    "own_cpu_pct": row["own_cpu_pct"],
                    "other_cpu_pct": row["other_cpu_pct"],
                    "proportional": proportional,
                    "cpu_bound": cpu_bound,
                    "met": None if disturbed else proportional or cpu_bound,
                }
            )
    cost: dict[str, Any] = {"met": None}
    if base is not None and sqlite is not None:
        slower = (1 - base["invoices_per_minute"] / sqlite["invoices_per_minute"]) * 100
        dearer = (
            base["cpu_s_per_invoice_with_journal"] / sqlite["cpu_s_per_invoice_with_journal"] - 1
        ) * 100
        server = base.get("journal_server_cpu_s_per_invoice") or 0.0
        cost = {
            "throughput_loss_pct": round(slower, 1),
            "cpu_extra_pct": round(dearer, 1),
            # PostgreSQL's own share of an invoice's CPU: the part of the cost that other
            # programs hardly blur (the journal's Python side is in the robot's tree).
            "server_cpu_pct": round(server / base["cpu_s_per_invoice_with_journal"] * 100, 2),
            "disturbed": _disturbed(base, sqlite),
            "met": None
            if _disturbed(base, sqlite)
            else slower <= JOURNAL_COST_MAX_PCT and dearer <= JOURNAL_COST_MAX_PCT,
        }
    return {
        "proportional_until_cpu_bound": {
            "steps": steps,
            "met": _all([s["met"] for s in steps]) if len(steps) > 1 else None,
        },
        "postgresql_cost_vs_sqlite": cost,
        "thresholds": {
            "efficiency_min": PROPORTIONAL_MIN,
            "cpu_bound_busy_pct": CPU_BOUND_PCT,
            "journal_cost_max_pct": JOURNAL_COST_MAX_PCT,
            "other_cpu_pct_max": OTHER_CPU_PCT_MAX,
        },
    }


# -- the whole measurement -------------------------------------------------------------------
def _line(row: dict[str, Any]) -> str:
    journal = row["journal_server_cpu_s_per_invoice"]
    server = f" (+{journal} PostgreSQL)" if journal is not None else ""
    return (
        f"  {row['id']} : {row['issued']}/{row['n']} émises en {row['wall_s']} s — "
        f"{row['invoices_per_minute']} factures/min, {row['cpu_s_per_invoice']} s CPU/facture"
        f"{server}, PSS max {row['peak_pss_mb']:.0f} Mo, sessions max par compte "
        f"{max(row['peak_sessions_by_account'].values(), default=0)}, machine occupée à "
        f"{row['machine_busy_pct']} % (autres programmes {row['other_cpu_pct']} %)"
    )


def _verdict(met: bool | None, measured: bool) -> str:
    if met is None:
        return "indéterminé (machine occupée par d'autres programmes)" if measured else "non mesuré"
    return "atteint" if met else "NON atteint"


def print_goals(found: dict[str, Any]) -> None:
    scaling = found["proportional_until_cpu_bound"]
    steps = scaling["steps"]
    verdict = _verdict(scaling["met"], len(steps) > 1)
    print(f"Débit proportionnel aux comptes jusqu'à la borne du CPU : {verdict}")
    for step in steps:
        print(
            f"  {step['accounts']} compte(s) : ×{step['speedup']} (efficacité "
            f"{step['efficiency']}), machine occupée à {step['machine_busy_pct']} % "
            f"(autres programmes {step['other_cpu_pct']} %)"
        )
    cost = found["postgresql_cost_vs_sqlite"]
    verdict = _verdict(cost["met"], "disturbed" in cost)
    print(f"PostgreSQL ≤ {JOURNAL_COST_MAX_PCT:g} % de plus que SQLite : {verdict}")
    if "disturbed" in cost:
        print(
            f"  PostgreSQL par rapport à SQLite : débit {-cost['throughput_loss_pct']:+} %, "
            f"CPU par facture {cost['cpu_extra_pct']:+} % (serveur PostgreSQL : "
            f"{cost['server_cpu_pct']} % du CPU d'une facture)"
        )


def measure_scaling(out: Path, command: str, options: ScalingOptions) -> list[str]:
    """Every configuration, written to ``out/scaling.json``; the errors met."""
    configs = configurations(options)
    machine = machine_info(ROOT, options.extra.get("CHORUS_BROWSER"))
    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    work = options.work_dir or Path(tempfile.mkdtemp(prefix="chorus-scaling-"))
    try:
        with ExitStack() as stack:
            sandbox = stack.enter_context(
                start_sandbox(SandboxOptions(data_dir=work / "sandbox"), mode="process")
            )
            postgres = _postgres(stack, configs, errors)
            for index, config in enumerate(configs, start=1):
                print(f"[{index}/{len(configs)}] {config.id}", flush=True)
                if config.journal is JournalKind.POSTGRESQL and postgres is None:
                    continue
                try:
                    row = measure_run(sandbox, postgres, config, work / config.id, options)
                except ScalingRunError as exc:
                    errors.append(str(exc))
                    print(f"  échec : {exc}", file=sys.stderr, flush=True)
                    continue
                rows.append(row)
                print(_line(row), flush=True)
                if row["issued"] != row["n"]:
                    errors.append(f"{config.id} : {row['issued']} factures émises sur {row['n']}")
                if not options.keep_runs:
                    shutil.rmtree(work / config.id, ignore_errors=True)
    finally:
        if options.work_dir is None and not options.keep_runs:
            shutil.rmtree(work, ignore_errors=True)
    reasons = _busy_reasons(machine, rows, options)
    found = goals(rows)
    print_goals(found)
    payload = {
        "machine": machine,
        "command": command,
        "duration_s": round(time.monotonic() - started),
        "load_average_end": load_average(),
        "preliminary": bool(reasons),
        "preliminary_reasons": reasons,
        "errors": errors,
        "config": {k: v for k, v in asdict(options).items() if k in _SHOWN_OPTIONS},
        "rows": rows,
        "goals": found,
    }
    out.mkdir(parents=True, exist_ok=True)
    path = out / "scaling.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"Écrit : {path}" + (" (chiffres provisoires)" if reasons else ""))
    return [f"montée en charge : {error}" for error in errors]


_SHOWN_OPTIONS = ("accounts", "invoices_per_account", "latency_ms", "sessions", "extra")


def _postgres(
    stack: ExitStack, configs: Sequence[ScalingConfig], errors: list[str]
) -> _Postgres | None:
    """The throwaway cluster when a configuration needs it; None (and the error) when it
    cannot start: the SQLite run is still measured."""
    if not any(c.journal is JournalKind.POSTGRESQL for c in configs):
        return None
    try:
        postgres: _Postgres = stack.enter_context(throwaway_postgres())
    except Exception as exc:  # not installed, or it failed to start
        errors.append(f"PostgreSQL : {exc}")
        print(f"PostgreSQL indisponible : {exc}", file=sys.stderr, flush=True)
        return None
    return postgres


def _busy_reasons(
    machine: dict[str, Any], rows: Sequence[dict[str, Any]], options: ScalingOptions
) -> list[str]:
    reasons = []
    if options.preliminary:
        reasons.append("marked preliminary by the operator")
    cores = machine["cores"] or 1
    if machine["load_average_start"][0] > BUSY_LOAD_PER_CORE * cores:
        reasons.append(f"machine busy at start (load average {machine['load_average_start'][0]})")
    other = max((row["other_cpu_pct"] for row in rows), default=0.0)
    if other > OTHER_CPU_PCT_MAX:
        reasons.append(
            f"machine busy during the runs (other processes used up to {other} % of its CPU)"
        )
    return reasons
