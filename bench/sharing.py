"""Sharing the fixed processes: memory per worker when workers share a browser or a driver.

Each worker of the robot today is one Python process, one Playwright driver (node) and one
Chromium (browser, zygotes, utility, renderer): ~340 MB PSS before its first page. The
performance issue asks what sharing those fixed processes would save. ``python -m
bench.sharing`` has W workers (default 2) load the same documents in three layouts and reads
the peak PSS of their whole process tree from ``/proc``:

``separate``
    today: W processes, each with its own driver and its own Chromium;
``contexts``
    one process, one driver, one Chromium, W browser contexts. The contexts load their pages
    **interleaved** (page 1 of each context, then page 2 of each…) from one thread, so all W
    are open and showing a page at every instant, as W workers would be;
``cdp``
    one Chromium started once by the benchmark (``--remote-debugging-port=0``, the port read
    from its ``DevTools listening on ws://…`` line), W processes each with its own driver,
    connecting with ``chromium.connect_over_cdp`` and opening its own context.

Every context is a work context as the robot opens it (``robot.browser.launch.new_context``),
logged in through the sandbox's form in an untraced context first (its cookies handed over),
traced as the robot traces (DOM snapshots, no screencast, one chunk per invoice, saved), its
renderer's garbage collected after each invoice's pages (``WorkSession.release_memory``). The
documents are those of ``bench.browser_floor`` (8 per invoice: no click, no typing); each
context loads the first ``--pages`` of its own invoices' documents. Chromium runs with the
robot's flags: ``separate`` and ``contexts`` launch it through ``robot.browser.launch``;
``cdp`` starts the same executable with the command line Playwright gave it in a probe
launch, ``--remote-debugging-pipe`` swapped for the port.

The tree is sampled every 0.25 s while the workers start, log in and load their pages, and
once more when every worker has loaded its last page (they wait to be told to close, so the
peak counts all W at once). CPU-seconds are those of the tree up to that instant: start-up,
login and pages, not the closing.

    python -m bench.sharing [--workers 2] [--pages 8] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bench.browser_floor import pages_of
from bench.floor import pending_rejections
from bench.measure import (
    Sample,
    TreeSampler,
    load_average,
    machine_cpu_s,
    process_cpu_s,
    tree,
)
from sandbox.server import RunningSandbox, start_sandbox
from sandbox.settings import SandboxOptions

ROOT = Path(__file__).resolve().parent.parent
LAYOUTS = ("separate", "contexts", "cdp")
LABELS = {"separate": "séparés", "contexts": "contextes", "cdp": "CDP"}
PAGES_PER_INVOICE = 8  # len(pages_of(...)): one chunk of trace and one collection each
SAMPLE_EVERY_S = 0.25
READY_TIMEOUT_S = 180.0  # a worker's start-up, login and pages
CLOSE_TIMEOUT_S = 30.0
DEVTOOLS = re.compile(r"DevTools listening on (ws://\S+)")
_MB = 1024 * 1024

# -- the tree ----------------------------------------------------------------------------


class ForestSampler(TreeSampler):
    """A :class:`TreeSampler` over several roots (the workers, and the shared Chromium);
    also says how many processes of each kind it has seen."""

    def __init__(self, roots: Sequence[int]) -> None:
        super().__init__(roots[0], roots[1:])

    def sample(self, done: int = 0) -> Sample:
        return super().sample(done)

    def processes_seen_by_kind(self) -> dict[str, int]:
        seen: dict[str, int] = {}
        for kind in self._kinds.values():
            seen[kind] = seen.get(kind, 0) + 1
        return dict(sorted(seen.items()))


@contextmanager
def sampling(sampler: ForestSampler) -> Iterator[None]:
    """Sample every :data:`SAMPLE_EVERY_S` in a thread until the block ends."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            sampler.sample()
            stop.wait(SAMPLE_EVERY_S)

    thread = threading.Thread(target=loop, name="sharing-sampler", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


# -- the worker (``python -m bench.sharing --worker``, its job on stdin) --------------------


def run_worker() -> int:
    """Log in, load the pages in each context, say « ready », close when told to."""
    from robot.browser.launch import BrowserSettings, launch, new_context, start_playwright
    from scenarios import login

    job = json.loads(sys.stdin.readline())
    settings = BrowserSettings()
    trace_dir = Path(job["trace_dir"])
    playwright = start_playwright()
    try:
        if job["cdp"]:
            browser = playwright.chromium.connect_over_cdp(job["cdp"])
        else:
            browser = launch(playwright, settings)
        slots = []
        for paths in job["paths"]:
            login_context = new_context(browser, settings)
            login(
                login_context.new_page(),
                base_url=job["url"],
                identifiant=job["user"],
                password=job["password"],
                otp=None,
            )
            state = login_context.storage_state()
            login_context.close()
            context = new_context(browser, settings, storage_state=state)
            # As robot/browser/recording.py: snapshots, no screencast, the first chunk closed.
            context.tracing.start(screenshots=False, snapshots=True, sources=False)
            context.tracing.stop_chunk()
            context.tracing.start_chunk()
            page = context.new_page()
            slots.append((context, page, context.new_cdp_session(page), paths))
        pages = len(job["paths"][0])
        for index in range(pages):  # interleaved: page i of every context, then page i + 1
            for number, (context, page, cdp, paths) in enumerate(slots):
                page.goto(job["url"] + paths[index], wait_until="domcontentloaded")
                if (index + 1) % PAGES_PER_INVOICE == 0 or index + 1 == pages:
                    chunk = trace_dir / f"{job['name']}-c{number}-{index // PAGES_PER_INVOICE}.zip"
                    context.tracing.stop_chunk(path=str(chunk))
                    cdp.send("HeapProfiler.collectGarbage")  # WorkSession.release_memory
                    if index + 1 < pages:
                        context.tracing.start_chunk()
        print("ready", flush=True)
        sys.stdin.readline()  # « close », or the end of the pipe
        for context, _page, _cdp, _paths in slots:
            context.close()
        browser.close()  # connected over CDP: only disconnects (the browser stays up)
    finally:
        playwright.stop()
    return 0


@dataclass
class _Worker:
    name: str
    process: subprocess.Popen[str]
    log: Path


def _start_worker(
    name: str, job: dict[str, Any], work: Path, lines: queue.Queue[tuple[str, str | None]]
) -> _Worker:
    log = work / f"{name}.log"
    with log.open("w", encoding="utf-8") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.sharing", "--worker"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            start_new_session=True,  # its own group: cleaned up with its driver and browser
        )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(json.dumps({**job, "name": name}) + "\n")  # the password stays off argv
    process.stdin.flush()
    _forward_lines(name, process.stdout, lines)
    return _Worker(name, process, log)


