"""A night run: a plan carried by two browsers through 5xx answers, latency jitter, sessions
ending every few pages and random pop-ups — each invoice issued exactly once.

Eight invoices, not the twenty it once had (three times as long): what the test is about is
how many faults the run meets, not how many invoices it carries. Sessions end every 20 pages
instead of 25 (not fewer: the login and the preflight take 13 to 16 in one session, and an
expiry inside the preflight ends the run). Eight invoices are some 90 pages between the two
workers (11 each at the least): 3 expiries or more however the workers share them, 4 to 7
in six measured runs (13 with twenty invoices), for the 3 the test asks for."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import RobotCli
from test_unattended_runs import _assert_each_carried_through_exactly_once, _plan

from sandbox.server import RunningSandbox


@pytest.mark.slow
def test_night_plan_goes_through_5xx_latency_expiries_and_popups_each_issued_once(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path
) -> None:
    fresh_sandbox.reset(seed=8)
    rows = _plan(fresh_sandbox, tmp_path, "NUIT")
    assert len(rows) == 8
    # Sessions end under the robot's feet every 20 pages (two transactions' worth).
    fresh_sandbox.set_faults(
        error_rate=0.2, latency_ms=5, jitter_ms=40, popup_rate=0.2, session_max_requests=20
    )
    try:
        result = robot_cli(
            "run",
            "--plan",
            str(tmp_path / "plan.csv"),
            "--workers",
            "2",
            CHORUS_MAX_RETRIES="15",
            CHORUS_RETRY_BUDGET_S="600",
            CHORUS_TRACE="off",
        )
    finally:
        fresh_sandbox.set_faults()
    assert result.exit_code == 0, result.output
    _assert_each_carried_through_exactly_once(fresh_sandbox, rows)
    log = "\n".join(p.read_text("utf-8") for p in result.out_dir.glob("*/run.log"))
    assert "échec technique" in log  # the 503s were met and overcome
    assert log.count("session expirée") >= 3  # and so were the expiries
