"""The seed of the fault decisions: the same seed replays the same faults, and it is shown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from loguru import logger

from sandbox.app import create_app
from sandbox.faults import FaultState, Knobs
from sandbox.server import option_env, start_sandbox
from sandbox.settings import FAULT_SEED_MAX, OptionError, SandboxOptions

NOISY = {"error_rate": 0.5, "popup_rate": 0.3, "jitter_ms": 100, "layout_drift": True}
SEED_LINE = "Graine des pannes simulées : {} (CHORUS_SANDBOX_FAULT_SEED)"


def _decisions(state: FaultState, count: int = 200) -> list[tuple[bool, bool, float]]:
    return [(state.injects_error(), state.shows_popup(), state.latency_s()) for _ in range(count)]


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """The messages logged (INFO and above) while the test runs."""
    lines: list[str] = []
    handler = logger.add(lambda m: lines.append(m.record["message"]), level="INFO")
    try:
        yield lines
    finally:
        logger.remove(handler)


def _started(tmp_path: Path, name: str, **options: Any) -> FaultState:
    """The fault state of a sandbox app built as on start (its data in its own folder)."""
    app = create_app(SandboxOptions(data_dir=tmp_path / name, **options))
    app.state.portal.store.close()
    state: FaultState = app.state.portal.faults
    return state


def test_two_sandboxes_with_the_same_seed_take_the_same_fault_decisions(tmp_path: Path) -> None:
    first = _started(tmp_path, "a", fault_seed=1234, **NOISY)
    second = _started(tmp_path, "b", fault_seed=1234, **NOISY)
    other = _started(tmp_path, "c", fault_seed=1235, **NOISY)
    assert first.seed == second.seed == 1234
    decisions = _decisions(first)
    assert decisions == _decisions(second)
    assert decisions != _decisions(other)
    # The decisions really are random draws: both outcomes, and several jitters.
    assert {error for error, _, _ in decisions} == {True, False}
    assert {popup for _, popup, _ in decisions} == {True, False}
    assert len({latency for _, _, latency in decisions}) > 10
    assert first.drift_name("login-box") == second.drift_name("login-box")
    assert first.drift_name("login-box") != other.drift_name("login-box")


def test_each_kind_of_decision_has_its_own_stream() -> None:
    """Turning the jitter and the pop-ups on does not shift which requests fail."""
    quiet = FaultState(Knobs(error_rate=0.5), seed=99)
    noisy = FaultState(Knobs(error_rate=0.5, jitter_ms=80, popup_rate=0.5), seed=99)
    alone = [quiet.injects_error() for _ in range(100)]
    mixed = [(noisy.latency_s(), noisy.shows_popup(), noisy.injects_error())[2] for _ in range(100)]
    assert alone == mixed


def test_same_seed_replays_the_same_503s_over_http(tmp_path: Path) -> None:
    def statuses(name: str) -> list[int]:
        options = SandboxOptions(data_dir=tmp_path / name, fault_seed=2026, error_rate=0.5)
        with start_sandbox(options, mode="thread") as sandbox:
            assert sandbox.options.fault_seed == 2026
            return [httpx.get(sandbox.url + "/", timeout=30).status_code for _ in range(30)]

    first = statuses("a")
    assert first == statuses("b")
    assert set(first) == {200, 503}


def test_seed_is_drawn_when_none_is_given_and_logged_on_start(
    tmp_path: Path, log_lines: list[str]
) -> None:
    drawn = _started(tmp_path, "a")
    given = _started(tmp_path, "b", fault_seed=4321)
    assert 0 <= drawn.seed <= FAULT_SEED_MAX
    assert log_lines.count(SEED_LINE.format(drawn.seed)) == 1
    assert log_lines.count(SEED_LINE.format(4321)) == 1
    assert given.seed == 4321


def test_harness_always_knows_the_seed_to_replay(tmp_path: Path) -> None:
    with start_sandbox(SandboxOptions(data_dir=tmp_path), mode="thread") as sandbox:
        seed = sandbox.options.fault_seed
    assert seed is not None and 0 <= seed <= FAULT_SEED_MAX


def test_command_line_prints_the_seed_when_it_starts(tmp_path: Path) -> None:
    options = SandboxOptions(data_dir=tmp_path, fault_seed=777)
    with start_sandbox(options, mode="process") as sandbox:
        log = (tmp_path / "sandbox-server.log").read_text(encoding="utf-8")
        assert SEED_LINE.format(777) in log
        assert "Bac à sable Chorus Pro prêt" in log
        assert sandbox.options.fault_seed == 777


def test_fault_seed_comes_from_the_environment_and_is_checked() -> None:
    assert SandboxOptions.from_env({"CHORUS_SANDBOX_FAULT_SEED": "1234"}).fault_seed == 1234
    assert SandboxOptions.from_env({"CHORUS_SANDBOX_FAULT_SEED": ""}).fault_seed is None
    assert SandboxOptions.from_env({}).fault_seed is None
    assert SandboxOptions.from_env({"CHORUS_SANDBOX_FAULT_SEED": "5"}, fault_seed=6).fault_seed == 6
    with pytest.raises(OptionError, match="CHORUS_SANDBOX_FAULT_SEED"):
        SandboxOptions.from_env({"CHORUS_SANDBOX_FAULT_SEED": "hasard"})
    with pytest.raises(OptionError, match="--fault-seed"):
        SandboxOptions(fault_seed=-1)
    # The subprocess harness hands the seed over through the same variable.
    assert option_env(SandboxOptions(fault_seed=42))["CHORUS_SANDBOX_FAULT_SEED"] == "42"
    assert "CHORUS_SANDBOX_FAULT_SEED" not in option_env(SandboxOptions())
