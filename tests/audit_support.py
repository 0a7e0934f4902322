"""Audit bundles built with the project's own functions (no browser), the forgeries an
auditor found, and a local RFC 3161 timestamp authority made with ``openssl ts``.

- :func:`make_bundle`: a run folder as a real run leaves it — ``run_start`` … ``run_end`` in
  ``events.jsonl`` (:class:`~robot.audit.EventLog`), screenshots, one trace per invoice,
  ``summary.json`` (``write_summary_json``), ``report.html`` (``render_report``), then
  ``write_manifest``.
- :func:`rebuild_chain`: what a forger does after editing events: the chain written again
  with the project's ``canonical_line`` / ``line_sha256``, times kept.
- :class:`LocalTsa`: a CA, a TSA certificate (``timeStamping``, critical) and an HTTP server
  on 127.0.0.1 that answers each ``TimeStampReq`` with ``openssl ts -reply``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from robot.audit import EventLog, RunFacts, render_report, write_manifest
from robot.audit.events import GENESIS, canonical_line, line_sha256, read_events
from robot.audit.report import FollowUpEntry, FollowUpSection
from robot.run.bundle import invoice_section
from robot.run.outcomes import RunResult, TransactionOutcome
from robot.run.states import State
from robot.run.summary import totals, write_summary_json
from robot.timezone import PARIS
from scenarios import Outcome, Step, StepResult

RUN_ID = "20261127-103000-a1b2"
PORTAL = "http://127.0.0.1:9"
STARTED = datetime(2026, 11, 27, 10, 30, tzinfo=PARIS)
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(64)) + b"\xff\xd9"


def amount(index: int) -> str:
    return str(Decimal("1000.00") + index)


def make_bundle(
    root: Path,
    numbers: tuple[str, ...] = ("F2026-001", "F2026-002"),
    *,
    key: bytes | None = None,
    signing_key: Path | None = None,
    tsa_url: str | None = None,
) -> Path:
    """A complete, sealed run folder whose invoices were all reissued (``done``)."""
    run_dir = root / RUN_ID
    (run_dir / "screenshots").mkdir(parents=True)
    (run_dir / "traces").mkdir()
    (run_dir / "plan.csv").write_text(
        "numero_rejete;nouveau_numero\n" + "".join(f"{n};{n}-R\n" for n in numbers),
        encoding="utf-8",
    )
    log = EventLog(run_dir / "events.jsonl")
    log.append({"type": "run_start", "worker": "main", "run_id": RUN_ID, "portal": PORTAL})
    outcomes = []
    for index, numero in enumerate(numbers):
        steps = [
            StepResult(Step.ACKNOWLEDGE, Outcome.DONE, "Rejet acquitté."),
            StepResult(Step.PROCESS, Outcome.DONE, "Rejet traité."),
            StepResult(
                Step.REISSUE,
                Outcome.DONE,
                f"Facture {numero}-R émise.",
                after={"montant_ttc": amount(index)},
            ),
        ]
        shots = []
        for step in steps:
            log.append(
                {
                    "type": "step",
                    "worker": "w1",
                    "invoice": numero,
                    "step": step.step.value,
                    "outcome": step.outcome.value,
                    "message": step.message,
                    "after": step.after,
                }
            )
            shot = run_dir / "screenshots" / f"{numero}-{len(shots) + 1:03d}-{step.step}.jpg"
            shot.write_bytes(JPEG)
            shots.append(shot)
        trace = run_dir / "traces" / f"{numero}.zip"
        with zipfile.ZipFile(trace, "w") as archive:
            archive.writestr("trace.trace", json.dumps({"title": numero}) + "\n")
        message = f"Facture {numero}-R émise."
        log.append(
            {
                "type": "transaction_end",
                "worker": "w1",
                "invoice": numero,
                "nouveau_numero": f"{numero}-R",
                "state": "done",
                "message": message,
                "traces": [trace.name],
            }
        )
        outcomes.append(
            TransactionOutcome(
                numero_rejete=numero,
                nouveau_numero=f"{numero}-R",
                state=State.DONE,
                message=message,
                motif="Montant total erroné",
                steps=steps,
                correction={"montant_ttc": amount(index)},
                timeline=[(STARTED + timedelta(seconds=i), s) for i, s in enumerate(steps)],
                traces=[trace],
                screenshots=shots,
            )
        )
    log.append({"type": "run_end", "worker": "main", "exit_code": 0, "stopped": False})
    result = RunResult(
        run_id=RUN_ID,
        run_dir=run_dir,
        portal_url=PORTAL,
        dry_run=False,
        started_at=STARTED,
        ended_at=STARTED + timedelta(minutes=1),
        transactions=outcomes,
    )
    write_summary_json(result, run_dir / "summary.json")
    render_report(run_dir, _facts(result), [invoice_section(run_dir, t) for t in outcomes])
    (run_dir / "run.log").write_text("INFO fin du run\n", encoding="utf-8")
    write_manifest(run_dir, key=key, signing_key=signing_key, tsa_url=tsa_url)
    return run_dir


def _facts(result: RunResult) -> RunFacts:
    return RunFacts(
        run_id=result.run_id,
        portal_url=result.portal_url,
        account="comptable@exemple.fr",
        started_at=result.started_at,
        ended_at=result.ended_at,
        version="0.1.0",
        dry_run=result.dry_run,
        totals=totals(result),
        exit_code=result.exit_code,
    )


def follow_up(run_dir: Path, **seal: Any) -> None:
    """What ``chorus-robot suivi`` does to a sealed run: a ``suivi`` event after ``run_end``,
    ``suivi.csv``, the report with its « Suivi » section, the manifest written again."""
    summary = json.loads((run_dir / "summary.json").read_text("utf-8"))
    numbers = [t["numero_rejete"] for t in summary["transactions"]]
    EventLog(run_dir / "events.jsonl").append(
        {"type": "suivi", "worker": "main", "run_id": RUN_ID, "exit_code": 0}
    )
    (run_dir / "suivi.csv").write_text(
        "numero;statut\n" + "".join(f"{n}-R;Reçue\n" for n in numbers), encoding="utf-8"
    )
    section = FollowUpSection(
        checked_at=STARTED + timedelta(days=2),
        portal_url=PORTAL,
        entries=[FollowUpEntry(f"{n}-R", n, "rejetee", "Reçue", "reçue") for n in numbers],
    )
    outcomes = [
        TransactionOutcome(
            numero_rejete=n,
            nouveau_numero=f"{n}-R",
            state=State.DONE,
            traces=[run_dir / "traces" / f"{n}.zip"],
            screenshots=sorted((run_dir / "screenshots").glob(f"{n}-*.jpg")),
        )
        for n in numbers
    ]
    result = RunResult(RUN_ID, run_dir, PORTAL, False, STARTED, STARTED, outcomes)
    render_report(run_dir, _facts(result), [invoice_section(run_dir, t) for t in outcomes], section)
    write_manifest(run_dir, **seal)


def rebuild_chain(path: Path, events: list[dict[str, Any]]) -> None:
    """Write ``events`` as a fresh, valid chain (``seq`` renumbered, times kept)."""
    previous, lines = GENESIS, []
    for seq, event in enumerate(events, start=1):
        record = {**event, "seq": seq, "prev_sha256": previous}
        line = canonical_line(record)
        lines.append(line)
        previous = line_sha256(line)
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def forge_amount(run_dir: Path, numero: str, old: str, new: str) -> None:
    """Change an invoice's amount in ``events.jsonl`` and ``report.html``; chain rebuilt."""
    events = read_events(run_dir / "events.jsonl")
    for event in events:
        if event.get("invoice") == numero and event.get("after", {}).get("montant_ttc") == old:
            event["after"]["montant_ttc"] = new
    rebuild_chain(run_dir / "events.jsonl", events)
    report = run_dir / "report.html"
    report.write_text(report.read_text("utf-8").replace(old, new), encoding="utf-8")


