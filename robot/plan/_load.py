"""The plan: the file of corrections a run executes (CSV from a French spreadsheet, or JSON).

A plan is validated whole before anything touches the portal (docs/architecture.md, rule 1): every
problem is listed — file, line, column, reason — and one problem refuses the whole plan.

CSV as a French spreadsheet writes it: ``;`` or ``,`` delimiter, UTF-8 with or without BOM or
Windows-1252, decimal comma or point, ``JJ/MM/AAAA`` or ``AAAA-MM-JJ`` dates, CRLF, blank
lines. JSON: a list of objects with the same keys, or ``{"corrections": [...]}``; its « line »
is the 1-based index of the object. Columns: see :data:`COLUMNS`; an empty cell keeps the
rejected invoice's value.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from robot.errors import Refused
from robot.plan._csv import COLUMNS, read_raw
from robot.plan._rules import check_rows, paris_today
from scenarios.model import Correction, Kind

__all__ = ["Plan", "PlanError", "PlanIssue", "load_plan"]


@dataclass(frozen=True)
class PlanIssue:
    """One problem of a plan: where (line 0 = the whole file) and why, in French."""

    file: str
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line == 0 else f"{self.file}:{self.line}"
        if self.column:
            where = f"{where}:{self.column}"
        return f"{where} — {self.message}"


class PlanError(Refused):
    """The plan is refused; ``issues`` lists every problem found."""

    def __init__(self, issues: list[PlanIssue]) -> None:
        super().__init__([str(issue) for issue in issues])
        self.issues = issues


@dataclass(frozen=True)
class Plan:
    """A validated plan: its file and its corrections, in file order."""

    path: Path
    corrections: tuple[Correction, ...]

    def __len__(self) -> int:
        return len(self.corrections)

    def __iter__(self) -> Iterator[Correction]:
        return iter(self.corrections)

    def kinds(self) -> tuple[Kind, ...]:
        """The kinds of work the plan asks for, in :class:`Kind`'s order."""
        asked = {correction.kind for correction in self.corrections}
        return tuple(kind for kind in Kind if kind in asked)


def load_plan(path: Path, *, today: date | None = None, base_dir: Path | None = None) -> Plan:
    """Read and validate the plan at ``path``; raise :class:`PlanError` listing every problem.

    Attachments are named relative to ``base_dir`` (default: the plan's folder; a run's copy
    of its plan is read with the original plan's folder). ``today`` (default: today in Paris)
    is the day the new invoices will be issued: a new number may not be that date written as
    a number, nor an invoice date after it.
    """
    path = Path(path)
    raw = read_raw(path)
    corrections, problems = check_rows(
        raw.rows, raw.columns, base_dir or path.parent, today or paris_today()
    )
    problems = raw.problems + problems
    if problems:
        # By line, then in the columns' order; other « columns » (unknown names in the
        # header) keep the order they were found in, left to right.
        order = {name: index for index, name in enumerate(COLUMNS)}
        problems.sort(key=lambda p: (p.line, order.get(p.column, -1)))
        raise PlanError([PlanIssue(str(path), *problem) for problem in problems])
    return Plan(path=path, corrections=tuple(corrections))
