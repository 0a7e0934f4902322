"""The error contract, run as a scheduler runs the robot: whatever ends a run — a one-time
code that cannot be had, no browser, a bug inside a step, a stop signal, a correction that
cannot apply — the run is ended in the journal, its summary, report and manifest are
written, the user reads one French line and no traceback, the exit code is the documented
one, and nothing is half done on the portal."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from cli_support import CliResult, RobotCli, write_plan

from sandbox.server import RunningSandbox, csrf_token

FAULTY = Path(__file__).with_name("_faulty_robot.py")


def _plan(sandbox: RunningSandbox, tmp_path: Path, prefix: str, count: int = 2) -> Path:
    rows = [
        {"numero_rejete": i["numero"], "nouveau_numero": f"{prefix}-{n}"}
        for n, i in enumerate(sandbox.invoices("REJETEE")[:count], start=1)
    ]
    return write_plan(tmp_path / "plan.csv", rows)


def _faulty(robot_env: dict[str, str], tmp_path: Path, fault: str, *args: str) -> CliResult:
    env = {**os.environ, **robot_env, "ROBOT_FAULT": fault}
    done = subprocess.run(
        [sys.executable, str(FAULTY), *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return CliResult(done.returncode, done.stdout + done.stderr, Path(env["CHORUS_OUTPUT_DIR"]))


def _journal(robot_env: dict[str, str]) -> sqlite3.Connection:
    db = sqlite3.connect(Path(robot_env["CHORUS_OUTPUT_DIR"]) / "journal.sqlite")
    db.row_factory = sqlite3.Row
    return db


def _assert_ended_with_its_bundle(result: CliResult, robot_cli: RobotCli, code: int) -> Path:
    """Exit ``code``, no traceback on screen, the run ended and its bundle sealed."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output, result.output
    run_dir = result.runs()[-1]
    summary: dict[str, Any] = json.loads((run_dir / "summary.json").read_text("utf-8"))
    assert summary["exit_code"] == code and summary["ended_at"]
    assert (run_dir / "report.html").is_file()
    verified = robot_cli("audit", "verify", str(run_dir))
    assert verified.exit_code == 0, verified.output
    return run_dir


def _assert_run_ended_in_journal(robot_env: dict[str, str], run_dir: Path, code: int) -> None:
    with _journal(robot_env) as db:
        row = db.execute(
            "SELECT ended_at, exit_code FROM runs WHERE id = ?", (run_dir.name,)
        ).fetchone()
    assert row["ended_at"] and row["exit_code"] == code


def test_a_one_time_code_failure_exits_3_with_its_bundle_and_a_resume_completes(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path, robot_env: dict[str, str]
) -> None:
    fresh_sandbox.reset(seed=2, otp=True)
    plan = _plan(fresh_sandbox, tmp_path, "OTP", count=1)

    failed = robot_cli("run", "--plan", str(plan), CHORUS_OTP_SOURCE="command:false")

    run_dir = _assert_ended_with_its_bundle(failed, robot_cli, 3)
    assert "Code de vérification impossible à obtenir" in failed.output
    assert "Traceback" in (run_dir / "run.log").read_text("utf-8")
    _assert_run_ended_in_journal(robot_env, run_dir, 3)
    assert not any(i["numero"].startswith("OTP-") for i in fresh_sandbox.invoices())

    resumed = robot_cli("run", "--resume", str(run_dir))

    assert resumed.exit_code == 0, resumed.output
    assert set(resumed.states().values()) == {"done"}


def test_no_browser_anywhere_exits_3_with_a_french_line_and_its_bundle(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path, robot_env: dict[str, str]
) -> None:
    plan = _plan(fresh_sandbox, tmp_path, "NAV", count=1)

    failed = _faulty(robot_env, tmp_path, "no-browser", "run", "--plan", str(plan))

    run_dir = _assert_ended_with_its_bundle(failed, robot_cli, 3)
    assert "Aucun navigateur Chromium trouvé" in failed.output
    _assert_run_ended_in_journal(robot_env, run_dir, 3)

    resumed = robot_cli("run", "--resume", str(run_dir))

    assert resumed.exit_code == 0, resumed.output


def test_an_unexpected_error_inside_a_step_exits_3_and_a_resume_completes(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path, robot_env: dict[str, str]
) -> None:
    plan = _plan(fresh_sandbox, tmp_path, "BUG", count=1)

    failed = _faulty(robot_env, tmp_path, "step-error", "run", "--plan", str(plan))

    run_dir = _assert_ended_with_its_bundle(failed, robot_cli, 3)
    assert "Erreur inattendue du robot" in failed.output
    assert "panne simulée du robot" in (run_dir / "run.log").read_text("utf-8")
    summary = json.loads((run_dir / "summary.json").read_text("utf-8"))
    assert [t["state"] for t in summary["transactions"]] == ["pending"]

    resumed = robot_cli("run", "--resume", str(run_dir))

    assert resumed.exit_code == 0, resumed.output
    assert set(resumed.states().values()) == {"done"}
    assert len([i for i in fresh_sandbox.invoices() if i["numero"] == "BUG-1"]) == 1


