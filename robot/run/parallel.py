"""Worker processes: each has its own browser and login and claims from the journal.

Processes are started with ``spawn`` (a clean interpreter: Playwright must not be forked).
A stop request (SIGINT/SIGTERM) reaches every worker through a shared event; each finishes
its current step, journals it, and stops. Secrets a worker learnt (its session cookies,
one-time codes) are sent back so the final sweep removes them from every file.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from types import FrameType
from typing import Any

from loguru import logger

from robot.audit import EventLog
from robot.audit.rundir import RunDir
from robot.browser.launch import settings_for
from robot.browser.recording import Recorder
from robot.browser.session import WorkSession
from robot.config import Config
from robot.errors import first_line
from robot.logs import configure_logging
from robot.otp import make_otp_source
from robot.portal import PortalTarget
from robot.run.journal import Journal, JournalTarget
from robot.run.states import State
from robot.run.stopper import Stopper
from robot.run.worker import Worker, batch_share
from robot.secrets import Secret, register, registered
from scenarios import Correction, Rejection


@dataclass(frozen=True)
class WorkerJob:
    """What a worker process needs (picklable)."""

    config: Config
    portal: dict[str, Any]
    run_dir: Path
    journal: JournalTarget
    run_id: str
    name: str
    corrections: dict[str, Correction]
    rejections: dict[str, Rejection]
    dry_run: bool
    seed: int
    #: How many transactions the worker claims together (robot.run.worker.Worker.work).
    batch_size: int = 1


def _portal_spec(portal: PortalTarget, otp_spec: str) -> dict[str, Any]:
    return {
        "url": portal.url,
        "identifiant": portal.identifiant,
        "password": portal.password,
        "otp_spec": otp_spec,
        "maildir": str(portal.maildir) if portal.maildir else None,
        "embedded": portal.embedded,
    }


def run_workers(
    config: Config,
    portal: PortalTarget,
    run_dir: RunDir,
    journal: Journal,
    stopper: Stopper,
    corrections: dict[str, Correction],
    rejections: dict[str, Rejection],
    *,
    dry_run: bool,
    count: int,
    seed: int,
    on_progress: Callable[[str, State], None],
) -> None:
    """Start ``count`` worker processes and wait for them, reporting progress."""
    ctx = multiprocessing.get_context("spawn")
    secrets_queue = ctx.Queue()
    spec = _portal_spec(portal, config.otp_source)
    # Batches no larger than an even share of what is left: each worker gets some.
    pending = sum(1 for row in journal.transactions(run_dir.run_id) if not row.state.final)
    batch_size = batch_share(config.batch_size, pending, count)
    processes = []
    for index in range(count):
        job = WorkerJob(
            config=config,
            portal=spec,
            run_dir=run_dir.root,
            journal=journal.target,
            run_id=run_dir.run_id,
            name=f"w{index + 1}",
            corrections=corrections,
            rejections=rejections,
            dry_run=dry_run,
            seed=seed + index + 1,
            batch_size=batch_size,
        )
        process = ctx.Process(
            target=worker_main, args=(job, stopper.event, secrets_queue), name=job.name
        )
        process.start()
        processes.append(process)
    logger.info("{} navigateurs travaillent en parallèle", count)
    reported: set[str] = set()

    def report() -> None:
        for row in journal.transactions(run_dir.run_id):
            if row.state.final and row.numero_rejete not in reported:
                reported.add(row.numero_rejete)
                on_progress(row.numero_rejete, row.state)

    while any(p.is_alive() for p in processes):
        for process in processes:
            process.join(timeout=0.5)  # wait for a state: a worker ending
        report()
        _drain(secrets_queue)
    _drain(secrets_queue)
    for process in processes:
        if process.exitcode not in (0, None):
            logger.error(
                "Le processus {} s'est arrêté anormalement ({})", process.name, process.exitcode
            )
    report()


def _drain(queue: Any) -> None:
    while True:
        try:
            for value in queue.get_nowait():
                register(value)
        except Empty:
            return


def worker_main(job: WorkerJob, stop_event: Any, secrets_queue: Any) -> None:
    """Entry point of a worker process."""
    stopper = Stopper(stop_event)

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stopper.request()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    configure_logging(RunDir(job.run_dir).log)
    password: Secret = job.portal["password"]
    register(password.reveal())
    maildir = Path(job.portal["maildir"]) if job.portal["maildir"] else None
    portal = PortalTarget(
        url=job.portal["url"],
        identifiant=job.portal["identifiant"],
        password=password,
        otp_source=make_otp_source(
            job.portal["otp_spec"],
            default_maildir=maildir,
            imap_password=job.config.otp_imap_password,
            imap_cafile=job.config.otp_imap_cafile,
        ),
        embedded=job.portal["embedded"],
        maildir=maildir,
    )
    journal = Journal(job.journal, lease_s=job.config.lease_s)
    recorder = Recorder(job.run_dir, trace=job.config.trace, video=job.config.video)
    try:
        with (
            logger.contextualize(worker=job.name),
            WorkSession(
                portal,
                settings_for(job.config),
                recorder,
                requests_per_min=portal.requests_per_min(job.config),
            ) as session,
        ):
            try:
                Worker(
                    job.config,
                    session,
                    journal,
                    EventLog(RunDir(job.run_dir).events),
                    recorder,
                    name=job.name,
                    stopper=stopper,
                    rng_seed=job.seed,
                ).work(
                    job.run_id,
                    job.corrections,
                    job.rejections,
                    dry_run=job.dry_run,
                    batch_size=job.batch_size,
                )
            finally:
                session.logout()
    except Exception as exc:  # its transactions stay claimed: the run releases them
        logger.opt(exception=exc).error("{} : arrêt du navigateur ({})", job.name, first_line(exc))
    finally:
        secrets_queue.put(list(registered()))
        journal.close()
