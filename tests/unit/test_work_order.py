"""The robot carries the plan newest deposit first, so the invoice to tick in « Synthèse »
(newest first) is on its first page however long the backlog."""

from __future__ import annotations

from robot.run.runner import work_order
from scenarios import Correction, Rejection


def _numbers(corrections: list[Correction]) -> list[str]:
    return [c.numero_rejete for c in corrections]


def test_listed_invoices_newest_first_then_the_others_in_plan_order() -> None:
    collected = [Rejection("FAC-1"), Rejection("FAC-2"), Rejection("FAC-3")]  # oldest first
    plan = [
        Correction("FAC-1", "N-1"),
        Correction("ABSENT-B", "N-B"),
        Correction("fac-3", "N-3"),  # the portal compares numbers case-insensitively
        Correction("ABSENT-A", "N-A"),
        Correction("FAC-2", "N-2"),
    ]

    ordered = work_order(plan, collected)

    assert _numbers(ordered) == ["fac-3", "FAC-2", "FAC-1", "ABSENT-B", "ABSENT-A"]


def test_nothing_collected_keeps_the_plan_order() -> None:
    plan = [Correction("B", "N-B"), Correction("A", "N-A")]
    assert _numbers(work_order(plan, [])) == ["B", "A"]
