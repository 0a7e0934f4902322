"""Worker processes: each has its own browser and login and claims from the journal.

Processes are started with ``spawn`` (a clean interpreter: Playwright must not be forked).
A stop request (SIGINT/SIGTERM) reaches every worker through a shared event; each finishes
its current step, journals it, and stops. Secrets a worker learnt (its session cookies,
one-time codes) are sent back so the final sweep removes them from every file.
"""

from __future__ import annotations

import multiprocessing
import signal
from pathlib import Path
from queue import Empty
from types import FrameType
from typing import TYPE_CHECKING, Any

from loguru import logger

from robot.audit import EventLog
from robot.journal import Journal
from robot.logs import configure_logging
from robot.otp import make_otp_source
from robot.portal import PortalTarget
from robot.recording import Recorder
from robot.secrets import Secret, register, registered
from robot.session import WorkSession
from robot.worker import Stopper, Worker
from scenarios import BusinessError, Correction, PortalError, Rejection

if TYPE_CHECKING:
    from robot.runner import Runner, WorkerJob


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
    runner: Runner,
    corrections: dict[str, Correction],
    rejections: dict[str, Rejection],
    *,
    dry_run: bool,
    count: int,
) -> None:
    """Start ``count`` worker processes and wait for them, reporting progress."""
    from robot.runner import WorkerJob

    ctx = multiprocessing.get_context("spawn")
    secrets_queue = ctx.Queue()
    stop_event = runner.stopper.event
    portal = _portal_spec(runner.portal, runner.config.otp_source)
    processes = []
    for index in range(count):
        job = WorkerJob(
            config=runner.config,
            portal=portal,
            run_dir=runner.run_dir.root,
            journal=runner.journal.path,
            run_id=runner.run_dir.run_id,
            name=f"w{index + 1}",
            corrections=corrections,
            rejections=rejections,
            dry_run=dry_run,
        )
        process = ctx.Process(
            target=worker_main, args=(job, stop_event, secrets_queue), name=job.name
        )
        process.start()
        processes.append(process)
    logger.info("{} navigateurs travaillent en parallèle", count)
    reported: set[str] = set()
    while any(p.is_alive() for p in processes):
        for process in processes:
            process.join(timeout=0.5)  # wait for a state: a worker ending
        for row in runner.journal.transactions(runner.run_dir.run_id):
            if row.state not in {"pending", "claimed"} and row.numero_rejete not in reported:
                reported.add(row.numero_rejete)
                runner.on_progress(row.numero_rejete, row.state)
        _drain(secrets_queue)
    _drain(secrets_queue)
    for process in processes:
        if process.exitcode not in (0, None):
            logger.error(
                "Le processus {} s'est arrêté anormalement ({})", process.name, process.exitcode
            )
    for row in runner.journal.transactions(runner.run_dir.run_id):
        if row.state not in {"pending", "claimed"} and row.numero_rejete not in reported:
            runner.on_progress(row.numero_rejete, row.state)


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
    configure_logging(job.run_dir / "run.log")
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
    from robot.browser import settings_for
    from robot.runner import requests_per_min

    journal = Journal(job.journal)
    recorder = Recorder(job.run_dir, trace=job.config.trace, video=job.config.video)
    try:
        with (
            logger.contextualize(worker=job.name),
            WorkSession(
                portal,
                settings_for(job.config),
                recorder,
                requests_per_min=requests_per_min(job.config, portal),
            ) as session,
        ):
            try:
                Worker(
                    job.config,
                    session,
                    journal,
                    EventLog(job.run_dir / "events.jsonl"),
                    recorder,
                    name=job.name,
                    stopper=stopper,
                ).work(job.run_id, job.corrections, job.rejections, dry_run=job.dry_run)
            finally:
                session.logout()
    except (PortalError, BusinessError) as exc:
        logger.error("{} : arrêt du navigateur ({})", job.name, exc)
    finally:
        secrets_queue.put(list(registered()))
        journal.close()
