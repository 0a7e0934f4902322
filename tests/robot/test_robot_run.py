"""The robot end to end: real Chromium, the sandbox, the ``chorus-robot`` command line."""

from __future__ import annotations

import json
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from cli_support import RobotCli, write_plan

from robot.audit import verify_bundle
from sandbox.server import RunningSandbox


def _pending(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    return [i for i in sandbox.invoices("REJETEE") if not i["rejet_traite"]]


def _actions(invoice: dict[str, Any], code: str) -> int:
    return sum(1 for h in invoice["historique"] if h["action"] == code)


def _by_number(sandbox: RunningSandbox) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for invoice in sandbox.invoices():
        found.setdefault(invoice["numero"], []).append(invoice)
    return found


def test_plan_with_different_motives_is_carried_through_and_each_invoice_issued_once(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path
) -> None:
    pending = _pending(fresh_sandbox)
    single = next(i for i in pending if len(i["lignes"]) == 1)
    others = [i for i in pending if i is not single][:2]
    rows = [
        {"numero_rejete": single["numero"], "nouveau_numero": "RECT-0001",
         "montant_ht": "812,40", "taux_tva": "20"},
        {"numero_rejete": others[0]["numero"], "nouveau_numero": "RECT-0002",
         "numero_engagement": "EJ-2026-77777"},
        {"numero_rejete": others[1]["numero"], "nouveau_numero": "RECT-0003",
         "commentaire": "Facture rectificative"},
    ]  # fmt: skip
    plan = write_plan(tmp_path / "plan.csv", rows)

    result = robot_cli("run", "--plan", str(plan))

    assert result.exit_code == 0, result.output
    assert set(result.states().values()) == {"done"}
    invoices = _by_number(fresh_sandbox)
    for row in rows:
        [original] = [i for i in invoices[row["numero_rejete"]] if i["statut"] == "REJETEE"]
        assert original["acquittee"] and original["rejet_traite"]
        assert _actions(original, "ACQUITTEMENT_REJET") == 1
        assert _actions(original, "TRAITEMENT_REJET") == 1
        assert len(invoices[row["nouveau_numero"]]) == 1
    [amended] = invoices["RECT-0001"]
    assert Decimal(amended["montant_ht"]) == Decimal("812.40")
    assert Decimal(amended["montant_ttc"]) == Decimal("974.88")
    assert amended["siret_destinataire"] == single["siret_destinataire"]
    assert invoices["RECT-0002"][0]["numero_engagement"] == "EJ-2026-77777"
    assert invoices["RECT-0003"][0]["commentaire"] == "Facture rectificative"
    assert invoices["RECT-0003"][0]["statut"] in {"EN_COURS_ACHEMINEMENT", "MISE_A_DISPOSITION"}
    run_dir = result.runs()[-1]
    assert verify_bundle(run_dir) == []
    assert (run_dir / "report.html").exists()
    # The three rejections are processed together: one « Traiter le rejet » in « Synthèse »,
    # journaled for each invoice before the click, proven for each by the page after, its
    # trace part of each invoice's record.
    [batch] = [e for e in _events(run_dir) if e["type"] == "batch"]
    assert sorted(batch["invoices"]) == sorted(r["numero_rejete"] for r in rows)
    [lot] = batch["traces"]
    clicks = [
        a for a in _trace_actions(run_dir / "traces" / lot)
        if a["method"] == "click" and "Traiter le rejet" in a["sel"]
    ]  # fmt: skip
    assert len(clicks) == 1, clicks
    ends = {e["invoice"]: e for e in _events(run_dir) if e["type"] == "transaction_end"}
    for row in rows:
        steps = [
            e for e in _events(run_dir)
            if e["type"] == "step" and e["invoice"] == row["numero_rejete"]
        ]  # fmt: skip
        assert [(e["step"], e["outcome"]) for e in steps] == [
            ("acknowledge", "done"),
            ("process", "done"),
            ("reissue", "done"),
        ]
        assert steps[1]["before"]["lot"] == batch["invoices"]
        assert lot in ends[row["numero_rejete"]]["traces"]
        # The rejected invoice is opened once and read twice (before and after « Acquitter »):
        # the steps after start from that reading instead of opening and reading it again.
        # The third reading is the new invoice's page.
        own = sorted((run_dir / "traces").glob(f"{row['numero_rejete']}*.zip"))
        assert [p.name for p in own] == [
            f"{row['numero_rejete']}-part1.zip",
            f"{row['numero_rejete']}.zip",
        ]
        actions = [a for trace in own for a in _trace_actions(trace)]
        opened = [a for a in actions if a["method"] == "goto" and "/factures/" in a["url"]]
        reads = [a for a in actions if a["method"] == "evalOnSelectorAll" and _INFO in a["sel"]]
        assert len(opened) == 1, opened
        assert len(reads) == 3, reads
        # No search for the new number: the rejection was processed in this very run.
        assert not [a for a in actions if "Rechercher" in a["sel"]], actions
    # The trace keeps DOM snapshots, not a screencast: the trace viewer's snapshot taken
    # before « Confirmer et envoyer » shows the form as sent, its fields filled.
    trace = run_dir / "traces" / f"{single['numero']}.zip"
    assert not [e for e in _trace_events(trace) if e.get("type") == "screencast-frame"]
    sent = _snapshot_before(trace, "Confirmer et envoyer")
    assert 'value="RECT-0001"' in sent, sent[:2000]
    assert 'value="812,40"' in sent or 'value="812.40"' in sent, sent[:2000]


def _trace_events(trace: Path) -> list[dict[str, Any]]:
    with zipfile.ZipFile(trace) as archive:
        return [json.loads(line) for line in archive.read("trace.trace").decode().splitlines()]


def _snapshot_before(trace: Path, button: str) -> str:
    """The DOM the trace viewer shows before the click on ``button``, as HTML, with each
    field's value as an attribute — rebuilt as the viewer rebuilds it (Playwright's
    ``snapshotRenderer``: a node may refer to a node of an earlier snapshot of its frame)."""
    events = _trace_events(trace)
    [click] = [
        e for e in events
        if e.get("type") == "before" and e.get("method") == "click"
        and button in e.get("params", {}).get("selector", "")
    ]  # fmt: skip
    snapshots = [e["snapshot"] for e in events if e.get("type") == "frame-snapshot"]
    [wanted] = [s for s in snapshots if (s["callId"], s["phase"]) == (click["callId"], "before")]
    frame = [s for s in snapshots if s["frameId"] == wanted["frameId"]]
    nodes: dict[int, list[Any]] = {}

    def flat(index: int) -> list[Any]:  # a snapshot's nodes, children before parents
        if index not in nodes:
            found: list[Any] = []

            def visit(node: Any) -> None:
                if isinstance(node, str):
                    found.append(node)
                elif isinstance(node[0], str):
                    for child in node[2:]:
                        visit(child)
                    found.append(node)

            visit(frame[index]["html"])
            nodes[index] = found
        return nodes[index]

    def render(node: Any, index: int) -> str:
        if isinstance(node, str):
            return node
        if isinstance(node[0], list):  # [[snapshots back, node index]]
            back, position = node[0]
            return render(flat(index - back)[position], index - back)
        tag, attrs = node[0], node[1] if len(node) > 1 else {}
        shown = dict(attrs)
        if "__playwright_value_" in shown:
            shown["value"] = shown.pop("__playwright_value_")
        text = "".join(f' {k}="{v}"' for k, v in shown.items())
        return f"<{tag}{text}>" + "".join(render(c, index) for c in node[2:]) + f"</{tag}>"

    index = frame.index(wanted)
    return render(frame[index]["html"], index)


_INFO = 'internal:role=region[name="Informations de la facture"s]'


def _events(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _trace_actions(trace: Path) -> list[dict[str, str]]:
    """The Playwright calls a transaction's trace recorded: method, URL, selector."""
    with zipfile.ZipFile(trace) as archive:
        lines = archive.read("trace.trace").decode().splitlines()
    return [
        {
            "method": event.get("method", ""),
            "url": event.get("params", {}).get("url", ""),
            "sel": event.get("params", {}).get("selector", ""),
        }
        for event in map(json.loads, lines)
        if event.get("type") == "before"
    ]


def test_same_plan_run_twice_issues_nothing_the_second_time(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path
) -> None:
    first = _pending(fresh_sandbox)[0]
    plan = write_plan(
        tmp_path / "plan.csv", [{"numero_rejete": first["numero"], "nouveau_numero": "TWICE-1"}]
    )
    assert robot_cli("run", "--plan", str(plan)).exit_code == 0
    count = len(fresh_sandbox.invoices())

    again = robot_cli("run", "--plan", str(plan))

    assert again.exit_code == 0, again.output
    steps = again.summary()["transactions"][0]["steps"]
    assert [s["outcome"] for s in steps] == ["already_done"] * 3
    assert len(fresh_sandbox.invoices()) == count
    original = fresh_sandbox.invoice(first["numero"])
    assert _actions(original, "TRAITEMENT_REJET") == 1


def test_dry_run_changes_nothing_on_the_portal(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path
) -> None:
    before = fresh_sandbox.invoices()
    rows = [
        {"numero_rejete": i["numero"], "nouveau_numero": f"DRY-{n}"}
        for n, i in enumerate(_pending(fresh_sandbox)[:2], start=1)
    ]
    plan = write_plan(tmp_path / "plan.csv", rows)

    result = robot_cli("run", "--plan", str(plan), "--dry-run")

    assert result.exit_code == 0, result.output
    assert set(result.states().values()) == {"would_do"}
    assert fresh_sandbox.invoices() == before
    assert "Simulation" in result.output


def test_row_refused_by_the_portal_is_a_business_failure_while_the_others_succeed(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path
) -> None:
    taken = next(i["numero"] for i in fresh_sandbox.invoices("MISE_A_DISPOSITION"))
    good, bad = _pending(fresh_sandbox)[:2]
    plan = write_plan(
        tmp_path / "plan.csv",
        [
            {"numero_rejete": bad["numero"], "nouveau_numero": taken},
            {"numero_rejete": good["numero"], "nouveau_numero": "GOOD-0001"},
        ],
    )

    result = robot_cli("run", "--plan", str(plan))

    assert result.exit_code == 1, result.output
    assert result.states() == {bad["numero"]: "business_failure", good["numero"]: "done"}
    refused = next(t for t in result.summary()["transactions"] if t["state"] != "done")
    assert any(
        "Vous avez déjà déposé une demande de paiement avec ce numéro de facture" in m
        for m in refused["steps"][-1]["portal_messages"]
    )
    assert len(_by_number(fresh_sandbox)[taken]) == 1


def test_row_for_an_invoice_that_is_not_rejected_is_reported_not_guessed(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path
) -> None:
    paid = next(i["numero"] for i in fresh_sandbox.invoices("MISE_EN_PAIEMENT"))
    plan = write_plan(tmp_path / "plan.csv", [{"numero_rejete": paid, "nouveau_numero": "NEVER-1"}])
    count = len(fresh_sandbox.invoices())

    result = robot_cli("run", "--plan", str(plan))

    assert result.exit_code == 1, result.output
    assert result.states() == {paid: "not_rejected"}
    assert len(fresh_sandbox.invoices()) == count


def test_one_time_code_is_read_from_the_maildir(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path
) -> None:
    fresh_sandbox.reset(seed=2, otp=True)
    first = _pending(fresh_sandbox)[0]
    plan = write_plan(
        tmp_path / "plan.csv", [{"numero_rejete": first["numero"], "nouveau_numero": "OTP-1"}]
    )

    result = robot_cli("run", "--plan", str(plan))

    assert result.exit_code == 0, result.output
    assert len(_by_number(fresh_sandbox)["OTP-1"]) == 1


def test_two_workers_share_the_plan_and_issue_each_invoice_exactly_once(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path
) -> None:
    fresh_sandbox.reset(seed=4)  # enough for both workers to take some, which is checked
    rows = [
        {"numero_rejete": i["numero"], "nouveau_numero": f"PAR-{n}"}
        for n, i in enumerate(_pending(fresh_sandbox), start=1)
    ]
    plan = write_plan(tmp_path / "plan.csv", rows)

    result = robot_cli("run", "--plan", str(plan), "--workers", "2")

    assert result.exit_code == 0, result.output
    assert set(result.states().values()) == {"done"}
    invoices = _by_number(fresh_sandbox)
    for row in rows:
        assert len(invoices[row["nouveau_numero"]]) == 1
    run_dir = result.runs()[-1]
    workers = {
        event["worker"]
        for event in map(json.loads, (run_dir / "events.jsonl").read_text("utf-8").splitlines())
        if event["type"] == "step"
    }
    assert workers == {"w1", "w2"}
    assert verify_bundle(run_dir) == []


def test_videos_are_kept_for_a_browser_context_where_a_transaction_failed(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path
) -> None:
    taken = next(i["numero"] for i in fresh_sandbox.invoices("MISE_A_DISPOSITION"))
    bad = _pending(fresh_sandbox)[0]
    plan = write_plan(
        tmp_path / "plan.csv", [{"numero_rejete": bad["numero"], "nouveau_numero": taken}]
    )

    result = robot_cli("run", "--plan", str(plan), CHORUS_VIDEO="retain-on-failure")

    assert result.exit_code == 1, result.output
    run_dir = result.runs()[-1]
    videos = list((run_dir / "videos").glob("*.webm"))
    assert videos and all(v.stat().st_size > 0 for v in videos)
    assert verify_bundle(run_dir) == []
