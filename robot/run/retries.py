"""Retrying system failures: exponential backoff with jitter, within a count and a time
budget (``CHORUS_MAX_RETRIES``, ``CHORUS_RETRY_BUDGET_S``), from ``CHORUS_RETRY_BASE_MS``.

Between two attempts the session is mended: logged in again after a lost session (at once,
no backoff: the portal answered), a new browser when the browser is gone (asked of the
browser itself, not read from an error message). Business failures and a changed portal are
never retried; a stop request cuts a wait short and ends the retries. The jitter comes from
the run's seeded generator (the seed is in ``run.log``), so a run's waits can be replayed.

A login the portal refuses because the account holds all its sessions
(:class:`~scenarios.SessionLimit`: those of a machine that died stay open until the portal
ends them) is not a failure of the work: the action waits for a session and tries again, up
to ``CHORUS_SESSION_WAIT_S``, without spending an attempt or the retries' time budget.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from loguru import logger
from playwright.sync_api import Error as PlaywrightError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
)

from robot.browser.session import WorkSession
from robot.config import Config
from robot.errors import first_line
from robot.run.stopper import Stopper
from scenarios import BusinessError, PortalError, SessionLimit, SessionLost

T = TypeVar("T")

#: No wait is longer than this, whatever the attempt.
MAX_WAIT_S = 30.0
#: How often a login refused for too many sessions is tried again.
SESSION_POLL_S = 5.0


class _Stopped(Exception):
    """A stop was requested during a wait: the last failure is raised instead."""


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, (PortalError, PlaywrightError))


def with_retries(
    config: Config,
    session: WorkSession,
    stopper: Stopper,
    rng: random.Random,
    what: str,
    action: Callable[[], T],
) -> T:
    """Run ``action``; retry system failures with backoff (bounded count and time)."""
    base_s = config.retry_base_ms / 1000

    def wait(state: RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome else None
        if isinstance(failure, SessionLost):
            return 0.0  # the portal answered: log in again at once
        delay: float = min(MAX_WAIT_S, base_s * 2 ** (state.attempt_number - 1))
        delay *= 0.5 + rng.random()
        left = config.retry_budget_s - (state.seconds_since_start or 0.0)
        return max(0.0, min(delay, left))

    def pause(seconds: float) -> None:
        if seconds and stopper.pause(seconds):
            raise _Stopped

    def mend(state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome else None
        if isinstance(failure, SessionLost):
            logger.warning("{} : session expirée, reconnexion", what)
        else:
            reason = first_line(failure) if failure is not None else ""
            logger.warning("{} : échec technique ({}), nouvel essai", what, reason)

    retrying = Retrying(
        retry=retry_if_exception(_retryable),
        stop=stop_after_attempt(config.max_retries + 1) | stop_after_delay(config.retry_budget_s),
        wait=wait,
        sleep=pause,
        before_sleep=mend,
        reraise=True,
    )
    failure: BaseException | None = None
    try:
        for attempt in retrying:
            with attempt:
                if failure is not None:
                    _recover(session, failure)
                try:
                    return waiting_for_sessions(config, stopper, what, action)
                except BaseException as exc:
                    failure = exc
                    raise
    except _Stopped:
        assert failure is not None
        raise failure from None
    raise AssertionError("unreachable: tenacity returns or raises")  # pragma: no cover


def waiting_for_sessions(config: Config, stopper: Stopper, what: str, action: Callable[[], T]) -> T:
    """Run ``action``; while the portal refuses the login for too many sessions, wait and try
    again (up to ``CHORUS_SESSION_WAIT_S``; a stop request ends the wait). The last refusal is
    raised when the wait is over."""
    deadline = time.monotonic() + config.session_wait_s
    while True:
        try:
            return action()
        except SessionLimit as exc:
            left = deadline - time.monotonic()
            if left <= 0:
                raise
            logger.info(
                "{} : {} ; nouvel essai dans {:.0f} s", what, first_line(exc), SESSION_POLL_S
            )
            if stopper.pause(min(SESSION_POLL_S, left)):
                raise


def _recover(session: WorkSession, failure: BaseException) -> None:
    """Mend the session before the next attempt."""
    if isinstance(failure, SessionLost):
        _relogin(session)
    elif not session.browser_alive():
        session.restart_browser()  # the next use of session.page logs in again


def _relogin(session: WorkSession) -> None:
    try:
        session.login()
    except BusinessError:
        raise
    except (PortalError, PlaywrightError) as exc:
        # The next use of session.page tries again.
        logger.warning("reconnexion impossible pour l'instant ({})", first_line(exc))
        session.restart_browser()