def _forward_lines(name: str, stream: IO[str], lines: queue.Queue[tuple[str, str | None]]) -> None:
    """Put each line of ``stream`` on ``lines`` (then ``None`` at its end), from a thread."""

    def pump() -> None:
        for line in stream:
            lines.put((name, line.rstrip("\n")))
        lines.put((name, None))

    threading.Thread(target=pump, name=f"lines-{name}", daemon=True).start()


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _wait_ready(workers: list[_Worker], lines: queue.Queue[tuple[str, str | None]]) -> None:
    by_name = {w.name: w for w in workers}
    waiting = set(by_name)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while waiting:
        try:
            name, line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise RuntimeError(
                f"Workers sans réponse après {READY_TIMEOUT_S:.0f} s : {sorted(waiting)}"
            ) from None
        if line == "ready":
            waiting.discard(name)
        elif line is None and name in waiting:
            raise RuntimeError(f"Le worker {name} s'est arrêté :\n{_tail(by_name[name].log)}")


def _close_workers(workers: list[_Worker]) -> None:
    for worker in workers:
        stdin = worker.process.stdin
        if stdin is not None and not stdin.closed:
            try:
                stdin.write("close\n")
                stdin.close()
            except OSError:
                pass
    deadline = time.monotonic() + CLOSE_TIMEOUT_S
    for worker in workers:
        try:
            worker.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _kill_group(worker.process)


