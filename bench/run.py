"""``python -m bench.run``: measure the robot against the sandbox, write ``bench/results``.

    python -m bench.run                      # the default matrix (7 runs of N = 100)
    python -m bench.run --long               # … and the long run (N = 1000, memory growth)
    python -m bench.run --quick              # a fast look (3 runs of N = 10)
    python -m bench.run --workers 1,2 --latency 0 --audit on --n 50   # a cross product
    python -m bench.run --list               # the configurations and their estimated time
    python -m bench.run --queue              # only the journal's queue at scale (no browser)
    python -m bench.run --scaling            # only 1, 2, 4 accounts on PostgreSQL (~6 min)

For each configuration the sandbox (its own process) is re-seeded with N rejections and the
robot runs a plan reissuing all of them; for each (N, latency) the floor client is measured
once on a freshly seeded sandbox. The default matrix ends with the throughput for many
accounts on a PostgreSQL journal (``bench/scaling.py``: 1, 2 and 4 accounts of 2 sessions at
300 ms, and one account on SQLite to compare), written to ``scaling.json``, then with the
simulation of the journal's queue at scale (``bench/queue.py``: 10,000 transactions, 200
workers, no browser, about a minute), written to ``queue.json``. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.floor import FloorError, FloorResult, measure_floor
from bench.matrix import (
    BenchConfig,
    cross,
    default_matrix,
    estimate_s,
    floor_estimate_s,
    long_run,
    quick_matrix,
    select,
)
from bench.measure import load_average, machine_info
from bench.report import write_results
from bench.robot_run import RobotRunError, new_number, run_robot
from bench.rows import make_row
from sandbox.server import RunningSandbox, start_sandbox
from sandbox.settings import SandboxOptions

if TYPE_CHECKING:
    from bench.scaling import ScalingOptions

ROOT = Path(__file__).resolve().parent.parent
#: Load average (1 min, per core) above which figures are marked preliminary.
BUSY_LOAD_PER_CORE = 0.25
#: Share of the machine's CPU other processes may use during a run (``other_cpu_pct``).
OTHER_CPU_PCT_MAX = 5.0


def _ints(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"liste d'entiers attendue : « {text} »") from None
    if not values or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"liste d'entiers positifs attendue : « {text} »")
    return values


def _audits(text: str) -> list[bool]:
    words = {"on": True, "off": False}
    parts = [part.strip().lower() for part in text.split(",") if part.strip()]
    if not parts or any(part not in words for part in parts):
        raise argparse.ArgumentTypeError(f"« on », « off » ou « on,off » attendu : « {text} »")
    return [words[part] for part in parts]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Mesure la vitesse et le coût du robot sur le bac à sable.",
    )
    p.add_argument(
        "--n", type=int, default=None, help="rejets par run (défaut 100 ; 10 en --quick)"
    )
    p.add_argument("--workers", type=_ints, help="ex. 1,2,4 (avec --latency/--audit : produit)")
    p.add_argument("--latency", type=_ints, help="latence par requête en ms, ex. 0,300")
    p.add_argument("--audit", type=_audits, help="on, off ou on,off")
    p.add_argument("--long", action="store_true", help="ajouter le run long (mémoire)")
    p.add_argument("--long-n", type=int, default=1000, help="taille du run long (défaut 1000)")
    p.add_argument(
        "--long-workers",
        type=int,
        default=1,
        help="workers du run long (défaut 1 ; 2 le fait en deux fois moins de temps)",
    )
    p.add_argument("--quick", action="store_true", help="un petit échantillon, pour un coup d'œil")
    p.add_argument("--only", default="", help="ids à mesurer, séparés par des virgules")
    p.add_argument("--floor-n", type=int, default=25, help="factures du plancher (défaut 25)")
    p.add_argument(
        "--origines",
        dest="origins",
        type=int,
        choices=(1, 3),
        default=1,
        help="le bac à sable sur une origine (défaut, comparable aux mesures passées) ou sur "
        "trois comme le portail réel (portail, fournisseur d'identité, application /cpp/)",
    )
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="dossier")
    p.add_argument("--robot-root", type=Path, default=ROOT, help="code du robot à mesurer")
    p.add_argument("--browser", default=None, help="Chromium à lancer (CHORUS_BROWSER du robot)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="CHORUS_X=VALEUR",
        help="réglage du robot en plus (ex. CHORUS_RECYCLE_EVERY=10), répétable",
    )
    p.add_argument("--work-dir", type=Path, default=None, help="dossier de travail (temporaire)")
    p.add_argument("--keep-runs", action="store_true", help="garder les dossiers des runs")
    p.add_argument("--preliminary", action="store_true", help="marquer les chiffres provisoires")
    p.add_argument(
        "--add",
        action="store_true",
        help="ajouter ces mesures à celles de --out (même commit), au lieu de les remplacer",
    )
    p.add_argument("--list", action="store_true", help="lister les configurations et s'arrêter")
    p.add_argument(
        "--queue",
        action="store_true",
        help="seulement la simulation de la file du journal (PostgreSQL, sans navigateur)",
    )
    p.add_argument(
        "--no-queue",
        action="store_true",
        help="la matrice par défaut sans la simulation de la file du journal",
    )
    p.add_argument(
        "--scaling",
        action="store_true",
        help="seulement le débit pour plusieurs comptes sur PostgreSQL (1, 2, 4 comptes)",
    )
    p.add_argument(
        "--no-scaling",
        action="store_true",
        help="la matrice par défaut sans la mesure sur plusieurs comptes",
    )
    p.add_argument(
        "--scaling-accounts",
        type=_ints,
        default=None,
        help="nombres de comptes mesurés (défaut 1,2,4)",
    )
    p.add_argument(
        "--scaling-invoices",
        type=int,
        default=None,
        help="factures par compte (défaut 10)",
    )
    p.add_argument(
        "--scaling-latency",
        type=int,
        default=None,
        help="latence du portail en ms pour ces runs (défaut 300)",
    )
    return p


#: The queue simulation's estimated time (cluster, registration, 200 connections, the run).
QUEUE_ESTIMATE_S = 60


def with_queue(args: argparse.Namespace) -> bool:
    """Whether the queue simulation runs: asked for, or the default matrix (it stays under
    two minutes) unless ``--no-queue``."""
    chosen = args.quick or args.workers or args.latency or args.audit or args.only
    return bool(args.queue or not (chosen or args.no_queue))


def with_scaling(args: argparse.Namespace) -> bool:
    """Whether the accounts' scaling runs: asked for, or the default matrix (about six
    minutes more) unless ``--no-scaling``."""
    chosen = args.quick or args.workers or args.latency or args.audit or args.only
    return bool(args.scaling or not (chosen or args.no_scaling))


def scaling_options(args: argparse.Namespace) -> ScalingOptions:
    """The scaling measurement's options (``bench.scaling.ScalingOptions``) from the command
    line; ValueError when one is out of range."""
    from bench.scaling import ACCOUNTS, INVOICES_PER_ACCOUNT, LATENCY_MS, ScalingOptions

    accounts = tuple(args.scaling_accounts or ACCOUNTS)
    invoices = INVOICES_PER_ACCOUNT if args.scaling_invoices is None else args.scaling_invoices
    latency = LATENCY_MS if args.scaling_latency is None else args.scaling_latency
    if min(accounts) < 1 or invoices < 1 or latency < 0:
        raise ValueError("--scaling-accounts et --scaling-invoices ≥ 1, --scaling-latency ≥ 0")
    extra = dict(item.split("=", 1) for item in args.set)
    if args.browser:
        extra["CHORUS_BROWSER"] = args.browser
    return ScalingOptions(
        accounts=accounts,
        invoices_per_account=invoices,
        latency_ms=latency,
        robot_root=args.robot_root.resolve(),
        extra=extra,
        work_dir=args.work_dir / "scaling" if args.work_dir else None,
        keep_runs=args.keep_runs,
        preliminary=args.preliminary,
    )


def scaling_estimate_s(args: argparse.Namespace) -> float:
    from bench.scaling import configurations, estimate_s

    return sum(estimate_s(c) for c in configurations(scaling_options(args)))


def run_scaling(args: argparse.Namespace, argv: Sequence[str] | None) -> list[str]:
    """The accounts' scaling, written to ``<out>/scaling.json``; its errors."""
    from bench.scaling import measure_scaling

    command = "python -m bench.run " + " ".join(sys.argv[1:] if argv is None else argv)
    print("Plusieurs comptes sur PostgreSQL (bench/scaling.py) :", flush=True)
    return measure_scaling(args.out, command.strip(), scaling_options(args))