def drop_tail(run_dir: Path, numero: str) -> None:
    """Remove ``numero``'s events and ``run_end`` from the log; chain rebuilt."""
    events = [
        e
        for e in read_events(run_dir / "events.jsonl")
        if e.get("invoice") != numero and e.get("type") != "run_end"
    ]
    rebuild_chain(run_dir / "events.jsonl", events)


# -- a local timestamp authority ------------------------------------------------------------

_TSA_CONFIG = """\
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {dir}
serial = {dir}/serial
crypto_device = builtin
signer_cert = {dir}/tsa.pem
certs = {dir}/tsa.pem
signer_key = {dir}/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.2
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
[ tsa_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping
"""


def _openssl(*args: str | Path, cwd: Path) -> bytes:
    done = subprocess.run(
        ["openssl", *map(str, args)], cwd=cwd, capture_output=True, check=False, timeout=60
    )
    if done.returncode != 0:
        raise AssertionError(f"openssl {args[0]} a échoué : {done.stderr.decode()}")
    return done.stdout


def make_tsa_keys(folder: Path, name: str = "Horodatage de test") -> Path:
    """A CA (``ca.pem``) and a TSA key and certificate it signed, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tsa.cnf").write_text(_TSA_CONFIG.format(dir=folder), encoding="utf-8")
    (folder / "serial").write_text("01\n", encoding="utf-8")
    curve = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    _openssl("req", "-x509", *curve, "-keyout", "ca.key", "-out", "ca.pem", "-days", "3",
             "-subj", f"/CN=AC {name}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=folder)  # fmt: skip
    _openssl("req", *curve, "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", f"/CN={name}",
             cwd=folder)  # fmt: skip
    _openssl("x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "tsa.pem", "-days", "3",
             "-extfile", "tsa.cnf", "-extensions", "tsa_ext", cwd=folder)  # fmt: skip
    return folder / "ca.pem"


@dataclass
class LocalTsa:
    url: str
    ca: Path
    requests: list[bytes]


@contextmanager
def local_tsa(folder: Path) -> Iterator[LocalTsa]:
    """A timestamp authority on a free 127.0.0.1 port, stopped on exit."""
    ca = make_tsa_keys(folder)
    requests: list[bytes] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers["Content-Type"] != "application/timestamp-query":
                self.send_error(415)
                return
            with lock:  # openssl ts -reply increments one serial file
                requests.append(query)
                work = folder / f"q{len(requests)}"
                (work.with_suffix(".tsq")).write_bytes(query)
                _openssl("ts", "-reply", "-config", folder / "tsa.cnf",
                         "-queryfile", work.with_suffix(".tsq"),
                         "-out", work.with_suffix(".tsr"), cwd=folder)  # fmt: skip
                reply = work.with_suffix(".tsr").read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    # Bound and listening once constructed: requests queue until serve_forever takes them.
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LocalTsa(f"http://127.0.0.1:{server.server_address[1]}/tsa", ca, requests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def openssl_available() -> bool:
    return shutil.which("openssl") is not None


def texts_of(folder: Path) -> Iterator[tuple[str, bytes]]:
    """Every file under ``folder`` as (name, bytes), each member of a ZIP (a Playwright
    trace) on its own as ``archive:member``: what a leak test searches."""
    for file in folder.rglob("*"):
        if not file.is_file():
            continue
        if file.suffix == ".zip":
            with zipfile.ZipFile(file) as archive:
                for member in archive.namelist():
                    yield f"{file.name}:{member}", archive.read(member)
        else:
            yield file.name, file.read_bytes()
