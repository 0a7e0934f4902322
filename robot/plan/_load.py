"""The plan: the file of corrections a run executes (CSV from a French spreadsheet, or JSON).

A plan is validated whole before anything touches the portal (docs/architecture.md, rule 1): every
problem is listed — file, line, column, reason — and one problem refuses the whole plan.

CSV as a French spreadsheet writes it: ``;`` or ``,`` delimiter, UTF-8 with or without BOM or
Windows-1252, decimal comma or point, ``JJ/MM/AAAA`` or ``AAAA-MM-JJ`` dates, CRLF, blank
lines. JSON: a list of objects with the same keys, or ``{"corrections": [...]}``; its « line »
is the 1-based index of the object. Columns: see :data:`ALL_COLUMNS` (and
:mod:`robot.plan.template` for what each means); an empty cell keeps the rejected invoice's
value; columns named ``info_…`` are there for the reader, never read. The ``compte`` column
names each row's account: whether the configuration knows it is :func:`check_accounts`'s to
say, once the accounts are loaded. An optional lines sheet (:mod:`robot.plan._lines`) gives
whole invoices' lines.

Every problem names its file and line and, when the line has one, the invoice:
« plan.csv ligne 3 (facture FAC-2026-00012), colonne date_facture : … ».
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from robot.errors import Refused
from robot.plan._csv import ACCOUNT_COLUMN, ALL_COLUMNS, LINE_COLUMNS, Problem, read_raw
from robot.plan._lines import LinesSheet, attach_lines, read_lines
from robot.plan._rules import check_rows, cross_row_problems, paris_today
from scenarios.model import Action, Correction, Kind

if TYPE_CHECKING:
    from robot.accounts import Accounts

__all__ = ["Plan", "PlanError", "PlanIssue", "check_accounts", "load_plan"]

#: Known accounts named in a message about an unknown one; more are counted, not listed.
_KNOWN_SHOWN = 10


@dataclass(frozen=True)
class PlanIssue:
    """One problem of a plan (or of its lines sheet): where (line 0 = the whole file), the
    invoice its line names (when it names one), and why, in French."""

    file: str
    line: int
    column: str
    message: str
    invoice: str = ""

    def __str__(self) -> str:
        where = self.file
        if self.line:
            # A JSON file's « line » is the index of its object.
            unit = "élément" if self.file.lower().endswith(".json") else "ligne"
            where = f"{where} {unit} {self.line}"
        if self.invoice:
            where = f"{where} (facture {self.invoice})"
        if self.column:
            where = f"{where}, colonne {self.column}"
        return f"{where} : {self.message}"


class PlanError(Refused):
    """The plan is refused; ``issues`` lists every problem found."""

    def __init__(self, issues: list[PlanIssue]) -> None:
        super().__init__([str(issue) for issue in issues])
        self.issues = issues


@dataclass(frozen=True)
class Plan:
    """A validated plan: its file and its corrections, in file order; ``lines_path``, the
    lines sheet read with it (``--lignes``), whose lines its corrections carry. Both files
    are needed to read the plan again (a resume, another machine)."""

    path: Path
    corrections: tuple[Correction, ...]
    lines_path: Path | None = None

    def __len__(self) -> int:
        return len(self.corrections)

    def __iter__(self) -> Iterator[Correction]:
        return iter(self.corrections)

    def kinds(self) -> tuple[Kind, ...]:
        """The kinds of work the plan asks for, in :class:`Kind`'s order (an ignored row asks
        for none)."""
        asked = {c.kind for c in self.corrections if c.work is not Action.IGNORE}
        return tuple(kind for kind in Kind if kind in asked)

    def accounts(self) -> list[str]:
        """The accounts the rows name (``compte``), each once whatever its case, as first
        written, in file order; rows for the default account (empty ``compte``) left out."""
        seen: dict[str, str] = {}
        for correction in self.corrections:
            if correction.compte:
                seen.setdefault(correction.compte.casefold(), correction.compte)
        return list(seen.values())


def load_plan(
    path: Path,
    *,
    lines: Path | None = None,
    today: date | None = None,
    base_dir: Path | None = None,
) -> Plan:
    """Read and validate the plan at ``path`` — and the lines sheet at ``lines``, when given
    — and raise :class:`PlanError` listing every problem of both.

    Attachments are named relative to ``base_dir`` (default: the plan's folder; a run's copy
    of its plan is read with the original plan's folder). ``today`` (default: today in Paris)
    is the day the new invoices will be issued: a new number may not be that date written as
    a number, nor an invoice date after it.
    """
    path = Path(path)
    raw = read_raw(path)
    sheet = read_lines(Path(lines)) if lines is not None else LinesSheet([], [], {})
    corrections, problems = check_rows(
        raw.rows,
        raw.columns,
        base_dir or path.parent,
        today or paris_today(),
        with_lines=sheet.numbers(),
    )
    problems = raw.problems + problems
    sheet_problems = sheet.problems
    if lines is not None:
        corrections, more, more_of_sheet = attach_lines(corrections, sheet)
        problems += more
        sheet_problems = sheet_problems + more_of_sheet
    if problems or sheet_problems:
        invoices = {row.line: row.cells.get("numero_rejete", "") for row in raw.rows}
        issues = _issues(path, problems, invoices)
        if lines is not None:
            issues += _issues(Path(lines), sheet_problems, sheet.invoices, LINE_COLUMNS)
        raise PlanError(issues)
    return Plan(
        path=path,
        corrections=tuple(corrections),
        lines_path=Path(lines) if lines is not None else None,
    )


def check_accounts(plan: Plan, accounts: Accounts) -> None:
    """Check that every row's account is one of ``accounts``; raise :class:`PlanError` naming
    each row whose ``compte`` is unknown, or empty with no default account.

    Rows are also checked again with their accounts resolved: an empty ``compte`` and the
    default account's identifiant written out are one account, so one rejected number under
    both is a duplicate.
    """
    problems: list[Problem] = []
    names = accounts.names()
    shown = ", ".join(names[:_KNOWN_SHOWN]) or "aucun"
    if len(names) > _KNOWN_SHOWN:
        shown += f", … ({len(names)} en tout)"
    for correction in plan:
        if accounts.get(correction.compte) is not None:
            continue
        if not correction.compte:
            message = "compte vide et CHORUS_LOGIN non défini"
        else:
            close = difflib.get_close_matches(correction.compte, names, n=1, cutoff=0.8)
            hint = f" ; vouliez-vous dire {close[0]} ?" if close else ""
            message = (
                f"compte inconnu : {correction.compte} n'est pas dans CHORUS_ACCOUNTS "
                f"(comptes connus : {shown}){hint}"
            )
        problems.append(Problem(correction.source_line, ACCOUNT_COLUMN, message))

    def account_key(correction: Correction) -> str:
        account = accounts.get(correction.compte)
        return account.key if account is not None else correction.compte.casefold()

    at_line = {c.source_line: accounts.get(c.compte) for c in plan}
    for problem in cross_row_problems(plan.corrections, account_key):
        account = at_line.get(problem.line)
        same = f" : même compte, {account.identifiant}" if account is not None else ""
        problems.append(problem._replace(message=problem.message + same))
    if problems:
        invoices = {c.source_line: c.numero_rejete for c in plan}
        raise PlanError(_issues(plan.path, problems, invoices))


def _issues(
    path: Path,
    problems: list[Problem],
    invoices: dict[int, str],
    columns: tuple[str, ...] = ALL_COLUMNS,
) -> list[PlanIssue]:
    """``problems`` of the file at ``path`` as issues naming the invoice of each line."""
    # By line, then in the columns' order; other « columns » (unknown names in the header)
    # keep the order they were found in, left to right.
    order = {name: index for index, name in enumerate(columns)}
    problems = sorted(problems, key=lambda p: (p.line, order.get(p.column, -1)))
    return [
        PlanIssue(str(path), *problem, invoice=invoices.get(problem.line, ""))
        for problem in problems
    ]