def _kill_group(process: subprocess.Popen[Any]) -> None:
    """End a process we started in its own session, and whatever it started in it."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # stragglers of its group (a Chromium child)
    if process.poll() is None:
        process.wait(timeout=10)


# -- the shared Chromium of the ``cdp`` layout -------------------------------------------


def chromium_command_line() -> list[str]:
    """The command line Playwright gives the robot's Chromium (a probe launch, closed).

    Read from ``/proc`` of the real browser process (below Debian's shell wrapper when there
    is one), without Playwright's ``--user-data-dir`` and ``--remote-debugging-pipe``.
    """
    from robot.browser.launch import BrowserSettings, launch, start_playwright

    playwright = start_playwright()
    try:
        browser = launch(playwright, BrowserSettings())
        try:
            found: list[str] = []
            for pid in tree(os.getpid()):
                try:
                    raw = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                argv = [a.decode() for a in raw.split(b"\0") if a]
                if "--remote-debugging-pipe" in argv and not argv[0].endswith("sh"):
                    found = argv
        finally:
            browser.close()
    finally:
        playwright.stop()
    if not found:
        raise RuntimeError("Ligne de commande de Chromium introuvable dans /proc.")
    keep = [a for a in found if a != "--remote-debugging-pipe" and "--user-data-dir" not in a]
    return keep


@dataclass
class SharedChromium:
    process: subprocess.Popen[str]
    endpoint: str
    profile: Path


def start_shared_chromium(command: list[str], work: Path) -> SharedChromium:
    """Start Chromium on a free port of 127.0.0.1; wait for its DevTools line."""
    profile = Path(tempfile.mkdtemp(prefix="profile-", dir=work))
    process = subprocess.Popen(
        [*command, f"--user-data-dir={profile}", "--remote-debugging-port=0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stderr is not None
    lines: queue.Queue[tuple[str, str | None]] = queue.Queue()
    _forward_lines("chromium", process.stderr, lines)  # keeps draining its stderr after
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                _, line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError("Chromium n'a pas annoncé son port DevTools en 30 s.") from None
            if line is None:
                raise RuntimeError("Chromium s'est arrêté avant d'annoncer son port DevTools.")
            match = DEVTOOLS.search(line)
            if match:
                return SharedChromium(process, match.group(1), profile)
    except BaseException:
        _kill_group(process)
        raise


# -- one layout ---------------------------------------------------------------------------


def _paths(invoices: list[dict[str, Any]], slot: int, slots: int, pages: int) -> list[str]:
    """The first ``pages`` documents of slot ``slot``'s invoices (``slot``, ``slot + slots``…)."""
    paths: list[str] = []
    for invoice in invoices[slot::slots]:
        paths += pages_of(invoice)
        if len(paths) >= pages:
            break
    return paths[:pages]


def measure_layout(
    layout: str,
    sandbox: RunningSandbox,
    workers: int,
    pages: int,
    command: list[str],
    work: Path,
) -> dict[str, Any]:
    invoices = pending_rejections(sandbox)
    trace_dir = work / layout
    trace_dir.mkdir(parents=True, exist_ok=True)
    base = {
        "url": sandbox.url,
        "user": sandbox.options.user,
        "password": sandbox.options.password,
        "trace_dir": str(trace_dir),
        "cdp": None,
    }
    slots = [_paths(invoices, k, workers, pages) for k in range(workers)]
    if any(len(paths) < pages for paths in slots):
        raise RuntimeError("Pas assez de factures rejetées dans le bac à sable.")
    lines: queue.Queue[tuple[str, str | None]] = queue.Queue()
    started: list[_Worker] = []
    shared: SharedChromium | None = None
    cpu_machine, wall = machine_cpu_s(), time.monotonic()
    cpu_sandbox = process_cpu_s(sandbox.process.pid) if sandbox.process else 0.0
    cpu_me = sum(os.times()[:2])
    try:
        roots: list[int] = []
        if layout == "cdp":
            shared = start_shared_chromium(command, work)
            base["cdp"] = shared.endpoint
            roots.append(shared.process.pid)
        if layout == "contexts":
            started.append(_start_worker("w0", {**base, "paths": slots}, work, lines))
        else:
            for k in range(workers):
                started.append(_start_worker(f"w{k}", {**base, "paths": [slots[k]]}, work, lines))
        roots += [w.process.pid for w in started]
        sampler = ForestSampler(roots)
        with sampling(sampler):
            _wait_ready(started, lines)
        sampler.sample()  # every worker on its last page: all of them at once
        wall_s = time.monotonic() - wall
        own = (
            sum(os.times()[:2])
            - cpu_me
            + (process_cpu_s(sandbox.process.pid) if sandbox.process else 0.0)
            - cpu_sandbox
        )
        busy = machine_cpu_s() - cpu_machine
        _close_workers(started)
        exit_codes = [w.process.returncode for w in started]
        for worker in started:
            if worker.process.returncode:
                print(f"{layout} : {worker.name} a mal fini\n{_tail(worker.log)}", file=sys.stderr)
    finally:
        for worker in started:
            _kill_group(worker.process)
        if shared is not None:
            _kill_group(shared.process)
            shutil.rmtree(shared.profile, ignore_errors=True)
    cpu_by_kind = sampler.cpu_by_kind()
    cpu_s = sum(cpu_by_kind.values())
    cores = os.cpu_count() or 1
    other = max(0.0, busy - cpu_s - own) / (wall_s * cores) * 100 if wall_s > 0 else 0.0
    return {
        "layout": layout,
        "workers": workers,
        "pages_per_worker": pages,
        "chromium_browsers": len(sampler.browsers),
        "processes_by_kind": sampler.processes_seen_by_kind(),
        "processes_at_peak_by_kind": sampler.peak_processes_by_kind,
        "peak_pss_mb": sampler.peak_pss_mb,
        "peak_pss_mb_per_worker": round(sampler.peak_pss_mb / workers, 1),
        "peak_pss_mb_per_worker_by_kind": {
            kind: round(mb / workers, 1) for kind, mb in sampler.peak_pss_by_kind.items()
        },
        "peak_rss_mb_per_worker": round(sampler.peak_rss_mb / workers, 1),
        "cpu_s": round(cpu_s, 2),
        "cpu_s_per_worker": round(cpu_s / workers, 2),
        "cpu_s_by_kind": cpu_by_kind,
        "wall_s": round(wall_s, 2),
        "samples": len(sampler.samples),
        "worker_exit_codes": exit_codes,
        "other_cpu_pct": round(other, 1),
    }


