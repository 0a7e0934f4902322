"""The plan: the file of corrections a run executes, validated whole before the portal is
touched, and the template ``chorus-robot rejections --out`` writes for the accountant.

    plan = load_plan(path, lines=sheet)  # PlanError (exit 2) listing every problem
    check_accounts(plan, accounts)       # PlanError: a row's ``compte`` unknown
    write_plan_template(rejections, path)

Modules: ``_csv`` reads the file as a French spreadsheet writes it (delimiter, encoding,
header), ``_rules`` checks each cell and says what each row asks for, ``_lines`` reads the
optional lines sheet (``--lignes``), ``_load`` makes the :class:`Plan`, ``template`` writes
the template (its docstring says what every column means).
"""

from robot.plan._csv import (
    ACCOUNT_COLUMN,
    ACTION_COLUMNS,
    ALL_COLUMNS,
    COLUMNS,
    INFO_COLUMNS,
    INFO_PREFIX,
    LEGACY_INFO_COLUMNS,
    LINE_COLUMNS,
    OVERRIDE_COLUMNS,
    REQUIRED_COLUMNS,
)
from robot.plan._load import Plan, PlanError, PlanIssue, check_accounts, load_plan
from robot.plan._rules import ATTACHMENT_EXTENSIONS, PAYMENT_MODES, VAT_RATES, numero_is_valid
from robot.plan.template import write_plan_template

__all__ = [
    "ACCOUNT_COLUMN",
    "ACTION_COLUMNS",
    "ALL_COLUMNS",
    "ATTACHMENT_EXTENSIONS",
    "COLUMNS",
    "INFO_COLUMNS",
    "INFO_PREFIX",
    "LEGACY_INFO_COLUMNS",
    "LINE_COLUMNS",
    "OVERRIDE_COLUMNS",
    "PAYMENT_MODES",
    "REQUIRED_COLUMNS",
    "VAT_RATES",
    "Plan",
    "PlanError",
    "PlanIssue",
    "check_accounts",
    "load_plan",
    "numero_is_valid",
    "write_plan_template",
]