def test_sigterm_during_a_transaction_stops_after_the_current_step(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path, robot_env: dict[str, str]
) -> None:
    plan = _plan(fresh_sandbox, tmp_path, "TERM", count=2)
    processed_before = {i["numero"] for i in fresh_sandbox.invoices("REJETEE") if i["rejet_traite"]}

    stopped = _faulty(robot_env, tmp_path, "sigterm-after:Acquitter", "run", "--plan", str(plan))

    run_dir = _assert_ended_with_its_bundle(stopped, robot_cli, 3)
    with _journal(robot_env) as db:
        rows = db.execute(
            "SELECT t.numero_rejete, t.state, s.step, s.outcome FROM transactions t"
            " LEFT JOIN steps s ON s.transaction_id = t.id WHERE t.run_id = ? ORDER BY s.id",
            (run_dir.name,),
        ).fetchall()
    steps = [(r["step"], r["outcome"]) for r in rows if r["step"]]
    # The acknowledge step the signal arrived in was finished and journaled; no other began.
    assert steps == [("acknowledge", "done")]
    assert {r["state"] for r in rows} == {"pending"}
    [first] = {r["numero_rejete"] for r in rows if r["step"]}
    invoice = fresh_sandbox.invoice(first)
    assert invoice["acquittee"] and not invoice["rejet_traite"]
    processed = {i["numero"] for i in fresh_sandbox.invoices("REJETEE") if i["rejet_traite"]}
    assert processed == processed_before

    resumed = robot_cli("run", "--resume", str(run_dir))

    assert resumed.exit_code == 0, resumed.output
    assert set(resumed.states().values()) == {"done"}


def test_a_batch_never_processes_a_rejection_whose_reissue_cannot_be_made(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path
) -> None:
    # Three rejections in one batch; the first was acknowledged before the run (by a person,
    # or by a run that crashed), and its correction cannot apply to its invoice.
    rejected = fresh_sandbox.invoices("REJETEE")
    several = next(i for i in rejected if len(i["lignes"]) >= 2 and not i["rejet_traite"])
    others = [i for i in rejected if i is not several and not i["rejet_traite"]][:2]
    path = f"/factures-emises/factures/{several['id']}"
    with fresh_sandbox.http_client() as person:
        person.post(path + "/acquitter", data={"csrf": csrf_token(person.get(path).text)})
    assert fresh_sandbox.invoice(several["numero"])["acquittee"]
    rows = [{"numero_rejete": several["numero"], "nouveau_numero": "HALF-2", "montant_ht": "1"}]
    rows += [
        {"numero_rejete": i["numero"], "nouveau_numero": f"BATCH-{n}", "commentaire": "Corrigée"}
        for n, i in enumerate(others, start=1)
    ]
    plan = write_plan(tmp_path / "plan.csv", rows)

    result = robot_cli("run", "--plan", str(plan))

    _assert_ended_with_its_bundle(result, robot_cli, 1)
    states = result.states()
    assert states[several["numero"]] == "business_failure"
    assert {states[i["numero"]] for i in others} == {"done"}
    # The two others were processed together; the first was left as it was found.
    events = [
        json.loads(line)
        for line in (result.runs()[-1] / "events.jsonl").read_text("utf-8").splitlines()
    ]
    [batch] = [e for e in events if e["type"] == "batch"]
    assert sorted(batch["invoices"]) == sorted(i["numero"] for i in others)
    after = fresh_sandbox.invoice(several["numero"])
    assert after["acquittee"] and not after["rejet_traite"]


def test_a_correction_that_cannot_apply_stops_before_the_first_click(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path
) -> None:
    several = next(i for i in fresh_sandbox.invoices("REJETEE") if len(i["lignes"]) >= 2)
    plan = write_plan(
        tmp_path / "plan.csv",
        [
            {
                "numero_rejete": several["numero"],
                "nouveau_numero": "HALF-1",
                "montant_ht": "123,45",
            }
        ],
    )

    refused = robot_cli("run", "--plan", str(plan))

    _assert_ended_with_its_bundle(refused, robot_cli, 1)
    [message] = [t["message"] for t in refused.summary()["transactions"]]
    assert "une seule ligne" in message and "Rien n'a été fait" in message
    assert "non acquittée" in message and "ligne 2 du plan" in message  # the header is line 1
    after = fresh_sandbox.invoice(several["numero"])
    assert not after["acquittee"] and not after["rejet_traite"]
    assert [h["action"] for h in after["historique"]].count("ACQUITTEMENT_REJET") == 0
