"""Records the scenarios exchange with the robot: rejection, correction, step result.

Exceptions (the two families of docs/architecture.md, rule 4)::

    ScenarioError
    ├── BusinessError   the data is wrong: do not retry, a person must look
    ├── PortalError     the portal or the browser failed: retry (re-login, new browser)
    │   └── SessionLost the portal sent us back to the login form
    └── PortalChanged   the portal no longer shows what the page objects know: never retried,
                        the run stops before acting (exit 3)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from pages.records import HistoryEntry as HistoryEntry
from pages.records import InvoiceLine as InvoiceLine
from pages.records import InvoiceRecord as InvoiceRecord


class ScenarioError(Exception):
    """Base of the errors a scenario raises."""


class BusinessError(ScenarioError):
    """The data is wrong (the portal refused it): no retry, a person must look.

    ``messages`` are the portal's own words, quoted as shown.
    """

    def __init__(self, message: str, messages: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.messages = messages or (message,)


class PortalError(ScenarioError):
    """The portal or the browser failed (timeout, 5xx, maintenance…): retry."""


class SessionLost(PortalError):
    """The portal asked to log in again (idle expiry)."""


class PortalChanged(ScenarioError):
    """The portal no longer matches the page objects (a label renamed or removed).

    A system failure, but not a retryable one: retrying cannot help, so it is no kind of
    :class:`PortalError`; the run stops before acting (exit 3).
    """


class Kind(StrEnum):
    """The three kinds of work « Synthèse » holds; the value is what plans and journals say."""

    REJECTED = "rejetee"  # acknowledge, process, reissue under a new number
    SUSPENDED = "suspendue"  # acknowledge, complete (attachments, comment): same number
    TO_RECYCLE = "a_recycler"  # recycle (new recipient, service, engagement): same number

    @property
    def label(self) -> str:
        """The status the portal shows for an invoice of this kind."""
        return _KIND_LABELS[self]

    @classmethod
    def of_status(cls, label: str) -> Kind | None:
        """The kind of work an invoice shown with the status ``label`` needs (None: none)."""
        wanted = label.strip().casefold()
        return next(
            (kind for kind, shown in _KIND_LABELS.items() if shown.casefold() == wanted), None
        )


_KIND_LABELS = {
    Kind.REJECTED: "Rejetée",
    Kind.SUSPENDED: "Suspendue",
    Kind.TO_RECYCLE: "À recycler",
}


class Action(StrEnum):
    """What a plan row asks for its invoice; the value is what the plan's ``action`` says.

    A rejected invoice is reissued (acknowledge, process, reissue) or only acknowledged
    (acknowledge, process: no new invoice); a suspended one is completed, one to recycle
    recycled; any row may be ignored (read and checked, nothing done on the portal).
    """

    REISSUE = "reemettre"
    ACKNOWLEDGE = "acquitter"
    COMPLETE = "completer"
    RECYCLE = "recycler"
    IGNORE = "ignorer"

    @property
    def label(self) -> str:
        """In French, as a person reads it."""
        return _ACTION_LABELS[self]

    @classmethod
    def default_for(cls, kind: Kind) -> Action:
        """The work a kind of invoice asks for when the plan does not say."""
        return _KIND_WORK[kind]

    @classmethod
    def allowed_for(cls, kind: Kind) -> tuple[Action, ...]:
        """The actions a plan may ask for an invoice of ``kind``."""
        if kind is Kind.REJECTED:
            return (cls.REISSUE, cls.ACKNOWLEDGE, cls.IGNORE)
        return (_KIND_WORK[kind], cls.IGNORE)


_ACTION_LABELS = {
    Action.REISSUE: "Réémettre",
    Action.ACKNOWLEDGE: "Acquitter sans réémettre",
    Action.COMPLETE: "Compléter",
    Action.RECYCLE: "Recycler",
    Action.IGNORE: "Ignorer",
}
_KIND_WORK = {
    Kind.REJECTED: Action.REISSUE,
    Kind.SUSPENDED: Action.COMPLETE,
    Kind.TO_RECYCLE: Action.RECYCLE,
}


class Step(StrEnum):
    """The steps of a transaction: for a rejected invoice acknowledge, process, reissue; for a
    suspended one acknowledge, complete; for one to recycle, recycle."""

    ACKNOWLEDGE = "acknowledge"
    PROCESS = "process"
    REISSUE = "reissue"
    COMPLETE = "complete"
    RECYCLE = "recycle"

    @property
    def label(self) -> str:
        """In French, as the summary and the report name it (the portal's button)."""
        return _STEP_LABELS[self]


_STEP_LABELS = {
    Step.ACKNOWLEDGE: "Acquitter",
    Step.PROCESS: "Traiter le rejet",
    Step.REISSUE: "Réémettre",
    Step.COMPLETE: "Compléter",
    Step.RECYCLE: "Recycler",
}


class Outcome(StrEnum):
    """What a step ended with."""

    DONE = "done"
    ALREADY_DONE = "already_done"
    WOULD_DO = "would_do"  # dry run: the step would have acted
    BUSINESS_FAILURE = "business_failure"
    SYSTEM_FAILURE = "system_failure"


@dataclass(frozen=True)
class Rejection:
    """An invoice of the work list as the portal shows it (window, Synthèse, consultation
    page): a rejected one — the name — or a suspended one, or one to recycle (``kind``)."""

    numero: str
    destinataire: str = ""
    date_depot: str = ""
    motif: str = ""
    commentaire: str = ""
    statut: str = "Rejetée"
    acquittee: bool = False
    montant_ttc: Decimal | None = None
    invoice: InvoiceRecord | None = None
    url: str = ""  # the link of its number, as read on the portal

    @property
    def kind(self) -> Kind | None:
        """The work its status on the portal asks for (None: no work)."""
        return Kind.of_status(self.statut)

    @property
    def link(self) -> str:
        """Where its consultation page is: read with the details, else from the list."""
        return self.invoice.url if self.invoice and self.invoice.url else self.url


@dataclass(frozen=True)
class Correction:
    """What the user wants for one invoice of the work list. ``None`` = keep its value.

    ``kind`` says which work: a rejected invoice is reissued under ``nouveau_numero`` with the
    fields set here; a suspended one is completed with ``pieces_jointes`` and/or
    ``commentaire`` (same number, ``nouveau_numero`` empty); one to recycle gets a new
    ``siret_destinataire``, ``code_service`` and/or ``numero_engagement`` (same number).
    ``action`` may ask for less (:attr:`work`): a rejected invoice only acknowledged and
    processed, or any invoice left alone.

    ``lignes``, when given, replace the rejected invoice's lines; ``remise`` is the discount
    of its one line; ``coordonnees_bancaires`` names one of the supplier's registered bank
    accounts (label or IBAN). ``confirmer_reemission`` allows a reissue the robot would
    otherwise refuse as a likely double billing (see :func:`scenarios.reissue.check_reissue`).
    """

    numero_rejete: str  # the invoice's number on the portal, whatever its kind
    nouveau_numero: str
    date_facture: date | None = None
    montant_ht: Decimal | None = None
    taux_tva: Decimal | None = None
    numero_engagement: str | None = None
    code_service: str | None = None
    siret_destinataire: str | None = None
    numero_marche: str | None = None
    mode_paiement: str | None = None
    commentaire: str | None = None
    pieces_jointes: tuple[Path, ...] = ()
    source_line: int = 0  # line of the plan file, for messages
    kind: Kind = Kind.REJECTED
    #: The account the invoice belongs to (its identifiant, as the plan writes it); empty:
    #: the default account. Says who logs in, not what the invoice holds.
    compte: str = ""
    remise: Decimal | None = None
    coordonnees_bancaires: str | None = None
    lignes: tuple[InvoiceLine, ...] = ()
    #: None: the work of its kind (:meth:`Action.default_for`).
    action: Action | None = None
    confirmer_reemission: bool = False

    @property
    def work(self) -> Action:
        """What the row asks for: its ``action``, else the work of its kind."""
        return self.action or Action.default_for(self.kind)

    def overrides(self) -> dict[str, Any]:
        """The fields this correction changes (name → value), empty ones left out."""
        return {
            name: value
            for name, value in self.__dict__.items()
            if name not in _NOT_FIELDS and value is not None and value != ()
        }


#: What a correction holds besides the invoice's fields.
_NOT_FIELDS = frozenset(
    {
        "numero_rejete",
        "nouveau_numero",
        "source_line",
        "kind",
        "compte",
        "action",
        "confirmer_reemission",
    }
)


@dataclass(frozen=True)
class StepResult:
    """The outcome of one step, with what was read on the portal before and after."""

    step: Step
    outcome: Outcome
    message: str = ""
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    portal_messages: tuple[str, ...] = ()
    #: The rejected invoice as the page shows it when the step ended, read by the step (None
    #: when the step left that page). The next step may start from it instead of reading the
    #: same page again; never journaled (``before``/``after`` are).
    record: InvoiceRecord | None = field(default=None, compare=False, repr=False)
