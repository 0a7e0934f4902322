"""``chorus-robot suivi RUN_DIR`` end to end: a real run of the robot on the sandbox, the
recipient's side played through the admin interface, then the follow-up read on the portal
in real Chromium, its ``suivi.csv``, the report's « Suivi » section and the sealed bundle."""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from cli_support import RobotCli, write_plan

from robot.audit import find_secrets, verify_chain
from robot.timezone import PARIS
from sandbox.server import RunningSandbox

DELIVERED = "Mise à disposition du destinataire"
KEY = "cle-de-signature-du-suivi"


def _wait_until(predicate: Callable[[], bool], what: str) -> None:
    pause = threading.Event()
    for _ in range(300):  # 300 × 0.1 s: 30 s at most
        if predicate():
            return
        pause.wait(0.1)
    raise AssertionError(f"attente trop longue : {what}")


def _run_two(
    sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path, prefix: str, **env: str
) -> tuple[Path, dict[str, str]]:
    """A real run of a plan of 2 rejected invoices, both new invoices delivered to their
    recipient; the run folder and new number → rejected number."""
    rejected = [i for i in sandbox.invoices("REJETEE") if not i["rejet_traite"]][:2]
    assert len(rejected) == 2
    origins = {f"{prefix}-{n}": i["numero"] for n, i in enumerate(rejected, start=1)}
    plan = write_plan(
        tmp_path / "plan.csv",
        [{"numero_rejete": old, "nouveau_numero": new} for new, old in origins.items()],
    )
    result = robot_cli("run", "--plan", str(plan), **env)
    assert result.exit_code == 0, result.output
    for numero in origins:
        _wait_until(_delivered(sandbox, numero), f"{numero} mise à disposition du destinataire")
    return result.runs()[-1], origins


def _delivered(sandbox: RunningSandbox, numero: str) -> Callable[[], bool]:
    return lambda: bool(sandbox.invoice(numero)["statut"] == "MISE_A_DISPOSITION")


def _suivi_rows(run_dir: Path) -> list[dict[str, str]]:
    """``suivi.csv`` as a French spreadsheet reads it (and checks that it was written so)."""
    raw = (run_dir / "suivi.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 avec BOM attendu"
    assert raw.count(b"\r\n") == raw.count(b"\n"), "fins de ligne CRLF attendues"
    text = raw.decode("utf-8-sig")
    assert text.splitlines()[0] == (
        "numero;numero_origine;nature;statut;motif;commentaire;verifie_le"
    )
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))


def _report_section(run_dir: Path) -> str:
    html = (run_dir / "report.html").read_text("utf-8")
    start = html.index('<section id="suivi">')
    return html[start : html.index("</section>", start)]


def _checked_at(text: str, since: datetime) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() == moment.astimezone(PARIS).utcoffset(), text  # Paris offset
    assert since - timedelta(seconds=1) <= moment <= datetime.now(PARIS), text
    return moment


def test_suivi_names_an_invoice_rejected_again_exits_1_and_seals_the_bundle_again(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path
) -> None:
    run_dir, origins = _run_two(fresh_sandbox, robot_cli, tmp_path, "SUIVI")
    again, fine = "SUIVI-1", "SUIVI-2"
    motive, comment = "Taux de TVA erroné", "Taux réduit de 10 % attendu sur la ligne 1"
    response = fresh_sandbox.admin(
        "POST", f"invoices/{again}/reject", json={"motif": "TX_TVA_ERR", "commentaire": comment}
    )
    assert response.status_code == 200, response.text
    portal_before = fresh_sandbox.invoices()
    since = datetime.now(PARIS)

    result = robot_cli("suivi", str(run_dir))

    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert f"La facture {again} (issue de {origins[again]}) est de nouveau « Rejetée »" in (
        result.output
    )
    assert f"nouveau motif : « {motive} »" in result.output
    assert fresh_sandbox.invoices() == portal_before, "le suivi ne doit rien modifier"
    rows = {row["numero"]: row for row in _suivi_rows(run_dir)}
    assert set(rows) == {again, fine}
    assert {k: v for k, v in rows[again].items() if k != "verifie_le"} == {
        "numero": again,
        "numero_origine": origins[again],
        "nature": "Rejetée",
        "statut": "Rejetée",
        "motif": motive,
        "commentaire": comment,
    }
    assert {k: v for k, v in rows[fine].items() if k != "verifie_le"} == {
        "numero": fine,
        "numero_origine": origins[fine],
        "nature": "Rejetée",
        "statut": DELIVERED,
        "motif": "",
        "commentaire": "",
    }
    for row in rows.values():
        _checked_at(row["verifie_le"], since)
    section = _report_section(run_dir)
    assert "<h2>Suivi</h2>" in section
    for numero, origin in origins.items():
        assert numero in section and origin in section
    assert motive in section and DELIVERED in section
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert events[-1]["type"] == "suivi" and events[-1]["exit_code"] == 1
    assert verify_chain(run_dir / "events.jsonl") == []
    manifest = json.loads((run_dir / "manifest.json").read_text("utf-8"))
    assert "suivi.csv" in {entry["path"] for entry in manifest["files"]}
    verified = robot_cli("audit", "verify", str(run_dir))
    assert verified.exit_code == 0, verified.output
    # The follow-up's own login: its session ids and the password are in no file.
    issued = fresh_sandbox.admin("GET", "sessions").json()["issued"]
    assert find_secrets(run_dir, [fresh_sandbox.options.password, *issued]) == []


