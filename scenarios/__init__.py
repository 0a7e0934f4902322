"""Business flows for one rejected invoice, composed from page objects; each step idempotent."""

from scenarios.model import (
    BusinessError,
    Correction,
    HistoryEntry,
    InvoiceLine,
    InvoiceRecord,
    Outcome,
    PortalError,
    Rejection,
    ScenarioError,
    SessionLost,
    Step,
    StepResult,
)

__all__ = [
    "BusinessError",
    "Correction",
    "HistoryEntry",
    "InvoiceLine",
    "InvoiceRecord",
    "Outcome",
    "PortalError",
    "Rejection",
    "ScenarioError",
    "SessionLost",
    "Step",
    "StepResult",
]