def run_queue(args: argparse.Namespace, argv: Sequence[str] | None) -> list[str]:
    """The queue simulation, written to ``<out>/queue.json``; its errors."""
    from bench.queue import measure_queue

    command = "python -m bench.run " + " ".join(sys.argv[1:] if argv is None else argv)
    print("File du journal à grande échelle (bench/queue.py) :", flush=True)
    return measure_queue(args.out, command.strip())


def configurations(args: argparse.Namespace) -> list[BenchConfig]:
    """The configurations the options ask for (ValueError for an unknown ``--only`` id)."""
    if args.quick:
        configs = quick_matrix(args.n or 10)
    elif args.workers or args.latency or args.audit:
        configs = cross(
            args.n or 100,
            args.workers or [1, 2, 4],
            args.latency or [0, 300],
            args.audit or [True, False],
        )
    else:
        configs = default_matrix(args.n or 100)
    if args.long:
        configs.append(long_run(args.long_n, args.long_workers))
    only = [part.strip() for part in args.only.split(",") if part.strip()]
    return select(configs, only)


def _floors_needed(configs: Sequence[BenchConfig]) -> list[tuple[int, int]]:
    return sorted({(c.n, c.latency_ms) for c in configs})


def _print_plan(configs: Sequence[BenchConfig], floor_n: int) -> None:
    total = sum(estimate_s(c) for c in configs)
    total += sum(floor_estimate_s(n, lat, floor_n) for n, lat in _floors_needed(configs))
    for config in configs:
        print(f"  {config.id:<22} ~{estimate_s(config) / 60:5.1f} min")
    print(f"Durée estimée sur une machine calme à 2 cœurs : ~{total / 60:.0f} min.")


