"""The accountant's plan end to end: what each row asks for (``action``), a reissue that would
bill twice, the bank account, the discount, the lines sheet — real Chromium, the sandbox, the
``chorus-robot`` command line."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from cli_support import CliResult, RobotCli, write_plan

from sandbox.server import RunningSandbox
from sandbox.web_invoice import invoice_path

#: Enough rejections for the seed to hold each motive once (sandbox/_seed_data.py).
SEED = 11


def _pending(sandbox: RunningSandbox, motif: str) -> dict[str, Any]:
    return next(
        i for i in sandbox.invoices("REJETEE") if not i["acquittee"] and i["motif"] == motif
    )


def _actions(invoice: dict[str, Any], code: str) -> int:
    return sum(1 for h in invoice["historique"] if h["action"] == code)


def _numbers(sandbox: RunningSandbox) -> list[str]:
    return [i["numero"] for i in sandbox.invoices()]


def _reissue_event(result: CliResult, numero: str) -> dict[str, Any]:
    events = (result.runs()[-1] / "events.jsonl").read_text("utf-8").splitlines()
    steps = [json.loads(line) for line in events]
    return next(
        e
        for e in reversed(steps)
        if e.get("type") == "step" and e["invoice"] == numero and e["step"] == "reissue"
    )


def _page_of(sandbox: RunningSandbox, numero: str) -> str:
    """The new invoice's consultation page, as the supplier sees it on the portal."""
    invoice = sandbox.invoice(numero)
    with sandbox.http_client() as client:
        return " ".join(client.get(invoice_path(invoice["id"])).text.split())


def test_each_row_does_what_its_action_says_and_a_duplicate_is_refused_before_any_click(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path
) -> None:
    fresh_sandbox.reset(seed=SEED)
    duplicate = _pending(fresh_sandbox, "Facture en doublon")
    bank = _pending(fresh_sandbox, "Erreur de coordonnées bancaires")
    discount = _pending(fresh_sandbox, "Erreur de calcul de la facture")
    acknowledged = _pending(fresh_sandbox, "Mention légale manquante")
    ignored = _pending(fresh_sandbox, "SIRET erroné")
    (line,) = discount["lignes"]
    assert Decimal(line["remise"]) == 0  # the seed forgot it: « remise non appliquée »
    before = {i["numero"]: i for i in fresh_sandbox.invoices()}
    plan = write_plan(
        tmp_path / "plan.csv",
        [
            {"numero_rejete": duplicate["numero"], "action": "", "nouveau_numero": "DUP-1"},
            {"numero_rejete": bank["numero"], "nouveau_numero": "RIB-1",
             "coordonnees_bancaires": "Compte principal"},
            {"numero_rejete": discount["numero"], "nouveau_numero": "REM-1",
             "remise": "12,50"},
            {"numero_rejete": acknowledged["numero"], "action": "acquitter"},
            {"numero_rejete": ignored["numero"], "action": "ignorer"},
        ],
        confirm=False,  # the doublon row must stay unconfirmed
    )  # fmt: skip

    result = robot_cli("run", "--plan", str(plan))

    assert result.exit_code == 1, result.output
    assert result.states() == {
        duplicate["numero"]: "business_failure",
        bank["numero"]: "done",
        discount["numero"]: "done",
        acknowledged["numero"]: "done",
        ignored["numero"]: "ignored",
    }
    # The duplicate: refused before the first click, saying why and what to do.
    refused = fresh_sandbox.invoice(duplicate["numero"])
    assert not refused["acquittee"] and _actions(refused, "ACQUITTEMENT_REJET") == 0
    message = next(
        t["message"]
        for t in result.summary()["transactions"]
        if t["numero_rejete"] == duplicate["numero"]
    )
    assert "« Facture en doublon »" in message and "confirmer_reemission=oui" in message
    assert "Rien n'a été fait par le robot sur le portail" in message
    # Acknowledged and processed, no new invoice; ignored: untouched.
    done = fresh_sandbox.invoice(acknowledged["numero"])
    assert done["acquittee"] and done["rejet_traite"]
    assert fresh_sandbox.invoice(ignored["numero"]) == before[ignored["numero"]]
    assert sorted(_numbers(fresh_sandbox)) == sorted([*before, "RIB-1", "REM-1"])
    # The bank account the plan named, on the new invoice.
    page = _page_of(fresh_sandbox, "RIB-1")
    assert re.search(r"Coordonnées bancaires.{0,80}?<dd[^>]*>\s*Compte principal - FR", page)
    event = _reissue_event(result, bank["numero"])
    assert event["before"]["contenu"]["Coordonnées bancaires"].startswith("Compte affacturage")
    assert event["after"]["contenu"]["Coordonnées bancaires"].startswith("Compte principal")
    # The discount on the one line; the price kept, the total down by the discount.
    (new_line,) = fresh_sandbox.invoice("REM-1")["lignes"]
    assert Decimal(new_line["remise"]) == Decimal("12.50")
    assert Decimal(new_line["prix_unitaire_ht"]) == Decimal(line["prix_unitaire_ht"])
    assert Decimal(new_line["montant_ht"]) == Decimal(line["montant_ht"]) - Decimal("12.50")
    contenu = _reissue_event(result, discount["numero"])["after"]["contenu"]
    assert "remise 12,50 €" in contenu["Lignes"][0]


