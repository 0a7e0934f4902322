"""The whole « Synthèse » in one plan: rejected invoices reissued, suspended ones completed,
invoices to recycle sent to their right recipient — each exactly once, checked on the portal
through the sandbox's admin interface, and a second run of the same plan changes nothing.
A crash right after « Compléter » or « Recycler », then a resume, does each once too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_support import RobotCli, write_plan

from robot.browser.recording import safe_name
from sandbox.model import Structure
from sandbox.server import RunningSandbox
from sandbox.store import Store

CRASHER = Path(__file__).parents[1] / "resilience" / "_crashing_robot.py"
ROUTED = {"DEPOSEE", "EN_COURS_ACHEMINEMENT", "MISE_A_DISPOSITION"}


def _recipient(sandbox: RunningSandbox, than: set[str]) -> tuple[Structure, str]:
    """An active structure that requires a service code only, and one of its services."""
    store = Store(sandbox.options.db_path)
    try:
        structures = store.list_structures()
    finally:
        store.close()
    target = next(
        s for s in structures if s.exigence == "service" and s.active and s.siret not in than
    )
    return target, next(service.code for service in target.services if service.active)


def _mixed_plan(sandbox: RunningSandbox, tmp_path: Path, count: int) -> dict[str, Any]:
    seeded = sandbox.reset(seed=3, seed_suspended=count, seed_recycle=count)
    rejected = [i["numero"] for i in sandbox.invoices("REJETEE") if not i["rejet_traite"]]
    suspended, to_recycle = seeded["suspended"], seeded["recycle"]
    current = {sandbox.invoice(n)["siret_destinataire"] for n in to_recycle}
    target, service = _recipient(sandbox, current)
    rows = [
        {"numero_rejete": n, "nouveau_numero": f"SYN-{k}", "statut": "Rejetée"}
        for k, n in enumerate(rejected[:count], start=1)
    ]
    for k, numero in enumerate(suspended, start=1):
        (tmp_path / f"justificatif-{k}.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
        rows.append(
            {
                "numero_rejete": numero,
                "statut": "Suspendue",
                "piece_jointe": f"justificatif-{k}.pdf",
                "commentaire": "Pièce demandée, jointe.",
            }
        )
    rows += [
        {
            "numero_rejete": numero,
            "statut": "À recycler",
            "siret_destinataire": target.siret,
            "code_service": service,
        }
        for numero in to_recycle
    ]
    write_plan(tmp_path / "plan.csv", rows)
    return {
        "rejected": rejected[:count],
        "suspended": suspended,
        "to_recycle": to_recycle,
        "siret": target.siret,
        "service": service,
    }


def _assert_each_done_once(sandbox: RunningSandbox, plan: dict[str, Any], before: int) -> None:
    invoices = sandbox.invoices()
    numbers = [i["numero"] for i in invoices]
    # One new invoice per rejected one, none for the suspended and recycled ones.
    assert len(invoices) == before + len(plan["rejected"])
    for k, numero in enumerate(plan["rejected"], start=1):
        assert numbers.count(f"SYN-{k}") == 1
        assert sandbox.invoice(numero)["rejet_traite"]
    for k, numero in enumerate(plan["suspended"], start=1):
        invoice = sandbox.invoice(numero)
        assert invoice["statut"] == "COMPLETEE" and numbers.count(numero) == 1
        attached = [p["nom"] for p in invoice["pieces_jointes"]]
        assert attached.count(f"justificatif-{k}.pdf") == 1, attached
        actions = [h["action"] for h in invoice["historique"]]
        assert actions.count("ACQUITTEMENT_SUSPENSION") == 1
    for numero in plan["to_recycle"]:
        invoice = sandbox.invoice(numero)
        assert invoice["statut"] in ROUTED and numbers.count(numero) == 1
        assert (invoice["siret_destinataire"], invoice["code_service"]) == (
            plan["siret"],
            plan["service"],
        )


@pytest.mark.slow
def test_a_plan_mixing_the_three_kinds_runs_to_the_end_and_again_changes_nothing(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path
) -> None:
    # Two of each kind, which the work order interleaves (rejected, suspended, to recycle,
    # rejected, to recycle, suspended): three of each took half as long again.
    plan = _mixed_plan(fresh_sandbox, tmp_path, 2)
    before = len(fresh_sandbox.invoices())

    first = robot_cli("run", "--plan", str(tmp_path / "plan.csv"))

    assert first.exit_code == 0, first.output
    assert set(first.states().values()) == {"done"}
    natures = [t["nature"] for t in first.summary()["transactions"]]
    assert sorted(natures) == ["a_recycler"] * 2 + ["rejetee"] * 2 + ["suspendue"] * 2
    _assert_each_done_once(fresh_sandbox, plan, before)
    shots = {p.name for p in (first.runs()[-1] / "screenshots").glob("*.jpg")}
    for action in ("Compléter", "Recycler"):
        for moment in ("avant", "après"):
            assert any(safe_name(f"{action}-{moment}") in name for name in shots), shots

    # No traces (nor the screenshots that go with them) the second time: nothing is clicked.
    again = robot_cli("run", "--plan", str(tmp_path / "plan.csv"), CHORUS_TRACE="off")

    assert again.exit_code == 0, again.output
    steps = [s["outcome"] for t in again.summary()["transactions"] for s in t["steps"]]
    assert set(steps) == {"already_done"}
    _assert_each_done_once(fresh_sandbox, plan, before)


def test_a_crash_right_after_completing_or_recycling_then_a_resume_does_each_once(
    fresh_sandbox: RunningSandbox,
    robot_cli: RobotCli,
    robot_env: dict[str, str],
    tmp_path: Path,
) -> None:
    plan = _mixed_plan(fresh_sandbox, tmp_path, 1)
    before = len(fresh_sandbox.invoices())
    env = {**os.environ, **robot_env}
    run_dir: Path | None = None
    for point in ("Compléter|après|1", "Recycler|après|1"):
        args = ["--resume", str(run_dir)] if run_dir else ["--plan", str(tmp_path / "plan.csv")]
        crashed = subprocess.run(
            [sys.executable, str(CRASHER), "run", *args],
            env={**env, "CRASH_AT": point},
            cwd=tmp_path,
            capture_output=True,
            timeout=300,
            check=False,
        )
        assert crashed.returncode == -signal.SIGKILL, (point, crashed.stderr.decode()[-1500:])
        if run_dir is None:
            out = Path(robot_env["CHORUS_OUTPUT_DIR"])
            [run_dir] = [p for p in out.iterdir() if p.is_dir() and p.name[:8].isdigit()]

    resumed = robot_cli("run", "--resume", str(run_dir))

    assert resumed.exit_code == 0, resumed.output
    assert set(resumed.states().values()) == {"done"}
    _assert_each_done_once(fresh_sandbox, plan, before)