def _floor(
    sandbox: RunningSandbox,
    cache: dict[tuple[int, int], FloorResult],
    n: int,
    latency: int,
    floor_n: int,
) -> FloorResult:
    key = (n, latency)
    if key not in cache:
        sandbox.set_faults(latency_ms=latency)
        seeded = sandbox.reset(seed=n)
        numbers = {numero: new_number(numero) for numero in seeded["rejected"]}
        cache[key] = measure_floor(sandbox, min(floor_n, n), numbers, latency)
        print(
            f"  plancher N={n} latence {latency} ms : {cache[key].mean_s:.3f} s/facture "
            f"({cache[key].requests_per_invoice:g} requêtes)",
            flush=True,
        )
    return cache[key]


def measure(
    configs: Sequence[BenchConfig], args: argparse.Namespace, work: Path
) -> tuple[list[dict[str, Any]], list[str]]:
    """Run every configuration; the rows measured and the errors met."""
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    floors: dict[tuple[int, int], FloorResult] = {}
    extra = dict(item.split("=", 1) for item in args.set)
    if args.browser:
        extra["CHORUS_BROWSER"] = args.browser
    options = SandboxOptions(data_dir=work / "sandbox", seed=0, origins=args.origins)
    with start_sandbox(options, mode="process") as sandbox:
        for index, config in enumerate(configs, start=1):
            print(f"[{index}/{len(configs)}] {config.id}", flush=True)
            run_dir = work / config.id
            try:
                floor = _floor(sandbox, floors, config.n, config.latency_ms, args.floor_n)
                run = run_robot(sandbox, config, run_dir, args.robot_root.resolve(), extra)
            except (RobotRunError, FloorError) as exc:
                errors.append(f"{config.id} : {exc}")
                print(f"  échec : {exc}", file=sys.stderr, flush=True)
                continue
            row = make_row(run, floor) | {"origins": args.origins}
            rows.append(row)
            print(
                f"  {row['done']}/{row['n']} en {row['wall_s']} s — {row['invoices_per_minute']} "
                f"factures/min, p50 {row['p50_s']} s, p95 {row['p95_s']} s, "
                f"{row['peak_rss_mb_per_worker']} Mo RSS/navigateur, ÷ plancher "
                f"{row['ratio_to_floor']} (charge {row['load_average_end'][0]})",
                flush=True,
            )
            if not args.keep_runs:
                shutil.rmtree(run_dir, ignore_errors=True)
    return rows, errors


