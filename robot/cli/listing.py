"""``chorus-robot synthese`` (formerly ``rejections``): list the work list — rejected,
suspended and to-recycle invoices — and write a plan template to fill in."""

from __future__ import annotations

from pathlib import Path

from loguru import logger
from playwright.sync_api import Error as PlaywrightError
from rich.console import Console
from rich.table import Table

from robot.browser.launch import settings_for
from robot.browser.session import WorkSession
from robot.config import Config
from robot.errors import EXIT_OK, EXIT_SYSTEM
from robot.plan.template import write_plan_template
from robot.portal import PortalTarget
from scenarios import BusinessError, PortalError, Rejection
from scenarios.collect import collect_work


def fetch_rejections(config: Config, portal: PortalTarget) -> list[Rejection]:
    """Log in, read every invoice of the work list with its details, log out."""
    with WorkSession(portal, settings_for(config)) as session:
        try:
            return collect_work(session.page, details=True)
        finally:
            session.logout()


def list_rejections(
    config: Config, portal: PortalTarget, console: Console, out: Path | None
) -> int:
    try:
        rejections = fetch_rejections(config, portal)
    except (PortalError, PlaywrightError, BusinessError) as exc:
        logger.error("Lecture des factures à traiter impossible : {}", exc)
        console.print(f"[red]Lecture des factures à traiter impossible : {exc}[/red]")
        return EXIT_SYSTEM
    table = Table(title=f"Factures à traiter sur {portal.url} : {len(rejections)}")
    for column in (
        "Numéro",
        "Statut",
        "Déposée le",
        "Destinataire",
        "Motif",
        "Commentaire",
        "TTC",
        "Acquittée",
    ):
        table.add_column(column, overflow="fold")
    for r in rejections:
        table.add_row(
            r.numero,
            r.statut,
            r.date_depot,
            r.destinataire,
            r.motif,
            r.commentaire,
            f"{r.montant_ttc:.2f} €".replace(".", ",") if r.montant_ttc is not None else "—",
            "oui" if r.acquittee else "non",
        )
    console.print(table)
    if out is not None:
        write_plan_template(rejections, out)
        console.print(
            f"Modèle de plan écrit dans {out} : pour chaque facture rejetée, complétez "
            "« nouveau_numero » et les corrections ; pour chaque facture suspendue, "
            "« piece_jointe » (plusieurs : séparées par « | ») et/ou « commentaire » ; pour "
            "chaque facture à recycler, le nouveau « siret_destinataire », « code_service » "
            "et/ou « numero_engagement ». Retirez une ligne pour ne pas la traiter. Puis lancez "
            "« chorus-robot run --plan " + str(out) + " »."
        )
    return EXIT_OK
