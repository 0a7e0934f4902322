"""What an accountant works from after a run: ``resultats.csv``, and the facts it shares with
the report — what a person must do next, the new invoice's link and totals, the correction
field by field with its old and new values.

``resultats.csv`` is written as a French spreadsheet writes it (``;``, UTF-8 with BOM, CRLF,
decimal comma), one line per invoice of the plan, by :func:`robot.run.bundle.finalize_bundle`
before the manifest, so the manifest seals it.

The new invoice's content comes from the reissue step: ``before["contenu"]`` (the rejected
invoice as the portal showed it) and ``after["contenu"]`` (the new one), dicts keyed by the
portal's French labels. Steps journaled before those existed fall back on the plan's
correction (labels and formats made French) and on the amounts the step recorded.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from robot.audit.report import FieldChange
from robot.run.outcomes import RunResult, TransactionOutcome
from robot.run.states import UNFINISHED, State
from scenarios import Kind, Outcome, Step, StepResult
from scenarios.reissue_content import CONTENT_LABELS

#: The columns of ``resultats.csv``, in order.
COLUMNS = (
    "Facture",
    "Nature",
    "Résultat",
    "À faire",
    "Nouveau numéro",
    "Lien de la nouvelle facture",
    "Montant HT",
    "TVA",
    "Montant TTC",
    "Message",
    "Compte",
)
#: A correction's fields (the plan's columns) → the labels a person reads.
FIELD_LABELS = {
    "date_facture": "Date de facture",
    "montant_ht": "Montant HT",
    "remise": "Remise",
    "taux_tva": "Taux de TVA",
    "montant_ttc": "Montant TTC",
    "numero_engagement": "Numéro d'engagement",
    "code_service": "Code service",
    "siret_destinataire": "SIRET du destinataire",
    "numero_marche": "Numéro de marché",
    "mode_paiement": "Mode de paiement",
    "coordonnees_bancaires": "Coordonnées bancaires",
    "commentaire": "Commentaire",
    "pieces_jointes": "Pièces jointes",
}
#: Keys of a journaled correction that are no field of the invoice.
_NOT_FIELDS = ("nature", "compte", "action", "confirmer_reemission")
#: Characters that make a spreadsheet read a cell as a formula (CSV injection).
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_CENT = Decimal("0.01")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Amounts:
    """The new invoice's totals (None: not known)."""

    ht: Decimal | None = None
    tva: Decimal | None = None
    ttc: Decimal | None = None

    def shown(self) -> dict[str, str]:
        """Label → French amount (« 1 234,56 € »), the known ones only."""
        pairs = (("Montant HT", self.ht), ("TVA", self.tva), ("Montant TTC", self.ttc))
        return {label: euros(value) for label, value in pairs if value is not None}


# -- French formats -------------------------------------------------------------------------
def money(value: Any) -> Decimal | None:
    """An amount written either way (``1234.56``, ``1 234,56 €``) as a Decimal; None if not."""
    if isinstance(value, Decimal | int):
        return Decimal(value)
    if not isinstance(value, str):
        return None
    text = re.sub(r"[\s\u202f\xa0€]", "", value)
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        return None


def decimal_comma(amount: Decimal) -> str:
    """« 1234,56 »: what a French spreadsheet reads as a number."""
    return f"{amount.quantize(_CENT):f}".replace(".", ",")


def euros(amount: Decimal) -> str:
    """« 1 234,56 € » (narrow no-break space between thousands), for a person."""
    grouped = f"{amount.quantize(_CENT):,.2f}"
    return grouped.replace(",", "\u202f").replace(".", ",") + "\u00a0€"


def french_date(text: str) -> str:
    """« 2026-11-30 » → « 30/11/2026 »; anything else as is."""
    if _ISO_DATE.fullmatch(text.strip()):
        return date.fromisoformat(text.strip()).strftime("%d/%m/%Y")
    return text


def _rate(text: str) -> str:
    rate = money(text)
    return f"{rate.normalize():f}".replace(".", ",") + "\u00a0%" if rate is not None else text


