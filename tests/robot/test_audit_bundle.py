"""The audit bundle of a real run: it verifies, is complete, tampering is named (a dropped
tail too), a key pair's signature authenticates it, no secret is left in it (not even after a
forced second login), and the report shows every invoice in a browser."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from audit_support import drop_tail, texts_of
from cli_support import write_plan
from playwright.sync_api import Page, expect

from robot.audit import generate_key_pair, write_manifest
from robot.audit.events import read_events
from robot.audit.signing import PRIVATE_KEY_NAME, PUBLIC_KEY_NAME
from sandbox.server import RunningSandbox


@dataclass(frozen=True)
class AuditedRun:
    run_dir: Path
    numbers: list[str]
    secrets: list[str]
    output: str
    env: dict[str, str]


def _codes(maildir: Path) -> list[str]:
    codes = []
    for file in [*maildir.glob("new/*"), *maildir.glob("cur/*")]:
        message = message_from_bytes(file.read_bytes(), policy=policy.default)
        body = message.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
        text = body.get_content() if body is not None else ""
        codes += [word.strip(".") for word in text.split() if word.strip(".").isdigit()]
    return [c for c in codes if len(c) == 6]


def _wait_for_first_transaction(run_root: Path, process: subprocess.Popen[str]) -> None:
    """Wait (for a state, with a deadline) until a transaction has ended in events.jsonl."""
    pause = threading.Event()
    for _ in range(1200):  # 1,200 × 0.1 s = 2 minutes at most
        for events in run_root.glob("*/events.jsonl"):
            if '"transaction_end"' in events.read_text(encoding="utf-8"):
                return
        if process.poll() is not None:
            raise AssertionError("le robot s'est arrêté avant la première facture")
        pause.wait(0.1)
    raise AssertionError("aucune facture terminée après 2 minutes")


@pytest.fixture(scope="module")
def audited_run(
    sandbox: RunningSandbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AuditedRun]:
    """One real run with a one-time code and a forced second login, shared by this module."""
    sandbox.set_faults()
    sandbox.reset(seed=4, otp=True)
    numbers = [i["numero"] for i in sandbox.invoices("REJETEE") if not i["rejet_traite"]]
    work = tmp_path_factory.mktemp("audited")
    plan = write_plan(
        work / "plan.csv",
        [{"numero_rejete": n, "nouveau_numero": f"AUD-{i}"} for i, n in enumerate(numbers)],
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHORUS_")}
    env.update(
        CHORUS_PORTAL_URL=sandbox.url,
        CHORUS_LOGIN=sandbox.options.user,
        CHORUS_PASSWORD=sandbox.options.password,
        CHORUS_OTP_SOURCE=f"maildir:{sandbox.maildir}",
        CHORUS_OUTPUT_DIR=str(work / "runs"),
        CHORUS_AUDIT_KEY="cle-de-signature-du-test",
        CHORUS_MAX_REQUESTS_PER_MIN="0",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "robot.cli", "run", "--plan", str(plan)],
        env=env,
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for_first_transaction(work / "runs", process)
        assert sandbox.admin("POST", "sessions/expire").status_code == 200
        output, _ = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    [run_dir] = [p for p in (work / "runs").iterdir() if p.name[:8].isdigit()]
    issued = sandbox.admin("GET", "sessions").json()["issued"]
    secrets = [sandbox.options.password, *_codes(sandbox.maildir), *issued]
    yield AuditedRun(run_dir, numbers, secrets, output, env)
    sandbox.reset()


def _around(data: bytes, secret: bytes, width: int = 80) -> bytes:
    at = data.find(secret)
    return (
        data[max(0, at - width) : at].replace(secret, b"<SECRET>")
        + b"<SECRET>"
        + data[at + len(secret) : at + len(secret) + width].replace(secret, b"<SECRET>")
    )


def test_a_run_that_logged_in_twice_leaves_no_secret_in_any_file(audited_run: AuditedRun) -> None:
    log = (audited_run.run_dir / "run.log").read_text(encoding="utf-8")
    assert log.count("Connecté au portail") >= 2  # the forced expiry made it log in again
    assert len(audited_run.secrets) >= 4  # password, 2 codes, 2 session ids at least
    kinds = ["mot de passe"] + ["secret"] * (len(audited_run.secrets) - 1)
    hits = [
        # Which file, which secret (its position) and what surrounds it: enough to find the
        # path that wrote it, should this ever fail.
        f"{name} ({kind} n° {index}) : …{_around(data, secret.encode())!r}…"
        for name, data in texts_of(audited_run.run_dir)
        for index, (kind, secret) in enumerate(zip(kinds, audited_run.secrets, strict=True))
        if secret.encode() in data
    ]
    assert hits == []


def test_every_invoice_has_a_trace_and_screenshots_around_its_clicks(
    audited_run: AuditedRun,
) -> None:
    traces = {p.stem for p in (audited_run.run_dir / "traces").glob("*.zip")}
    assert set(audited_run.numbers) <= {t.split("-part")[0] for t in traces}
    shots = [p.name for p in (audited_run.run_dir / "screenshots").glob("*.jpg")]
    for action in ("Acquitter", "Traiter_le_rejet", "Confirmer_et_envoyer"):
        assert any(f"{action}-avant" in s for s in shots), action
        assert any(f"{action}-apr" in s for s in shots), action


def _verifier(audited_run: AuditedRun) -> Callable[..., subprocess.CompletedProcess[str]]:
    def verify(folder: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "robot.cli", "audit", "verify", str(folder), *map(str, args)],
            env=audited_run.env,
            capture_output=True,
            text=True,
            check=False,
        )

    return verify


def test_signed_bundle_verifies_and_each_tampering_is_named(
    audited_run: AuditedRun, tmp_path: Path
) -> None:
    verify = _verifier(audited_run)

    intact = verify(audited_run.run_dir)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "Dossier d'audit intact" in intact.stdout
    assert "Complet : les événements vont du début à la fin du run" in intact.stdout

    altered = shutil.copytree(audited_run.run_dir, tmp_path / "altered")
    report = altered / "report.html"
    data = bytearray(report.read_bytes())
    data[100] ^= 1
    report.write_bytes(bytes(data))
    result = verify(altered)
    assert result.returncode != 0 and "report.html" in result.stdout + result.stderr

    cut = shutil.copytree(audited_run.run_dir, tmp_path / "cut")
    events = cut / "events.jsonl"
    lines = events.read_text(encoding="utf-8").splitlines()
    events.write_text("\n".join(lines[:2] + lines[3:]) + "\n", encoding="utf-8")
    result = verify(cut)
    assert result.returncode != 0 and "events.jsonl" in result.stdout + result.stderr

    extra = shutil.copytree(audited_run.run_dir, tmp_path / "extra")
    (extra / "ajout.txt").write_text("ajouté après coup", encoding="utf-8")
    result = verify(extra)
    assert result.returncode != 0 and "ajout.txt" in result.stdout + result.stderr


def test_a_real_bundle_signed_with_a_key_pair_is_authenticated_and_its_tail_cannot_go(
    audited_run: AuditedRun, tmp_path: Path
) -> None:
    verify = _verifier(audited_run)
    keys = tmp_path / "cles"
    generate_key_pair(keys)
    # What finalize_bundle does once CHORUS_AUDIT_SIGNING_KEY is set beside CHORUS_AUDIT_KEY:
    # the same bundle, sealed with the robot's private key (and the legacy HMAC).
    hmac_key = audited_run.env["CHORUS_AUDIT_KEY"].encode()
    signed = shutil.copytree(audited_run.run_dir, tmp_path / "signe")
    write_manifest(signed, key=hmac_key, signing_key=keys / PRIVATE_KEY_NAME)
    result = verify(signed, "--public-key", keys / PUBLIC_KEY_NAME, "--strict")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Signature Ed25519 vérifiée avec la clé publique" in result.stdout

    last = [e for e in read_events(signed / "events.jsonl") if e["type"] == "transaction_end"]
    drop_tail(signed, last[-1]["invoice"])
    write_manifest(signed, key=hmac_key, signing_key=keys / PRIVATE_KEY_NAME)
    result = verify(signed, "--public-key", keys / PUBLIC_KEY_NAME, "--strict")
    assert result.returncode == 1
    assert "pas « run_end » (fin du run supprimée ?)" in result.stdout
    assert f"facture {last[-1]['invoice']} : dans summary.json" in result.stdout


def test_events_are_chained_and_say_what_each_step_read_before_and_after(
    audited_run: AuditedRun,
) -> None:
    events = [
        json.loads(line)
        for line in (audited_run.run_dir / "events.jsonl").read_text("utf-8").splitlines()
    ]
    steps = [e for e in events if e["type"] == "step"]
    assert {e["invoice"] for e in steps} == set(audited_run.numbers)
    acknowledged = next(e for e in steps if e["step"] == "acknowledge" and e["outcome"] == "done")
    assert acknowledged["before"]["acquittee"] is False
    assert acknowledged["after"]["acquittee"] is True
    assert all(len(e["prev_sha256"]) == 64 for e in events)


def test_report_opens_in_a_browser_and_shows_every_invoice(
    audited_run: AuditedRun, page: Page
) -> None:
    page.goto((audited_run.run_dir / "report.html").as_uri())
    for numero in audited_run.numbers:
        expect(page.get_by_role("heading", name=f"Facture {numero}")).to_be_visible()
    expect(page.get_by_text("playwright show-trace").first).to_be_attached()
