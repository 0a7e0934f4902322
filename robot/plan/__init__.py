"""The plan: the file of corrections a run executes, validated whole before the portal is
touched, and the template ``chorus-robot rejections --out`` writes for the accountant.

    plan = load_plan(path)               # PlanError (exit 2) listing every problem
    write_plan_template(rejections, path)

Modules: ``_csv`` reads the file as a French spreadsheet writes it (delimiter, encoding,
header), ``_rules`` checks each cell, ``_load`` makes the :class:`Plan`, ``template`` writes
the template.
"""

from robot.plan._csv import COLUMNS, INFO_COLUMNS, OVERRIDE_COLUMNS, REQUIRED_COLUMNS
from robot.plan._load import Plan, PlanError, PlanIssue, load_plan
from robot.plan._rules import ATTACHMENT_EXTENSIONS, PAYMENT_MODES, VAT_RATES, numero_is_valid
from robot.plan.template import write_plan_template

__all__ = [
    "ATTACHMENT_EXTENSIONS",
    "COLUMNS",
    "INFO_COLUMNS",
    "OVERRIDE_COLUMNS",
    "PAYMENT_MODES",
    "REQUIRED_COLUMNS",
    "VAT_RATES",
    "Plan",
    "PlanError",
    "PlanIssue",
    "load_plan",
    "numero_is_valid",
    "write_plan_template",
]