def shown_value(label: str, value: Any) -> str:
    """A value of the new invoice's content as a person reads it, given its French label."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "\n".join(shown_value(label, item) for item in value)
    if isinstance(value, bool):
        return "oui" if value else "non"
    text = str(value)
    if label.startswith("Montant") or label in ("TVA", "Remise"):
        amount = money(text)
        return euros(amount) if amount is not None else text
    if label.startswith("Taux"):
        return _rate(text)
    if label.startswith("Date"):
        return french_date(text)
    return text


# -- from the steps -------------------------------------------------------------------------
def _step(t: TransactionOutcome, step: Step) -> StepResult | None:
    return next((s for s in t.steps if s.step is step), None)


def _content(side: Mapping[str, Any]) -> dict[str, Any]:
    content = side.get("contenu")
    return dict(content) if isinstance(content, Mapping) else {}


def new_invoice_url(t: TransactionOutcome) -> str:
    """The new invoice's consultation page on the portal, when the reissue step read it."""
    reissue = _step(t, Step.REISSUE)
    if reissue is None or reissue.outcome not in (Outcome.DONE, Outcome.ALREADY_DONE):
        return ""
    for key in ("url", "lien"):
        value = reissue.after.get(key) or _content(reissue.after).get(key)
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return value
    return ""


def new_invoice_amounts(t: TransactionOutcome) -> Amounts:
    """The new invoice's HT, TVA and TTC: as sent (or, in a dry run, as it would be sent)."""
    reissue = _step(t, Step.REISSUE)
    if reissue is None:
        return Amounts()
    content = _content(reissue.after)
    if content:
        return _completed(
            money(content.get("Montant HT")),
            money(content.get("TVA")),
            money(content.get("Montant TTC")),
        )
    if reissue.after.get("montant_ht") is not None:  # the new invoice's page, read after
        return _completed(
            money(reissue.after.get("montant_ht")), None, money(reissue.after.get("montant_ttc"))
        )
    if "contenu" not in reissue.before and reissue.before.get("montant_ht") is not None:
        # The content the step built (a dry run, or a failure before sending): its rate is
        # known when every line has the same one.
        ht = money(reissue.before.get("montant_ht"))
        rates = reissue.before.get("taux_tva") or []
        if ht is not None and isinstance(rates, list) and len(rates) == 1:
            rate = money(str(rates[0]))
            if rate is not None:
                tva = (ht * rate / 100).quantize(_CENT, ROUND_HALF_UP)
                return Amounts(ht, tva, ht + tva)
        return Amounts(ht)
    return Amounts()


def _completed(ht: Decimal | None, tva: Decimal | None, ttc: Decimal | None) -> Amounts:
    if tva is None and ht is not None and ttc is not None:
        tva = ttc - ht
    if ttc is None and ht is not None and tva is not None:
        ttc = ht + tva
    return Amounts(ht, tva, ttc)


def field_changes(t: TransactionOutcome) -> list[FieldChange]:
    """The correction field by field: label, old value, new value, changed or not.

    From the reissue step's ``contenu`` (every field of the new invoice); else from the plan's
    correction — only the fields it sets, the old value taken from the step that read it
    when there is one (recycle, complete), a field found unchanged left out."""
    reissue = _step(t, Step.REISSUE)
    if reissue is not None:
        old, new = _content(reissue.before), _content(reissue.after)
        if old or new:
            shown = {*old, *new, "Taux de TVA", "Remise"}  # rates and discounts: in « Lignes »
            rest = [c for c in _correction_changes(t) if c.label not in shown]
            return _content_changes(old, new) + rest
    return _correction_changes(t)


def _content_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[FieldChange]:
    labels = [*CONTENT_LABELS, *(k for k in (*old, *new) if k not in CONTENT_LABELS)]
    changes = []
    for label in dict.fromkeys(labels):
        if label not in old and label not in new:
            continue
        before, after = shown_value(label, old.get(label)), shown_value(label, new.get(label))
        known = label in old and label in new
        changes.append(FieldChange(label, before, after, (before != after) if known else None))
    return changes


