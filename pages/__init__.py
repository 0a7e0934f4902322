"""Page objects: one class per Chorus Pro screen, driven by role and visible label only.

They know the portal, not the business: no decision, no assertion. Labels each page relies
on are class-level constants in its module's ``Labels`` class; the column headers and
``<dt>`` labels a page object reads values by are declared on its class (``COLUMNS``,
``INFO_FIELDS``…, label → field of its record), read by its own code and checked by the
preflight (``scenarios.preflight``). Hooks for whoever drives a page: :func:`observe` (around
the clicks that change data) and :func:`pace_page_loads` (before each page load).
"""

from pages._pace import pace_page_loads
from pages._parse import (
    ParseError,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_money,
    parse_yes_no,
)
from pages._witness import observe
from pages.completion import CompletionForm
from pages.entry_form import ConfirmationDialog, EntryForm
from pages.errors import (
    ElementMissing,
    FormRejected,
    LoginRequired,
    OptionUnavailable,
    PageError,
    PortalUnavailable,
)
from pages.form_blocks import (
    CadreBlock,
    CommentaireBlock,
    DestinataireBlock,
    FournisseurBlock,
    PiecesJointesBlock,
    ReferencesBlock,
)
from pages.form_lines import LignesBlock, RecapBlock
from pages.invoice import InvoicePage
from pages.login import LoginPage, OtpPage
from pages.navigation import Navigator
from pages.records import HistoryEntry, InvoiceLine, InvoiceRecord
from pages.recycling import RecyclingForm
from pages.rejection_window import RejectionWindow, WindowRow
from pages.search import SearchPage, SearchRow
from pages.synthese import SynthesePage, SyntheseRow

__all__ = [
    "CadreBlock",
    "CommentaireBlock",
    "CompletionForm",
    "ConfirmationDialog",
    "DestinataireBlock",
    "ElementMissing",
    "EntryForm",
    "FormRejected",
    "FournisseurBlock",
    "HistoryEntry",
    "InvoiceLine",
    "InvoicePage",
    "InvoiceRecord",
    "LignesBlock",
    "LoginPage",
    "LoginRequired",
    "Navigator",
    "OptionUnavailable",
    "OtpPage",
    "PageError",
    "ParseError",
    "PiecesJointesBlock",
    "PortalUnavailable",
    "RecapBlock",
    "RecyclingForm",
    "ReferencesBlock",
    "RejectionWindow",
    "SearchPage",
    "SearchRow",
    "SynthesePage",
    "SyntheseRow",
    "WindowRow",
    "observe",
    "pace_page_loads",
    "parse_date",
    "parse_datetime",
    "parse_decimal",
    "parse_money",
    "parse_yes_no",
]
