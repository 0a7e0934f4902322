"""``chorus-robot demo``: the whole procedure on a freshly seeded embedded sandbox.

It does what an accountant would: read the rejections, get a plan template, fill in a new
number and a correction that answers each motive, then run the plan.
"""

from __future__ import annotations

import csv
import dataclasses
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from rich.console import Console

from robot.audit.rundir import RunDir
from robot.cli.common import execute_plan
from robot.cli.listing import fetch_rejections
from robot.config import Config
from robot.logs import configure_logging
from robot.plan import load_plan
from robot.plan.template import write_plan_template
from robot.portal import open_portal
from scenarios import Kind, Rejection

_AMOUNT_MOTIVES = ("montant", "calcul", "tva")
_ENGAGEMENT_MOTIVES = ("commande", "engagement", "contractuelle")


def run_demo(config: Config, console: Console, *, count: int, verbose: bool) -> int:
    config = dataclasses.replace(config, portal_url=None)
    run_dir = RunDir.create(config.output_dir)
    configure_logging(run_dir.log, verbose=verbose)
    portal = open_portal(
        config, sandbox_dir=config.output_dir / "demo-bac-a-sable", reset_seed=count
    )
    try:
        console.print(
            f"Bac à sable Chorus Pro démarré : {portal.url} (identifiant : {portal.identifiant})"
        )
        rejections = fetch_rejections(config, portal)
        console.print(f"{len(rejections)} facture(s) rejetée(s) lue(s) sur le portail.")
        plan_path = run_dir.root / "plan.csv"
        write_plan_template(rejections, plan_path)
        fill_demo_plan(plan_path, rejections)
        console.print(f"Plan de démonstration : {plan_path}")
        plan = load_plan(plan_path)
        result = execute_plan(config, portal, plan, run_dir, dry_run=False)
    finally:
        portal.close()
    return result.exit_code


def _money(text: str) -> Decimal | None:
    try:
        return Decimal(
            text.replace("\u202f", "").replace("\xa0", "").replace(" ", "").replace(",", ".")
        )
    except InvalidOperation:
        return None


#: A one-page PDF the demo joins to the suspended invoices it completes.
_DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _fr(amount: Decimal) -> str:
    return f"{amount:.2f}".replace(".", ",")


def fill_demo_plan(path: Path, rejections: list[Rejection]) -> None:
    """Fill the template as an accountant would: a new number and a correction per motive for
    each rejected invoice; the supporting document asked for, with a word, for each suspended
    one. Invoices to recycle are left out: which recipient is right is the accountant's to say.
    """
    motives = {r.numero: r.motif.lower() for r in rejections}
    kinds = {r.numero: r.kind for r in rejections}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=";")
        fields = list(reader.fieldnames or [])
        rows = [row for row in reader if kinds.get(row["numero_rejete"]) is not Kind.TO_RECYCLE]
    for index, row in enumerate(rows, start=1):
        numero = row["numero_rejete"]
        if kinds.get(numero) is Kind.SUSPENDED:
            document = path.with_name(f"justificatif-{index}.pdf")
            document.write_bytes(_DEMO_PDF)
            row["piece_jointe"] = document.name
            row["commentaire"] = "Pièce justificative demandée, jointe."
            continue
        row["nouveau_numero"] = f"{numero[:15]}-R{index}"
        motive = motives.get(numero, "")
        ht, rate = _money(row.get("montant_ht", "")), _money(row.get("taux_tva", ""))
        if any(word in motive for word in _AMOUNT_MOTIVES) and ht is not None and rate is not None:
            new_ht = (ht * Decimal("0.9")).quantize(Decimal("0.01"), ROUND_HALF_UP)
            row["montant_ht"] = _fr(new_ht)
            row["montant_ttc"] = _fr(
                (new_ht * (1 + rate / 100)).quantize(Decimal("0.01"), ROUND_HALF_UP)
            )
        elif any(word in motive for word in _ENGAGEMENT_MOTIVES):
            row["numero_engagement"] = f"EJ-2026-{4100 + index:05d}"
        row["commentaire"] = f"Facture rectificative de la facture {numero} ({motive or 'rejet'})."
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, delimiter=";", lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