def _correction_changes(t: TransactionOutcome) -> list[FieldChange]:
    main = _step(
        t, {Kind.SUSPENDED: Step.COMPLETE, Kind.TO_RECYCLE: Step.RECYCLE}.get(t.kind, Step.REISSUE)
    )
    read_before = main.before if main is not None and t.kind is not Kind.REJECTED else {}
    read_after = main.after if main is not None and t.kind is not Kind.REJECTED else {}
    changes = []
    for name, value in t.correction.items():
        if name in _NOT_FIELDS:
            continue
        label = FIELD_LABELS.get(name, name.replace("_", " ").capitalize())
        new = shown_value(label, read_after.get(name, value))
        if name in read_before:
            old = shown_value(label, read_before[name])
            if old == new:
                continue  # the plan repeats what the portal already shows
            changes.append(FieldChange(label, old, new, True))
        else:
            changes.append(FieldChange(label, "", new, None))
    return changes


# -- what a person must do next -------------------------------------------------------------
def next_action(t: TransactionOutcome, *, resume: str) -> str:
    """One French sentence: what a person must do about this invoice now. ``resume``: the
    command that carries unfinished work on (« chorus-robot run --resume DOSSIER »)."""
    state = t.state
    if state is State.DONE:
        if t.kind is Kind.REJECTED and _step(t, Step.REISSUE) is not None:
            return (
                "Rien : la nouvelle facture est envoyée. Suivre son acheminement avec "
                "« chorus-robot suivi »."
            )
        return "Rien : la facture a été traitée sur le portail."
    if state is State.WOULD_DO:
        return "Simulation : vérifier ce qui serait envoyé, puis relancer le plan sans --dry-run."
    if state is State.NOT_REJECTED:
        return (
            "Vérifier le numéro de facture de la ligne du plan : le portail ne montre pas cette "
            "facture à traiter ; rien n'a été fait."
        )
    if state is State.BUSINESS_FAILURE:
        return _business_action(t.message)
    if state in UNFINISHED:
        return f"Relancer avec « {resume} » : le travail reprendra là où il s'est arrêté."
    return "Lire le message du robot."


def _business_action(message: str) -> str:
    said = message.casefold()
    if "brouillon" in said:
        return (
            "Supprimer sur le portail le brouillon qui porte le nouveau numéro, ou choisir un "
            "autre numéro dans le plan, puis relancer."
        )
    if "confirmer_reemission" in said:
        return (
            "Corriger dans la ligne du plan ce qui a motivé le rejet, ou y mettre "
            "confirmer_reemission=oui pour réémettre la facture telle quelle, puis relancer."
        )
    if "décrit une facture" in said:
        return "Corriger la nature (colonne statut) de la ligne du plan, puis relancer."
    if "une seule ligne" in said:
        return (
            "Corriger la ligne du plan : le montant HT ne se corrige que sur une facture d'une "
            "seule ligne (sinon, corriger les lignes à la main sur le portail)."
        )
    return "Vérifier le motif et corriger la ligne du plan, puis relancer."


# -- resultats.csv --------------------------------------------------------------------------
def _text(value: str) -> str:
    """A text cell a spreadsheet will not read as a formula, on one line."""
    value = " ".join(value.split())
    return f"'{value}" if value.startswith(_FORMULA) else value


def _amount(value: Decimal | None) -> str:
    return decimal_comma(value) if value is not None else ""


def result_rows(result: RunResult, *, resume: str, account: str = "") -> list[list[str]]:
    """The lines of ``resultats.csv`` (header first). ``account``: the run's one account,
    for the invoices that do not name theirs."""
    rows = [list(COLUMNS)]
    for t in result.transactions:
        amounts = new_invoice_amounts(t)
        rows.append(
            [
                _text(t.numero_rejete),
                t.kind.label,
                t.label,
                next_action(t, resume=resume),
                _text(t.nouveau_numero),
                _text(new_invoice_url(t)),
                _amount(amounts.ht),
                _amount(amounts.tva),
                _amount(amounts.ttc),
                _text(t.message),
                _text(t.account or account),
            ]
        )
    return rows


def write_results_csv(rows: Sequence[Sequence[str]], path: Path) -> Path:
    """Write ``rows`` as a French spreadsheet writes them: ``;``, UTF-8 with BOM, CRLF."""
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle, delimiter=";", lineterminator="\r\n").writerows(rows)
    temporary.replace(path)
    return path
