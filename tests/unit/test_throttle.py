"""Politeness towards the real portal: the page loads the robot triggers are spaced, from the
robot's side (no request routed), through the page objects' pacing hook."""

from __future__ import annotations

import threading
import time
from typing import cast

from playwright.sync_api import Page

from pages import pace_page_loads
from pages._pace import pace
from robot.browser.session import _Throttle, server_time_ms


class FakePage:
    """Stands for a Playwright page: the hook only keys on it."""


def test_page_loads_are_spaced_by_the_configured_interval() -> None:
    throttle = _Throttle(per_minute=1200)  # one page every 50 ms
    begin = time.monotonic()
    for _ in range(4):
        throttle.wait_turn()
    # slots at begin or later, then +50, +100, +150 ms: the fourth load starts at its slot
    assert time.monotonic() - begin >= 0.15


def test_the_first_page_load_does_not_wait_and_books_the_next_slot() -> None:
    throttle = _Throttle(per_minute=1)  # one page a minute: a wait would be plain to see
    before = time.monotonic()
    throttle.wait_turn()
    assert time.monotonic() - before < 1.0
    assert throttle._next >= before + 60.0  # the next load waits for its slot


def test_the_wait_is_for_a_slot_shared_by_the_callers_in_turn() -> None:
    throttle = _Throttle(per_minute=600)  # one page every 100 ms
    started: list[float] = []
    lock = threading.Lock()

    def load() -> None:
        throttle.wait_turn()
        with lock:
            started.append(time.monotonic())

    workers = [threading.Thread(target=load) for _ in range(3)]
    begin = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(started) == 3
    assert max(started) - begin >= 0.2  # three slots: begin or later, +100 ms, +200 ms


def test_the_page_objects_call_the_pacer_of_their_page_only() -> None:
    paced, other = cast(Page, FakePage()), cast(Page, FakePage())
    calls: list[str] = []
    pace_page_loads(paced, lambda: calls.append("paced"))

    pace(paced)
    pace(other)  # no pacer: nothing waits
    pace_page_loads(paced, None)
    pace(paced)

    assert calls == ["paced"]


def test_server_time_is_read_from_the_app_entry_of_server_timing() -> None:
    assert server_time_ms("latency;dur=300, app;dur=12.5") == 12.5
    assert server_time_ms('app;desc="x";dur=3') == 3.0
    assert server_time_ms("") == 0.0
