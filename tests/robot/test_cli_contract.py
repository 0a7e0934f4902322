"""The command line's contract: refusals before touching the portal (exit 2), the run lock
(exit 4), and the plan template written by ``chorus-robot rejections``."""

from __future__ import annotations

import socket
from pathlib import Path

from cli_support import RobotCli, write_plan

from robot.plan import load_plan
from robot.run.lock import RunLock
from sandbox.server import RunningSandbox


def _dead_port() -> int:
    # A port nothing listens on: any attempt to reach the portal would fail with exit 3.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_invalid_plan_is_refused_whole_with_every_error_before_the_portal_is_touched(
    robot_cli: RobotCli, tmp_path: Path
) -> None:
    plan = write_plan(
        tmp_path / "plan.csv",
        [
            {"numero_rejete": "FAC-1", "nouveau_numero": "FAC-1", "siret_destinataire": "123"},
            {"numero_rejete": "FAC-2", "nouveau_numero": "", "montant_ht": "12,345"},
            {"numero_rejete": "FAC-2", "nouveau_numero": "N/3", "colonne_inconnue": "x"},
        ],
    )

    result = robot_cli(
        "run", "--plan", str(plan), CHORUS_PORTAL_URL=f"http://127.0.0.1:{_dead_port()}"
    )

    assert result.exit_code == 2, result.output
    assert "rien n'a été envoyé au portail" in result.output
    # Each error names its line and its invoice.
    for expected in (
        "plan.csv ligne 2 (facture FAC-1)",
        "plan.csv ligne 3 (facture FAC-2)",
        "plan.csv ligne 4 (facture FAC-2)",
        "colonne_inconnue",
    ):
        assert expected in result.output
    assert "Traceback" not in result.output
    assert result.runs() == []


def test_invalid_configuration_lists_every_problem_and_exits_2(
    robot_cli: RobotCli, tmp_path: Path
) -> None:
    plan = write_plan(tmp_path / "plan.csv", [{"numero_rejete": "A-1", "nouveau_numero": "B-1"}])

    result = robot_cli(
        "run",
        "--plan",
        str(plan),
        CHORUS_TIMEOUT_MS="vite",
        CHORUS_HEADLESS="peut-être",
        CHORUS_PASSWORD="",
    )

    assert result.exit_code == 2, result.output
    for variable in ("CHORUS_TIMEOUT_MS", "CHORUS_HEADLESS", "CHORUS_PASSWORD"):
        assert variable in result.output
    assert "Traceback" not in result.output


def test_missing_plan_file_is_refused_with_exit_2(robot_cli: RobotCli, tmp_path: Path) -> None:
    result = robot_cli("run", "--plan", str(tmp_path / "absent.csv"))

    assert result.exit_code == 2, result.output
    assert "absent.csv" in result.output


def test_second_run_on_the_same_journal_exits_4_and_names_the_holder(
    robot_cli: RobotCli, robot_env: dict[str, str], fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    numero = fresh_sandbox.invoices("REJETEE")[0]["numero"]
    plan = write_plan(tmp_path / "plan.csv", [{"numero_rejete": numero, "nouveau_numero": "L-1"}])
    journal = Path(robot_env["CHORUS_OUTPUT_DIR"]) / "journal.sqlite"
    count = len(fresh_sandbox.invoices())

    with RunLock(journal, "run-du-test"):
        result = robot_cli("run", "--plan", str(plan))

    assert result.exit_code == 4, result.output
    assert "run-du-test" in result.output
    assert len(fresh_sandbox.invoices()) == count
    assert fresh_sandbox.invoice(numero)["acquittee"] is False


def test_the_work_list_command_writes_a_plan_template_the_accountant_completes(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path
) -> None:
    pending = {i["numero"] for i in fresh_sandbox.invoices("REJETEE") if not i["rejet_traite"]}
    template = tmp_path / "modele.csv"

    result = robot_cli("synthese", "--out", str(template))

    assert result.exit_code == 0, result.output
    for numero in pending:
        assert numero in result.output
    text = template.read_text(encoding="utf-8-sig")
    completed = tmp_path / "complete.csv"
    lines = text.splitlines()
    header = lines[0].split(";")
    column, statut = header.index("nouveau_numero"), header.index("statut")
    # The whole work list is there; the accountant keeps the rejected invoices (a row removed
    # is a row not carried) and gives each a new number.
    kept = [line.split(";") for line in lines[1:]]
    assert {cells[statut] for cells in kept} >= {"Rejetée", "Suspendue", "À recycler"}
    rows = []
    for index, cells in enumerate((c for c in kept if c[statut] == "Rejetée"), start=1):
        cells[column] = f"NEUF-{index}"
        rows.append(";".join(cells))
    completed.write_text("\r\n".join([lines[0], *rows]) + "\r\n", encoding="utf-8-sig")
    plan = load_plan(completed)
    assert {c.numero_rejete for c in plan.corrections} == pending