def test_suivi_of_invoices_delivered_exits_0_can_be_run_again_and_signs_again(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path
) -> None:
    # No traces, nor the screenshots that go with them (the first test keeps both): some 40 %
    # of the CPU time of a run of two invoices, and nothing the follow-up reads.
    run_dir, origins = _run_two(
        fresh_sandbox, robot_cli, tmp_path, "RECU", CHORUS_AUDIT_KEY=KEY, CHORUS_TRACE="off"
    )

    keyless = robot_cli("suivi", str(run_dir))
    first = robot_cli("suivi", str(run_dir), CHORUS_AUDIT_KEY=KEY)
    second = robot_cli("suivi", str(run_dir), CHORUS_AUDIT_KEY=KEY)

    # Sealing a signed bundle again without its key would drop the signature: refused.
    assert keyless.exit_code == 2, keyless.output
    assert "dossier d'audit signé ; définissez CHORUS_AUDIT_KEY" in keyless.output

    for result in (first, second):
        assert result.exit_code == 0, result.output
        assert "2 facture(s) suivie(s) · 2 reçue(s) par le destinataire" in result.output
        assert "est de nouveau" not in result.output
    rows = _suivi_rows(run_dir)
    assert [(r["numero"], r["numero_origine"], r["statut"]) for r in rows] == [
        (numero, origin, DELIVERED) for numero, origin in origins.items()
    ]
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert [e["type"] for e in events].count("suivi") == 2
    section = _report_section(run_dir)
    assert all(numero in section for numero in origins)
    assert section.count(DELIVERED) >= 2
    verified = robot_cli("audit", "verify", str(run_dir), CHORUS_AUDIT_KEY=KEY)
    assert verified.exit_code == 0, verified.output
    assert "Signature vérifiée" in verified.output


def test_suivi_leaves_the_folder_as_it_was_when_the_portal_fails_or_it_was_altered(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path
) -> None:
    run_dir, _ = _run_two(fresh_sandbox, robot_cli, tmp_path, "PANNE", CHORUS_TRACE="off")
    before = {p.relative_to(run_dir): p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    fresh_sandbox.set_faults(maintenance=True)

    result = robot_cli("suivi", str(run_dir))

    assert result.exit_code == 3, result.output
    assert "Suivi impossible, le portail a échoué" in result.output
    assert "Traceback" not in result.output
    after = {p.relative_to(run_dir): p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    assert after == before
    fresh_sandbox.set_faults()
    verified = robot_cli("audit", "verify", str(run_dir))
    assert verified.exit_code == 0, verified.output
    # Sealing again must never bless a folder altered since the run: refused, nothing read.
    summary = run_dir / "summary.json"
    summary.write_text(summary.read_text("utf-8").replace('"exit_code": 0', '"exit_code": 1'))
    altered = robot_cli("suivi", str(run_dir))
    assert altered.exit_code == 2, altered.output
    assert "dossier d'audit altéré" in altered.output
    assert "fichier modifié : summary.json" in altered.output
    assert not (run_dir / "suivi.csv").exists()


def test_suivi_of_a_folder_that_is_not_a_run_exits_2_before_the_portal(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path
) -> None:
    stranger = tmp_path / "pas-un-run"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("rien à voir", encoding="utf-8")
    unknown = tmp_path / "runs" / "20260101-000000-abcd"
    unknown.mkdir(parents=True)
    write_plan(unknown / "plan.csv", [{"numero_rejete": "F-1", "nouveau_numero": "F-2"}])
    sessions_before = fresh_sandbox.admin("GET", "sessions").json()

    not_a_run = robot_cli("suivi", str(stranger))
    not_journaled = robot_cli("suivi", str(unknown))

    assert not_a_run.exit_code == 2, not_a_run.output
    assert "ce n'est pas le dossier d'un run (plan absent)" in not_a_run.output
    assert not_journaled.exit_code == 2, not_journaled.output
    assert "run inconnu du journal" in not_journaled.output
    for result in (not_a_run, not_journaled):
        assert "Suivi impossible" in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in stranger.iterdir()) == ["notes.txt"]
    assert sorted(p.name for p in unknown.iterdir()) == ["plan.csv"]
    assert fresh_sandbox.admin("GET", "sessions").json() == sessions_before
