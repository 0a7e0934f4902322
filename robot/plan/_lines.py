"""The lines sheet (``--lignes FICHIER``): the lines of the new invoices, one row per line.

A plan row says what changes in an invoice as a whole; some corrections need its lines (a
discount per line, a quantity, a line added or removed). The lines sheet gives them: its rows
name the invoice by ``numero_rejete``, in the order the new invoice lists them, and **replace**
all of that invoice's lines. CSV or JSON (``{"lignes": [...]}`` or a list), read as the plan
is (:mod:`robot.plan._csv`); columns, after the portal's « Lignes » block:

- ``numero_rejete`` — the invoice, as the plan names it (required; it must be in the plan,
  once, on a row that reissues it or ignores it);
- ``reference``, ``unite`` — text, may be empty;
- ``designation`` — required;
- ``quantite`` — a number above 0 (« 1,5 »);
- ``prix_unitaire_ht`` — an amount, 2 decimals at most;
- ``remise`` — the line's discount in euros HT (empty: none), at most the line's amount;
- ``taux_tva`` — one of the portal's rates; empty: the plan row's ``taux_tva``.

Checked whole with the plan: every problem names the file, the line and the invoice. The plan
row's ``montant_ht`` and ``remise``, when filled, must agree with its lines (their total,
their discounts); its ``taux_tva``, when filled, with every line's rate.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from robot.plan._csv import LINES_SHEET, Problem, RawRow, read_raw
from robot.plan._rules import (
    CENT,
    T,
    french_number,
    french_rate,
    parse_amount,
    parse_rate,
)
from scenarios.model import Action, Correction, InvoiceLine

_QUANTITY = re.compile(r"\d+(?:[.,]\d+)?")


@dataclass(frozen=True)
class SheetLine:
    """One row of the lines sheet, its values parsed (None: missing or wrong, reported)."""

    line: int
    numero: str
    reference: str
    designation: str
    quantite: Decimal | None
    unite: str
    prix_unitaire_ht: Decimal | None
    remise: Decimal | None
    taux_tva: Decimal | None  # None: the plan row's rate
    valid: bool


@dataclass
class LinesSheet:
    """What the lines sheet holds: its lines, its problems, the invoice each line names."""

    lines: list[SheetLine]
    problems: list[Problem]
    invoices: dict[int, str]  # line of the file → numero_rejete

    def numbers(self) -> frozenset[str]:
        """The invoices it gives lines for (casefolded)."""
        return frozenset(line.numero.casefold() for line in self.lines if line.numero)


def parse_quantity(text: str) -> Decimal:
    """« 2 », « 1,5 », « 0.25 » → a quantity above 0."""
    compact = re.sub(r"[\s\u00a0\u202f]", "", text)
    if not _QUANTITY.fullmatch(compact):
        raise ValueError(f"« {text} » n'est pas une quantité (ex. 2 ou 1,5)")
    value = Decimal(compact.replace(",", "."))
    if value <= 0:
        raise ValueError(f"la quantité {text} doit être supérieure à 0")
    return value


def read_lines(path: Path) -> LinesSheet:
    """Read and check the lines sheet at ``path``, each row on its own."""
    raw = read_raw(path, LINES_SHEET)
    sheet = LinesSheet([], list(raw.problems), {})
    for row in raw.rows:
        line, problems = _sheet_line(row)
        sheet.lines.append(line)
        sheet.problems += problems
        if line.numero:
            sheet.invoices[row.line] = line.numero
    return sheet


def _sheet_line(row: RawRow) -> tuple[SheetLine, list[Problem]]:
    problems: list[Problem] = []

    def value(column: str, parser: Callable[[str], T]) -> T | None:
        text = row.cells.get(column, "")
        if not text:
            if column in LINES_SHEET.required:
                problems.append(Problem(row.line, column, "valeur obligatoire manquante"))
            return None
        try:
            return parser(text)
        except ValueError as exc:
            problems.append(Problem(row.line, column, str(exc)))
            return None

    numero = value("numero_rejete", str) or ""
    designation = value("designation", str) or ""
    quantite = value("quantite", parse_quantity)
    prix = value("prix_unitaire_ht", parse_amount)
    remise = value("remise", parse_amount)
    taux = value("taux_tva", parse_rate)
    if quantite is not None and prix is not None and remise is not None:
        gross = (quantite * prix).quantize(CENT)
        if remise > gross:
            problems.append(
                Problem(
                    row.line,
                    "remise",
                    f"la remise {french_number(remise)} dépasse le montant de la ligne "
                    f"({_number(quantite)} × {french_number(prix)} = {french_number(gross)})",
                )
            )
    line = SheetLine(
        line=row.line,
        numero=numero,
        reference=row.cells.get("reference", ""),
        designation=designation,
        quantite=quantite,
        unite=row.cells.get("unite", ""),
        prix_unitaire_ht=prix,
        remise=remise,
        taux_tva=taux,
        valid=not problems,
    )
    return line, problems


def attach_lines(
    corrections: Sequence[Correction], sheet: LinesSheet
) -> tuple[list[Correction], list[Problem], list[Problem]]:
    """``corrections`` with the sheet's lines attached to the invoices they name; problems of
    the plan (a row disagreeing with its lines) and of the sheet (its lines' invoice)."""
    rows: dict[str, list[int]] = {}
    for index, correction in enumerate(corrections):
        rows.setdefault(correction.numero_rejete.casefold(), []).append(index)
    groups: dict[str, list[SheetLine]] = {}
    for line in sheet.lines:
        if line.numero:
            groups.setdefault(line.numero.casefold(), []).append(line)
    result = list(corrections)
    plan_problems: list[Problem] = []
    sheet_problems: list[Problem] = []
    for key, lines in groups.items():
        first, numero = lines[0].line, lines[0].numero
        at = rows.get(key, [])
        if not at:
            sheet_problems.append(
                Problem(
                    first,
                    "numero_rejete",
                    f"la facture {numero} n'est pas dans le plan : ajoutez-la au plan ou "
                    f"retirez ses lignes ({_count(lines)})",
                )
            )
            continue
        if len(at) > 1:
            where = " et ".join(str(corrections[i].source_line) for i in at)
            sheet_problems.append(
                Problem(
                    first,
                    "numero_rejete",
                    f"la facture {numero} figure plusieurs fois dans le plan (lignes {where}, "
                    "pour des comptes différents) : la feuille de lignes ne peut pas dire "
                    "laquelle ; un plan par compte",
                )
            )
            continue
        correction = corrections[at[0]]
        work = correction.work
        if work not in (Action.REISSUE, Action.IGNORE):
            sheet_problems.append(
                Problem(
                    first,
                    "numero_rejete",
                    f"la ligne {correction.source_line} du plan ne réémet pas la facture "
                    f"{numero} (action {work.value}) : ses lignes ne servent pas (retirez-les, "
                    "ou action=reemettre dans le plan)",
                )
            )
            continue
        made: list[InvoiceLine] = []
        for line in lines:
            rate = line.taux_tva or correction.taux_tva
            if line.taux_tva is None and correction.taux_tva is None and line.valid:
                sheet_problems.append(
                    Problem(
                        line.line,
                        "taux_tva",
                        "taux de TVA manquant : ni sur la ligne, ni dans la colonne taux_tva "
                        f"du plan (ligne {correction.source_line})",
                    )
                )
                continue
            if line.valid and rate is not None:
                made.append(_invoice_line(line, rate))
        if len(made) != len(lines) or work is Action.IGNORE:
            continue  # reported; or read and checked, never used
        plan_problems += _disagreements(correction, made, lines)
        result[at[0]] = replace(correction, lignes=tuple(made))
    return result, plan_problems, sheet_problems


def _invoice_line(line: SheetLine, rate: Decimal) -> InvoiceLine:
    assert line.quantite is not None and line.prix_unitaire_ht is not None
    return InvoiceLine(
        reference=line.reference,
        designation=line.designation,
        quantite=line.quantite,
        unite=line.unite,
        prix_unitaire_ht=line.prix_unitaire_ht,
        remise=line.remise or Decimal("0.00"),
        taux_tva=rate,
    )


def _disagreements(
    correction: Correction, made: list[InvoiceLine], lines: list[SheetLine]
) -> list[Problem]:
    """Where the plan row says otherwise than the lines it gets."""
    problems: list[Problem] = []
    at = correction.source_line
    total = sum((line.montant_ht for line in made), Decimal("0.00"))
    if correction.montant_ht is not None and correction.montant_ht != total:
        problems.append(
            Problem(
                at,
                "montant_ht",
                f"le montant HT {french_number(correction.montant_ht)} ne correspond pas aux "
                f"lignes de la feuille de lignes ({french_number(total)}) : videz la cellule "
                "(le total se déduit des lignes) ou corrigez les lignes",
            )
        )
    discounts = sum((line.remise for line in made), Decimal("0.00"))
    if correction.remise is not None and correction.remise != discounts:
        problems.append(
            Problem(
                at,
                "remise",
                f"la remise {french_number(correction.remise)} ne correspond pas aux remises "
                f"des lignes de la feuille de lignes ({french_number(discounts)}) : videz la "
                "cellule (la remise se donne par ligne) ou corrigez les lignes",
            )
        )
    if correction.taux_tva is not None:
        other = next(
            (s for s in lines if s.taux_tva is not None and s.taux_tva != correction.taux_tva),
            None,
        )
        if other is not None and other.taux_tva is not None:
            problems.append(
                Problem(
                    at,
                    "taux_tva",
                    f"le taux {french_rate(correction.taux_tva)} % vaut pour toutes les lignes, "
                    f"mais la feuille de lignes donne {french_rate(other.taux_tva)} % (sa ligne "
                    f"{other.line}) : videz la cellule ou corrigez les lignes",
                )
            )
    return problems


def _count(lines: list[SheetLine]) -> str:
    if len(lines) == 1:
        return f"sa ligne {lines[0].line}"
    return f"ses lignes {', '.join(str(line.line) for line in lines)}"


def _number(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text.replace(".", ",")
