"""``chorus-robot rejections``: list the rejections, and write a plan template to fill in."""

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
from scenarios.collect import collect_rejections


def fetch_rejections(config: Config, portal: PortalTarget) -> list[Rejection]:
    """Log in, read every rejection with its invoice's details, log out."""
    with WorkSession(portal, settings_for(config)) as session:
        try:
            return collect_rejections(session.page, details=True)
        finally:
            session.logout()


def list_rejections(
    config: Config, portal: PortalTarget, console: Console, out: Path | None
) -> int:
    try:
        rejections = fetch_rejections(config, portal)
    except (PortalError, PlaywrightError, BusinessError) as exc:
        logger.error("Lecture des rejets impossible : {}", exc)
        console.print(f"[red]Lecture des rejets impossible : {exc}[/red]")
        return EXIT_SYSTEM
    table = Table(title=f"Factures rejetées sur {portal.url} : {len(rejections)}")
    for column in (
        "Numéro",
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
            f"Modèle de plan écrit dans {out} : complétez la colonne « nouveau_numero » et les "
            "corrections, puis lancez « chorus-robot run --plan " + str(out) + " »."
        )
    return EXIT_OK
