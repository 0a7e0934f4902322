"""The robot logs in with authenticator codes it computes (``CHORUS_OTP_SOURCE=totp``): real
Chromium, the sandbox with the account enrolled through its admin interface, the command line;
neither the secret nor any code typed is left in the run's files."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
from cli_support import RobotCli, write_plan

from robot.audit import find_secrets, verify_bundle
from sandbox.server import RunningSandbox


def test_run_logs_in_with_authenticator_codes_and_leaves_neither_secret_nor_code_behind(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path
) -> None:
    fresh_sandbox.reset(seed=1)
    user = fresh_sandbox.options.user
    secret = pyotp.random_base32()
    enrolled = fresh_sandbox.admin("POST", "totp", json={"compte": user, "secret": secret})
    assert enrolled.status_code == 200, enrolled.text
    [rejected] = [i for i in fresh_sandbox.invoices("REJETEE") if not i["rejet_traite"]][:1]
    plan = write_plan(
        tmp_path / "plan.csv", [{"numero_rejete": rejected["numero"], "nouveau_numero": "TOTP-1"}]
    )

    result = robot_cli(
        "run", "--plan", str(plan), CHORUS_OTP_SOURCE="totp", CHORUS_OTP_TOTP_SECRET=secret
    )

    assert result.exit_code == 0, result.output
    assert set(result.states().values()) == {"done"}
    assert len([i for i in fresh_sandbox.invoices() if i["numero"] == "TOTP-1"]) == 1
    steps = fresh_sandbox.admin("GET", "totp").json()["comptes"][user]["pas_utilises"]
    assert steps, "the robot did not log in with an authenticator code"
    codes = [pyotp.TOTP(secret).at(step * 30) for step in steps]
    assert list((fresh_sandbox.maildir / "new").glob("*")) == []  # no mailbox in the loop
    run_dir = result.runs()[-1]
    assert verify_bundle(run_dir) == []
    assert find_secrets(run_dir, [secret, *codes]) == []
    # Every file of the output folder, byte for byte (the journal and logs included).
    leaks = re.compile(
        "|".join([re.escape(secret), *(rf"(?<![0-9]){code}(?![0-9])" for code in codes)]).encode()
    )
    leaked = [
        str(path.relative_to(result.out_dir))
        for path in result.out_dir.rglob("*")
        if path.is_file() and leaks.search(path.read_bytes())
    ]
    assert leaked == []
    assert not leaks.search(result.output.encode())
