"""A plan template to fill in: one row per invoice of the work list (``chorus-robot synthese
--out``). The CSV is written for Excel in French: ``;`` delimiter, UTF-8 with BOM, CRLF,
decimal comma; the JSON has the same keys (``{"corrections": [...]}``).

What the robot reads, left to right:

- ``compte`` (only when the work list spans several accounts) — the account the invoice was
  read with;
- ``numero_rejete`` — the invoice on the portal;
- ``statut`` — « Rejetée », « Suspendue » or « À recycler »: which work the row is (read:
  checked against the portal before any click; do not change it);
- ``action`` — what to do, left empty by the template: ``reemettre`` (a rejected invoice:
  acknowledge, process, issue the new invoice), ``acquitter`` (a rejected invoice:
  acknowledge and process, no new invoice), ``completer`` (a suspended one), ``recycler``
  (one to recycle), ``ignorer`` (nothing done; the row is still checked). Empty, the row
  does its kind's work once it says what with — a ``nouveau_numero``; attachments or a
  comment; a new recipient — and is ignored otherwise: an untouched template does nothing;
- ``nouveau_numero`` — the new invoice's number (a reissue only);
- ``confirmer_reemission`` — ``oui`` to reissue an invoice rejected as « Facture en
  doublon », or one whose new content would be the rejected one's but for its number: the
  robot refuses those otherwise (a double billing);
- the new invoice's values, prefilled with the rejected invoice's (change what must change;
  an emptied cell also keeps the rejected invoice's value): ``date_facture``, ``montant_ht``
  and ``remise`` (the total and the discount of a one-line invoice: left empty on an invoice
  of several lines, whose lines a lines sheet gives — ``--lignes``, see
  :mod:`robot.plan._lines`), ``taux_tva`` (when all lines share one), ``montant_ttc``,
  ``numero_engagement``, ``code_service``, ``siret_destinataire``, ``numero_marche``,
  ``mode_paiement``, ``commentaire``;
- ``coordonnees_bancaires`` — one of the supplier's registered accounts, by label or IBAN;
  left empty by the template (the rejected invoice's account, shown in
  ``info_coordonnees_bancaires``, is kept): a named account is checked on the portal before
  the first click, a read the robot spares the rows that keep theirs;
- ``piece_jointe`` — files to attach, several separated by « | ».

A suspended invoice's row names its attachments and/or a comment; one to recycle, its new
``siret_destinataire``, ``code_service`` and/or ``numero_engagement``: those rows start with
their correction columns empty.

What is there to inform, never read (any column whose name starts with ``info_``):
``info_motif_rejet`` and ``info_commentaire_rejet`` (the public client's words),
``info_date_depot``, ``info_destinataire`` (the recipient's name: change
``siret_destinataire`` to send elsewhere), ``info_coordonnees_bancaires`` (the account the
rejected invoice names), ``info_lignes`` (how many lines the invoice has).
Plans written before these names kept ``date_depot``, ``destinataire``, ``motif_rejet`` and
``commentaire_rejet``: still accepted, still ignored.

A template whose new numbers are filled in loads with :func:`robot.plan.load_plan` and yields
corrections equal to the rejected invoices' current values — which the robot then refuses to
send as they are (the same invoice twice) unless ``confirmer_reemission`` says so: correct
what the rejection asks for.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from robot.plan._csv import ACCOUNT_COLUMN, ALL_COLUMNS, COLUMNS
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
        info_date_depot=rejection.date_depot,
        info_destinataire=_informational(rejection.destinataire),
        info_motif_rejet=_informational(rejection.motif),
        info_commentaire_rejet=_informational(rejection.commentaire),
        info_lignes=str(len(invoice.lignes)) if invoice and invoice.lignes else "",
    )
    if rejection.kind not in (Kind.REJECTED, None):
        return row  # completed or recycled: what changes is the accountant's to say
    lines = invoice.lignes if invoice else ()
    several = len(lines) > 1
    ttc = invoice.montant_ttc if invoice and invoice.montant_ttc is not None else None
    if not several:
        ttc = ttc if ttc is not None else rejection.montant_ttc
        row["montant_ttc"] = _amount(ttc, comma=french)
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
    if not several:
        # Several lines: neither their total nor a discount can be changed from here.
        row["montant_ht"] = _amount(invoice.montant_ht, comma=french)
        row["remise"] = _amount(lines[0].remise if lines else None, comma=french)
    row.update(
        numero_engagement=invoice.numero_engagement,
        code_service=invoice.code_service,
        siret_destinataire=siret,
        numero_marche=invoice.numero_marche,
        mode_paiement=_mode(invoice.mode_paiement),
        commentaire=invoice.commentaire,
    )
    # Shown, not prefilled: naming an account makes the robot check it on the portal before
    # the first click; left empty, the rejected invoice's account is kept.
    row["info_coordonnees_bancaires"] = invoice.coordonnees_bancaires
    return row


def write_plan_template(
    rejections: Sequence[Rejection], path: Path, *, accounts: Sequence[str] | None = None
) -> None:
    """Write a plan to fill in for ``rejections``: JSON when ``path`` ends in .json, else CSV.

    ``accounts``, when given, is the identifiant of the account each rejection was read with
    (``accounts[i]`` for ``rejections[i]``): the template then starts with a ``compte``
    column. Without it the template has no such column (one account: the default one).
    """
    path = Path(path)
    if accounts is not None and len(accounts) != len(rejections):
        raise ValueError(
            f"{len(accounts)} comptes pour {len(rejections)} factures : un compte par facture"
        )

    def rows(*, french: bool) -> list[dict[str, str]]:
        made = [_row(r, french=french) for r in rejections]
        if accounts is None:
            return made
        return [{ACCOUNT_COLUMN: a, **row} for a, row in zip(accounts, made, strict=True)]

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".json":
        document = {"corrections": rows(french=False)}
        path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", "utf-8")
        return
    columns = COLUMNS if accounts is None else ALL_COLUMNS
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns, delimiter=";", lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows(french=True))
