"""Many accounts on many machines: ``enqueue`` on one, ``worker`` on three (each its own
process group, as a machine is), sharing a PostgreSQL journal and an output folder, against a
sandbox with two accounts capped at two sessions each. One machine dies (SIGKILL to its whole
process group) mid-run: the others take its leases over once they expire, every invoice is
issued exactly once, no account ever holds more than two sessions, and the bundles verify."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cli_support import RobotCli, write_plan
from pg_support import PostgresServer, start_postgres

from robot.audit.manifest import verify_bundle
from sandbox.server import RunningSandbox

CAP = 2
SEED = 3
PER_ACCOUNT = 3


@pytest.fixture(scope="module")
def pg_server() -> Iterator[PostgresServer]:
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> str:
    return pg_server.create_database(password="mot-de-passe-du-journal")


def _accounts_file(tmp_path: Path, sandbox: RunningSandbox, *, mode: int = 0o600) -> Path:
    path = tmp_path / "comptes.toml"
    blocks = [
        f'[[compte]]\nidentifiant = "{sandbox.account(n)}"\n'
        f'mot_de_passe = "{sandbox.options.password}"\nmax_sessions = {CAP}\n'
        for n in (1, 2)
    ]
    path.write_text("\n".join(blocks), encoding="utf-8")
    path.chmod(mode)
    return path


def _plan(sandbox: RunningSandbox, tmp_path: Path, number: int, prefix: str) -> Path:
    account = sandbox.account(number)
    rows = [
        {
            "compte": account,
            "numero_rejete": i["numero"],
            "nouveau_numero": f"{prefix}-{n}",
            "confirmer_reemission": "oui",  # the same content, under a new number
        }
        for n, i in enumerate(sandbox.invoices("REJETEE", compte=account)[:PER_ACCOUNT], start=1)
    ]
    return write_plan(tmp_path / f"plan-{number}.csv", rows)


def _machine(env: dict[str, str], cwd: Path, *args: str) -> subprocess.Popen[str]:
    """A « machine »: a worker in its own process group (its browsers are its children)."""
    return subprocess.Popen(
        [sys.executable, "-m", "robot.cli", "worker", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _final_count(url: str) -> int:
    with psycopg.connect(url) as db:
        row = db.execute(
            "SELECT COUNT(*) FROM transactions WHERE state NOT IN ('pending', 'claimed')"
        ).fetchone()
    return int(row[0]) if row else 0


def _wait_for(predicate: Any, machines: list[subprocess.Popen[str]], what: str) -> None:
    """Wait for a state of the journal (each look is a query; a machine's end is a state)."""
    import threading

    tick = threading.Event()
    for _ in range(6000):
        if predicate():
            return
        if all(m.poll() is not None for m in machines):
            said = "\n".join(m.communicate()[0] for m in machines)
            raise AssertionError(f"les machines se sont arrêtées avant : {what}\n{said}")
        tick.wait(0.05)
    raise AssertionError(f"jamais atteint : {what}")


def test_three_machines_two_accounts_one_killed_each_invoice_issued_once(
    fresh_sandbox: RunningSandbox,
    robot_env: dict[str, str],
    robot_cli: RobotCli,
    pg_url: str,
    tmp_path: Path,
) -> None:
    fresh_sandbox.reset(seed=SEED, accounts=2)
    # The portal ends the sessions of a dead machine after a while (here 20 s idle).
    fresh_sandbox.set_faults(max_sessions_per_account=CAP, session_idle_s=20)
    env = {
        **robot_env,
        "CHORUS_JOURNAL": pg_url,
        "CHORUS_ACCOUNTS": str(_accounts_file(tmp_path, fresh_sandbox)),
        "CHORUS_LEASE_S": "5",
        "CHORUS_SESSION_WAIT_S": "120",
    }
    plans = [_plan(fresh_sandbox, tmp_path, n, f"M{n}") for n in (1, 2)]
    counts = [len(plan.read_text("utf-8-sig").splitlines()) - 1 for plan in plans]
    run_ids = []
    for plan in plans:
        queued = robot_cli("enqueue", "--plan", str(plan), **env)
        assert queued.exit_code == 0, queued.output
        run_ids.append(queued.output.strip().splitlines()[-1])
    # The same invoice cannot be queued twice while its run is open (exit 4, naming it).
    again = robot_cli("enqueue", "--plan", str(plans[0]), **env)
    assert again.exit_code == 4, again.output
    assert run_ids[0] in again.output

    full_env = {**os.environ, **env}
    machines = [_machine(full_env, tmp_path, "--workers", "2") for _ in range(3)]
    try:
        _wait_for(lambda: _final_count(pg_url) >= 2, machines, "deux factures finies")
        os.killpg(machines[0].pid, signal.SIGKILL)  # a machine dies, browsers and all
        machines[0].wait()
        for machine in machines[1:]:
            out, _ = machine.communicate(timeout=400)
            assert machine.returncode == 0, out
            assert "Traceback" not in out, out
    finally:
        for machine in machines:
            if machine.poll() is None:
                os.killpg(machine.pid, signal.SIGKILL)
                machine.wait()

    # Every rejection processed and reissued exactly once, per account (the admin interface).
    for number in (1, 2):
        account = fresh_sandbox.account(number)
        invoices = fresh_sandbox.invoices(compte=account)
        new_numbers = [i["numero"] for i in invoices if i["numero"].startswith(f"M{number}-")]
        expected = [f"M{number}-{n}" for n in range(1, counts[number - 1] + 1)]
        assert sorted(new_numbers) == sorted(expected)
        planned = {
            row.split(";")[1] for row in plans[number - 1].read_text("utf-8-sig").splitlines()[1:]
        }
        done = [i for i in invoices if i["numero"] in planned]
        assert len(done) == len(planned) and all(i["acquittee"] and i["rejet_traite"] for i in done)
    # No account ever above its cap.
    stats = fresh_sandbox.stats()["comptes"]
    for number in (1, 2):
        assert 1 <= stats[fresh_sandbox.account(number)]["pic_sessions"] <= CAP
    # One sealed bundle per run, verifying, saying which account and machine did each invoice.
    status = robot_cli("status", run_ids[0], "--json", **env)
    assert status.exit_code == 0, status.output
    shown = json.loads(status.output)
    assert shown["runs"][0]["par_etat"] == {"done": counts[0]}
    for run_id in run_ids:
        run_dir = Path(env["CHORUS_OUTPUT_DIR"]) / run_id
        assert verify_bundle(run_dir) == []
        summary = json.loads((run_dir / "summary.json").read_text("utf-8"))
        assert summary["exit_code"] == 0
        assert {t["state"] for t in summary["transactions"]} == {"done"}
        assert all(t["compte"] and t["machine"] for t in summary["transactions"])
        report = (run_dir / "report.html").read_text("utf-8")
        assert "Machine" in report and "Compte" in report
    # No secret in the journal: neither the accounts' password nor the database's.
    with psycopg.connect(pg_url) as db:
        dumped = json.dumps(
            [
                db.execute(f"SELECT * FROM {t}").fetchall()
                for t in ("runs", "transactions", "steps")
            ],
            default=str,
        )
    assert fresh_sandbox.options.password not in dumped
    assert "mot-de-passe-du-journal" not in dumped


def test_accounts_file_errors_are_refused_before_the_portal_is_touched(
    fresh_sandbox: RunningSandbox,
    robot_cli: RobotCli,
    tmp_path: Path,
) -> None:
    fresh_sandbox.reset(seed=2, accounts=2)
    plan = _plan(fresh_sandbox, tmp_path, 2, "X")
    before = fresh_sandbox.stats()["comptes"]

    # A password file others can read.
    readable = _accounts_file(tmp_path, fresh_sandbox, mode=0o644)
    result = robot_cli("run", "--plan", str(plan), CHORUS_ACCOUNTS=str(readable))
    assert result.exit_code == 2, result.output
    assert "chmod 600" in result.output
    assert fresh_sandbox.options.password not in result.output

    # An account the file does not list: a plan error with its line.
    readable.chmod(stat.S_IRUSR | stat.S_IWUSR)
    other = tmp_path / "autre.toml"
    other.write_text(
        f'[[compte]]\nidentifiant = "{fresh_sandbox.account(1)}"\n'
        f'mot_de_passe = "{fresh_sandbox.options.password}"\n',
        encoding="utf-8",
    )
    other.chmod(0o600)
    result = robot_cli("enqueue", "--plan", str(plan), CHORUS_ACCOUNTS=str(other))
    assert result.exit_code == 2, result.output
    assert fresh_sandbox.account(2) in result.output and "ligne 2" in result.output, result.output

    # An account without a password.
    missing = tmp_path / "sans.toml"
    missing.write_text(f'[[compte]]\nidentifiant = "{fresh_sandbox.account(2)}"\n', "utf-8")
    missing.chmod(0o600)
    result = robot_cli("run", "--plan", str(plan), CHORUS_ACCOUNTS=str(missing))
    assert result.exit_code == 2, result.output
    assert "mot_de_passe" in result.output

    assert fresh_sandbox.stats()["comptes"] == before  # nobody logged in
    assert not list((tmp_path / "runs").glob("2*"))  # no run folder either


def test_run_on_postgresql_queues_the_plan_and_works_it_here_then_seal_and_status(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, pg_url: str, tmp_path: Path
) -> None:
    fresh_sandbox.reset(seed=2)
    rows = [
        {"numero_rejete": i["numero"], "nouveau_numero": f"PG-{n}", "confirmer_reemission": "oui"}
        for n, i in enumerate(fresh_sandbox.invoices("REJETEE")[:2], start=1)
    ]
    plan = write_plan(tmp_path / "plan.csv", rows)

    result = robot_cli("run", "--plan", str(plan), CHORUS_JOURNAL=pg_url)

    assert result.exit_code == 0, result.output
    assert set(result.states().values()) == {"done"}
    run_dir = result.runs()[-1]
    assert verify_bundle(run_dir) == []
    assert pg_url.split("@")[0].split(":")[-1] not in result.output  # the journal's password
    # Sealed again by hand: the bundle still verifies, with one run_end.
    sealed = robot_cli("audit", "seal", str(run_dir), CHORUS_JOURNAL=pg_url)
    assert sealed.exit_code == 0, sealed.output
    assert verify_bundle(run_dir) == []
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert [e["type"] for e in events].count("run_end") == 1
    # A worker asked for an ended run says so and exits with its code; status knows it.
    worker = robot_cli("worker", "--run", run_dir.name, CHORUS_JOURNAL=pg_url)
    assert worker.exit_code == 0 and "déjà terminé" in worker.output, worker.output
    status = robot_cli("status", run_dir.name, "--json", CHORUS_JOURNAL=pg_url)
    shown = json.loads(status.output)["runs"][0]
    assert shown["ouvert"] is False and shown["par_etat"] == {"done": 2}
    unknown = robot_cli("status", "20990101-000000-dead", CHORUS_JOURNAL=pg_url)
    assert unknown.exit_code == 2, unknown.output
    # The invoices are in no open run any more: the same plan can be queued again.
    again = robot_cli("enqueue", "--plan", str(plan), CHORUS_JOURNAL=pg_url)
    assert again.exit_code == 0, again.output
