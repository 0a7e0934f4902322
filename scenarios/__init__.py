"""Business flows for one invoice of the work list (rejected, suspended, to recycle), composed
from page objects; each step idempotent."""

from scenarios.collect import collect_rejections
from scenarios.model import (
    BusinessError,
    Correction,
    HistoryEntry,
    InvoiceLine,
    InvoiceRecord,
    Kind,
    Outcome,
    PortalChanged,
    PortalError,
    Rejection,
    ScenarioError,
    SessionLost,
    Step,
    StepResult,
)
from scenarios.reissue_content import ReissueContent, build_content, corrected_lines
from scenarios.session import SessionLimit, login
from scenarios.steps import acknowledge, process, reissue

__all__ = [
    "BusinessError",
    "Correction",
    "HistoryEntry",
    "InvoiceLine",
    "InvoiceRecord",
    "Kind",
    "Outcome",
    "PortalChanged",
    "PortalError",
    "ReissueContent",
    "Rejection",
    "ScenarioError",
    "SessionLimit",
    "SessionLost",
    "Step",
    "StepResult",
    "acknowledge",
    "build_content",
    "collect_rejections",
    "corrected_lines",
    "login",
    "process",
    "reissue",
]
