"""Helpers of the tests that drive the sandbox: the suite's sandbox options, a small sandbox
in three origins, and logging a pytest-playwright ``page`` in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from sandbox.server import RunningSandbox, start_sandbox
from sandbox.settings import SandboxOptions
from scenarios import login

SANDBOX_SEED = 5


def suite_options(data_dir: Path, **more: Any) -> SandboxOptions:
    """The options of the suite's sandbox (``tests/conftest.py``), with ``more`` on top."""
    return SandboxOptions(
        data_dir=data_dir,
        seed=SANDBOX_SEED,
        admin_token="test-admin-token-0123456789",
        acheminement_s=0.5,
        **more,
    )


def three_origins(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[RunningSandbox]:
    """A small sandbox (seed 3) in three origins, in this process, for a module's tests."""
    options = SandboxOptions(
        data_dir=tmp_path_factory.mktemp(name),
        seed=3,
        origins=3,
        admin_token="test-admin-token-0123456789",
    )
    with start_sandbox(options, mode="thread") as running:
        yield running


def log_in(page: Page, sandbox: RunningSandbox) -> None:
    """Log ``page`` in to ``sandbox`` with its account (no one-time code)."""
    login(
        page,
        base_url=sandbox.url,
        identifiant=sandbox.options.user,
        password=sandbox.options.password,
        otp=None,
    )
