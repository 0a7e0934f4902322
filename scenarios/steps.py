"""The steps of a transaction, in order: for a rejected invoice acknowledge, process,
reissue; for a suspended one acknowledge, complete; for one to recycle, recycle. Each one
reads the portal first, acts only if needed, then verifies on the portal; each returns a
:class:`StepResult` and raises ``BusinessError`` (a person must look) or
``PortalError``/``SessionLost`` (retry).

    acknowledge(page, item, *, dry_run=False, check=None) -> StepResult
    process(page, rejection, *, dry_run=False, shown=None, check=None) -> StepResult
    process_together(page, numbers) -> (portal messages, numbers proven processed)
    reissue(page, rejection, correction, *, dry_run=False, check=None) -> StepResult
    complete(page, item, correction, *, dry_run=False) -> StepResult
    recycle(page, item, correction, *, dry_run=False) -> StepResult

A step may hand what it read to the next (``StepResult.record``: the consultation page as it
left it): ``process(..., shown=record)`` starts from it while the page still shows it, and
``reissue`` takes the rejected invoice's content from ``rejection.invoice``.

What a row asks for (``Correction.work``) says which steps run: ``reemettre`` all three,
``acquitter`` acknowledge and process only, ``completer`` acknowledge and complete,
``recycler`` recycle, ``ignorer`` none. ``check`` (acknowledge, process, reissue) is called
with the rejected invoice just before the step's first click — :func:`check_reissue` — so a
reissue that cannot be made stops the transaction before anything changes on the portal;
:func:`check_bank_account` reads the supplier's bank accounts before the first step.
"""

from __future__ import annotations

from scenarios.acknowledge import acknowledge
from scenarios.complete import complete
from scenarios.process import process, process_together
from scenarios.recycle import recycle
from scenarios.reissue import check_bank_account, check_reissue, reissue

__all__ = [
    "acknowledge",
    "check_bank_account",
    "check_reissue",
    "complete",
    "process",
    "process_together",
    "recycle",
    "reissue",
]
