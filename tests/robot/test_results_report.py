"""A small real run, as an accountant and an auditor read it afterwards: ``resultats.csv``
(what to do next, the new invoice's link and totals), the report (old and new values, the
link, screenshots captioned with time, click and address, the sandbox named), and one time
convention in run.log, events.jsonl and summary.json."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from cli_support import RobotCli, write_plan

from robot.audit import verify_bundle
from robot.audit.events import read_events
from sandbox.server import RunningSandbox

OFFSET = re.compile(r"(Z|[+-]\d\d:\d\d)$")


def _pending(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    return [i for i in sandbox.invoices("REJETEE") if not i["rejet_traite"]]


def _results(run_dir: Path) -> list[dict[str, str]]:
    data = (run_dir / "resultats.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def test_a_run_leaves_a_worklist_and_a_report_an_auditor_can_follow(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path
) -> None:
    pending = _pending(fresh_sandbox)
    single = next(i for i in pending if len(i["lignes"]) == 1)
    several = next(i for i in pending if len(i["lignes"]) > 1)
    plan = write_plan(
        tmp_path / "plan.csv",
        [
            {"numero_rejete": single["numero"], "nouveau_numero": "RES-0001",
             "montant_ht": "812,40", "taux_tva": "20"},
            # A total HT on an invoice of several lines: refused before the first click.
            {"numero_rejete": several["numero"], "nouveau_numero": "RES-0002",
             "montant_ht": "100,00"},
        ],
    )  # fmt: skip

    result = robot_cli("run", "--plan", str(plan))

    assert result.exit_code == 1, result.output
    run_dir = result.runs()[-1]
    assert verify_bundle(run_dir) == []  # resultats.csv and the screenshots are sealed too
    rows = {row["Facture"]: row for row in _results(run_dir)}
    done, refused = rows[single["numero"]], rows[several["numero"]]
    assert (done["Nature"], done["Résultat"], done["Nouveau numéro"]) == (
        "Rejetée", "Terminée", "RES-0001",
    )  # fmt: skip
    assert done["Lien de la nouvelle facture"].startswith(fresh_sandbox.url)
    assert (done["Montant HT"], done["TVA"], done["Montant TTC"]) == ("812,40", "162,48", "974,88")
    assert done["À faire"].startswith("Rien")
    assert refused["Résultat"] == "À vérifier"
    assert "ligne du plan" in refused["À faire"]
    assert refused["Lien de la nouvelle facture"] == ""

    report = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "Ancienne valeur" in report and "Nouvelle valeur" in report and "Modifiée" in report
    # The reissue step read the rejected invoice and the new one: the total is marked changed,
    # the recipient (kept) is not.
    assert re.search(r'<tr class="changed"><td>Montant HT</td><td>[^<]+</td><td>812,40', report)
    assert re.search(r"<tr><td>SIRET du destinataire</td>(<td>[^<]*</td>){2}<td>Non</td>", report)
    assert f'<a href="{done["Lien de la nouvelle facture"]}">' in report
    assert "Bac à sable" in report  # the test sandbox runs on 127.0.0.1
    assert re.search(r"Heures en heure de Paris \(UTC[+-]\d\d:\d\d\)", report)

    shots = sorted(p.name for p in (run_dir / "screenshots").iterdir())
    assert shots and all(re.fullmatch(r"[A-Za-z0-9_.+-]+", name) for name in shots), shots
    assert any(name.endswith("Confirmer_et_envoyer-avant-page-entiere.jpg") for name in shots)
    assert any(name.endswith("Confirmer_et_envoyer-apres.jpg") for name in shots)
    for name in shots:
        figure = report[report.index(f"screenshots/{name}") :].split("</figure>")[0]
        assert "Adresse : <code>" + fresh_sandbox.url in figure, name
        assert re.search(r"le \d\d/\d\d/\d{4} \d\d:\d\d:\d\d \(UTC[+-]\d\d:\d\d\)", figure), name

    log = (run_dir / "run.log").read_text(encoding="utf-8").splitlines()
    stamps = [line.split(" | ")[0] for line in log if " | " in line]
    assert stamps and all(OFFSET.search(s) and "T" in s for s in stamps), stamps[:3]
    assert any(" | WARNING | " in line and several["numero"] in line for line in log)

    events = read_events(run_dir / "events.jsonl")
    assert all(OFFSET.search(e["time"]) for e in events)
    start = events[0]
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    for record in (start, summary):
        assert record["accounts"] == [fresh_sandbox.options.user]
        assert record["os_user"] and record["host"] and record["robot_version"]
        assert len(record["plan_sha256"]) == 64 and record["sandbox"] is True
    assert OFFSET.search(summary["started_at"]) and OFFSET.search(summary["ended_at"])


def test_a_dry_run_shows_the_new_totals(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path
) -> None:
    single = next(i for i in _pending(fresh_sandbox) if len(i["lignes"]) == 1)
    plan = write_plan(
        tmp_path / "plan.csv",
        [{"numero_rejete": single["numero"], "nouveau_numero": "SIM-0001",
          "montant_ht": "812,40", "taux_tva": "20"}],
    )  # fmt: skip

    result = robot_cli("run", "--plan", str(plan), "--dry-run")

    assert result.exit_code == 0, result.output
    [row] = _results(result.runs()[-1])
    assert row["Résultat"] == "À faire (simulation)"
    assert (row["Montant HT"], row["TVA"], row["Montant TTC"]) == ("812,40", "162,48", "974,88")
    assert "--dry-run" in row["À faire"]
