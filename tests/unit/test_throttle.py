"""Politeness towards the real portal: page requests are spaced, static files are not."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from robot.browser.session import _Throttle, server_time_ms


@dataclass
class FakeRequest:
    resource_type: str


@dataclass
class FakeRoute:
    continued: list[float] = field(default_factory=list)

    def continue_(self) -> None:
        self.continued.append(time.monotonic())


def test_page_requests_are_spaced_by_the_configured_interval() -> None:
    throttle = _Throttle(per_minute=1200)  # one page every 50 ms
    route = FakeRoute()
    for _ in range(3):
        throttle.handle(route, FakeRequest("document"))  # type: ignore[arg-type]
    gaps = [b - a for a, b in zip(route.continued, route.continued[1:], strict=False)]
    assert len(route.continued) == 3
    assert all(gap >= 0.045 for gap in gaps)


def test_static_files_are_not_delayed() -> None:
    throttle = _Throttle(per_minute=1)  # one page a minute: a stylesheet must not wait
    route = FakeRoute()
    throttle.handle(route, FakeRequest("document"))  # type: ignore[arg-type]
    started = time.monotonic()
    throttle.handle(route, FakeRequest("stylesheet"))  # type: ignore[arg-type]
    assert time.monotonic() - started < 1.0
    assert len(route.continued) == 2


def test_server_time_is_read_from_the_app_entry_of_server_timing() -> None:
    assert server_time_ms("latency;dur=300, app;dur=12.5") == 12.5
    assert server_time_ms('app;desc="x";dur=3') == 3.0
    assert server_time_ms("") == 0.0
