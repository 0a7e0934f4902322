"""The states of a transaction in the journal: what it means, its French label, whether it
is final (a final transaction is never carried again, not even by a resume)."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    """A transaction's state; the value is what the journal stores."""

    PENDING = "pending"  # to carry (again, after a stop or a system failure)
    CLAIMED = "claimed"  # a worker carries it now (or died carrying it)
    DONE = "done"
    WOULD_DO = "would_do"  # dry run
    BUSINESS_FAILURE = "business_failure"  # a person must look
    NOT_REJECTED = "not_rejected"  # the plan names an invoice the portal does not show rejected
    IGNORED = "ignored"  # the plan says ``action=ignorer``: nothing done, on purpose
    SYSTEM_FAILURE = "system_failure"

    @property
    def label(self) -> str:
        """In French, as the summary table and the report show it."""
        return _LABELS[self]

    @property
    def final(self) -> bool:
        return self not in (State.PENDING, State.CLAIMED)


_LABELS = {
    State.PENDING: "À reprendre",
    State.CLAIMED: "Interrompue",
    State.DONE: "Terminée",
    State.WOULD_DO: "À faire (simulation)",
    State.BUSINESS_FAILURE: "À vérifier",
    State.NOT_REJECTED: "Non rejetée",
    State.IGNORED: "Ignorée",
    State.SYSTEM_FAILURE: "Échec technique",
}

#: States that end a run with exit code 3 (not finished, or the system failed).
UNFINISHED = frozenset({State.PENDING, State.CLAIMED, State.SYSTEM_FAILURE})
#: States that end a run with exit code 1 (a person must look).
NEEDS_A_PERSON = frozenset({State.BUSINESS_FAILURE, State.NOT_REJECTED})
#: States that mean the transaction went through (nothing to look at); an ignored one counts
#: as done for the exit code: the plan asked for nothing.
SUCCEEDED = frozenset({State.DONE, State.WOULD_DO, State.IGNORED})
