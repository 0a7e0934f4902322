"""A plan template to fill in: one row per invoice of the work list, with its ``statut``.

For a rejected invoice the current values are prefilled: the accountant only has to type its
``nouveau_numero`` (and change what must change). For a suspended one, the accountant names
the attachments (``piece_jointe``, several separated by « | ») and/or a ``commentaire``; for
one to recycle, the new ``siret_destinataire``, ``code_service`` and/or
``numero_engagement``: those rows start with their correction columns empty. The CSV
is written for Excel in French: ``;`` delimiter, UTF-8 with BOM, CRLF, decimal comma. A
template whose new numbers are filled in loads with :func:`robot.plan.load_plan` and yields
corrections equal to the rejected invoices' current values.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from robot.plan._csv import COLUMNS
from robot.plan._rules import french_rate, parse_mode
from scenarios.model import Kind, Rejection

#: Characters that make a spreadsheet read a cell as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _amount(value: Decimal | None, *, comma: bool) -> str:
    if value is None:
        return ""
    text = f"{value.quantize(Decimal('0.01')):f}"
    return text.replace(".", ",") if comma else text


def _single_rate(rejection: Rejection) -> Decimal | None:
    """The VAT rate of the invoice when all its lines share one, else None."""
    invoice = rejection.invoice
    rates = {line.taux_tva for line in invoice.lignes} if invoice else set()
    return rates.pop() if len(rates) == 1 else None


def _mode(label: str) -> str:
    if not label:
        return ""
    try:
        return parse_mode(label)
    except ValueError:
        return label  # unknown to us: shown as the portal wrote it, for a person to fix


def _informational(text: str) -> str:
    # Motives and comments are typed by the public client: never let them run as a formula.
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def _row(rejection: Rejection, *, french: bool) -> dict[str, str]:
    invoice = rejection.invoice
    rate = _single_rate(rejection)
    row = dict.fromkeys(COLUMNS, "")
    row.update(
        numero_rejete=rejection.numero,
        statut=rejection.statut,
        date_depot=rejection.date_depot,
        destinataire=_informational(rejection.destinataire),
        motif_rejet=_informational(rejection.motif),
        commentaire_rejet=_informational(rejection.commentaire),
    )
    if rejection.kind not in (Kind.REJECTED, None):
        return row  # completed or recycled: what changes is the accountant's to say
    ttc = invoice.montant_ttc if invoice and invoice.montant_ttc is not None else None
    row["montant_ttc"] = _amount(ttc if ttc is not None else rejection.montant_ttc, comma=french)
    if invoice is None:
        return row
    if invoice.date_facture is not None:
        row["date_facture"] = (
            f"{invoice.date_facture:%d/%m/%Y}" if french else invoice.date_facture.isoformat()
        )
    if rate is not None:
        row["taux_tva"] = french_rate(rate) if french else format(rate.normalize(), "f")
    siret = invoice.siret_destinataire.replace(" ", "")
    if french and len(siret) == 14 and siret.isdigit():
        # Grouped as on a Kbis: a spreadsheet keeps it as text instead of « 7,32829E+13 ».
        siret = f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}"
    row.update(
        montant_ht=_amount(invoice.montant_ht, comma=french),
        numero_engagement=invoice.numero_engagement,
        code_service=invoice.code_service,
        siret_destinataire=siret,
        numero_marche=invoice.numero_marche,
        mode_paiement=_mode(invoice.mode_paiement),
        commentaire=invoice.commentaire,
    )
    return row


def write_plan_template(rejections: Sequence[Rejection], path: Path) -> None:
    """Write a plan to fill in for ``rejections``: JSON when ``path`` ends in .json, else CSV."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".json":
        rows = [_row(r, french=False) for r in rejections]
        document = {"corrections": rows}
        path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", "utf-8")
        return
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=COLUMNS, delimiter=";", lineterminator="\r\n")
        writer.writeheader()
        for rejection in rejections:
            writer.writerow(_row(rejection, french=True))
