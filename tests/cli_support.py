"""Types and helpers of the robot's command-line tests (fixtures are in conftest.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class CliResult:
    exit_code: int
    output: str
    out_dir: Path

    def runs(self) -> list[Path]:
        return sorted(p for p in self.out_dir.iterdir() if p.is_dir() and p.name[:8].isdigit())

    def summary(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.runs()[-1] / "summary.json").read_text("utf-8"))
        return data

    def states(self) -> dict[str, str]:
        return {t["numero_rejete"]: t["state"] for t in self.summary()["transactions"]}


RobotCli = Callable[..., CliResult]


def write_plan(path: Path, rows: list[dict[str, str]], *, confirm: bool = True) -> Path:
    """A plan CSV as a French spreadsheet saves it (``;``, BOM, CRLF).

    ``confirm``: a row reissuing under a new number and saying nothing of
    ``confirmer_reemission`` gets ``oui`` — the tests reissue the sandbox's invoices as they
    are, which the robot refuses unconfirmed (double billing). ``False`` writes the rows as
    given (the tests of that guard)."""
    if confirm:
        rows = [
            {**row, "confirmer_reemission": "oui"}
            if row.get("nouveau_numero") and "confirmer_reemission" not in row
            else row
            for row in rows
        ]
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    lines = [";".join(columns)] + [";".join(row.get(c, "") for c in columns) for row in rows]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8-sig")
    return path