def test_a_lines_sheet_replaces_the_lines_and_an_unknown_bank_account_is_refused(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path
) -> None:
    fresh_sandbox.reset(seed=SEED)
    relined = _pending(fresh_sandbox, "Référence contractuelle absente")
    unknown = _pending(fresh_sandbox, "Erreur de coordonnées bancaires")
    plan = write_plan(
        tmp_path / "plan.csv",
        [
            {"numero_rejete": relined["numero"], "nouveau_numero": "LIG-1",
             "numero_marche": "M-2026-042"},
            {"numero_rejete": unknown["numero"], "nouveau_numero": "RIB-9",
             "coordonnees_bancaires": "Compte de Jersey"},
        ],
    )  # fmt: skip
    lines = write_plan(
        tmp_path / "lignes.csv",
        [
            {"numero_rejete": relined["numero"], "designation": "Audit de sécurité",
             "quantite": "2", "unite": "jour", "prix_unitaire_ht": "650,00",
             "remise": "100,00", "taux_tva": "20"},
            {"numero_rejete": relined["numero"], "designation": "Rapport",
             "quantite": "1", "unite": "forfait", "prix_unitaire_ht": "300,00",
             "remise": "", "taux_tva": "10"},
        ],
    )  # fmt: skip

    result = robot_cli("run", "--plan", str(plan), "--lignes", str(lines))

    assert result.exit_code == 1, result.output
    assert result.states() == {relined["numero"]: "done", unknown["numero"]: "business_failure"}
    new = fresh_sandbox.invoice("LIG-1")
    assert [
        (x["designation"], Decimal(x["quantite"]), Decimal(x["remise"]), Decimal(x["taux_tva"]))
        for x in new["lignes"]
    ] == [
        ("Audit de sécurité", Decimal(2), Decimal(100), Decimal(20)),
        ("Rapport", Decimal(1), Decimal(0), Decimal(10)),
    ]
    assert (Decimal(new["montant_ht"]), Decimal(new["montant_tva"])) == (
        Decimal("1500.00"),
        Decimal("270.00"),
    )
    assert new["numero_marche"] == "M-2026-042"
    contenu = _reissue_event(result, relined["numero"])["after"]["contenu"]
    assert contenu["Lignes"] == [
        "Audit de sécurité — 2 jour × 650,00 € HT, remise 100,00 €, TVA 20 %",
        "Rapport — 1 forfait × 300,00 € HT, TVA 10 %",
    ]
    assert (contenu["Montant HT"], contenu["TVA"], contenu["Montant TTC"]) == (
        "1 500,00 €",
        "270,00 €",
        "1 770,00 €",
    )
    # The unknown account: refused before the first click, naming the accounts there are.
    untouched = fresh_sandbox.invoice(unknown["numero"])
    assert not untouched["acquittee"]
    assert "RIB-9" not in _numbers(fresh_sandbox)
    message = next(
        t["message"]
        for t in result.summary()["transactions"]
        if t["numero_rejete"] == unknown["numero"]
    )
    assert "« Compte de Jersey » inconnues du portail" in message
    assert "Compte principal - FR" in message


def test_a_dry_run_says_the_new_totals_in_french(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path
) -> None:
    fresh_sandbox.reset(seed=SEED)
    discount = _pending(fresh_sandbox, "Erreur de calcul de la facture")
    (line,) = discount["lignes"]
    ht = Decimal(line["montant_ht"]) - Decimal("10.00")
    tva = (ht * Decimal(line["taux_tva"]) / 100).quantize(Decimal("0.01"))
    plan = write_plan(
        tmp_path / "plan.csv",
        [{"numero_rejete": discount["numero"], "nouveau_numero": "SIM-1", "remise": "10"}],
    )
    before = fresh_sandbox.invoices()

    result = robot_cli("run", "--plan", str(plan), "--dry-run")

    assert result.exit_code == 0, result.output
    assert fresh_sandbox.invoices() == before

    def fr(amount: Decimal) -> str:
        return f"{amount:,.2f}".replace(",", " ").replace(".", ",") + " €"

    (transaction,) = result.summary()["transactions"]
    assert f"montant HT {fr(ht)}, TVA {fr(tva)}, TTC {fr(ht + tva)}" in transaction["message"]
