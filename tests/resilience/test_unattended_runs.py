"""Unattended runs survive what nights bring: crashes at any moment, a dying browser, a
portal down for longer than the retry budget, a stop signal. Nothing is lost, nothing is
issued twice (checked on the portal through the sandbox's admin interface)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from cli_support import RobotCli, write_plan

from sandbox.server import RunningSandbox

CRASHER = Path(__file__).with_name("_crashing_robot.py")
BROWSER_KILLER = Path(__file__).with_name("_killing_browser.py")


def _pending(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    return [i for i in sandbox.invoices("REJETEE") if not i["rejet_traite"]]


def _plan(sandbox: RunningSandbox, tmp_path: Path, prefix: str) -> list[dict[str, str]]:
    rows = [
        {"numero_rejete": i["numero"], "nouveau_numero": f"{prefix}-{n}"}
        for n, i in enumerate(_pending(sandbox), start=1)
    ]
    write_plan(tmp_path / "plan.csv", rows)
    return rows


def _assert_each_carried_through_exactly_once(
    sandbox: RunningSandbox, rows: list[dict[str, str]]
) -> None:
    invoices = sandbox.invoices()
    for row in rows:
        originals = [
            i for i in invoices if i["numero"] == row["numero_rejete"] and i["statut"] == "REJETEE"
        ]
        assert len(originals) == 1 and originals[0]["rejet_traite"], row
        actions = [h["action"] for h in originals[0]["historique"]]
        assert actions.count("ACQUITTEMENT_REJET") == 1, row
        assert actions.count("TRAITEMENT_REJET") == 1, row
        issued = [i for i in invoices if i["numero"] == row["nouveau_numero"]]
        assert len(issued) == 1, row


def _start_robot(robot_env: dict[str, str], tmp_path: Path) -> subprocess.Popen[bytes]:
    """``chorus-robot run --plan plan.csv`` in the background, as a scheduler starts it."""
    return subprocess.Popen(
        [sys.executable, "-m", "robot.cli", "run", "--plan", str(tmp_path / "plan.csv")],
        env={**os.environ, **robot_env},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _run_dir(output_dir: Path) -> Path:
    [run_dir] = [p for p in output_dir.iterdir() if p.is_dir() and p.name[:8].isdigit()]
    return run_dir


def _wait_until(predicate: Any, process: subprocess.Popen[bytes], what: str) -> None:
    pause = threading.Event()
    for _ in range(1500):  # 1,500 × 0.1 s: 150 s at most
        if predicate():
            return
        if process.poll() is not None:
            raise AssertionError(f"le robot s'est arrêté avant : {what}")
        pause.wait(0.1)
    raise AssertionError(f"attente trop longue : {what}")


@pytest.mark.slow
def test_sigkill_at_six_moments_then_resume_issues_each_invoice_exactly_once(
    fresh_sandbox: RunningSandbox,
    robot_cli: RobotCli,
    robot_env: dict[str, str],
    tmp_path: Path,
) -> None:
    # The two invoices are one batch: acknowledged one after the other, processed together
    # with one « Traiter le rejet », then each reissued. The crash points fall on the first
    # acknowledgment, on each side of the batch's click (both rejections processed, the
    # journal not yet told), and on the first reissue; the second one is carried by the
    # resume after them. (Six invoices took four more minutes and tested nothing more.)
    fresh_sandbox.reset(seed=2)
    rows = _plan(fresh_sandbox, tmp_path, "KILL")
    env = {**os.environ, **robot_env}
    crash_points = [
        "Acquitter|avant|1",
        "Acquitter|après|1",
        "Traiter le rejet|avant|1",
        "Traiter le rejet|après|1",
        "Confirmer et envoyer|avant|1",
        "Confirmer et envoyer|après|1",  # invoice sent, journal not yet told
    ]
    run_dir: Path | None = None
    for point in crash_points:
        args = ["--resume", str(run_dir)] if run_dir else ["--plan", str(tmp_path / "plan.csv")]
        crashed = subprocess.run(
            [sys.executable, str(CRASHER), "run", *args],
            env={**env, "CRASH_AT": point},
            cwd=tmp_path,
            capture_output=True,
            timeout=300,
            check=False,
        )
        assert crashed.returncode == -signal.SIGKILL, (point, crashed.stdout, crashed.stderr)
        run_dir = run_dir or _run_dir(Path(robot_env["CHORUS_OUTPUT_DIR"]))

    finished = robot_cli("run", "--resume", str(run_dir))

    assert finished.exit_code == 0, finished.output
    assert set(finished.states().values()) == {"done"}
    _assert_each_carried_through_exactly_once(fresh_sandbox, rows)


def _run_killing_the_browser(
    robot_env: dict[str, str], tmp_path: Path, moment: str
) -> subprocess.CompletedProcess[str]:
    """``chorus-robot run --plan plan.csv`` whose browser is killed at ``moment`` (see
    ``_killing_browser.py``)."""
    return subprocess.run(
        [sys.executable, str(BROWSER_KILLER), "run", "--plan", str(tmp_path / "plan.csv")],
        env={**os.environ, **robot_env, "KILL_BROWSER_AT": moment},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_killed_browser_is_replaced_and_the_run_completes(
    fresh_sandbox: RunningSandbox, robot_env: dict[str, str], tmp_path: Path
) -> None:
    # The browser dies right after « Acquitter » of the first invoice; a new one finishes it
    # and carries the second.
    fresh_sandbox.reset(seed=2)
    rows = _plan(fresh_sandbox, tmp_path, "CRASH")

    killed = _run_killing_the_browser(robot_env, tmp_path, "Acquitter|après|1")

    assert killed.returncode == 0, killed.stdout + killed.stderr
    _assert_each_carried_through_exactly_once(fresh_sandbox, rows)
    log = (_run_dir(Path(robot_env["CHORUS_OUTPUT_DIR"])) / "run.log").read_text("utf-8")
    assert "échec technique" in log, log  # the robot saw its browser die,
    assert log.count("Connecté au portail") == 2, log  # and logged in again from a new one


def test_portal_down_longer_than_the_budget_exits_3_then_resume_completes(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path
) -> None:
    fresh_sandbox.reset(seed=2)
    rows = _plan(fresh_sandbox, tmp_path, "DOWN")
    fresh_sandbox.set_faults(error_rate=1.0)

    down = robot_cli(
        "run",
        "--plan",
        str(tmp_path / "plan.csv"),
        CHORUS_MAX_RETRIES="2",
        CHORUS_RETRY_BUDGET_S="3",
    )

    assert down.exit_code == 3, down.output
    assert not any(i["numero"].startswith("DOWN-") for i in fresh_sandbox.invoices())
    fresh_sandbox.set_faults()
    run_dir = down.runs()[-1]

    back = robot_cli("run", "--resume", str(run_dir))

    assert back.exit_code == 0, back.output
    _assert_each_carried_through_exactly_once(fresh_sandbox, rows)


def test_sigterm_finishes_the_current_step_and_a_resume_completes(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, robot_env: dict[str, str], tmp_path: Path
) -> None:
    fresh_sandbox.reset(seed=2)  # SIGTERM comes during the first; the second is left over
    rows = _plan(fresh_sandbox, tmp_path, "TERM")
    out = Path(robot_env["CHORUS_OUTPUT_DIR"])
    robot = _start_robot(robot_env, tmp_path)
    try:
        _wait_until(
            lambda: any('"step"' in p.read_text("utf-8") for p in out.glob("*/events.jsonl")),
            robot,
            "une première étape",
        )
        robot.send_signal(signal.SIGTERM)
        output, _ = robot.communicate(timeout=300)
    finally:
        if robot.poll() is None:
            robot.kill()
    assert robot.returncode == 3, output.decode()
    assert "--resume" in output.decode()
    run_dir = _run_dir(out)

    resumed = robot_cli("run", "--resume", str(run_dir))

    assert resumed.exit_code == 0, resumed.output
    _assert_each_carried_through_exactly_once(fresh_sandbox, rows)