# -- the report ---------------------------------------------------------------------------

COLUMNS = (
    ("Python", ("robot (python)",)),
    ("pilote", ("driver (node)",)),
    ("navig.", ("chromium browser",)),
    ("rendu", ("chromium renderer",)),
)


def _group(by_kind: dict[str, float]) -> list[float]:
    named = [sum(by_kind.get(k, 0.0) for k in kinds) for _, kinds in COLUMNS]
    known = {k for _, kinds in COLUMNS for k in kinds}
    return [*named, sum(v for k, v in by_kind.items() if k not in known)]


def table(result: dict[str, Any]) -> str:
    head = (
        f"Partage des processus fixes — {result['workers']} workers, "
        f"{result['pages_per_worker']} pages chacun, trace active (instantanés, sans captures), "
        "contextes chargés en alternance"
    )
    header = (
        f"{'disposition':<11} {'Chromium':>8} {'PSS/worker':>10} "
        + " ".join(f"{name:>7}" for name, _ in COLUMNS)
        + f" {'autres':>7} {'CPU-s/w':>8} {'durée s':>8} {'autres %':>8}"
    )
    rows = [head, "", header, "-" * len(header)]
    for row in result["layouts"]:
        parts = _group(row["peak_pss_mb_per_worker_by_kind"])
        rows.append(
            f"{LABELS[row['layout']]:<11} {row['chromium_browsers']:>8} "
            f"{row['peak_pss_mb_per_worker']:>10.0f} "
            + " ".join(f"{v:>7.0f}" for v in parts)
            + f" {row['cpu_s_per_worker']:>8.2f} {row['wall_s']:>8.1f}"
            f" {row['other_cpu_pct']:>8.1f}"
        )
    rows += [
        "",
        "PSS en Mo par worker au pic de l'arbre (Python, pilote node, Chromium navigateur, "
        "rendu, autres : zygotes, utilitaires) ; CPU-s par worker jusqu'à la dernière page ; "
        "« autres % » : CPU pris par le reste de la machine pendant la mesure.",
    ]
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.sharing",
        description=(
            "Mémoire par worker quand les workers partagent un Chromium (contextes, CDP) "
            "ou non (aujourd'hui)."
        ),
    )
    p.add_argument("--workers", type=int, default=2, help="workers (défaut 2)")
    p.add_argument(
        "--pages", type=int, default=PAGES_PER_INVOICE, help="pages chargées par worker (défaut 8)"
    )
    p.add_argument("--json", type=Path, help="écrire le résultat dans ce fichier JSON")
    p.add_argument(
        "--layouts",
        default=",".join(LAYOUTS),
        help="dispositions mesurées (défaut separate,contexts,cdp)",
    )
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return run_worker()
    layouts = [name.strip() for name in args.layouts.split(",") if name.strip()]
    if args.workers < 1 or args.pages < 1 or not set(layouts) <= set(LAYOUTS) or not layouts:
        p.error("--workers et --pages ≥ 1 ; --layouts parmi separate, contexts, cdp")
    result: dict[str, Any] = {
        "workers": args.workers,
        "pages_per_worker": args.pages,
        "order_in_contexts": "interleaved",
        "trace": {"snapshots": True, "screenshots": False},
        "cores": os.cpu_count() or 0,
        "load_average_start": load_average(),
        "layouts": [],
    }
    invoices = args.workers * math.ceil(args.pages / PAGES_PER_INVOICE)
    with tempfile.TemporaryDirectory(prefix="chorus-sharing-") as tmp:
        work = Path(tmp)
        command = chromium_command_line() if "cdp" in layouts else []
        result["chromium"] = command[0] if command else None
        options = SandboxOptions(data_dir=work / "sandbox", seed=invoices)
        with start_sandbox(options, mode="process") as sandbox:
            for layout in layouts:
                row = measure_layout(layout, sandbox, args.workers, args.pages, command, work)
                result["layouts"].append(row)
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
