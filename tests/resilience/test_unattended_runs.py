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
def test_sigkill_at_five_moments_then_resume_issues_each_invoice_exactly_once(
    fresh_sandbox: RunningSandbox,
    robot_cli: RobotCli,
    robot_env: dict[str, str],
    tmp_path: Path,
) -> None:
    fresh_sandbox.reset(seed=6)
    rows = _plan(fresh_sandbox, tmp_path, "KILL")
    env = {**os.environ, **robot_env}
    crash_points = [
        "Acquitter|avant|1",
        "Acquitter|après|1",
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


def test_killed_browser_is_replaced_and_the_run_completes(
    fresh_sandbox: RunningSandbox, robot_env: dict[str, str], tmp_path: Path
) -> None:
    fresh_sandbox.reset(seed=3)
    rows = _plan(fresh_sandbox, tmp_path, "CRASH")
    out = Path(robot_env["CHORUS_OUTPUT_DIR"])
    robot = _start_robot(robot_env, tmp_path)
    try:
        _wait_until(
            lambda: any(
                '"transaction_end"' in p.read_text("utf-8") for p in out.glob("*/events.jsonl")
            ),
            robot,
            "une première facture terminée",
        )
        browsers = _browsers_under(robot.pid)
        assert browsers, "aucun navigateur trouvé sous le robot"
        for pid in browsers:
            os.kill(pid, signal.SIGKILL)
        output, _ = robot.communicate(timeout=300)
    finally:
        if robot.poll() is None:
            robot.kill()
    assert robot.returncode == 0, output.decode()
    _assert_each_carried_through_exactly_once(fresh_sandbox, rows)


def _browsers_under(pid: int) -> list[int]:
    """The main Chromium processes descending from ``pid`` (their children die with them)."""
    table = subprocess.run(
        ["ps", "-eo", "pid=,ppid=,comm="], capture_output=True, text=True, check=True
    ).stdout
    parent: dict[int, int] = {}
    name: dict[int, str] = {}
    for line in table.splitlines():
        child, father, command = line.split(None, 2)
        parent[int(child)], name[int(child)] = int(father), command.strip()

    def descends(candidate: int) -> bool:
        while candidate in parent and candidate != pid:
            candidate = parent[candidate]
        return candidate == pid

    return [
        p
        for p, command in name.items()
        if "chrom" in command and "chrom" not in name.get(parent[p], "") and descends(p)
    ]


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
    fresh_sandbox.reset(seed=4)
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