def added_to(
    previous_file: Path, machine: dict[str, Any], rows: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The figures of ``previous_file`` with ``rows`` added (a re-measured id replaced).

    ValueError when there are none, or when they were measured on another commit: figures
    side by side must come from the same code.
    """
    if not previous_file.is_file():
        raise ValueError(f"--add : aucun résultat à compléter dans {previous_file}.")
    previous = json.loads(previous_file.read_text(encoding="utf-8"))
    before = previous.get("machine", {})
    if before.get("commit") != machine.get("commit"):
        raise ValueError(
            f"--add : les mesures de {previous_file} viennent du commit {before.get('commit')}, "
            f"celles-ci de {machine.get('commit')}."
        )
    fresh = {row["id"] for row in rows}
    merged = [row for row in previous.get("rows", []) if row.get("id") not in fresh] + rows
    combined = dict(machine)
    combined.update(
        date=before.get("date", machine.get("date")),
        load_average_start=before.get("load_average_start"),
        command=f"{before.get('command')} ; {machine.get('command')}",
        duration_s=int(before.get("duration_s", 0)) + int(machine.get("duration_s", 0)),
        preliminary=bool(before.get("preliminary")) or bool(machine.get("preliminary")),
        preliminary_reasons=[
            *before.get("preliminary_reasons", []),
            *machine.get("preliminary_reasons", []),
        ],
        errors=[*before.get("errors", []), *machine.get("errors", [])],
    )
    return combined, merged


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if any("=" not in item or not item.startswith("CHORUS_") for item in args.set):
        print("Option invalide : --set attend CHORUS_NOM=VALEUR.", file=sys.stderr)
        return 2
    try:
        scaling_s = scaling_estimate_s(args) if with_scaling(args) else 0.0
        configs = [] if args.queue or args.scaling else configurations(args)
    except ValueError as exc:
        print(f"Option invalide : {exc}", file=sys.stderr)
        return 2
    if args.queue or args.scaling:  # asked alone: not the matrix
        return _alone(args, argv, scaling_s)
    print(f"{len(configs)} configuration(s) :")
    _print_plan(configs, args.floor_n)
    if with_scaling(args):
        print(f"  + plusieurs comptes sur PostgreSQL (bench/scaling.py) ~{scaling_s / 60:.0f} min")
    if with_queue(args):
        print(f"  + la file du journal (bench/queue.py) ~{QUEUE_ESTIMATE_S / 60:.0f} min")
    if args.list:
        return 0
    machine = machine_info(ROOT, args.browser)
    if args.set:
        machine["robot_settings"] = args.set
    if args.robot_root.resolve() != ROOT:
        machine["robot_root"] = str(args.robot_root.resolve())  # a modified copy was measured
    reasons = []
    if args.quick:
        reasons.append("--quick sample")
    if args.preliminary:
        reasons.append("marked preliminary by the operator")
    cores = machine["cores"] or 1
    if machine["load_average_start"][0] > BUSY_LOAD_PER_CORE * cores:
        reasons.append(f"machine busy at start (load average {machine['load_average_start'][0]})")
    started = time.monotonic()
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="chorus-bench-"))
    try:
        rows, errors = measure(configs, args, work)
    finally:
        if args.work_dir is None and not args.keep_runs:
            shutil.rmtree(work, ignore_errors=True)
    # The load average at a run's end is mostly the run itself: what other processes spent
    # meanwhile is measured instead.
    other = max((row.get("other_cpu_pct", 0.0) for row in rows), default=0.0)
    if other > OTHER_CPU_PCT_MAX:
        reasons.append(
            f"machine busy during the runs (other processes used up to {other} % of its CPU)"
        )
    machine.update(
        load_average_end=load_average(),
        duration_s=round(time.monotonic() - started),
        command="python -m bench.run " + " ".join(sys.argv[1:] if argv is None else argv),
        preliminary=bool(reasons),
        preliminary_reasons=reasons,
        errors=errors,
    )
    if args.add:
        try:
            machine, rows = added_to(args.out / "latest.json", machine, rows)
        except ValueError as exc:
            print(f"Option invalide : {exc}", file=sys.stderr)
            return 2
    for path in write_results(args.out, machine, rows):
        print(f"Écrit : {path}")
    if with_scaling(args):  # browsers again, on their own: after the matrix
        scaling_errors = run_scaling(args, argv)
        for error in scaling_errors:
            print(error, file=sys.stderr)
        errors = [*errors, *scaling_errors]
    if with_queue(args):  # after the browsers: it loads both cores on its own
        queue_errors = run_queue(args, argv)
        for error in queue_errors:
            print(error, file=sys.stderr)
        errors = [*errors, *queue_errors]
    return 1 if errors else 0


def _alone(args: argparse.Namespace, argv: Sequence[str] | None, scaling_s: float) -> int:
    """``--scaling`` and/or ``--queue`` without the matrix."""
    if args.scaling:
        print(f"Plusieurs comptes sur PostgreSQL (bench/scaling.py) : ~{scaling_s / 60:.0f} min.")
    if args.queue:  # no browser, no sandbox
        print(f"La file du journal (bench/queue.py) : ~{QUEUE_ESTIMATE_S / 60:.0f} min.")
    if args.list:
        return 0
    errors = run_scaling(args, argv) if args.scaling else []
    if args.queue:
        errors += run_queue(args, argv)
    for error in errors:
        print(error, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
