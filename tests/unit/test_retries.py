"""Retrying system failures (robot/run/retries.py), with a stand-in session: what is retried,
how long each wait is, what mends the session between attempts, and what stops it all."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any, cast

import pytest

from robot.browser.session import WorkSession
from robot.config import Config
from robot.run.retries import with_retries
from robot.run.stopper import Stopper
from scenarios import BusinessError, PortalChanged, PortalError, SessionLost


class FakeSession:
    def __init__(self, *, alive: bool = True) -> None:
        self.logins = 0
        self.restarts = 0
        self.alive = alive

    def login(self) -> None:
        self.logins += 1

    def browser_alive(self) -> bool:
        return self.alive

    def restart_browser(self) -> None:
        self.restarts += 1
        self.alive = True


class RecordingStopper(Stopper):
    """Records each wait instead of waiting; stops at the ``stop_at``-th wait."""

    def __init__(self, stop_at: int | None = None) -> None:
        super().__init__(threading.Event())
        self.waits: list[float] = []
        self.stop_at = stop_at

    def pause(self, seconds: float) -> bool:
        self.waits.append(seconds)
        return self.stop_at is not None and len(self.waits) >= self.stop_at


def failing(times: int, error: Callable[[], Exception]) -> Callable[[], str]:
    calls: list[int] = []

    def action() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error()
        return f"réussi après {len(calls)} essais"

    return action


def run(
    action: Callable[[], Any],
    *,
    session: FakeSession | None = None,
    stopper: Stopper | None = None,
    seed: int = 7,
    **config: Any,
) -> Any:
    return with_retries(
        Config(**{"max_retries": 3, "retry_base_ms": 100, **config}),
        cast(WorkSession, session or FakeSession()),
        stopper or RecordingStopper(),
        random.Random(seed),
        "essai",
        action,
    )


def test_a_system_failure_is_retried_until_it_passes() -> None:
    assert run(failing(2, lambda: PortalError("503"))) == "réussi après 3 essais"


def test_retries_stop_at_the_configured_count() -> None:
    with pytest.raises(PortalError, match="503"):
        run(failing(5, lambda: PortalError("503")), max_retries=2)


@pytest.mark.parametrize("error", [BusinessError("refusé"), PortalChanged("libellé changé")])
def test_business_failures_and_a_changed_portal_are_never_retried(error: Exception) -> None:
    stopper = RecordingStopper()

    with pytest.raises(type(error)):
        run(failing(1, lambda: error), stopper=stopper)

    assert stopper.waits == []


def test_waits_double_from_the_base_with_seeded_jitter() -> None:
    first, second = RecordingStopper(), RecordingStopper()

    run(failing(3, lambda: PortalError("503")), stopper=first, seed=11)
    run(failing(3, lambda: PortalError("503")), stopper=second, seed=11)

    assert first.waits == second.waits  # the same seed replays the same waits
    for attempt, wait in enumerate(first.waits):
        nominal = 0.1 * 2**attempt
        assert 0.5 * nominal <= wait <= 1.5 * nominal


def test_a_lost_session_logs_in_again_at_once() -> None:
    session, stopper = FakeSession(), RecordingStopper()

    run(failing(1, lambda: SessionLost("connexion demandée")), session=session, stopper=stopper)

    assert session.logins == 1 and stopper.waits == []


def test_a_dead_browser_is_replaced_before_the_next_attempt() -> None:
    session = FakeSession(alive=False)

    run(failing(1, lambda: PortalError("Target crashed")), session=session)

    assert session.restarts == 1


def test_a_live_browser_is_kept_whatever_the_error_says() -> None:
    session = FakeSession(alive=True)

    run(
        failing(1, lambda: PortalError("Target page, context or browser has been closed")),
        session=session,
    )

    assert session.restarts == 0


def test_a_stop_during_a_wait_ends_the_retries_with_the_last_failure() -> None:
    stopper = RecordingStopper(stop_at=1)

    with pytest.raises(PortalError, match="503"):
        run(failing(5, lambda: PortalError("503")), stopper=stopper)

    assert len(stopper.waits) == 1
